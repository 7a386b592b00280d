"""The general commands and buttons in a chat set to Vietnamese (issue #16): the same script is
played in an English bot and in a Vietnamese one (every command of the area, its bad inputs
and its buttons), and every Vietnamese reply differs from the English one and holds no English
sentence from the catalogues; English chats are unchanged (the other handler tests)."""

from __future__ import annotations

import re
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram.ext import CommandHandler

from bot import i18n
from bot.i18n import command_messages, core_messages, text
from bot.telegram.handlers.commands import COMMANDS, set_menus
from bot.telegram.handlers.schedule import UsageError, parse_digest_schedule, parse_mute_duration
from bot.telegram.handlers.text import plural
from bot.telegram.handlers.web_login import WebLoginCommand
from core.errors import StorageError
from core.models import Language, StoryPlacement
from storage.base import Subscription
from storage.sql import SqlStorage
from tests.bot.telegram.harness import (
    ADMIN,
    CHANNEL,
    FORUM,
    GROUP,
    OTHER,
    USER,
    RunningBot,
    running_bot,
)
from tests.fakes.memory_storage import MemoryStorage
from tests.fakes.telegram_api import SentMessage
from tests.support.storage_helpers import match
from tests.support.story_helpers import seed_article

VI = Language.VI


def english_sentences() -> set[str]:
    """Every piece of English the general handlers' catalogues hold (the text between the
    placeholders and tags of each template: several words, or one capitalised or long word)
    that the key's Vietnamese does not also hold (keywords, commands)."""
    found: set[str] = set()
    for area in (command_messages, core_messages):
        for key, template in area.EN.items():
            if key.startswith("noun.") or not template:
                continue  # nouns: one word each, counted by plural (tested below)
            vietnamese = area.VI[key]
            for literal, *_ in string.Formatter().parse(template):
                for piece in re.split(r"\n|<[^>]+>|[—·:;()“”]", literal):
                    # trimmed to its words: emoji and punctuation are the same in both
                    piece = re.sub(r"^[^\w']+|[^\w']+$", "", piece)
                    words = re.findall(r"[A-Za-z']+", piece)
                    if not words or piece in vietnamese:
                        continue
                    # one word: a capitalised one, or a long one ("with" is in the news too)
                    if len(words) >= 2 or len(words[0]) >= 7 or piece[:1].isupper():
                        found.add(piece)
    return found


ENGLISH = english_sentences()


def english_in(said: str) -> list[str]:
    """The catalogue English found in ``said`` (whole words only)."""
    return [
        piece for piece in ENGLISH if re.search(rf"(?<![\w/]){re.escape(piece)}(?![\w/])", said)
    ]


class AskedFor(dict[str, str]):
    """A catalogue that remembers which keys were looked up (``bot.i18n.text`` and ``plural``
    look up with ``get``)."""

    def __init__(self, catalogue: dict[str, str]) -> None:
        super().__init__(catalogue)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


@dataclass
class Transcript:
    """What the bot said during a script: replies (and redrawn pages), button answers, and
    the labels of the buttons it showed."""

    rb: RunningBot
    lang: Language | None
    replies: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    asked: set[str] = field(default_factory=set)  # the catalogue keys used (Vietnamese script)

    def t(self, key: str, **values: object) -> str:
        return text(self.lang, key, **values)

    def _keep(self, sent: SentMessage) -> SentMessage:
        self.replies.append(sent.text)
        self.labels.extend(str(b["text"]) for b in sent.buttons)
        return sent

    async def ask(self, command: str, chat_id: int = ADMIN, **kwargs: Any) -> SentMessage:
        return self._keep(await self.rb.ask(command, chat_id, **kwargs))

    async def press(
        self, message: SentMessage, key: str, user_id: int = ADMIN, **values: object
    ) -> str:
        """Press the button labelled with catalogue ``key`` (in this transcript's language)."""
        before = len(self.rb.tg.messages(message.chat_id))
        answer = await self.rb.press(message, self.t(key, **values), user_id)
        if answer:
            self.replies.append(answer)
        self._keep(message)  # the page as redrawn
        for added in self.rb.tg.messages(message.chat_id)[before:]:  # "More" sends a page
            self._keep(added)
        return answer

    async def press_data(self, message: SentMessage, data: str, user_id: int = ADMIN) -> str:
        """Press a button with ``data`` under ``message`` (an old or forged one)."""
        query_id = self.rb.tg.user_presses(data, message, user_id)
        await self.rb.tg.wait_for(
            lambda: any(a["callback_query_id"] == query_id for a in self.rb.tg.callback_answers),
            what="callback answer",
        )
        answer = next(a for a in self.rb.tg.callback_answers if a["callback_query_id"] == query_id)
        self.replies.append(str(answer["text"]))
        return str(answer["text"])


