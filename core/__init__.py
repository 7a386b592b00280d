"""Domain types shared by every part of newswatch. Pure: no I/O, no third-party imports."""
