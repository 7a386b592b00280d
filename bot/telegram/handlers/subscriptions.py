"""What a chat subscribes to: ``/rules`` (pages of rules with Subscribe / Unsubscribe buttons),
``/subscribe``, ``/unsubscribe`` and ``/list``.

``rules_page`` draws one page with its buttons; ``buttons`` redraws it after a press. Every
reply is in the language of the chat the command came from (``bot.i18n``). Does not
handle the button presses themselves (``buttons``) or how alerts arrive (``schedule``).
"""

from __future__ import annotations

from enum import Enum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.delivery.alert_format import clean_text, rule_tags, shorten
from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, chat_language, gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.keyboards import button, keyboard, nav_row
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.rule_lookup import all_rules, find_rule, rule_token, unknown_rule
from bot.telegram.handlers.targets import resolve_target
from bot.telegram.handlers.text import Stamp, cap, esc, rule_tag, stamp
from core.models import DeliveryMode, Language, Priority

RULES_PER_PAGE = 5


class SubscribeOutcome(Enum):
    """What ``subscribe_here`` did."""

    ADDED = "added"
    MOVED = "moved"  # was subscribed from another forum topic; alerts now come to this one
    ALREADY = "already"


async def subscribe_here(
    services: Services, chat_id: int, rule_id: str, thread_id: int | None
) -> SubscribeOutcome:
    """Subscribe ``chat_id`` (in forum topic ``thread_id``) to ``rule_id``, and say whether that
    added the subscription, moved an existing one to this topic, or changed nothing.

    ``Storage.subscribe`` moves a subscription to the topic it is repeated in but answers False
    (nothing inserted); the handlers need to tell that apart from "already subscribed"."""
    storage = services.storage
    before = {s.rule_id: s.thread_id for s in await storage.subscription_details(chat_id)}
    if await storage.subscribe(chat_id, rule_id, thread_id):
        return SubscribeOutcome.ADDED
    if thread_id is not None and rule_id in before and before[rule_id] != thread_id:
        return SubscribeOutcome.MOVED
    return SubscribeOutcome.ALREADY


