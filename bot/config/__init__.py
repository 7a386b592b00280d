"""Configuration: settings read and validated once from the environment (and ``.env``), and the
files people edit in ``config/`` (``feeds.yaml``, ``rules/*.yaml``): reading them, and the
admin's edits of the feeds file.

Contains no business logic and does no network I/O; it reads and writes files only.
"""
