"""Trends of a rule's matches: the spike statistic (``stats``, pure) and the chart (``charts``,
matplotlib, headless), shared by the web console and Telegram so both show the same picture."""
