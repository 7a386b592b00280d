"""A chat set to Vietnamese (/settings, as a user presses it) gets the bot's own words in
Vietnamese in everything the outbox sends it: an alert and its buttons, the alert's edit when
the source updates the story, a story's sources edit and its late-source reply, a flood digest,
a scheduled digest, the catch-up after it unblocks the bot and the catch-up after an unmute; and
every button press answers in Vietnamese. The article's own text stays as the feed wrote it.

All of it through the real OutboxSender, TelegramSink and python-telegram-bot against the fake
Bot API over SQLite; the fake parses the HTML as Telegram does, and every message here must have
gone out as HTML (a refused one would have been resent as plain text)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.delivery.alert_state import AlertStates
from bot.delivery.catchup import CatchUpScheduler
from bot.delivery.digests import DigestScheduler
from bot.delivery.outbox import OutboxSender
from bot.delivery.telegram_sink import TelegramSink
from core.models import Article, Hit, Language, RuleMatch, StoryPlacement
from storage.sql import SqlStorage
from tests.bot.telegram.harness import (
    ADMIN,
    GROUP,
    OTHER,
    PUBLISHED,
    USER,
    RunningBot,
    running_bot,
)
from tests.fakes.telegram_api import SentMessage

WHY = json.dumps({"reason": "shared names and signals (same language)", "score": 0.5})
DEFAULT_VI = [
    "🔕 1 giờ",
    "🔕 1 ngày",
    "🔕 đến khi bật lại",
    "🚫 Hủy đăng ký",
    "👎 Không liên quan",
    "🔗 Mở bài gốc",
]


@pytest.fixture
async def vi(tmp_path: Path) -> AsyncIterator[RunningBot]:
    """A running bot whose private chat USER chose Vietnamese and follows #csp."""
    storage = SqlStorage(f"sqlite+aiosqlite:///{tmp_path / 'newswatch.db'}")
    async with running_bot(storage=storage) as running:
        page = await running.ask("/settings")
        assert await running.press(page, "Tiếng Việt") == "Đã lưu"
        assert running.services.chat_prefs.get(USER).language is Language.VI
        await running.ask("/subscribe csp")
        yield running


def sender(rb: RunningBot) -> OutboxSender:
    """The outbox over the sink as the app wires it (the chats' settings, the keyboards'
    state)."""
    sink = TelegramSink(
        rb.application.bot,
        tz=rb.services.settings.tz,
        prefs=rb.services.chat_prefs,
        button_state=AlertStates(rb.services),
    )
    return OutboxSender(rb.services, sink)


async def send_queued(rb: RunningBot, expect: int = 1) -> list[SentMessage]:
    """Run the outbox once; the ``expect`` new messages in USER's chat."""
    before = len(rb.tg.messages(USER))
    await sender(rb).drain_once()
    return (await rb.tg.wait_for_messages(before + expect, chat_id=USER))[before:]


def labels(message: SentMessage) -> list[str]:
    return [b["text"] for b in message.buttons]


def assert_html(rb: RunningBot, *messages: SentMessage) -> None:
    """Each went out (and was last edited) as Telegram HTML, and the fake refused no send or
    edit as a bad request (a refused HTML is resent as plain text, and would show here; a
    blocked chat's 403 is not the message's fault)."""
    for message in messages:
        assert message.parse_mode == "HTML", message.raw_text
    methods = ("sendMessage", "editMessageText", "sendPhoto")
    refused = [
        (c.method, c.params.get("text"))
        for c in rb.tg.calls
        if c.method in methods and c.status == 400
    ]
    assert refused == []


def article(title: str, feed: str, name: str, **extra: object) -> Article:
    values: dict[str, object] = {
        "feed_url": f"https://{feed}/rss",
        "identity": f"guid:{feed}:{title}",
        "title": title,
        "link": f"https://{feed}/{len(title)}",
        "summary": "The comprehensive strategic partnership was discussed at length.",
        "published_at": PUBLISHED,
        "feed_name": name,
    }
    values.update(extra)
    return Article(**values)  # type: ignore[arg-type]


HITS = (Hit("comprehensive", "summary", 4, 17),)


