"""The ``newswatch`` command line: ``run``, ``demo``, ``rules``, ``feeds``, ``db``, ``search``,
``export`` and ``doctor``. Each command parses its arguments, calls the packages that do the
work, and prints the result; none holds business logic of its own.
"""
