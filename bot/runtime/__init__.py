"""The running application: builds every part from settings, runs the polling pipeline
(fetch -> parse -> identify -> match -> store, then wakes the outbox), and reloads rules and
feeds when their files change.

May touch every other package, but holds no business logic of its own: matching is
``rules``, polling is ``watchers``, persistence is ``storage``, sending is ``bot.delivery``.
"""
