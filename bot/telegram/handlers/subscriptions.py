"""What a chat subscribes to: ``/rules`` (pages of rules with Subscribe / Unsubscribe buttons),
``/subscribe``, ``/unsubscribe`` and ``/list``.

``rules_page`` draws one page with its buttons; ``buttons`` redraws it after a press. Does not
handle the button presses themselves (``buttons``) or how alerts arrive (``schedule``).
"""

from __future__ import annotations

from enum import Enum

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.delivery.alert_format import clean_text, rule_tags, shorten
from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.rule_lookup import all_rules, find_rule, rule_token, unknown_rule
from bot.telegram.handlers.targets import resolve_target
from bot.telegram.handlers.text import cap, esc, rule_tag
from core.models import DeliveryMode, Priority

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
    """Page ``page`` (from 0, clamped) of the rules as ``chat_id`` sees them, with its buttons."""
    rules = all_rules(services.rules)
    if not rules:
        return "No rules are loaded yet. An administrator adds them in config/rules/.", None
    pages = max(1, -(-len(rules) // RULES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    subscribed = set(await services.storage.subscriptions(chat_id))
    shown = rules[page * RULES_PER_PAGE : (page + 1) * RULES_PER_PAGE]
    lines = [f"<b>Rules</b> ({page + 1}/{pages})"]
    buttons: list[list[InlineKeyboardButton]] = []
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
            caption, data = f"➖ Unsubscribe {label}", f"u:{token}:{page}"
        else:
            caption, data = f"➕ Subscribe {label}", f"s:{token}:{page}"
        buttons.append([InlineKeyboardButton(caption, callback_data=data)])
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀ Previous", callback_data=f"p:{page - 1}"))
    if page < pages - 1:
        nav.append(InlineKeyboardButton("Next ▶", callback_data=f"p:{page + 1}"))
    if nav:
        buttons.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(buttons)


class SubscriptionCommands:
    """``/rules``, ``/subscribe``, ``/unsubscribe`` and ``/list``."""

    def __init__(self, services: Services, out: ReplySender) -> None:
        self.services = services
        self.out = out

    async def rules(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        chat = update.effective_chat
        assert chat is not None
        text, markup = await rules_page(self.services, chat.id, 0)
        await reply(self.out, update, text, markup)

    async def subscribe(self, update: Update, context: Context) -> None:
        await self._change_subscription(update, context, subscribe=True)

    async def unsubscribe(self, update: Update, context: Context) -> None:
        await self._change_subscription(update, context, subscribe=False)

    async def _change_subscription(
        self, update: Update, context: Context, *, subscribe: bool
    ) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        command = "subscribe" if subscribe else "unsubscribe"
        args = list(context.args or [])
        if not args:
            await usage(
                self.out, update, command, "Say which rule (or all). The rules are in /rules."
            )
            return
        target = await resolve_target(self.services, self.out, update, context, args, command)
        if target is None:
            return
        chat_id, thread_id, label = target
        if len(args) != 1:
            await usage(self.out, update, command, "Give one rule id (or all), nothing else.")
            return
        storage = self.services.storage
        if args[0].lower() == "all":
            if subscribe:
                ids = [r.id for r in all_rules(self.services.rules)]
                changed = [r for r in ids if await storage.subscribe(chat_id, r, thread_id)]
            else:
                ids = await storage.subscriptions(chat_id)
                changed = [r for r in ids if await storage.unsubscribe(chat_id, r)]
            verb = "Subscribed" if subscribe else "Unsubscribed"
            if not changed:
                await reply(
                    self.out,
                    update,
                    f"Nothing to change: {label} was already "
                    f"{'subscribed to every rule' if subscribe else 'without subscriptions'}.",
                )
                return
            tags = " ".join(esc(t) for t in rule_tags(changed))
            await reply(
                self.out,
                update,
                f"✅ {verb} {label} to {len(changed)} rules: {tags}"
                if subscribe
                else f"✅ {verb} {label} from {len(changed)} rules: {tags}",
            )
            return
        rule = find_rule(self.services.rules, args[0])
        if rule is None:
            if not subscribe and args[0] in await storage.subscriptions(chat_id):
                # The rule was removed from the files; still let people leave it.
                await storage.unsubscribe(chat_id, args[0])
                await reply(self.out, update, f"✅ Unsubscribed {label} from {esc(args[0])}.")
                return
            await usage(self.out, update, command, unknown_rule(self.services.rules, args[0]))
            return
        name = esc(clean_text(rule.name))
        if subscribe:
            outcome = await subscribe_here(self.services, chat_id, rule.id, thread_id)
            if outcome is SubscribeOutcome.ADDED:
                where = " (alerts go to this topic)" if thread_id is not None else ""
                await reply(self.out, update, f"✅ Subscribed {label} to <b>{name}</b>{where}.")
            elif outcome is SubscribeOutcome.MOVED:
                await reply(
                    self.out,
                    update,
                    f"✅ {cap(label)} was subscribed to <b>{name}</b> in another topic; its "
                    "alerts now come to this topic.",
                )
            else:
                await reply(
                    self.out, update, f"{cap(label)} was already subscribed to <b>{name}</b>."
                )
        elif await storage.unsubscribe(chat_id, rule.id):
            await reply(self.out, update, f"✅ Unsubscribed {label} from <b>{name}</b>.")
        else:
            await reply(self.out, update, f"{cap(label)} was not subscribed to <b>{name}</b>.")

    async def list(self, update: Update, context: Context) -> None:
        if not await gate(self.services.settings, self.out, update):
            return
        args = list(context.args or [])
        chat = update.effective_chat
        assert chat is not None
        chat_id, label = chat.id, "This chat"
        if args:
            target = await resolve_target(self.services, self.out, update, context, args, "list")
            if target is None:
                return
            if args:
                await usage(
                    self.out, update, "list", "/list takes no rule, only an optional @channel."
                )
                return
            chat_id, label = target.chat_id, target.label
        subs = await self.services.storage.subscription_details(chat_id)
        if not subs:
            await reply(
                self.out,
                update,
                f"{cap(label)} has no subscriptions yet. Pick rules with /rules or "
                "take them all with /subscribe all.",
            )
            return
        tz = self.services.settings.tz
        lines = [f"<b>Subscriptions</b> ({len(subs)})"]
        for sub in subs:
            rule = self.services.rules.current.get(sub.rule_id)
            name = f" — {esc(clean_text(rule.name))}" if rule else " — (rule removed)"
            tag = esc(rule_tag(sub.rule_id))
            mode = (
                f"digest, {sub.digest_schedule}"
                if sub.mode == DeliveryMode.DIGEST and sub.digest_schedule
                else "instant"
            )
            topic = f", topic {sub.thread_id}" if sub.thread_id is not None else ""
            lines.append(f"{tag}{name} · {mode}{topic}")
        muted = subs[0].muted_until
        if muted is not None and muted > self.services.clock.now():
            lines.append(
                f"\n🔕 Muted until {muted.astimezone(tz).strftime('%d %b %Y %H:%M %Z')} (/unmute)"
            )
        await reply(self.out, update, "\n".join(lines))