async def choose_language(script: Transcript, chat_id: int, **kwargs: Any) -> None:
    """``/settings`` in ``chat_id``, and its language button when the script is Vietnamese."""
    page = await script.rb.ask("/settings", chat_id, **kwargs)
    if script.lang is VI:
        assert await script.rb.press(page, "Tiếng Việt", kwargs.get("user_id") or chat_id)


async def play(rb: RunningBot, lang: Language | None) -> Transcript:
    """Every command and button of the general handlers, with their bad inputs, as the bot's
    administrator in a private chat, then in a group, a forum topic and for a channel."""
    s = Transcript(rb, lang)
    for chat in (ADMIN, USER):
        await choose_language(s, chat)
    rb.tg.add_chat(GROUP, "group", title="Analysts", admins=[ADMIN])
    await choose_language(s, GROUP, user_id=ADMIN, chat_type="group")
    rb.tg.add_chat(FORUM, "supergroup", title="Desk", is_forum=True, admins=[ADMIN])
    await choose_language(s, FORUM, user_id=ADMIN, chat_type="supergroup")

    # about the bot
    await s.ask("/start")
    await s.ask("/help")
    await s.ask("hello, can you watch Rubio for me?")
    await s.ask("/frobnicate now")

    # /rules and its buttons
    page = await s.ask("/rules")
    await s.press(page, "rules.next")
    await s.press(page, "rules.previous")
    await s.press(page, "rules.button_subscribe", name="Comprehensive Strategic Partnership")
    await s.press(page, "rules.button_unsubscribe", name="Comprehensive Strategic Partnership")
    await s.press_data(page, "s:no-such-rule:0")  # a rule removed since the page was drawn
    await s.press_data(page, "u:asean:0")  # not subscribed (a page pressed twice)
    await s.press_data(page, "zz:1")  # a button this version does not know
    await s.press_data(replace(page, date=0), "p:1")  # a message too old to edit

    # /subscribe, /unsubscribe, /list
    await s.ask("/subscribe")
    await s.ask("/subscribe cps")  # did you mean csp?
    await s.ask("/subscribe csp us")
    await s.ask("/subscribe csp")
    await s.ask("/subscribe csp")
    await s.ask("/subscribe all")
    await s.ask("/subscribe all")
    await s.ask("/list")
    await s.ask("/list csp")
    await s.ask("/unsubscribe us")
    await s.ask("/unsubscribe us")
    await s.ask("/unsubscribe nothing-like-it")
    await rb.storage.subscribe(ADMIN, "retired", None)  # a rule since removed from the files
    await s.ask("/list")
    await s.ask("/unsubscribe retired")
    await s.press_data(page, "s:csp:0")  # already subscribed

    # /mute, /unmute
    await s.ask("/mute")
    await s.ask("/mute forever")
    await s.ask("/mute 0m")
    await s.ask("/mute 400d")
    await s.ask("/mute 2h")
    await s.ask("/list")
    await s.ask("/status")
    await s.ask("/unmute")
    await s.ask("/unmute csp japan")
    await s.ask("/mute csp")
    await s.ask("/mute csp soon")
    await s.ask("/mute csp 2h")
    await s.ask("/mute japan off")
    await s.ask("/unmute japan")  # nothing matched meanwhile
    rb.clock.advance(60)
    await rb.ingest("Hanoi and Washington mark their partnership", "csp")
    rb.clock.advance(60)
    await s.ask("/unmute csp")  # one match to catch up on
    await s.ask("/unmute eu")  # never muted on its own

    # /digest
    await s.ask("/digest")
    await s.ask("/digest csp")
    await s.ask("/digest csp weekly")
    await s.ask("/digest csp daily")
    await s.ask("/digest csp daily 25:00")
    await s.ask("/digest nothing-like-it hourly")
    await s.ask("/digest us hourly")  # not subscribed
    await s.ask("/digest csp hourly")
    await s.ask("/digest eu daily 8am")
    await s.ask("/list")
    await s.ask("/digest csp off")

    # /recent and /search, with their buttons
    for n in range(12):
        await rb.ingest(f"Comprehensive partnership talks, round {n}", "csp", minutes=n)
    items = [(seed_article(n), [match("asean")]) for n in ("000", "001")]
    stored = await rb.storage.ingest_many(
        items, rb.clock.now(), stories=[StoryPlacement("s1", "{}")] * 2
    )
    await s.ask("/recent")
    recent = await s.ask("/recent csp")
    await s.press(recent, "recent.more")
    await rb.ingest("", "eu", minutes=20)  # a story without a title
    await s.ask("/recent asean")  # one story, two sources
    await s.ask("/recent eu")
    await s.ask("/recent unclos")  # none yet
    await s.ask("/recent csp us")
    await s.ask("/recent nothing-like-it")
    await s.ask("/recent", USER)  # a chat without subscriptions
    await s.ask("/list", USER)
    await s.ask("/digest all hourly", USER)
    await s.ask("/search")
    found = await s.ask("/search comprehensive")
    await s.press(found, "search.older")
    await s.press(found, "search.newer")
    await s.press_data(found, "sr:987:1")  # a search forgotten since
    await s.ask("/search zzzqqq")
    await s.ask('/search "unclosed')
    await s.ask('/search "Kaja Kallas"')  # a result with another source

    # /stories, /split (the administrators')
    await s.ask("/stories")
    await s.ask("/stories separate")
    await s.ask("/stories together")
    await s.ask("/stories sometimes")
    await s.ask("/split")
    await s.ask("/split 999")
    await s.ask(f"/split {stored[1].article_id}")

    # /trend
    await s.ask("/trend")
    await s.ask("/trend nothing-like-it")
    await s.ask("/trend csp 12")
    await s.ask("/trend csp soon")
    await s.ask("/trend csp")
    await s.ask("/trend unclos 7")  # no story, so no day stands out
    await s.ask("/trend us on")
    await s.ask("/trend csp on")
    await s.ask("/trend csp on")
    await s.ask("/trend")
    await s.ask("/trend csp on elsewhere")
    await s.ask("/trend csp off")
    await s.ask("/trend csp off")

    # /web, /settings' own bad input
    await s.ask("/web")
    web_login(rb).web_login = OneLink()
    await s.ask("/web")
    await s.ask("/settings frob")

    # a group: its administrators change it, everyone reads it
    group = {"chat_type": "group"}
    await s.ask("/subscribe csp", GROUP, user_id=OTHER, **group)
    await s.ask("/subscribe csp", GROUP, user_id=ADMIN, **group)
    await s.ask("/list", GROUP, user_id=OTHER, **group)
    group_page = await s.ask("/rules", GROUP, user_id=OTHER, **group)
    await s.press(group_page, "rules.button_subscribe", user_id=OTHER, name="Japan")
    await s.press(group_page, "rules.button_subscribe", user_id=ADMIN, name="Japan")
    await s.ask("/web", GROUP, user_id=ADMIN, **group)
    await s.ask("/subscribe csp @desk", GROUP, user_id=ADMIN, **group)
    await s.ask("/mute 1h", GROUP, user_id=OTHER, **group)

    # a forum topic: a subscription follows the topic it is repeated in
    forum = {"user_id": ADMIN, "chat_type": "supergroup"}
    await s.ask("/subscribe unclos", FORUM, thread_id=17, **forum)
    await s.ask("/subscribe unclos", FORUM, thread_id=23, **forum)
    await s.ask("/subscribe unclos", FORUM, thread_id=23, **forum)
    await s.ask("/list", FORUM, thread_id=23, **forum)
    topic_page = await s.ask("/rules", FORUM, thread_id=31, **forum)
    await s.press(topic_page, "rules.button_subscribe", name="Japan")
    await s.press_data(topic_page, "s:unclos:0")  # subscribed from topic 23: moves here
    await s.press(topic_page, "rules.button_unsubscribe", name="UNCLOS / East Sea")

    # channels, managed from the private chat
    rb.tg.add_chat(5005, "private", username="someperson")
    rb.tg.add_chat(CHANNEL, "channel", title="Morning Desk", username="morningdesk")
    await s.ask("/subscribe csp @nobodyhere")
    await s.ask("/subscribe csp @someperson")
    await s.ask("/subscribe csp @morningdesk")  # the bot may not post there yet
    rb.tg.add_chat(CHANNEL, "channel", admins=[ADMIN], bot_is_admin=True)
    await s.ask("/subscribe csp @morningdesk")
    await s.ask("/list @morningdesk")
    await s.ask("/list @morningdesk extra")
    await s.ask("/digest csp daily 07:30 @morningdesk")
    await s.ask("/mute csp 1d @morningdesk")
    await s.ask("/stories @morningdesk")
    await s.ask("/unsubscribe all @morningdesk")
    await s.ask("/unsubscribe all @morningdesk")
    await s.ask("/subscribe csp @morningdesk", USER)  # not one of its administrators
    await s.ask("/split 3", USER)  # not one of the bot's administrators
    return s


