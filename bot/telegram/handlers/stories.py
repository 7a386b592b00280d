"""Stories from the chat: ``/stories [together|separate]`` (one alert per story, or one per
article, for this chat) and the administrators' ``/split ARTICLE_ID`` (move an article into a
story of its own, for good: ``Storage.split_article``).

Does not group anything: a split is handed to the running grouping through the injected
``StorySplitter`` (``bot.runtime.story_grouping.StoryGrouper``), so the open window follows at
once. Replies in the chat's language. Does not send alerts.
"""

from __future__ import annotations

from typing import Protocol

from telegram import Update

from bot.delivery.replies import ReplySender
from bot.i18n import text
from bot.services import Services
from bot.telegram.handlers.access import Context, admin_gate, chat_language, gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.targets import resolve_target
from bot.telegram.handlers.text import cap, esc
from core.errors import StorageError
from core.models import Language
from storage.base import StoryView

_TOGETHER = ("together", "group", "grouped", "on")
_SEPARATE = ("separate", "apart", "every", "off")


class StorySplitter(Protocol):
    """The running grouping, told about a split so its window follows."""

    def split(self, view: StoryView) -> None: ...


class StoryCommands:
    """``/stories`` and ``/split``."""

    def __init__(
        self, services: Services, out: ReplySender, splitter: StorySplitter | None = None
    ) -> None:
        self.services = services
        self.out = out
        self.splitter = splitter

    async def stories(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        target = await resolve_target(self.services, self.out, update, context, args, "stories")
        if target is None:
            return
        storage = self.services.storage
        if not args:
            separate = await storage.chat_stories_separate(target.chat_id)
            await reply(self.out, update, _mode_text(lang, target.label, separate))
            return
        word = args[0].lower()
        if word not in _TOGETHER + _SEPARATE:
            await usage(self.out, update, "stories", text(lang, "stories.say"), lang)
            return
        separate = word in _SEPARATE
        await storage.set_chat_stories_separate(target.chat_id, separate)
        await reply(self.out, update, "✅ " + _mode_text(lang, target.label, separate))

    async def split(self, update: Update, context: Context) -> None:
        lang = chat_language(self.services, update)
        if not await admin_gate(self.services.settings, self.out, update, lang):
            return
        args = list(context.args or [])
        if len(args) != 1 or not args[0].isdigit():
            await usage(self.out, update, "split", text(lang, "split.give_number"), lang)
            return
        article_id = int(args[0])
        try:
            view = await self.services.storage.split_article(article_id, self.services.clock.now())
        except StorageError as e:
            # The storage's reason (English: "no article 7", ...), framed in the chat's language.
            await reply(self.out, update, text(lang, "split.failed", error=esc(str(e))))
            return
        if self.splitter is not None:
            self.splitter.split(view)
        done = text(lang, "split.done", article=article_id, story=view.id, old=view.split_from)
        await reply(self.out, update, done)


def _mode_text(lang: Language | None, label: str, separate: bool) -> str:
    # cap, not str.capitalize: a channel's title keeps its capitals.
    return text(lang, "stories.separate" if separate else "stories.together", Label=cap(label))
