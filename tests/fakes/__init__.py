"""Test doubles that behave like the real thing: servers on 127.0.0.1 and in-memory stores."""