class OneLink:
    """A console that hands out one made-up login link."""

    def login_link(self, user_id: int, admin: bool) -> str | None:
        return f"https://console.example/login/{user_id}-{'admin' if admin else 'reader'}"


def web_login(rb: RunningBot) -> WebLoginCommand:
    """The running bot's ``/web`` handler, to give it a console."""
    for group in rb.application.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler) and "web" in handler.commands:
                command = handler.callback.__self__  # type: ignore[attr-defined]
                assert isinstance(command, WebLoginCommand)
                return command
    raise AssertionError("no /web handler")


@asynccontextmanager
async def bot_in(tmp_path: Path, name: str) -> AsyncIterator[RunningBot]:
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / f'{name}.db'}")
    async with running_bot(storage=storage) as rb:
        yield rb


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def transcripts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Transcript, Transcript]:
    """The script played once per module in each language (the three tests below read it)."""
    tmp_path = tmp_path_factory.mktemp("transcripts")
    async with bot_in(tmp_path, "en") as en_bot:
        english = await play(en_bot, None)
    recording = AskedFor(i18n.CATALOGUES[VI])
    i18n.CATALOGUES[VI] = recording
    try:
        async with bot_in(tmp_path, "vi") as vi_bot:
            vietnamese = await play(vi_bot, VI)
    finally:
        i18n.CATALOGUES[VI] = i18n.VI
    vietnamese.asked = recording.asked
    return english, vietnamese


