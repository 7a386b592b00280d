"""Stories from the chat: ``/stories [together|separate]`` (one alert per story, or one per
article, for this chat) and the administrators' ``/split ARTICLE_ID`` (move an article into a
story of its own, for good: ``Storage.split_article``).

Does not group anything: a split is handed to the running grouping through the injected
``StorySplitter`` (``bot.runtime.story_grouping.StoryGrouper``), so the open window follows at
once. Does not send alerts.
"""

from __future__ import annotations

from typing import Protocol

from telegram import Update

from bot.delivery.replies import ReplySender
from bot.services import Services
from bot.telegram.handlers.access import Context, admin_gate, gate
from bot.telegram.handlers.commands import usage
from bot.telegram.handlers.replies import reply
from bot.telegram.handlers.targets import resolve_target
from bot.telegram.handlers.text import esc
from core.errors import StorageError
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
        if not await gate(self.services.settings, self.out, update):
            return
        args = list(context.args or [])
        target = await resolve_target(self.services, self.out, update, context, args, "stories")
        if target is None:
            return
        storage = self.services.storage
        if not args:
            separate = await storage.chat_stories_separate(target.chat_id)
            await reply(self.out, update, _mode_text(target.label, separate))
            return
        word = args[0].lower()
        if word not in _TOGETHER + _SEPARATE:
            await usage(self.out, update, "stories", "Say together or separate.")
            return
        separate = word in _SEPARATE
        await storage.set_chat_stories_separate(target.chat_id, separate)
        await reply(self.out, update, "✅ " + _mode_text(target.label, separate))

    async def split(self, update: Update, context: Context) -> None:
        if not await admin_gate(self.services.settings, self.out, update):
            return
        args = list(context.args or [])
        if len(args) != 1 or not args[0].isdigit():
            await usage(self.out, update, "split", "Give the article's number.")
            return
        article_id = int(args[0])
        try:
            view = await self.services.storage.split_article(article_id, self.services.clock.now())
        except StorageError as e:
            await reply(self.out, update, f"❌ {esc(str(e))}.")
            return
        if self.splitter is not None:
            self.splitter.split(view)
        await reply(
            self.out,
            update,
            f"✂️ Article {article_id} is now a story of its own (story {view.id}, split from "
            f"story {view.split_from}). Later reports are grouped with it or with the old story, "
            "never put back together.",
        )


def _mode_text(label: str, separate: bool) -> str:
    if separate:
        return (
            f"{label.capitalize()} gets one alert per article, even when outlets report the same "
            "event. /stories together for one alert per story."
        )
    return (
        f"{label.capitalize()} gets one alert per story: later reports of the same event add "
        "their source to it. /stories separate for one alert per article."
    )
