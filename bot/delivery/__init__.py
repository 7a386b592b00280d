"""Delivery: the one path every message takes out of the bot.

Alerts, edits, folded floods, scheduled digests and admin notices are rows in the outbox,
claimed and sent by the outbox sender; every message (command replies included) goes through
one sink with one outcome policy (sent / retry later / chat gone / migrated / refused) and one
pacing. Also renders alerts and digests. Does not decide who subscribes to what, and does not
read feeds or rules files.
"""