async def test_an_alert_its_buttons_and_its_edit_are_in_vietnamese(vi: RunningBot) -> None:
    await vi.ingest("Vietnam and US deepen ties", "csp")
    [alert] = await send_queued(vi)
    lines = alert.text.splitlines()
    assert lines[0] == "Vietnam and US deepen ties"  # the feed's words, untranslated
    assert lines[1] == "news.example · 17:00 11/07/2025 +07"  # Vietnamese date style
    assert lines[2] == "#csp"
    assert "discussed at length" in lines[3]
    assert labels(alert) == DEFAULT_VI
    assert_html(vi, alert)
    # The source edits the story: the alert is edited, marked "updated" in Vietnamese.
    edited = Article(
        feed_url="https://news.example/rss",
        identity="guid:Vietnam and US deepen ties",
        title="Vietnam and US deepen ties further",
        link="https://news.example/vietnam-and-us-deepen-ties",
        content="The comprehensive strategic partnership was discussed at length, again.",
        published_at=PUBLISHED,
    )
    await vi.storage.ingest(edited, [RuleMatch("csp", HITS)], vi.clock.now())
    await sender(vi).drain_once()
    assert alert.edits, "the alert was edited in place"
    assert alert.text.splitlines()[1] == "news.example · 17:00 11/07/2025 +07 · ✏️ đã cập nhật"
    assert labels(alert) == DEFAULT_VI
    assert_html(vi, alert)


async def test_every_alert_button_answers_in_vietnamese(vi: RunningBot) -> None:
    await vi.ingest("First story", "csp")
    [alert] = await send_queued(vi)
    assert await vi.press(alert, "1 giờ") == (
        "Đã tạm tắt #csp ở đây trong 1 giờ; các quy tắc khác vẫn gửi cảnh báo."
    )
    assert labels(alert) == [
        "🔕 Đã tạm tắt ở đây (đến 20:00)",
        "🔔 Bật lại",
        "👎 Không liên quan",
        "🔗 Mở bài gốc",
    ]
    assert await vi.press(alert, "Đã tạm tắt") == "Đã thực hiện rồi."
    await vi.ingest("While muted 1", "csp", minutes=5)
    await vi.ingest("While muted 2", "csp", minutes=6)
    vi.clock.advance(600)
    assert await vi.press(alert, "Bật lại") == (
        "Đã bật lại #csp: 2 bài khớp quy tắc trong lúc tạm tắt sẽ được gửi gộp trong một tin nhắn."
    )
    assert labels(alert) == DEFAULT_VI
    [catch_up] = await send_queued(vi)
    lines = catch_up.text.splitlines()
    assert lines[0] == "🔔 Tin đã bỏ lỡ: 2 bài khớp quy tắc trong lúc tạm tắt"
    assert lines[2] == "#csp — Comprehensive Strategic Partnership (2)"
    assert lines[3] == "• While muted 1 — news.example · 17:00 11/07"
    assert_html(vi, catch_up)
    assert await vi.press(alert, "1 ngày") == (
        "Đã tạm tắt #csp ở đây trong 1 ngày; các quy tắc khác vẫn gửi cảnh báo."
    )
    assert labels(alert)[0] == "🔕 Đã tạm tắt ở đây (đến 19:10 12/07)"  # tomorrow: with its date
    assert await vi.press(alert, "Bật lại") == (
        "Đã bật lại #csp: không có bài nào khớp quy tắc trong lúc tạm tắt."
    )
    assert await vi.press(alert, "đến khi bật lại") == (
        "Đã tạm tắt #csp ở đây cho đến khi bật lại; các quy tắc khác vẫn gửi cảnh báo."
    )
    assert labels(alert)[0] == "🔕 Đã tạm tắt ở đây (đến khi bật lại)"
    await vi.press(alert, "Bật lại")
    assert await vi.press(alert, "Hủy đăng ký") == "Đã hủy đăng ký #csp."
    assert labels(alert)[:2] == ["🚫 Đã hủy đăng ký", "↩ Đăng ký lại"]
    # a mute pressed on an older copy of the keyboard, for rules no longer followed
    stale = vi.tg.user_presses(
        alert.button("Đăng ký lại")["callback_data"].replace(":rs:", ":m1h:"), alert, USER
    )
    await vi.tg.wait_for(
        lambda: any(a["callback_query_id"] == stale for a in vi.tg.callback_answers),
        what="callback answer",
    )
    [answer] = [a for a in vi.tg.callback_answers if a["callback_query_id"] == stale]
    assert answer["text"] == "Cuộc trò chuyện này không còn đăng ký #csp."
    assert await vi.press(alert, "Đăng ký lại") == "Đã đăng ký lại #csp."
    assert await vi.press(alert, "Không liên quan") == (
        "Đã ghi nhận: không liên quan đến #csp. Cảm ơn bạn, người phụ trách quy tắc sẽ thấy "
        "điều này."
    )
    assert "✔ Đã đánh dấu không liên quan" in labels(alert)
    assert await vi.press(alert, "Đã đánh dấu") == "Đã thực hiện rồi."


