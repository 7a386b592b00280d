"""The fake Bot API server, driven through the real python-telegram-bot ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dt
import warnings
from collections.abc import AsyncIterator

import pytest
from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, RetryAfter

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits
from tests.fakes.telegram_html import HtmlParseError, parse_html


def _seconds(e: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PTB 22 warns that the type changes to timedelta
        value = e.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


class ManualClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as server:
        yield server


@pytest.fixture
async def bot(tg: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


async def test_get_me_answers_with_the_bot_user(bot: Bot, tg: FakeTelegramServer) -> None:
    me = await bot.get_me()
    assert me.id == 123456789
    assert me.username == tg.bot_username
    assert me.is_bot


async def test_wrong_token_is_unauthorized(tg: FakeTelegramServer) -> None:
    wrong = Bot("987654321:AAwrong-token-that-the-server-does-not-know", base_url=tg.base_url)
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await wrong.get_me()
    await wrong.shutdown()


async def test_send_message_html_is_parsed_into_text_and_entities(
    bot: Bot, tg: FakeTelegramServer
) -> None:
    tg.add_chat(42)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Open", callback_data="x:1")]])
    sent = await bot.send_message(
        42,
        '<b>Bold</b> &amp; <a href="https://e.com/a?b=1&amp;c=2">link</a> 🙂 tail',
        parse_mode=ParseMode.HTML,
        disable_notification=True,
        reply_markup=markup,
    )
    assert sent.text == "Bold & link 🙂 tail"
    assert sent.entities[0].type == "bold"
    assert sent.entities[1].url == "https://e.com/a?b=1&c=2"
    [stored] = tg.messages(42)
    assert stored.text == "Bold & link 🙂 tail"
    assert stored.disable_notification is True
    assert stored.parse_mode == "HTML"
    assert stored.button("Open")["callback_data"] == "x:1"
    assert stored.message_id == sent.message_id


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<script>x</script>", 'Unsupported start tag "script" at byte offset 0'),
        ("a <b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("5 < 6", 'Unsupported start tag "" at byte offset 2'),
        ("é<br>", 'Unsupported start tag "br" at byte offset 2'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<b", "Unclosed start tag at byte offset 0"),
    ],
)
async def test_bad_html_is_rejected_with_telegrams_error_text(
    bot: Bot, tg: FakeTelegramServer, html: str, error: str
) -> None:
    tg.add_chat(42)
    with pytest.raises(BadRequest) as info:
        await bot.send_message(42, html, parse_mode=ParseMode.HTML)
    # PTB drops the "Bad Request: " prefix and capitalises the rest
    assert info.value.message == f"Can't parse entities: {error}".capitalize()
    assert tg.messages(42) == []


def test_html_parser_accepts_every_documented_tag() -> None:
    html = (
        "<b>b</b><strong>s</strong><i>i</i><em>e</em><u>u</u><ins>n</ins><s>s</s>"
        '<strike>k</strike><del>d</del><span class="tg-spoiler">p</span>'
        "<tg-spoiler>q</tg-spoiler><a href='https://x.y'>a</a><code>c</code>"
        '<pre><code class="language-python">p</code></pre><blockquote>q</blockquote>'
        '<blockquote expandable>e</blockquote><tg-emoji emoji-id="5368324170671202286">👍'
        "</tg-emoji> &lt;&gt;&amp;&quot;&#65;&#x42;&nbsp;"
    )
    parsed = parse_html(html)
    assert parsed.text.endswith(' <>&"AB&nbsp;')
    kinds = {e["type"] for e in parsed.entities}
    assert kinds >= {"bold", "italic", "underline", "strikethrough", "spoiler", "text_link"}
    assert {"code", "pre", "blockquote", "expandable_blockquote", "custom_emoji"} <= kinds
    with pytest.raises(HtmlParseError):
        parse_html("<p>x</p>")


async def test_length_is_counted_after_entity_parsing(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(42)
    ok = "<b>" + "&amp;" * 4096 + "</b>"  # 4096 characters once parsed
    await bot.send_message(42, ok, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "😀" * 2049)  # 4098 UTF-16 units


async def test_private_chat_rate_limit_answers_429_with_retry_after(tg: FakeTelegramServer) -> None:
    clock = ManualClock()
    tg.rate_limits = RateLimits()
    tg._clock = clock
    tg.add_chat(42)
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
        await bot.send_message(42, "one")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(42, "two")
        assert _seconds(info.value) == 1
        clock.t += 1.0
        await bot.send_message(42, "two")
    assert tg.too_many_requests == 1
    assert [m.text for m in tg.messages(42)] == ["one", "two"]


async def test_group_and_global_rate_limits(tg: FakeTelegramServer) -> None:
    clock = ManualClock()
    tg.rate_limits = RateLimits(global_per_s=3, group_per_min=2)
    tg._clock = clock
    for chat in (-1, 1, 2, 3):
        tg.add_chat(chat, "group" if chat < 0 else "private")
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url) as bot:
        await bot.send_message(-1, "g1")
        clock.t += 1.5
        await bot.send_message(-1, "g2")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(-1, "g3")
        assert _seconds(info.value) == 59  # 60 s after g1
        clock.t += 5
        for chat in (1, 2, 3):
            await bot.send_message(chat, "p")
        with pytest.raises(RetryAfter):
            await bot.send_message(-1, "over the global rate")


async def test_blocked_chat_answers_403(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(42)
    tg.block(42)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "hello")


async def test_migrated_group_answers_migrate_to_chat_id(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(-5, "group", title="Analysts")
    tg.migrate(-5, -1005)
    with pytest.raises(ChatMigrated) as info:
        await bot.send_message(-5, "hello")
    assert info.value.new_chat_id == -1005
    await bot.send_message(-1005, "hello")
    assert [m.text for m in tg.messages(-1005)] == ["hello"]


async def test_get_updates_offsets_and_long_poll(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.user_sends("/start", chat_id=7, user_id=7)
    updates = await bot.get_updates(timeout=0)
    assert [u.message.text for u in updates if u.message] == ["/start"]
    assert updates[0].message is not None
    assert updates[0].message.entities[0].type == "bot_command"
    # not confirmed yet: served again
    assert len(await bot.get_updates(timeout=0)) == 1
    # confirmed by the next offset; a long poll returns early when an update arrives
    poll = asyncio.create_task(bot.get_updates(offset=updates[-1].update_id + 1, timeout=5))
    await asyncio.sleep(0)
    await tg.wait_for(lambda: len(tg.calls_of("getUpdates")) >= 2)
    tg.user_sends("/help", chat_id=7, user_id=7)
    later = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in later if u.message] == ["/help"]


async def test_second_poller_terminates_the_first_with_409(tg: FakeTelegramServer) -> None:
    async with (
        Bot(DEFAULT_TOKEN, base_url=tg.base_url) as first,
        Bot(DEFAULT_TOKEN, base_url=tg.base_url) as second,
    ):
        waiting = asyncio.create_task(first.get_updates(timeout=5))
        await tg.wait_for(lambda: tg._bots[DEFAULT_TOKEN].poll_generation >= 1, what="first poll")
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await asyncio.wait_for(waiting, 3)


async def test_commands_chat_and_members(bot: Bot, tg: FakeTelegramServer) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("help", "Help")])
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    tg.add_chat(-100200, "supergroup", title="Desk", is_forum=True, admins=[11])
    tg.add_chat(-100300, "channel", title="News", username="newsdesk", admins=[11])
    chat = await bot.get_chat("@newsdesk")
    assert (chat.id, chat.type) == (-100300, "channel")
    assert (await bot.get_chat_member(-100200, 11)).status == "administrator"
    assert (await bot.get_chat_member(-100200, 12)).status == "left"
    admins = await bot.get_chat_administrators(-100200)
    assert [a.user.id for a in admins] == [11]
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.get_chat(-999)


async def test_forum_topic_and_edit_and_callback(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(-100200, "supergroup", title="Desk", is_forum=True)
    sent = await bot.send_message(-100200, "<i>v1</i>", parse_mode="HTML", message_thread_id=9)
    await bot.edit_message_text("<i>v2</i>", -100200, sent.message_id, parse_mode="HTML")
    [m] = tg.messages(-100200)
    assert (m.text, m.message_thread_id, m.edits) == ("v2", 9, ["<i>v2</i>"])
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text("<i>v2</i>", -100200, sent.message_id, parse_mode="HTML")
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", -100200, 999)
    tg.add_chat(42)
    with pytest.raises(BadRequest, match="Message thread not found"):
        await bot.send_message(42, "x", message_thread_id=3)
    query_id = tg.user_presses("sub:cs", m, user_id=11)
    [update] = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.data == "sub:cs"
    await update.callback_query.answer("Subscribed")
    assert tg.callback_answers == [
        {"callback_query_id": query_id, "text": "Subscribed", "show_alert": False}
    ]


async def test_injected_errors_reach_the_client(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(42)
    tg.inject_error("sendMessage", 429, "Too Many Requests: retry after 7", {"retry_after": 7})
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(42, "x")
    assert _seconds(info.value) == 7
    await bot.send_message(42, "x")


async def test_my_chat_member_updates(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(42)
    tg.user_blocks_bot(42)
    tg.user_unblocks_bot(42)
    updates = await bot.get_updates(timeout=0)
    statuses = [
        u.my_chat_member.new_chat_member.status for u in updates if u.my_chat_member is not None
    ]
    assert statuses == ["kicked", "member"]


async def test_a_real_application_polls_and_answers_commands(tg: FakeTelegramServer) -> None:
    from telegram import Update
    from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "hello <b>there</b>", "HTML")

    app = ApplicationBuilder().token(DEFAULT_TOKEN).base_url(tg.base_url).build()
    app.add_handler(CommandHandler("start", start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=1)
        tg.user_sends("/start", chat_id=5, user_id=5)
        tg.user_sends(f"/start@{tg.bot_username}", chat_id=-9, user_id=5, chat_type="group")
        await tg.wait_for_messages(1, chat_id=5)
        await tg.wait_for_messages(1, chat_id=-9)
        await app.updater.stop()
        await app.stop()
    assert [m.text for m in tg.messages()] == ["hello there", "hello there"]


async def test_inline_keyboards_are_checked_as_telegram_does(
    bot: Bot, tg: FakeTelegramServer
) -> None:
    tg.add_chat(42)

    def keyboard(**button: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton("Press", **button)]])  # type: ignore[arg-type]

    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(42, "x", reply_markup=keyboard(callback_data="a" * 65))
    with pytest.raises(BadRequest, match="Button_url_invalid"):
        await bot.send_message(42, "x", reply_markup=keyboard(url="javascript:alert(1)"))
    sent = await bot.send_message(42, "x", reply_markup=keyboard(callback_data="é" * 32))
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.edit_message_reply_markup(
            42, sent.message_id, reply_markup=keyboard(callback_data="")
        )
    await bot.edit_message_reply_markup(
        42, sent.message_id, reply_markup=keyboard(url="https://x.example")
    )
    [m] = tg.messages(42)
    assert m.buttons == [{"text": "Press", "url": "https://x.example"}]
    assert m.markup_edits == 1
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_reply_markup(
            42, sent.message_id, reply_markup=keyboard(url="https://x.example")
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_reply_markup(42, 999, reply_markup=None)


async def test_send_document_keeps_the_file_and_checks_it(bot: Bot, tg: FakeTelegramServer) -> None:
    tg.add_chat(42)
    sent = await bot.send_document(
        42, b"a,b\n1,2\n", filename="matches.csv", caption="<b>2</b> rows", parse_mode="HTML"
    )
    assert sent.document is not None
    assert sent.document.file_name == "matches.csv"
    assert sent.caption == "2 rows"
    [m] = tg.messages(42)
    assert m.document is not None
    assert (m.document.filename, m.document.data, m.text) == (
        "matches.csv",
        b"a,b\n1,2\n",
        "2 rows",
    )
    with pytest.raises(BadRequest, match="File must be non-empty"):
        await bot.send_document(42, b"", filename="empty.csv")
    with pytest.raises(BadRequest, match="Wrong file identifier"):
        await bot.send_document(42, "some-file-id")
    with pytest.raises(BadRequest, match="Message caption is too long"):
        await bot.send_document(42, b"x", filename="x.txt", caption="y" * 1025)


async def test_get_chat_and_get_chat_member_are_shaped_as_telegrams(
    bot: Bot, tg: FakeTelegramServer
) -> None:
    # PTB files any field it does not know under api_kwargs, and fails on a missing required
    # one: both empty means the answers carry exactly Telegram's fields.
    tg.add_chat(42)
    tg.add_chat(-100200, "supergroup", title="Desk", admins=[11])
    tg.user_sends("hi", -100200, user_id=12, chat_type="supergroup")
    for chat_id in (42, -100200):
        chat = await bot.get_chat(chat_id)
        assert chat.api_kwargs == {}
    admin = await bot.get_chat_member(-100200, 11)
    member = await bot.get_chat_member(-100200, 12)  # a member, not an administrator
    stranger = await bot.get_chat_member(-100200, 13)
    assert [m.status for m in (admin, member, stranger)] == ["administrator", "member", "left"]
    assert all(m.api_kwargs == {} for m in (admin, member, stranger))
