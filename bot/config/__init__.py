"""Configuration: settings read and validated once from the environment (and ``.env``)
(``settings``), and the files people edit in ``config/``: the feeds file, read and edited
round-trip (``feeds_file``), and the rule files (``rule_files``). ``feed_edits.add_feed`` checks a
feed before adding it, for both the CLI and the admin commands.

Contains no business logic. It reads and writes files; the only network I/O is ``add_feed``'s
one check of a URL, through the fetcher its caller hands it.
"""
