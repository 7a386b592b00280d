"""The conversation: Telegram commands and buttons that manage subscriptions and show data.

``register_handlers(application, services, admin_actions)`` adds every handler to a
python-telegram-bot ``Application``; ``BOT_COMMANDS`` (and ``ADMIN_COMMANDS``) feed
``set_my_commands``. Works in private chats, groups (``/cmd@botname``; only group admins change
a group's subscriptions), forum topics (a subscription remembers the topic it was made in) and
channels (managed from a private chat: ``/subscribe RULE @channel``). Access follows
``Settings.allowed_ids`` (empty: open) and ``Settings.admin_ids``; strangers get a polite refusal
and no data. Every bad command is answered with what was wrong and the right usage.

One module per feature: ``commands`` (the command table, /start, /help, unknown commands),
``subscriptions`` (/rules, /subscribe, /unsubscribe, /list), ``schedule`` (/mute, /unmute, /digest),
``browse`` (/recent, /search, /status), ``admin`` (/feeds, /addfeed, /removefeed, /reload, /stats),
``buttons`` (callback queries), ``personal`` (/watch, /myrules, /promote and their buttons),
``alert_buttons`` (the buttons under alerts, /feedback), ``exports`` (/export, /feeds export),
``feed_buttons`` (pause, resume, remove under /feeds), ``settings`` (/settings), ``stories``
(/stories, /split), ``trend`` (/trend: charts and spike-alert opt-ins), ``web_login`` (/web),
``membership`` (the bot added, kicked, blocked; group migration) and ``errors`` (the error
handler); they share ``access`` (who may do what), ``targets`` (which chat a command acts on),
``rule_lookup`` and ``text``. Only ``replies`` sends or edits messages.

Replies are Telegram HTML with everything from feeds, rules and users escaped. Does not send
alerts (``TelegramSink`` does) and does not edit configuration files itself: the admin commands
call the injected ``AdminActions``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.delivery.replies import ReplySender
from bot.delivery.telegram_sink import TelegramSink
from bot.personal_rules import PersonalRules
from bot.services import Services
from bot.telegram.handlers.access import Context
from bot.telegram.handlers.admin import AdminActions, AdminCommands
from bot.telegram.handlers.alert_buttons import AlertButtons
from bot.telegram.handlers.browse import BrowseCommands, RecentSearches
from bot.telegram.handlers.buttons import ButtonHandlers
from bot.telegram.handlers.commands import ADMIN_COMMANDS, BOT_COMMANDS, GeneralCommands
from bot.telegram.handlers.errors import error_handler
from bot.telegram.handlers.exports import ExportCommands
from bot.telegram.handlers.feed_buttons import FeedButtons
from bot.telegram.handlers.membership import MembershipHandlers
from bot.telegram.handlers.personal import PersonalCommands
from bot.telegram.handlers.schedule import (
    ScheduleCommands,
    UsageError,
    parse_digest_schedule,
    parse_mute_duration,
)
from bot.telegram.handlers.settings import SettingsCommands
from bot.telegram.handlers.stories import StoryCommands, StorySplitter
from bot.telegram.handlers.subscriptions import SubscriptionCommands
from bot.telegram.handlers.trend import TrendCommands
from bot.telegram.handlers.web_login import WebLogin, WebLoginCommand

__all__ = [
    "ADMIN_COMMANDS",
    "BOT_COMMANDS",
    "AdminActions",
    "UsageError",
    "WebLogin",
    "parse_digest_schedule",
    "parse_mute_duration",
    "register_handlers",
]

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Callback = Callable[[Update, Context], Coroutine[Any, Any, None]]


def register_handlers(
    application: AnyApplication,
    services: Services,
    admin_actions: AdminActions | None = None,
    out: ReplySender | None = None,
    web_login: WebLogin | None = None,
    stories: StorySplitter | None = None,
    *,
    personal: PersonalRules | None = None,
) -> None:
    """Add every command, button, membership and error handler to ``application``.

    Call before ``application.initialize()``; then ``bot.set_my_commands(BOT_COMMANDS)``.
    Without ``admin_actions`` the feed and reload commands answer that they are unavailable.
    Replies go out through ``out`` (by default one sender over the application's bot, so
    they share its rate limiter with every other request). ``personal`` holds the rules saved
    from the chat; without it, saved rules are stored but only put in force by the next start.
    """
    if out is None:
        sink = TelegramSink(application.bot, tz=services.settings.tz, prefs=services.chat_prefs)
        out = ReplySender(sink, services.storage, prefs=services.chat_prefs)
    general = GeneralCommands(services, out)
    subscriptions = SubscriptionCommands(services, out)
    schedule = ScheduleCommands(services, out)
    searches = RecentSearches()  # shared: /search makes the pages, buttons turn them
    browse = BrowseCommands(services, admin_actions, out, searches)
    admin = AdminCommands(services, admin_actions, out)
    buttons = ButtonHandlers(services, out, searches)
    membership = MembershipHandlers(services, out)
    alerts = AlertButtons(services, out)
    exports = ExportCommands(services, out, admin)
    feed_buttons = FeedButtons(services, admin_actions, out)
    chat_settings = SettingsCommands(services, out)
    personal_commands = PersonalCommands(
        services, personal if personal is not None else PersonalRules(services), out, searches
    )
    web = WebLoginCommand(services, web_login, out)
    story_commands = StoryCommands(services, out, stories)
    trend = TrendCommands(services, out)
    only_new = filters.UpdateType.MESSAGE  # an edited "/subscribe" must not run twice
    callbacks: dict[str, Callback] = {
        "start": general.start,
        "help": general.help,
        "rules": subscriptions.rules,
        "subscribe": subscriptions.subscribe,
        "unsubscribe": subscriptions.unsubscribe,
        "list": subscriptions.list,
        "mute": schedule.mute,
        "unmute": schedule.unmute,
        "digest": schedule.digest,
        "recent": browse.recent,
        "search": browse.search,
        "status": browse.status,
        "feeds": exports.feeds,  # /feeds, and /feeds export|import
        "addfeed": admin.addfeed,
        "removefeed": admin.removefeed,
        "reload": admin.reload,
        "stats": admin.stats,
        "watch": personal_commands.watch,
        "myrules": personal_commands.myrules,
        "promote": personal_commands.promote,
        "feedback": alerts.feedback,
        "export": exports.export,
        "settings": chat_settings.settings,
        "web": web.web,
        "stories": story_commands.stories,
        "split": story_commands.split,
        "trend": trend.trend,
    }
    for name, callback in callbacks.items():
        application.add_handler(CommandHandler(name, callback, filters=only_new))
    # Before the general button handler: the first handler that matches a press runs.
    application.add_handler(CallbackQueryHandler(alerts.press, pattern=r"^al:"))
    application.add_handler(CallbackQueryHandler(feed_buttons.press, pattern=r"^fd:"))
    application.add_handler(CallbackQueryHandler(chat_settings.button, pattern=r"^st:"))
    application.add_handler(CallbackQueryHandler(personal_commands.watch_button, pattern=r"^w:"))
    application.add_handler(CallbackQueryHandler(personal_commands.myrules_button, pattern=r"^mr:"))
    application.add_handler(CallbackQueryHandler(buttons.button))
    application.add_handler(
        ChatMemberHandler(membership.my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, membership.migrated))
    application.add_handler(
        MessageHandler(
            filters.Document.ALL & filters.CaptionRegex(r"^/feeds(@\w+)?\s+import\b") & only_new,
            exports.feeds_import_file,
        )
    )
    application.add_handler(MessageHandler(filters.COMMAND & only_new, general.unknown))
    # Not in groups: people talk to each other there.
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & only_new,
            general.free_text,
        )
    )
    application.add_error_handler(error_handler(out))
