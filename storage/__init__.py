"""Persistence for feeds, articles, matches, chats, subscriptions and the delivery outbox."""
