"""Persistence for feeds, articles, matches, chats, subscriptions and the delivery outbox."""

from .sql import SqlStorage

__all__ = ["SqlStorage"]
