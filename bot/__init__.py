"""The newswatch application: everything that runs the watchers, rules and storage for people.

One package per job; each package's docstring says what it may touch:

- ``bot.runtime``  — the running application: wiring, the polling pipeline, the reloaders.
- ``bot.config``   — settings from the environment, and the files people edit (feeds, rules).
- ``bot.delivery`` — the one send path: outbox, sender, pacing, folding, digests, rendering.
- ``bot.telegram`` — the python-telegram-bot adapter: lifecycle, rate limiter, handlers.
- ``bot.ops``      — health endpoint, metrics, logging, ``newswatch doctor``.
- ``bot.cli``      — the ``newswatch`` command line and the offline demo.
"""
