"""/watch, /myrules and /promote in a Vietnamese chat, through the real PTB against the fake Bot
API with the rules really compiled: every reply, toast and button label of each flow (bad
input included) is the Vietnamese one, compared with the same flow in an English chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.i18n import text
from core.models import Language
from tests.bot.telegram.handlers.test_personal import SOURCES
from tests.bot.telegram.handlers.vietnamese import assert_translated, speak_vietnamese
from tests.bot.telegram.harness import (
    ADMIN,
    GROUP,
    OTHER,
    STORAGE_FACTORIES,
    USER,
    RunningBot,
    running_bot,
    subs,
)
from tests.fakes.telegram_api import SentMessage

VI = Language.VI
ADMIN_EN = ADMIN + 1  # a second bot administrator, whose chat stays in English
GROUP_EN = GROUP - 1


@pytest.fixture(params=sorted(STORAGE_FACTORIES))
async def prb(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningBot]:
    (tmp_path / "rules").mkdir()
    async with running_bot(
        storage=STORAGE_FACTORIES[request.param](tmp_path),
        rule_sources=SOURCES,
        config_dir=tmp_path,
        personal_limit=2,
        admin_ids=(ADMIN, ADMIN_EN),
    ) as running:
        speak_vietnamese(running, USER, ADMIN, GROUP)
        yield running


def labels(message: SentMessage) -> str:
    return " | ".join(b["text"] for b in message.buttons)


async def stale_press(rb: RunningBot, message: SentMessage, data: str) -> str:
    query_id = rb.tg.user_presses(data, message, message.chat_id)
    await rb.tg.wait_for(
        lambda: any(a["callback_query_id"] == query_id for a in rb.tg.callback_answers),
        what="answer",
    )
    return str(
        next(a for a in rb.tg.callback_answers if a["callback_query_id"] == query_id)["text"]
    )


async def watch_flow(rb: RunningBot, chat: int) -> list[str]:
    """/watch with bad input, a preview with its buttons, refine, cancel, save, the limit."""
    seen: list[str] = []
    seen.append((await rb.ask("/watch", chat)).text)
    bad = await rb.ask('/watch "East Sea', chat)
    assert '<pre>"East Sea\n^</pre>' in bad.raw_text  # the caret block, in either language
    seen.append(bad.text)
    near = await rb.ask("/watch Rubio NEAR/x Blinken", chat)
    assert "<pre>Rubio NEAR/x Blinken\n      ^</pre>" in near.raw_text
    seen.append(near.text.replace("write NEAR/5", ""))  # the engine's hint stays English
    preview = await rb.ask("/watch strategic AND partnership", chat)
    assert preview.raw_text.count("<b>strategic</b>") == 2  # the hits, highlighted
    seen += [preview.text.split("\n")[0], preview.text.split("\n")[1], labels(preview)]
    seen.append(preview.text.split("\n")[-1])
    await rb.press(preview, "✏️", user_id=chat)
    seen.append(preview.text)
    one = await rb.ask("/watch Rubio", chat)
    seen.append(await rb.press(one, "✖", user_id=chat))
    seen.append(one.text)
    first = await rb.ask("/watch Rubio", chat)
    seen.append(await rb.press(first, "💾", user_id=chat))
    seen.append(first.text)
    second = await rb.ask("/watch Blinken", chat)
    await rb.press(second, "💾", user_id=chat)
    third = await rb.ask("/watch Lavrov", chat)
    seen.append(await rb.press(third, "💾", user_id=chat))  # the limit (2)
    seen.append(await stale_press(rb, third, "w:s:999"))  # an expired preview
    seen.append(await stale_press(rb, third, "w:z:1"))  # a button no longer supported
    return seen


async def test_watch_in_vietnamese(prb: RunningBot) -> None:
    await prb.ingest("Vietnam and US deepen ties", "csp")
    await prb.ingest("Japan, Vietnam sign partnership", "csp", minutes=1)
    english = await watch_flow(prb, OTHER)
    vietnamese = await watch_flow(prb, USER)
    assert_translated(english, vietnamese)
    assert vietnamese[:3] == [
        "❌ Hãy nhập một truy vấn, ví dụ /watch Rubio AND Vietnam.\nCách dùng: /watch TRUY_VẤN",
        "❌ Truy vấn không hợp lệ (cột 1): unclosed quote.\n"
        '"East Sea\n^\n'
        'Gợi ý: add the closing " after the phrase (or remove this one).\n'  # the engine's hint
        "Ngôn ngữ truy vấn cũng là ngôn ngữ của quy tắc: xem docs/rules.md.",
        vietnamese[2],
    ]
    assert "Gợi ý: " in vietnamese[2]
    assert vietnamese[3] == (
        "🔎 Xem trước strategic AND partnership: trong 30 ngày qua, truy vấn này khớp với 2 bài "
        "(đã tìm trong 2 bài)."
    )
    assert vietnamese[4] == "Mới nhất:"
    assert vietnamese[5] == "💾 Lưu thành quy tắc | ✏️ Sửa lại | ✖ Hủy"
    assert vietnamese[9] == "✖ Đã hủy: Rubio không được lưu."
    assert vietnamese[11].startswith(
        "✅ Đã lưu thành quy tắc 1 của cuộc trò chuyện này (u1001-1): Rubio\n"
    )
    assert vietnamese[12] == (
        "Cuộc trò chuyện này đã có 2 quy tắc cá nhân, mức tối đa cho phép. Hãy xóa bớt một quy "
        "tắc bằng /myrules trước."
    )
    assert english[12].startswith("This chat already has 2 personal rules")
    assert await subs(prb, USER) == {"u1001-1", "u1001-2"}  # translated, and it still works


async def myrules_flow(rb: RunningBot, chat: int) -> list[str]:
    """/myrules: empty, a list with its buttons, each button, each action, each bad input."""
    seen = [(await rb.ask("/myrules", chat)).text]
    for query in ("Rubio", "Blinken"):
        preview = await rb.ask(f"/watch {query}", chat)
        await rb.press(preview, "💾", user_id=chat)
    listed = await rb.ask("/myrules", chat)
    seen += [listed.text, labels(listed)]
    seen.append(await rb.press(listed, "⏸", user_id=chat))
    seen += [listed.text, labels(listed)]
    seen.append(await rb.press(listed, "▶", user_id=chat))
    for command in (
        "/myrules frob 1",
        "/myrules edit x Rubio",
        "/myrules edit 1",
        "/myrules edit 1 (Rubio",
        "/myrules pause 9",
        f"/myrules edit 1 {'x' * 600}",
        "/myrules edit 1 Rubio OR Blinken",
        "/myrules pause 1",
        "/myrules resume 1",
        "/myrules delete 2",
    ):
        seen.append((await rb.ask(command, chat)).text)
    seen.append(await rb.press(listed, "🗑 ", user_id=chat))  # deletes rule 1 ...
    seen.append(await stale_press(rb, listed, "mr:d:2"))  # ... and 2 was gone already
    seen.append(listed.text)
    seen.append(await stale_press(rb, listed, "mr:z:1"))
    return seen


async def test_myrules_in_vietnamese(prb: RunningBot) -> None:
    english = await myrules_flow(prb, OTHER)
    vietnamese = await myrules_flow(prb, USER)
    assert_translated(english, vietnamese)
    assert vietnamese[0].startswith("Cuộc trò chuyện này chưa có quy tắc cá nhân nào.")
    assert vietnamese[1].startswith(
        "Quy tắc cá nhân của cuộc trò chuyện này (2/2)\n\n1. Rubio · u1001-1"
    )
    assert vietnamese[2] == "⏸ Tạm dừng 1 | 🗑 Xóa 1 | ⏸ Tạm dừng 2 | 🗑 Xóa 2"
    assert vietnamese[3] == "Đã tạm dừng quy tắc 1"
    assert "1. Rubio · u1001-1 · ⏸ đang tạm dừng" in vietnamese[4]
    assert vietnamese[5].startswith("▶ Tiếp tục 1 | 🗑 Xóa 1")
    assert vietnamese[7] == (
        "❌ Không có thao tác “frob”.\n"
        "Cách dùng: /myrules [edit N TRUY_VẤN | pause N | resume N | delete N]"
    )
    assert vietnamese[11] == "❌ Cuộc trò chuyện này không có quy tắc cá nhân 9. Xem /myrules."
    assert vietnamese[13:17] == [
        "✏️ Quy tắc 1 giờ là Rubio OR Blinken.",
        "⏸ Đã tạm dừng quy tắc 1.",
        "▶ Đã cho quy tắc 1 hoạt động lại.",
        "🗑 Đã xóa quy tắc 2.",
    ]
    assert vietnamese[18] == "Quy tắc 2 không còn nữa"
    assert await prb.storage.personal_rules(USER) == []


async def group_flow(rb: RunningBot, group: int, admin: int) -> list[str]:
    rb.tg.add_chat(group, "group", title="Analysts", admins=[admin])
    preview = await rb.ask("/watch Rubio", group, user_id=OTHER, chat_type="group")
    seen = [await rb.press(preview, "💾", user_id=OTHER)]
    await rb.press(preview, "💾", user_id=admin)
    refused = await rb.ask("/myrules delete 1", group, user_id=OTHER, chat_type="group")
    seen.append(refused.text)
    listed = await rb.ask("/myrules", group, user_id=OTHER, chat_type="group")
    seen.append(await rb.press(listed, "🗑", user_id=OTHER))
    return seen


async def test_in_a_vietnamese_group_only_its_admins_change_its_rules(prb: RunningBot) -> None:
    english = await group_flow(prb, GROUP_EN, ADMIN_EN + 10)
    vietnamese = await group_flow(prb, GROUP, ADMIN_EN + 11)
    assert_translated(english, vietnamese)
    assert vietnamese[1] == "❌ Chỉ quản trị viên của nhóm mới được thay đổi quy tắc của nhóm."
    assert len(await prb.storage.personal_rules(GROUP)) == 1


async def promote_flow(rb: RunningBot, owner: int, admin: int, new_id: str) -> list[str]:
    preview = await rb.ask("/watch Rubio OR Blinken", owner)
    await rb.press(preview, "💾", user_id=owner)
    rule = f"u{owner}-1"
    seen = [(await rb.ask(f"/promote {rule} x", owner)).text]  # not an administrator
    listed = await rb.ask("/promote", admin)
    seen.append(listed.text.split("\n")[0])
    for command in (
        "/promote nope diplomats",
        f"/promote {rule}",
        f"/promote {rule} csp",
        f"/promote {rule} Bad!",
        f"/promote {rule} {new_id}",
    ):
        seen.append((await rb.ask(command, admin)).text)
    return seen


async def test_promote_in_vietnamese(prb: RunningBot) -> None:
    assert (
        await prb.ask("/promote", ADMIN)
    ).text == "Chưa có cuộc trò chuyện nào lưu quy tắc cá nhân."
    english = await promote_flow(prb, OTHER, ADMIN_EN, "diplomats")
    vietnamese = await promote_flow(prb, USER, ADMIN, "envoys")
    # the rule files' own message for a bad id stays English, framed in Vietnamese
    engine = "bad rule id 'Bad!'"
    assert engine in english[5]
    assert engine in vietnamese[5]
    vietnamese[5] = vietnamese[5].split(engine)[0]
    english[5] = english[5].split(engine)[0]
    assert_translated(english, vietnamese)
    assert vietnamese[0] == "❌ Lệnh này chỉ dành cho quản trị viên của bot."
    assert vietnamese[1] == (
        "Quy tắc cá nhân (chuyển một quy tắc vào tệp quy tắc: /promote MÃ_RIÊNG MÃ_MỚI)"
    )
    assert vietnamese[2] == (
        "❌ Không có quy tắc cá nhân “nope”; /promote liệt kê các quy tắc đó.\n"
        "Cách dùng: /promote [MÃ_RIÊNG MÃ_MỚI]"
    )
    assert vietnamese[4] == (
        "❌ Chưa chuyển vào tệp quy tắc: đã có một quy tắc tên 'csp'; hãy chọn mã khác"
    )
    assert english[4] == "❌ Not promoted: a rule called 'csp' already exists; choose another id"
    assert vietnamese[6].startswith("⬆️ u1001-1 giờ là quy tắc envoys trong ")
    assert await subs(prb, USER) == {"envoys"}


async def test_a_vietnamese_preview_when_saving_is_off() -> None:
    async with running_bot(rule_sources=SOURCES, personal_limit=0) as rb:
        speak_vietnamese(rb, USER)
        preview = await rb.ask("/watch Rubio")
        assert preview.text.endswith("\n\n" + text(VI, "watch.saving_off"))
        assert [b["text"] for b in preview.buttons] == ["✏️ Sửa lại", "✖ Hủy"]
        english = await rb.ask("/watch Rubio", OTHER)
        assert english.text.endswith("turned off by the bot's administrator.")


async def test_the_vietnamese_transcript_of_docs_telegram_md(prb: RunningBot) -> None:
    await prb.ingest("Vietnam and US deepen ties", "csp")
    await prb.ingest("Japan, Vietnam sign partnership", "csp", minutes=1)
    bad = await prb.ask('/watch "strategic partnership" AND (Rubio OR')
    assert bad.text == (
        "❌ Truy vấn không hợp lệ (cột 38): the query ends where a word was expected.\n"
        '"strategic partnership" AND (Rubio OR\n'
        "                                     ^\n"
        "Gợi ý: finish the expression or remove the trailing operator.\n"
        "Ngôn ngữ truy vấn cũng là ngôn ngữ của quy tắc: xem docs/rules.md."
    )
    preview = await prb.ask('/watch "strategic partnership" AND NOT football')
    lines = preview.text.split("\n")
    assert lines[:2] == [
        '🔎 Xem trước "strategic partnership" AND NOT football: trong 30 ngày qua, truy vấn này '
        "khớp với 2 bài (đã tìm trong 2 bài).",
        "Mới nhất:",
    ]
    assert lines[-1] == "Lưu truy vấn thành quy tắc của cuộc trò chuyện này, sửa lại, hoặc hủy."
    assert labels(preview) == "💾 Lưu thành quy tắc | ✏️ Sửa lại | ✖ Hủy"
    assert await prb.press(preview, "💾 Lưu thành quy tắc") == "Đã lưu"
    assert preview.text == (
        "✅ Đã lưu thành quy tắc 1 của cuộc trò chuyện này (u1001-1): "
        '"strategic partnership" AND NOT football\n'
        "Cuộc trò chuyện này đã được đăng ký: bài mới nào khớp sẽ được gửi cảnh báo tại đây. "
        "/myrules để xem, sửa, tạm dừng và xóa các quy tắc của bạn."
    )


async def test_a_preview_with_one_match_in_vietnamese(prb: RunningBot) -> None:
    await prb.ingest("Vietnam and US deepen ties", "csp")
    preview = await prb.ask("/watch strategic")
    assert preview.text.split("\n")[:2] == [
        "🔎 Xem trước strategic: trong 30 ngày qua, truy vấn này khớp với 1 bài (đã tìm trong 1 "
        "bài).",
        "Bài khớp duy nhất:",
    ]
    assert "The one match:" in (await prb.ask("/watch strategic", OTHER)).text
