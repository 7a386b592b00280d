"""When a chat's alerts arrive: ``/mute``, ``/unmute`` and ``/digest``, and the parsers for
their arguments (``parse_mute_duration``, ``parse_digest_schedule``; bad input raises
``UsageError`` saying what was wrong, in English or a chat's language). Replies are in the
language of the chat the command came from.

``/mute RULE DURATION|off`` and ``/unmute RULE`` mute one subscribed rule (the unmute queues one
catch-up of what matched meanwhile: ``bot.delivery.rule_mutes``). Records the mute or the
schedule in storage; does not send digests (``bot.delivery.digests``)
or hold back alerts itself (storage queues nothing for a muted chat).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from telegram import Update

from bot.delivery.alert_format import rule_tags
from bot.delivery.replies import ReplySender
from bot.delivery.rule_mutes import mute_rule, unmute_rule
from bot.i18n import CATALOGUES, text
from bot.services import Services
from bot.telegram.handlers.access import Context, chat_language, gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.rule_lookup import find_rule, unknown_rule
from bot.telegram.handlers.targets import resolve_target
from bot.telegram.handlers.text import Stamp, cap, esc, plural, rule_tag, stamp
from core.models import DeliveryMode, Language

MAX_MUTE = timedelta(days=365)
# Longest spellings first: the alternation takes the first that fits ("mins" before "m").
_DURATION_PART_RE = re.compile(
    r"(\d+)(minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wk|w)",
    re.IGNORECASE,
)
_DURATION_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME_RE = re.compile(r"^([01]?\d|2[0-3])(?:[:.h]([0-5]\d))?$")
_TIME_12H_RE = re.compile(r"^(0?[1-9]|1[0-2])(?:[:.]([0-5]\d))?\s*([ap])\.?m\.?$", re.IGNORECASE)


class UsageError(Exception):
    """A command was given bad arguments; the message says what was wrong: ``str(e)`` in
    English, ``e.text(lang)`` in a chat's language (the catalogue's ``key`` with ``values``,
    plain text). A ``key`` no catalogue has is taken as the English message itself (the old
    ``UsageError("...")`` form), the same in every language."""

    def __init__(self, key: str, **values: object) -> None:
        known = key in CATALOGUES[Language.EN]
        super().__init__(text(None, key, **values) if known else key)
        self.key = key if known else None
        self.values = values

    def text(self, lang: Language | None) -> str:
        return text(lang, self.key, **self.values) if self.key is not None else str(self)


def parse_mute_duration(words: str) -> timedelta:
    """``30m``, ``2h``, ``1d``, ``1w``, ``1h30m``, ``2 hours``, ``1 day 6 hours`` -> timedelta;
    UsageError otherwise."""
    compact = words.replace(" ", "").lower()
    parts = list(_DURATION_PART_RE.finditer(compact))
    if not compact or not parts or "".join(p.group(0) for p in parts) != compact:
        raise UsageError("mute.not_duration", text=words)
    seconds = sum(int(p.group(1)) * _DURATION_UNITS[p.group(2)[0]] for p in parts)
    if seconds <= 0:
        raise UsageError("mute.zero")
    if seconds > MAX_MUTE.total_seconds():
        raise UsageError("mute.too_long")
    return timedelta(seconds=seconds)


def parse_digest_schedule(words: Sequence[str]) -> str | None:
    """``off`` -> None (instant), ``hourly`` -> "hourly", ``daily HH:MM`` -> "daily HH:MM"."""
    if not words:
        raise UsageError("digest.set_how_often")
    kind = words[0].lower()
    if kind in ("off", "instant") and len(words) == 1:
        return None
    if kind == "hourly" and len(words) == 1:
        return "hourly"
    if kind == "daily":
        if len(words) == 3 and words[2].lower().strip(".") in ("am", "pm"):
            words = [words[0], words[1] + words[2]]  # "daily 8 am"
        if len(words) != 2:
            raise UsageError("digest.set_needs_time")
        return f"daily {parse_time_of_day(words[1])}"
    raise UsageError("digest.set_not_schedule", words=" ".join(words))


def parse_time_of_day(given: str) -> str:
    """``08:00``, ``8:00``, ``8``, ``20h30``, ``8am``, ``8:30pm``, ``12am`` -> ``"HH:MM"``;
    UsageError otherwise."""
    word = given.strip().lower()
    m = _TIME_RE.match(word)
    if m:
        return f"{int(m.group(1)):02d}:{m.group(2) or '00'}"
    m = _TIME_12H_RE.match(word)
    if m:
        hour = int(m.group(1)) % 12 + (12 if m.group(3) == "p" else 0)
        return f"{hour:02d}:{m.group(2) or '00'}"
    raise UsageError("digest.set_not_time", text=given)


class ScheduleCommands:
    """``/mute``, ``/unmute`` and ``/digest``."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def mute(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        if not args:
            await usage(self.out, update, "mute", text(lang, "mute.how_long"), lang)
            return
        target = await resolve_target(self.services, self.out, update, context, args, "mute")
        if target is None:
            return
        rule_id = await self._subscribed_rule(target.chat_id, args)
        if rule_id is not None:
            await self._mute_rule(update, lang, target.chat_id, target.label, rule_id, args[1:])
            return
        try:
            duration = parse_mute_duration(" ".join(args))
        except UsageError as e:
            await usage(self.out, update, "mute", e.text(lang), lang)
            return
        until = self.services.clock.now() + duration
        await self.services.storage.mute_chat(target.chat_id, until)
        tz = self.services.chat_prefs.tz(target.chat_id, self.services.settings.tz)
        when = stamp(until, tz, lang, Stamp.FULL)
        await reply(self.out, update, text(lang, "mute.done", label=target.label, when=when))

    async def unmute(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        target = await resolve_target(self.services, self.out, update, context, args, "unmute")
        if target is None:
            return
        rule_id = await self._subscribed_rule(target.chat_id, args)
        if rule_id is not None and len(args) == 1:
            await self._unmute_rule(update, lang, target.chat_id, rule_id)
            return
        if args:
            await usage(self.out, update, "unmute", text(lang, "unmute.usage"), lang)
            return
        await self.services.storage.mute_chat(target.chat_id, None)
        await reply(self.out, update, text(lang, "unmute.done", label=target.label))

    # one rule (#16) ----------------------------------------------------------------------------
    async def _subscribed_rule(self, chat_id: int, args: Sequence[str]) -> str | None:
        """The rule ``args[0]`` names, when the chat is subscribed to it (its own personal rules
        included); None when ``args`` do not start with such a rule."""
        if not args:
            return None
        subscribed = await self.services.storage.subscriptions(chat_id)
        if args[0] in subscribed:
            return args[0]
        rule = find_rule(self.services.rules, args[0])
        return rule.id if rule is not None and rule.id in subscribed else None

    async def _mute_rule(
        self,
        update: Update,
        lang: Language | None,
        chat_id: int,
        label: str,
        rule_id: str,
        rest: Sequence[str],
    ) -> None:
        tag = esc(rule_tag(rule_id))
        if not rest:
            # A plain-text problem: usage escapes it, so the raw tag goes in.
            problem = text(lang, "mute.rule_how_long", tag=rule_tag(rule_id))
            await usage(self.out, update, "mute", problem, lang)
            return
        seconds: float | None = None
        if not (len(rest) == 1 and rest[0].lower() == "off"):
            try:
                seconds = parse_mute_duration(" ".join(rest)).total_seconds()
            except UsageError as e:
                await usage(self.out, update, "mute", e.text(lang), lang)
                return
        await mute_rule(self.services, chat_id, rule_id, seconds)
        if seconds is None:
            until = text(lang, "mute.rule_forever")
        else:
            moment = self.services.clock.now() + timedelta(seconds=seconds)
            tz = self.services.chat_prefs.tz(chat_id, self.services.settings.tz)
            until = text(lang, "mute.rule_until", when=stamp(moment, tz, lang, Stamp.FULL))
        done = text(lang, "mute.rule_done", tag=tag, label=label, until=until, rule=esc(rule_id))
        await reply(self.out, update, done)

    async def _unmute_rule(
        self, update: Update, lang: Language | None, chat_id: int, rule_id: str
    ) -> None:
        tag = esc(rule_tag(rule_id))
        thread = next(
            (
                s.thread_id
                for s in await self.services.storage.subscription_details(chat_id)
                if s.rule_id == rule_id
            ),
            None,
        )
        caught_up = await unmute_rule(self.services, chat_id, rule_id, thread)
        if caught_up is None:
            said = text(lang, "unmute.rule_not_muted", tag=tag)
        elif caught_up == 0:
            said = text(lang, "unmute.rule_nothing", tag=tag)
        else:
            matches = plural(caught_up, "match", lang)
            said = text(lang, "unmute.rule_caught_up", tag=tag, matches=matches)
        await reply(self.out, update, said)

    async def digest(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        target = (
            await resolve_target(self.services, self.out, update, context, args, "digest")
            if args
            else None
        )
        if target is None:
            if not args:
                await usage(self.out, update, "digest", text(lang, "digest.set_which"), lang)
            return
        if len(args) < 2:
            await usage(self.out, update, "digest", text(lang, "digest.set_which_all"), lang)
            return
        try:
            schedule = parse_digest_schedule(args[1:])
        except UsageError as e:
            await usage(self.out, update, "digest", e.text(lang), lang)
            return
        chat_id, label = target.chat_id, target.label
        storage = self.services.storage
        mode = DeliveryMode.INSTANT if schedule is None else DeliveryMode.DIGEST
        if args[0].lower() == "all":
            rule_ids = await storage.subscriptions(chat_id)
            if not rule_ids:
                await reply(
                    self.out, update, text(lang, "digest.set_no_subscriptions", Label=cap(label))
                )
                return
        else:
            rule = find_rule(self.services.rules, args[0])
            if rule is None:
                problem = unknown_rule(self.services.rules, args[0], lang)
                await usage(self.out, update, "digest", problem, lang)
                return
            rule_ids = [rule.id]
        now = self.services.clock.now()  # the first digest period starts here
        changed = [
            r
            for r in rule_ids
            if await storage.set_subscription_mode(chat_id, r, mode, schedule, now=now)
        ]
        if not changed:
            refused = text(lang, "digest.set_not_subscribed", Label=cap(label), rule=esc(args[0]))
            await reply(self.out, update, refused)
            return
        tags = " ".join(esc(t) for t in rule_tags(changed))
        if schedule is None:
            await reply(self.out, update, text(lang, "digest.set_instant", tags=tags))
        else:
            when = (
                text(lang, "digest.set_hourly")
                if schedule == "hourly"
                else text(lang, "digest.set_daily", time=schedule[6:])
            )
            chosen = self.services.chat_prefs.get(target.chat_id).timezone
            zone = chosen or self.services.settings.timezone
            done = text(lang, "digest.set_done", tags=tags, when=when, zone=esc(zone))
            await reply(self.out, update, done)