async def story_source(rb: RunningBot, feed: str, name: str, hours: float = 0) -> None:
    """One outlet's report of the one story "s1", matched by #csp, ``hours`` from now."""
    report = article("Vietnam and US upgrade ties", feed, name)
    now = rb.clock.now() + timedelta(hours=hours)
    placement = StoryPlacement("s1", WHY, frozenset())
    await rb.storage.ingest_many([(report, [RuleMatch("csp", HITS)])], now, stories=[placement])


async def test_a_story_lists_its_sources_and_keeps_its_keyboard(vi: RunningBot) -> None:
    await story_source(vi, "vna.example", "VNA")
    [alert] = await send_queued(vi)
    # A second outlet reports the story: the edit that lists both is queued; the user mutes
    # the rule before it goes out, and marks the story not relevant.
    await story_source(vi, "vietnamnet.example", "VietNamNet")
    assert await vi.press(alert, "1 giờ") == (
        "Đã tạm tắt #csp ở đây trong 1 giờ; các quy tắc khác vẫn gửi cảnh báo."
    )
    assert (await vi.press(alert, "Không liên quan")).startswith("Đã ghi nhận")
    pressed = labels(alert)
    assert pressed == [
        "🔕 Đã tạm tắt ở đây (đến 20:00)",
        "🔔 Bật lại",
        "✔ Đã đánh dấu không liên quan",
        "🔗 Mở bài gốc",
    ]
    await sender(vi).drain_once()
    assert alert.edits, "the alert was edited in place"
    assert alert.text.splitlines()[-1] == "📰 2 nguồn tin: VNA, VietNamNet"
    assert labels(alert) == pressed  # the keyboard as it stands, not the default one
    assert_html(vi, alert)
    # Two days later a third outlet: a reply threaded to the alert, in Vietnamese, no buttons.
    vi.clock.advance(49 * 3600)
    await story_source(vi, "tuoitre.example", "Tuổi Trẻ")
    [reply] = await send_queued(vi)
    assert reply.text.splitlines() == [
        "➕ Thêm nguồn tin cho tin này: Tuổi Trẻ · nay có 3 nguồn tin",
        "Vietnam and US upgrade ties",
    ]
    assert reply.buttons == []
    assert any(e["type"] == "bold" for e in reply.entities)
    assert_html(vi, reply)


async def test_a_flood_is_folded_into_one_vietnamese_digest(vi: RunningBot) -> None:
    for i in range(6):
        await vi.ingest(f"Story number {i}", "csp")
    [digest] = await send_queued(vi)
    lines = digest.text.splitlines()
    assert lines[0] == "📰 6 bài mới khớp quy tắc cùng lúc, gộp thành một tin nhắn"
    assert lines[2] == "#csp — Comprehensive Strategic Partnership (6)"
    assert lines[3] == "• Story number 0 — news.example · 17:00 11/07"
    assert_html(vi, digest)


async def test_a_scheduled_digest_is_in_vietnamese(vi: RunningBot) -> None:
    await vi.ask("/digest csp hourly")
    await vi.ingest("A story for the digest", "csp", minutes=1)
    out = sender(vi)
    scheduler = DigestScheduler(vi.services, on_queued=out.wake)
    vi.clock.advance(3600 + 120)  # the hour is over, and the settling minute too
    assert await scheduler.run_once() == 1
    before = len(vi.tg.messages(USER))
    await out.drain_once()
    [digest] = (await vi.tg.wait_for_messages(before + 1, chat_id=USER))[before:]
    lines = digest.text.splitlines()
    assert lines[0] == "🗞 Bản tin tổng hợp hằng giờ: 1 bài mới khớp quy tắc"
    assert lines[3] == "• A story for the digest — news.example · 17:00 11/07"
    assert_html(vi, digest)
    # the next hour has more than a digest holds: the newest, and where the rest are
    await vi.ingest("Next hour, first", "csp", minutes=1)
    await vi.ingest("Next hour, second", "csp", minutes=2)
    vi.clock.advance(3600)
    assert await DigestScheduler(vi.services, max_items=1).run_once() == 1
    await out.drain_once()
    [bounded] = (await vi.tg.wait_for_messages(before + 2, chat_id=USER))[before + 1 :]
    assert bounded.text.splitlines()[0] == (
        "🗞 Bản tin tổng hợp hằng giờ: 1 bài mới nhất trong 2 bài khớp quy tắc (xem tất cả: /recent)"
    )
    assert "Next hour, second" in bounded.text
    assert_html(vi, bounded)