async def rules_page(
    services: Services, chat_id: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Page ``page`` (from 0, clamped) of the rules as ``chat_id`` sees them, with its buttons,
    in the chat's language."""
    lang = services.chat_prefs.get(chat_id).language
    rules = all_rules(services.rules)
    if not rules:
        return text(lang, "rules.none"), None
    pages = max(1, -(-len(rules) // RULES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    subscribed = set(await services.storage.subscriptions(chat_id))
    shown = rules[page * RULES_PER_PAGE : (page + 1) * RULES_PER_PAGE]
    lines = [text(lang, "rules.title", page=page + 1, pages=pages)]
    rows: list[list[InlineKeyboardButton]] = []
    for rule in shown:
        mark = "✅ " if rule.id in subscribed else ""
        tag = rule_tags([rule.id])[0] if rule_tags([rule.id]) else rule.id
        line = f"\n{mark}<b>{esc(clean_text(rule.name))}</b> {esc(tag)}"
        if rule.priority is Priority.HIGH:
            line += " ❗"
        if rule.description:
            line += f"\n{esc(shorten(clean_text(rule.description), 300))}"
        lines.append(line)
        token = rule_token(rule.id)
        label = shorten(clean_text(rule.name), 40)
        if rule.id in subscribed:
            rows.append(
                [button(text(lang, "rules.button_unsubscribe", name=label), "u", token, page)]
            )
        else:
            rows.append(
                [button(text(lang, "rules.button_subscribe", name=label), "s", token, page)]
            )
    back, forward = text(lang, "rules.previous"), text(lang, "rules.next")
    rows.append(nav_row(page, pages, back, forward, lambda n: ("p", n)))
    return "\n".join(lines), keyboard(rows)


class SubscriptionCommands:
    """``/rules``, ``/subscribe``, ``/unsubscribe`` and ``/list``."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def rules(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        chat = update.effective_chat
        assert chat is not None
        page, markup = await rules_page(self.services, chat.id, 0)
        await reply(self.out, update, page, markup)

    async def subscribe(self, update: Update, context: Context) -> None:
        await self._change_subscription(update, context, subscribe=True)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        await self._change_subscription(update, context, subscribe=False)

    async def _change_subscription(
        self, update: Update, context: Context, *, subscribe: bool
    ) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        command = "subscribe" if subscribe else "unsubscribe"
        args = list(context.args or [])
        if not args:
            await usage(self.out, update, command, text(lang, "subscribe.which"), lang)
            return
        target = await resolve_target(self.services, self.out, update, context, args, command)
        if target is None:
            return
        chat_id, thread_id, label = target
        said = _Said(lang, label)
        if len(args) != 1:
            await usage(self.out, update, command, text(lang, "subscribe.one"), lang)
            return
        storage = self.services.storage
        if args[0].lower() == "all":
            if subscribe:
                ids = [r.id for r in all_rules(self.services.rules)]
                changed = [r for r in ids if await storage.subscribe(chat_id, r, thread_id)]
            else:
                ids = await storage.subscriptions(chat_id)
                changed = [r for r in ids if await storage.unsubscribe(chat_id, r)]
            if not changed:
                await reply(self.out, update, said(f"{command}.all_nothing"))
                return
            tags = " ".join(esc(t) for t in rule_tags(changed))
            done = said(f"{command}.all_done", count=len(changed), tags=tags)
            await reply(self.out, update, done)
            return
        rule = find_rule(self.services.rules, args[0])
        if rule is None:
            if not subscribe and args[0] in await storage.subscriptions(chat_id):
                # The rule was removed from the files; still let people leave it.
                await storage.unsubscribe(chat_id, args[0])
                await reply(self.out, update, said("unsubscribe.removed_rule", rule=esc(args[0])))
                return
            problem = unknown_rule(self.services.rules, args[0], lang)
            await usage(self.out, update, command, problem, lang)
            return
        name = esc(clean_text(rule.name))
        if subscribe:
            outcome = await subscribe_here(self.services, chat_id, rule.id, thread_id)
            if outcome is SubscribeOutcome.ADDED:
                where = text(lang, "subscribe.to_topic") if thread_id is not None else ""
                await reply(self.out, update, said("subscribe.added", name=name, where=where))
            elif outcome is SubscribeOutcome.MOVED:
                await reply(self.out, update, said("subscribe.moved", name=name))
            else:
                await reply(self.out, update, said("subscribe.already", name=name))
        elif await storage.unsubscribe(chat_id, rule.id):
            await reply(self.out, update, said("unsubscribe.done", name=name))
        else:
            await reply(self.out, update, said("unsubscribe.not_subscribed", name=name))

    async def list(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        chat = update.effective_chat
        assert chat is not None
        chat_id, label = chat.id, text(lang, "target.this_chat")
        if args:
            target = await resolve_target(self.services, self.out, update, context, args, "list")
            if target is None:
                return
            if args:
                await usage(self.out, update, "list", text(lang, "list.usage"), lang)
                return
            chat_id, label = target.chat_id, target.label
        said = _Said(lang, label)
        subs = await self.services.storage.subscription_details(chat_id)
        if not subs:
            await reply(self.out, update, said("list.none"))
            return
        lines = [text(lang, "list.title", count=len(subs))]
        for sub in subs:
            rule = self.services.rules.current.get(sub.rule_id)
            removed = text(lang, "list.rule_removed")
            name = f" — {esc(clean_text(rule.name))}" if rule else f" — {removed}"
            tag = esc(rule_tag(sub.rule_id))
            mode = _mode(lang, sub.digest_schedule if sub.mode == DeliveryMode.DIGEST else None)
            topic = (
                text(lang, "list.topic", topic=sub.thread_id) if sub.thread_id is not None else ""
            )
            lines.append(f"{tag}{name} · {mode}{topic}")
        muted = subs[0].muted_until
        if muted is not None and muted > self.services.clock.now():
            # The listed chat's time zone (/settings), as /status and /mute say it.
            tz = self.services.chat_prefs.tz(chat_id, self.services.settings.tz)
            when = stamp(muted, tz, lang, Stamp.FULL)
            lines.append("\n" + text(lang, "list.muted", when=when))
        await reply(self.out, update, "\n".join(lines))


def _mode(lang: Language | None, schedule: str | None) -> str:
    """How a subscription's alerts arrive, as ``/list`` says it."""
    if schedule == "hourly":
        return text(lang, "list.hourly")
    if schedule and schedule.startswith("daily "):
        return text(lang, "list.daily", time=esc(schedule.removeprefix("daily ")))
    return text(lang, "list.instant")


class _Said:
    """A catalogue message in one language about one chat: fills ``{label}`` (how the replies
    name the chat) and ``{Label}`` (the same at the start of a sentence)."""

    def __init__(self, lang: Language | None, label: str) -> None:
        self.lang = lang
        self.label = label

    def __call__(self, key: str, **values: object) -> str:
        return text(self.lang, key, label=self.label, Label=cap(self.label), **values)
