"""The Telegram adapter: python-telegram-bot's Application (start, long polling, stop), its rate
limiter hooked to our pacer, and the handlers for commands, buttons and membership changes.

Does not send messages itself: replies and alerts go through ``bot.delivery``.
"""