async def test_the_catch_up_after_unblocking_is_in_vietnamese(vi: RunningBot) -> None:
    await vi.ingest("Before the block", "csp")
    await send_queued(vi)
    vi.tg.block(USER)
    vi.clock.advance(60)
    await vi.ingest("The alert that waits", "csp")
    await sender(vi).drain_once()  # 403: the chat is paused, the alert waits
    for i in range(3):
        vi.clock.advance(60)
        await vi.ingest(f"While away {i}", "csp")
    vi.tg.unblock(USER)
    await vi.storage.set_chat_active(USER, True)  # what my_chat_member does
    vi.clock.advance(60)
    assert await CatchUpScheduler(vi.services, max_items=2).run_once() == 1
    waited, digest = await send_queued(vi, expect=2)
    assert waited.text.startswith("The alert that waits")
    lines = digest.text.splitlines()
    assert lines[0] == (
        "📬 Trong lúc cuộc trò chuyện này vắng mặt: 2 bài mới nhất trong 3 bài khớp quy tắc "
        "(còn 1 bài nữa: /recent)"
    )
    assert [line.split(" — ")[0] for line in lines[3:]] == [f"• While away {i}" for i in (1, 2)]
    assert_html(vi, waited, digest)


async def test_an_english_chat_keeps_its_english_words(vi: RunningBot) -> None:
    """Another chat on the defaults, beside the Vietnamese one: English, as before."""
    other = 1002
    await vi.ask("/subscribe csp", other)
    await vi.ingest("Both chats", "csp")
    await sender(vi).drain_once()
    english = (await vi.tg.wait_for_messages(2, chat_id=other))[-1]
    [vietnamese] = vi.tg.messages(USER)[-1:]
    assert english.text.splitlines()[1] == "news.example · 11 Jul 2025 17:00 +07"
    assert labels(english)[-1] == "🔗 Open source"
    assert vietnamese.text.splitlines()[1] == "news.example · 17:00 11/07/2025 +07"


async def test_feedback_lists_the_marks_in_vietnamese(vi: RunningBot) -> None:
    await vi.ingest("Off-topic <story>", "csp")
    [alert] = await send_queued(vi)
    assert (await vi.press(alert, "Không liên quan")).startswith("Đã ghi nhận")
    none = await vi.ask("/feedback")  # csp is a file rule: its owner is the administrators
    assert none.text == (
        "Chưa có tin nào bị đánh dấu không liên quan cho các quy tắc riêng của cuộc trò chuyện này."
    )
    page = await vi.ask("/settings", ADMIN)
    assert await vi.press(page, "Tiếng Việt", user_id=ADMIN) == "Đã lưu"
    listed = await vi.ask("/feedback", ADMIN)
    assert listed.text.splitlines() == [
        "Đã đánh dấu không liên quan (1 lượt, mọi quy tắc)",
        "• #csp · Off-topic <story> · 19:00 11/07",
    ]
    assert listed.parse_mode == "HTML"


async def test_refused_and_stale_presses_answer_in_vietnamese(vi: RunningBot) -> None:
    vi.tg.add_chat(GROUP, "group", title="Nhóm phân tích", admins=[ADMIN + 1])
    page = await vi.ask("/settings", GROUP, user_id=ADMIN + 1, chat_type="group")
    assert await vi.press(page, "Tiếng Việt", user_id=ADMIN + 1) == "Đã lưu"
    await vi.storage.subscribe(GROUP, "csp")
    await vi.ingest("Group story", "csp")
    before = len(vi.tg.messages(GROUP))
    await sender(vi).drain_once()
    [alert] = (await vi.tg.wait_for_messages(before + 1, chat_id=GROUP))[before:]
    assert labels(alert) == DEFAULT_VI
    assert await vi.press(alert, "1 giờ", user_id=OTHER) == (
        "Chỉ quản trị viên của nhóm mới được thay đổi cảnh báo của nhóm."
    )
    answers = []
    for data in ("al:m1h:999", "al:zz:1"):  # another chat's (or a pruned) alert; nonsense
        query_id = vi.tg.user_presses(data, alert, OTHER)

        def answered(q: str = query_id) -> bool:
            return any(a["callback_query_id"] == q for a in vi.tg.callback_answers)

        await vi.tg.wait_for(answered, what="callback answer")
        [answer] = [a for a in vi.tg.callback_answers if a["callback_query_id"] == query_id]
        answers.append(answer["text"])
    assert answers == [
        "Cảnh báo này đã quá cũ nên các nút không còn dùng được (tin này đã bị dọn khỏi kho "
        "lưu trữ).",
        "Nút này không còn được hỗ trợ.",
    ]
