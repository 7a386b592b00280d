"""Configuration: settings read and validated once from the environment (and ``.env``)
(``settings``), and the files people edit in ``config/``: the feeds file, read and edited
round-trip (``feeds_file``), and the rule files (``rule_files``).

Contains no business logic and does no network I/O: it reads and writes files. Checking a feed
before adding it is ``bot.runtime.feed_edits.add_feed``.
"""