def test_every_reply_is_vietnamese_in_a_vietnamese_chat(
    transcripts: tuple[Transcript, Transcript],
) -> None:
    english, vietnamese = transcripts
    assert len(english.replies) == len(vietnamese.replies) > 100
    same = [en for en, vi in zip(english.replies, vietnamese.replies, strict=True) if en == vi]
    assert same == []
    leaks = {said: english_in(said) for said in vietnamese.replies if english_in(said)}
    assert leaks == {}
    label_leaks = {label: english_in(label) for label in vietnamese.labels if english_in(label)}
    assert label_leaks == {}
    # and the English script says English (the check above is not vacuous)
    assert sum(bool(english_in(said)) for said in english.replies) > 100


def test_english_replies_are_unchanged_but_for_a_channels_capitals(
    transcripts: tuple[Transcript, Transcript],
) -> None:
    en, _ = transcripts
    said = "\n".join(en.replies)
    assert "❌ Say which rule (or all). The rules are in /rules.\nUsage: /subscribe RULE" in said
    assert "🔕 Muted this chat until 11 Jul 2025 21:00 +07. Matches meanwhile are kept" in said
    assert "Morning Desk gets one alert per story" in said  # was "Morning desk"


def test_vietnamese_replies_read_as_they_should(
    transcripts: tuple[Transcript, Transcript],
) -> None:
    _, vi = transcripts
    said = "\n".join(vi.replies)
    assert "❌ Hãy cho biết quy tắc nào (hoặc all). Các quy tắc có trong /rules.\n" in said
    assert "Cách dùng: /subscribe QUY_TẮC|all [@kênh]" in said
    assert "Không có quy tắc nào tên “cps”. Có phải ý bạn là csp? Xem danh sách" in said
    assert "✅ Đã đăng ký Comprehensive Strategic Partnership cho cuộc trò chuyện này." in said
    assert "🔕 Đã tạm tắt cuộc trò chuyện này đến 11/07/2025" in said  # day/month, no "Jul"
    assert re.search(r"\d Jul", said) is None
    assert "1 bài khớp trong lúc tạm tắt sẽ được gửi bù" in said  # no plural forms
    assert "#eu — European Union · bản tin tổng hợp, hằng ngày lúc 08:00" in said
    assert "2 nguồn: " in said
    assert "Cảnh báo đột biến: /trend csp on" in said
    assert "Cuộc trò chuyện này nhận một cảnh báo cho mỗi tin" in said
    assert "Morning Desk nhận một cảnh báo cho mỗi tin" in said
    assert "(cảnh báo được gửi vào chủ đề này)" in said
    assert "❌ Lệnh này chỉ dành cho quản trị viên của bot." in said
    assert "❌ Chỉ quản trị viên của @morningdesk mới làm được việc này." in said


