"""The fake Bot API's ``sendPhoto``: strict about the upload and the caption, as Telegram is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest

from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegramServer, RateLimits

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(rate_limits=RateLimits(enabled=False)) as server:
        server.add_chat(42)
        yield server


@pytest.fixture
async def bot(tg: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(DEFAULT_TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as b:
        yield b


async def test_an_uploaded_png_with_an_html_caption(bot: Bot, tg: FakeTelegramServer) -> None:
    sent = await bot.send_photo(
        42, InputFile(PNG, filename="c.png"), caption="<b>5</b> &amp; more", parse_mode="HTML"
    )
    assert sent.photo
    assert sent.photo[-1].file_size == len(PNG)
    assert sent.caption == "5 & more"
    assert [e.type for e in sent.caption_entities] == ["bold"]
    [stored] = tg.messages(42)
    assert stored.photo == PNG
    assert stored.text == "5 & more"
    assert tg.calls[-1].method == "sendPhoto"


async def test_the_caption_may_be_empty(bot: Bot, tg: FakeTelegramServer) -> None:
    sent = await bot.send_photo(42, InputFile(PNG, filename="c.png"))
    assert sent.caption is None


@pytest.mark.parametrize(
    ("photo", "caption", "error"),
    [
        ("AgACAgQAAxkBAAI", None, "wrong file identifier"),  # a file id it never issued
        (b"GIF89a not a png", None, "IMAGE_PROCESS_FAILED"),
        (PNG, "x" * 1025, "caption is too long"),
        (PNG, "<b>x" + "</b>", None),  # fine
        (PNG, "<b>unclosed", "can't parse entities"),
    ],
)
async def test_refusals(
    bot: Bot, photo: str | bytes, caption: str | None, error: str | None
) -> None:
    upload = InputFile(photo, filename="c.png") if isinstance(photo, bytes) else photo
    call = bot.send_photo(42, upload, caption=caption, parse_mode=ParseMode.HTML)
    if error is None:
        await call
        return
    with pytest.raises(BadRequest, match=f"(?i){error}"):
        await call


async def test_the_limit_counts_the_caption_after_entity_parsing(bot: Bot) -> None:
    caption = "<b>" + "y" * 1024 + "</b>"  # 1,031 characters sent, 1,024 shown
    sent = await bot.send_photo(
        42, InputFile(PNG, filename="c.png"), caption=caption, parse_mode="HTML"
    )
    assert len(sent.caption or "") == 1024
