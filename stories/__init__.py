"""Story grouping: which stored articles report the same real-world event.

Pure logic (no I/O, no database, no network): ``stories.features`` turns an article's text into
comparable signals, ``stories.engine`` decides, article by article, whether it joins an open
story or founds a new one, and says why. Imports only ``core``. See docs/stories.md.
"""