async def test_help_and_the_command_menu_in_vietnamese(tmp_path: Path) -> None:
    async with bot_in(tmp_path, "vi") as rb:
        s = Transcript(rb, VI)
        await choose_language(s, USER)
        user_help = (await rb.ask("/help")).text
        assert user_help.startswith("Các lệnh\n/start — bot này làm gì\n")
        assert "/subscribe QUY_TẮC|all [@kênh] — nhận cảnh báo của một quy tắc" in user_help
        assert "/addfeed" not in user_help
        await choose_language(s, ADMIN)
        admin_help = (await rb.ask("/help", ADMIN)).text
        assert "\n\nQuản trị\n/feeds [export] — các nguồn tin" in admin_help
        assert all(spec.usage_in(VI) in admin_help for spec in COMMANDS)

        await set_menus(rb.application.bot)
        english = {c["command"]: c["description"] for c in rb.tg.commands()}
        vietnamese = {c["command"]: c["description"] for c in rb.tg.commands(language_code="vi")}
        assert english.keys() == vietnamese.keys() == {c.name for c in COMMANDS if not c.admin}
        assert english["subscribe"] == "get alerts for a rule"
        assert vietnamese["subscribe"] == "nhận cảnh báo của một quy tắc"
        await rb.ask("/start", ADMIN)  # an administrator's menu, in both languages
        await rb.tg.wait_for(
            lambda: bool(rb.tg.commands(scope=f"chat/{ADMIN}", language_code="vi")),
            what="Vietnamese admin menu",
        )
        menu = {
            c["command"]: c["description"]
            for c in rb.tg.commands(scope=f"chat/{ADMIN}", language_code="vi")
        }
        assert menu["addfeed"] == "thêm một nguồn tin"
        assert rb.tg.commands(scope=f"chat/{ADMIN}")[0]["description"] == "what this bot does"


class FailingStorage(MemoryStorage):
    """The database is down for ``/rules``; ``/list`` hits a bug."""

    async def subscriptions(self, chat_id: int) -> list[str]:
        raise StorageError("database is locked")

    async def subscription_details(self, chat_id: int) -> list[Subscription]:
        raise RuntimeError("a bug")


def vietnamese(rb: RunningBot, chat_id: int) -> None:
    """Set ``chat_id`` to Vietnamese behind the bot's back (a stranger cannot use /settings)."""
    rb.services.chat_prefs.put(chat_id, replace(rb.services.chat_prefs.get(chat_id), language=VI))


async def test_strangers_failures_and_edge_cases_in_the_chats_language() -> None:
    stranger = text(VI, "access.stranger", who=OTHER)
    assert stranger == (
        "Xin lỗi, đây là bot riêng. Nếu bạn cần được dùng bot, hãy nhờ người vận hành thêm "
        f"mã Telegram của bạn ({OTHER}) vào danh sách được phép."
    )
    async with running_bot(allowed_ids=[ADMIN]) as rb:
        vietnamese(rb, OTHER)
        assert (await rb.ask("/rules", OTHER)).text == stranger
        page = await rb.ask("/rules", ADMIN)  # a page forwarded to a stranger's chat
        page = replace(page, chat_id=OTHER)
        rb.tg.add_chat(OTHER)
        query_id = rb.tg.user_presses("p:1", page, OTHER)
        await rb.tg.wait_for(
            lambda: any(a["callback_query_id"] == query_id for a in rb.tg.callback_answers),
            what="answer",
        )
        assert rb.tg.callback_answers[-1]["text"] == stranger
        assert rb.tg.callback_answers[-1]["show_alert"]

    async with running_bot(storage=FailingStorage()) as rb:
        vietnamese(rb, USER)
        assert (await rb.ask("/rules")).text == (
            "⚠️ Cơ sở dữ liệu hiện không truy cập được; vui lòng thử lại sau một phút."
        )
        assert (await rb.ask("/list")).text == "⚠️ Đã có lỗi ở phía tôi; lỗi đã được ghi lại."
        assert (await rb.ask("/trend csp")).text == "Không xem được xu hướng với kho lưu trữ này."

    async with running_bot(rules=()) as rb:
        vietnamese(rb, USER)
        assert (await rb.ask("/rules")).text == (
            "Chưa có quy tắc nào được nạp. Quản trị viên thêm quy tắc trong config/rules/."
        )


def test_plural_takes_the_language() -> None:
    assert plural(1, "match") == "1 match"
    assert plural(3, "match", Language.EN) == "3 matches"
    assert plural(3, "match", VI) == "3 bài khớp"
    assert plural(1, "feed", VI) == "1 nguồn tin"
    assert plural(2, "existing item", VI) == "2 existing items"  # no Vietnamese noun: English


def test_usage_errors_speak_both_languages_and_the_old_form_still_works() -> None:
    with pytest.raises(UsageError) as caught:
        parse_mute_duration("soon")
    assert str(caught.value).startswith("“soon” is not a duration.")
    assert caught.value.text(VI).startswith("“soon” không phải là một khoảng thời gian.")
    with pytest.raises(UsageError) as caught:
        parse_digest_schedule([])
    assert caught.value.text(VI) == "Hãy cho biết tần suất: off, hourly hoặc daily HH:MM."
    old = UsageError("Something was wrong.")
    assert str(old) == old.text(VI) == "Something was wrong."


def test_the_script_says_every_command_message(
    transcripts: tuple[Transcript, Transcript],
) -> None:
    _, vi = transcripts
    unsaid = sorted(set(command_messages.EN) - vi.asked)
    assert unsaid == [
        "access.stranger",  # a bot with an allowlist: the test below
        "digest.set_how_often",  # /digest asks for a rule first: test_usage_errors_...
        "error.database",  # a failing storage: the test below
        "error.other",
        "noun.alert",  # nouns of the other handlers and of /status's core template
        "noun.day",
        "noun.feed",
        "noun.rule",
        "noun.subscription",
        "rules.none",  # a bot without rules: the test below
        "trend.spikes",  # the script's chart has one day standing out ("trend.spike")
        "trend.unavailable",  # a storage without trends: the test below
    ]
