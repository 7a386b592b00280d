"""A fake Telegram Bot API server for tests and benchmarks: aiohttp on 127.0.0.1, real Bot API JSON.

The real python-telegram-bot talks to it through ``Bot(token, base_url=server.base_url)`` or
``ApplicationBuilder().token(token).base_url(server.base_url)``. It behaves like the real server
where it matters to newswatch: token check, ``getUpdates`` long polling with offsets (and 409 when
a second poller takes over), Telegram HTML validation with the real error texts, the 4,096
character limit, 429 with ``retry_after`` over the per-chat / per-group / global rates, 403 for
chats that blocked the bot, 400 with ``migrate_to_chat_id`` for migrated groups.

Test helpers play the users (``user_sends``, ``user_presses``, ``user_blocks_bot``) and read what
the bot did (``messages``, ``wait_for_messages``, ``callback_answers``, ``calls``).

It receives documents (``sendDocument`` with an uploaded file, kept as ``SentMessage.document``)
and photos (``sendPhoto``, kept in ``SentMessage.photo``), and serves the files users sent
(``user_sends_document``, ``getFile``, the file route). Webhook mode (``setWebhook``, delivery
by POST with the secret header, 409 for ``getUpdates`` meanwhile) is in
``tests.fakes.telegram_webhook``. It does not implement payments or inline mode, and it keeps
all state in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Self

from aiohttp import web

from tests.fakes.telegram_html import MAX_MESSAGE_LENGTH, HtmlParseError, parse_html, utf16_len

if TYPE_CHECKING:
    from tests.fakes.telegram_webhook import FakeWebhook

MAX_CAPTION_LENGTH = 1024  # a photo's caption, after entity parsing
DEFAULT_TOKEN = "123456789:AAtest-token-for-the-fake-bot-api-server"
JSON = dict[str, Any]


class ApiError(Exception):
    """Answered to the client as ``{"ok": false, ...}`` with the same HTTP status."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass(slots=True)
class RateLimits:
    """Telegram's send limits. ``enabled=False`` for functional tests that must not be paced."""

    enabled: bool = True
    global_per_s: int = 30
    private_per_s: int = 1
    group_per_min: int = 20


@dataclass(slots=True)
class SentMessage:
    """A message the bot sent (or a user wrote, in ``all_messages``), as the server stored it."""

    chat_id: int
    message_id: int
    text: str  # after entity parsing: what the user reads
    raw_text: str  # exactly as the bot sent it
    parse_mode: str | None
    entities: list[JSON]
    disable_notification: bool
    reply_markup: JSON | None
    message_thread_id: int | None
    date: int
    from_bot: bool = True
    edits: list[str] = field(default_factory=list)  # raw texts of every later edit, in order
    markup_edits: int = 0  # editMessageReplyMarkup calls that changed the keyboard
    document: UploadedFile | None = None  # sendDocument: the file (``text`` is its caption)
    photo: bytes | None = None  # a sendPhoto's upload; ``text`` is then its parsed caption

    @property
    def buttons(self) -> list[JSON]:
        """Inline keyboard buttons, row after row."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]

    def button(self, text_contains: str) -> JSON:
        """The first inline button whose label contains ``text_contains``."""
        for b in self.buttons:
            if text_contains in b.get("text", ""):
                return b
        raise AssertionError(f"no button with {text_contains!r} in {self.buttons}")


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file a multipart request carried (``sendDocument``'s ``document``)."""

    filename: str
    content_type: str
    data: bytes


@dataclass(slots=True)
class ApiCall:
    method: str
    params: JSON
    status: int
    received_at: float = 0.0  # time.monotonic() when the request arrived


@dataclass(slots=True)
class _FakeChat:
    id: int
    type: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    admins: set[int] = field(default_factory=set)
    members: set[int] = field(default_factory=set)

    def to_json(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private":
            data["first_name"] = self.first_name or f"User{self.id}"
            data["username"] = self.username or f"user{self.id}"
        else:
            data["title"] = self.title or f"Chat {self.id}"
            if self.username:
                data["username"] = self.username
            if self.is_forum:
                data["is_forum"] = True
        return data


@dataclass(slots=True)
class _BotState:
    token: str
    user: JSON
    updates: list[JSON] = field(default_factory=list)
    poll_generation: int = 0
    commands: dict[str, list[JSON]] = field(default_factory=dict)


def _user_json(user_id: int, *, is_bot: bool = False, username: str | None = None) -> JSON:
    return {
        "id": user_id,
        "is_bot": is_bot,
        "first_name": f"User{user_id}" if not is_bot else "Newswatch",
        "username": username or f"user{user_id}",
        "language_code": "en",
    }


class FakeTelegramServer:
    """An in-process Bot API server. Use as ``async with FakeTelegramServer() as tg: ...``."""

    def __init__(
        self,
        tokens: Sequence[str] = (DEFAULT_TOKEN,),
        *,
        bot_username: str = "newswatch_test_bot",
        rate_limits: RateLimits | None = None,
        clock: Callable[[], float] = time.monotonic,
        port: int = 0,
    ) -> None:
        if not tokens:
            raise ValueError("at least one token is needed")
        self.rate_limits = rate_limits or RateLimits()
        self._clock = clock
        self._bots: dict[str, _BotState] = {}
        for i, token in enumerate(tokens):
            bot_id = int(token.split(":", 1)[0])
            name = bot_username if i == 0 else f"{bot_username}_{i}"
            self._bots[token] = _BotState(token, _user_json(bot_id, is_bot=True, username=name))
        self.token = tokens[0]
        self._chats: dict[int, _FakeChat] = {}
        self._message_ids: dict[int, itertools.count[int]] = defaultdict(lambda: itertools.count(1))
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self.user_files: dict[str, UploadedFile] = {}  # files users sent (user_sends_document)
        self.all_messages: list[SentMessage] = []
        self.callback_answers: list[JSON] = []
        self.calls: list[ApiCall] = []
        self.blocked: set[int] = set()
        self.migrated: dict[int, int] = {}
        self.too_many_requests = 0  # 429 answers given
        self._windows: dict[object, deque[float]] = defaultdict(deque)
        self._injected: dict[str, deque[ApiError | float]] = defaultdict(deque)
        self._changed = asyncio.Event()
        self._closing = False
        self.webhooks: dict[str, FakeWebhook] = {}  # by token: tests.fakes.telegram_webhook
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._wanted_port = port  # 0: any free port

    # lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("*", "/file/bot{token}/{path:.*}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._wanted_port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None)
        assert sockets
        self._port = int(sockets[0].getsockname()[1])

    async def close(self) -> None:
        self._closing = True
        self._notify()
        for hook in list(self.webhooks.values()):
            await hook.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        """For ``Bot(token, base_url=...)``: PTB appends the token to it."""
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return f"http://127.0.0.1:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return f"http://127.0.0.1:{self._port}/file/bot"

    @property
    def bot_user(self) -> JSON:
        return dict(self._bots[self.token].user)

    @property
    def bot_username(self) -> str:
        return str(self._bots[self.token].user["username"])

    # configuring chats -----------------------------------------------------------------------
    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        *,
        title: str | None = None,
        username: str | None = None,
        is_forum: bool = False,
        admins: Iterable[int] = (),
        bot_is_admin: bool = False,
    ) -> None:
        """Create (or update) a chat. ``admins`` are user ids answered as administrators."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _FakeChat(chat_id, chat_type)
            self._chats[chat_id] = chat
        chat.type = chat_type
        chat.title = title or chat.title
        chat.username = username or chat.username
        chat.is_forum = is_forum or chat.is_forum
        chat.admins |= set(admins)
        if bot_is_admin:
            chat.admins.add(int(self._bots[self.token].user["id"]))

    def set_admins(self, chat_id: int, admins: Iterable[int]) -> None:
        self._chat(chat_id).admins = set(admins)

    def block(self, chat_id: int) -> None:
        """From now on sends to ``chat_id`` answer 403 (no update is queued)."""
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def migrate(self, old_chat_id: int, new_chat_id: int) -> None:
        """The group ``old_chat_id`` became the supergroup ``new_chat_id``."""
        old = self._chat(old_chat_id)
        self.migrated[old_chat_id] = new_chat_id
        self.add_chat(new_chat_id, "supergroup", title=old.title, admins=old.admins)

    def inject_error(
        self, method: str, code: int, description: str, parameters: JSON | None = None
    ) -> None:
        """The next call of ``method`` fails with this error (queued, one per call)."""
        self._injected[method].append(ApiError(code, description, parameters))

    def inject_delay(self, method: str, seconds: float) -> None:
        """The next call of ``method`` waits ``seconds`` before answering (to cause timeouts)."""
        self._injected[method].append(seconds)

    # playing the users -----------------------------------------------------------------------
    def user_sends(
        self,
        text: str,
        chat_id: int,
        user_id: int | None = None,
        chat_type: str = "private",
        *,
        thread_id: int | None = None,
        title: str | None = None,
        is_forum: bool = False,
    ) -> JSON:
        """Queue a message update as if ``user_id`` typed ``text`` in ``chat_id``.

        Commands get ``bot_command`` entities (so PTB's CommandHandler sees them). In a
        channel the update is a ``channel_post`` with no sender. Returns the message JSON.
        """
        if user_id is None:
            user_id = chat_id
        chat = self._chats.get(chat_id)
        if chat is None:
            self.add_chat(chat_id, chat_type, title=title, is_forum=is_forum)
            chat = self._chats[chat_id]
        chat.members.add(user_id)
        message_id = next(self._message_ids[chat_id])
        message: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat.to_json(),
            "text": text,
        }
        if chat.type != "channel":
            message["from"] = _user_json(user_id)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
        self.all_messages.append(
            SentMessage(
                chat_id=chat_id,
                message_id=message_id,
                text=text,
                raw_text=text,
                parse_mode=None,
                entities=list(message.get("entities", [])),
                disable_notification=False,
                reply_markup=None,
                message_thread_id=thread_id,
                date=message["date"],
                from_bot=False,
            )
        )
        kind = "channel_post" if chat.type == "channel" else "message"
        self._queue_update({kind: message})
        return message

    def user_sends_document(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        *,
        caption: str = "",
        user_id: int | None = None,
        chat_type: str = "private",
        mime_type: str = "application/octet-stream",
    ) -> str:
        """Queue a message with a file, as if ``user_id`` sent it with ``caption`` (a command in
        the caption gets a ``bot_command`` caption entity). The file is kept for ``getFile`` and
        the file download route. Returns its ``file_id``."""
        if user_id is None:
            user_id = chat_id
        if chat_id not in self._chats:
            self.add_chat(chat_id, chat_type)
        chat = self._chats[chat_id]
        chat.members.add(user_id)
        file_id = f"userfile{next(self._file_ids)}"
        self.user_files[file_id] = UploadedFile(filename, mime_type, data)
        message: JSON = {
            "message_id": next(self._message_ids[chat_id]),
            "date": int(time.time()),
            "chat": chat.to_json(),
            "from": _user_json(user_id),
            "document": {
                "file_id": file_id,
                "file_unique_id": f"u{file_id}",
                "file_name": filename,
                "mime_type": mime_type,
                "file_size": len(data),
            },
        }
        if caption:
            message["caption"] = caption
            if caption.startswith("/"):
                command = caption.split(maxsplit=1)[0]
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
                ]
        self._queue_update({"message": message})
        return file_id

    def user_presses(self, callback_data: str, message: SentMessage, user_id: int) -> str:
        """Queue a callback query as if ``user_id`` pressed a button under ``message``.

        Returns the callback query id (see ``callback_answers``).
        """
        query_id = str(next(self._callback_ids))
        self._queue_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": _user_json(user_id),
                    "message": self._message_json(message),
                    "chat_instance": f"ci{message.chat_id}",
                    "data": callback_data,
                }
            }
        )
        return query_id

    def user_blocks_bot(self, chat_id: int, user_id: int | None = None) -> None:
        """The user blocks the bot (private) or kicks it (group): 403 from now on, plus the
        ``my_chat_member`` update Telegram sends."""
        self.block(chat_id)
        chat = self._chat(chat_id)
        new = "kicked" if chat.type in ("private", "supergroup", "channel") else "left"
        self._queue_member_update(chat, user_id or chat_id, "member", new)

    def user_unblocks_bot(self, chat_id: int, user_id: int | None = None) -> None:
        self.unblock(chat_id)
        chat = self._chat(chat_id)
        self._queue_member_update(chat, user_id or chat_id, "kicked", "member")

    def bot_added_to(self, chat_id: int, user_id: int, chat_type: str = "group") -> None:
        """Someone added the bot to a group or channel (a ``my_chat_member`` update)."""
        if chat_id not in self._chats:
            self.add_chat(chat_id, chat_type)
        self.unblock(chat_id)
        new = "administrator" if chat_type == "channel" else "member"
        self._queue_member_update(self._chat(chat_id), user_id, "left", new)

    def group_migrates(self, old_chat_id: int, new_chat_id: int, user_id: int) -> None:
        """The group became a supergroup: 400 + migrate_to_chat_id for the old id from now on,
        and the service message Telegram posts in the old group."""
        self.migrate(old_chat_id, new_chat_id)
        old = self._chat(old_chat_id)
        self._queue_update(
            {
                "message": {
                    "message_id": next(self._message_ids[old_chat_id]),
                    "date": int(time.time()),
                    "chat": old.to_json(),
                    "from": _user_json(user_id),
                    "migrate_to_chat_id": new_chat_id,
                }
            }
        )

    # reading what the bot did ----------------------------------------------------------------
    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """Messages the bot sent, oldest first, optionally for one chat."""
        return [
            m for m in self.all_messages if m.from_bot and (chat_id is None or m.chat_id == chat_id)
        ]

    def commands(self, scope: str = "default", language_code: str = "") -> list[JSON]:
        return list(self._bots[self.token].commands.get(f"{scope}:{language_code}", []))

    def calls_of(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_messages(
        self,
        n: int,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - a bound on a poll, not a cancellation scope
    ) -> list[SentMessage]:
        """Wait until the bot has sent at least ``n`` messages (to ``chat_id``); bounded."""
        await self.wait_for(lambda: len(self.messages(chat_id)) >= n, timeout, f"{n} messages")
        return self.messages(chat_id)

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109 - a bound on a poll, not a cancellation scope
        what: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds, re-checking after every request the server serves."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                sent = [(m.chat_id, m.text[:60]) for m in self.messages()]
                raise AssertionError(f"timed out after {timeout}s waiting for {what}; sent: {sent}")
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    # internals -------------------------------------------------------------------------------
    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _chat(self, chat_id: int) -> _FakeChat:
        chat = self._chats.get(chat_id)
        if chat is None:
            raise KeyError(f"unknown chat {chat_id}: add it with add_chat() or user_sends()")
        return chat

    def _queue_update(self, payload: JSON, token: str | None = None) -> None:
        update = {"update_id": next(self._update_ids), **payload}
        self._bots[token or self.token].updates.append(update)
        self._notify()

    def _queue_member_update(self, chat: _FakeChat, user_id: int, old: str, new: str) -> None:
        bot = self.bot_user
        new_member: JSON = {"status": new, "user": bot}
        if new == "kicked":
            new_member["until_date"] = 0
        elif new == "administrator":
            new_member.update(_admin_rights())
        old_member: JSON = {"status": old, "user": bot}
        if old == "kicked":
            old_member["until_date"] = 0
        self._queue_update(
            {
                "my_chat_member": {
                    "chat": chat.to_json(),
                    "from": _user_json(user_id),
                    "date": int(time.time()),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                }
            }
        )

    def _message_json(self, m: SentMessage) -> JSON:
        chat = self._chats[m.chat_id]
        data: JSON = {
            "message_id": m.message_id,
            "date": m.date,
            "chat": chat.to_json(),
        }
        if m.photo is not None:
            data.update(_photo_json(m))
        elif m.document is not None:
            data["document"] = {
                "file_id": f"doc-{m.chat_id}-{m.message_id}",
                "file_unique_id": f"u{m.chat_id}{m.message_id}",
                "file_name": m.document.filename,
                "mime_type": m.document.content_type,
                "file_size": len(m.document.data),
            }
            if m.text:
                data["caption"] = m.text
                if m.entities:
                    data["caption_entities"] = m.entities
        else:
            data["text"] = m.text
            if m.entities:
                data["entities"] = m.entities
        if m.from_bot:
            data["from"] = self.bot_user
        if m.reply_markup:
            data["reply_markup"] = m.reply_markup
        if m.message_thread_id is not None:
            data["message_thread_id"] = m.message_thread_id
            if chat.is_forum:
                data["is_topic_message"] = True
        if m.edits:
            data["edit_date"] = int(time.time())
        return data

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] not in self._bots:
            return _error_response(ApiError(401, "Unauthorized"))
        path = request.match_info["path"]
        file_id = path.removeprefix("documents/")
        found = self.user_files.get(file_id)
        if found is None or not path.startswith("documents/"):
            return _error_response(ApiError(404, "Not Found"))
        return web.Response(body=found.data, content_type=found.content_type)

    async def _get_file(self, bot: _BotState, params: JSON) -> Any:
        file_id = str(params.get("file_id") or "")
        found = self.user_files.get(file_id)
        if found is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if len(found.data) > MAX_DOWNLOAD_BYTES:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": file_id,
            "file_unique_id": f"u{file_id}",
            "file_size": len(found.data),
            "file_path": f"documents/{file_id}",
        }

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        bot = self._bots.get(token)
        if bot is None:
            return _error_response(ApiError(401, "Unauthorized"))
        params = await _read_params(request)
        received_at = time.monotonic()
        status = 200
        try:
            injected = self._injected.get(method)
            while injected:
                item = injected.popleft()
                if isinstance(item, ApiError):
                    raise item
                await asyncio.sleep(item)
            handler = self._methods.get(method.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            result = await handler(self, bot, params)
            response = web.json_response({"ok": True, "result": result})
        except ApiError as e:
            status = e.code
            response = _error_response(e)
        self.calls.append(ApiCall(method, params, status, received_at))
        self._notify()
        return response

    # rate limits -----------------------------------------------------------------------------
    def _check_rate(self, chat_id: int) -> None:
        limits = self.rate_limits
        if not limits.enabled:
            return
        now = self._clock()
        keys: list[tuple[object, int, float]] = [("global", limits.global_per_s, 1.0)]
        if chat_id > 0:
            keys.append((("chat", chat_id), limits.private_per_s, 1.0))
        else:
            keys.append((("chat", chat_id), limits.group_per_min, 60.0))
        wait = 0.0
        for key, count, window in keys:
            times = self._windows[key]
            while times and times[0] + window <= now:
                times.popleft()
            if len(times) >= count:
                wait = max(wait, times[0] + window - now)
        if wait > 0:
            self.too_many_requests += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                {"retry_after": retry_after},
            )
        for key, _, _ in keys:
            self._windows[key].append(now)

    # methods ---------------------------------------------------------------------------------
    def _resolve_chat(self, value: Any) -> _FakeChat:
        if isinstance(value, str) and value.startswith("@"):
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == value[1:].lower():
                    return chat
            raise ApiError(400, "Bad Request: chat not found")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise ApiError(400, "Bad Request: chat not found") from None
        if chat_id in self.migrated:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": self.migrated[chat_id]},
            )
        found = self._chats.get(chat_id)
        if found is None:
            raise ApiError(400, "Bad Request: chat not found")
        return found

    def _check_writable(self, chat: _FakeChat) -> None:
        if chat.id in self.blocked:
            raise ApiError(403, _forbidden_text(chat.type))

    async def _get_me(self, bot: _BotState, params: JSON) -> Any:
        user = dict(bot.user)
        user.update(
            can_join_groups=True,
            can_read_all_group_messages=False,
            supports_inline_queries=False,
            can_connect_to_business=False,
            has_main_web_app=False,
        )
        return user

    async def _true(self, bot: _BotState, params: JSON) -> Any:
        return True

    async def _get_webhook_info(self, bot: _BotState, params: JSON) -> Any:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _get_updates(self, bot: _BotState, params: JSON) -> Any:
        offset = _int(params.get("offset"), 0)
        limit = min(max(_int(params.get("limit"), 100), 1), 100)
        timeout = max(_float(params.get("timeout"), 0.0), 0.0)
        if offset > 0:
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
        elif offset < 0:
            bot.updates = bot.updates[offset:]
        bot.poll_generation += 1
        generation = bot.poll_generation
        self._notify()  # wakes an older poller, which answers 409
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if bot.poll_generation != generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            if bot.updates or self._closing:
                return bot.updates[:limit]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)

    async def _set_my_commands(self, bot: _BotState, params: JSON) -> Any:
        commands = _json(params.get("commands")) or []
        for c in commands:
            if not isinstance(c, dict) or not c.get("command") or not c.get("description"):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        scope = _json(params.get("scope"))
        if isinstance(scope, dict) and "chat_id" in scope:
            self._resolve_chat(scope["chat_id"])  # Telegram: "chat not found" for a stranger
        bot.commands[_scope_key(params)] = commands
        return True

    async def _get_my_commands(self, bot: _BotState, params: JSON) -> Any:
        return bot.commands.get(_scope_key(params), [])

    async def _delete_my_commands(self, bot: _BotState, params: JSON) -> Any:
        bot.commands.pop(_scope_key(params), None)
        return True

    def _parse_text(self, params: JSON) -> tuple[str, list[JSON]]:
        raw = params.get("text")
        if raw is None or str(raw) == "":
            raise ApiError(400, "Bad Request: message text is empty")
        raw = str(raw)
        parse_mode = params.get("parse_mode")
        if parse_mode is None or parse_mode == "":
            text, entities = raw, (_json(params.get("entities")) or [])
        elif str(parse_mode).lower() == "html":
            try:
                parsed = parse_html(raw)
            except HtmlParseError as e:
                raise ApiError(400, f"Bad Request: can't parse entities: {e}") from None
            text, entities = parsed.text, parsed.entities
        else:
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode}")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_MESSAGE_LENGTH:
            raise ApiError(400, "Bad Request: message is too long")
        return text, entities

    async def _send_message(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_writable(chat)
        thread_id = _int(params.get("message_thread_id"), 0) or None
        if thread_id is not None and not chat.is_forum:
            raise ApiError(400, "Bad Request: message thread not found")
        text, entities = self._parse_text(params)
        markup = _reply_markup(params)
        self._check_rate(chat.id)
        message = SentMessage(
            chat_id=chat.id,
            message_id=next(self._message_ids[chat.id]),
            text=text,
            raw_text=str(params["text"]),
            parse_mode=params.get("parse_mode") or None,
            entities=entities,
            disable_notification=_bool(params.get("disable_notification")),
            reply_markup=markup,
            message_thread_id=thread_id,
            date=int(time.time()),
        )
        self.all_messages.append(message)
        return self._message_json(message)

    async def _edit_message_text(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_writable(chat)
        message_id = _int(params.get("message_id"), 0)
        target = next(
            (
                m
                for m in self.all_messages
                if m.chat_id == chat.id and m.message_id == message_id and m.from_bot
            ),
            None,
        )
        if target is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text, entities = self._parse_text(params)
        markup = _reply_markup(params)
        if text == target.text and entities == target.entities and markup == target.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._check_rate(chat.id)
        target.edits.append(str(params["text"]))
        target.text, target.entities, target.reply_markup = text, entities, markup
        target.raw_text = str(params["text"])
        target.parse_mode = params.get("parse_mode") or None
        return self._message_json(target)

    async def _send_document(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_writable(chat)
        thread_id = _int(params.get("message_thread_id"), 0) or None
        if thread_id is not None and not chat.is_forum:
            raise ApiError(400, "Bad Request: message thread not found")
        document = params.get("document")
        if document is None or document == "":
            raise ApiError(400, "Bad Request: there is no document in the request")
        if not isinstance(document, UploadedFile):
            # a file_id or URL: this fake keeps no files to send again
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if not document.data:
            raise ApiError(400, "Bad Request: file must be non-empty")
        if len(document.data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "Request Entity Too Large")
        text, raw = "", ""
        entities: list[JSON] = []
        if params.get("caption"):
            raw = str(params["caption"])
            text, entities = self._parse_text({**params, "text": raw})
            if utf16_len(text) > MAX_CAPTION_LENGTH:
                raise ApiError(400, "Bad Request: message caption is too long")
        markup = _reply_markup(params)
        self._check_rate(chat.id)
        message = SentMessage(
            chat_id=chat.id,
            message_id=next(self._message_ids[chat.id]),
            text=text,
            raw_text=raw,
            parse_mode=params.get("parse_mode") or None,
            entities=entities,
            disable_notification=_bool(params.get("disable_notification")),
            reply_markup=markup,
            message_thread_id=thread_id,
            date=int(time.time()),
            document=document,
        )
        self.all_messages.append(message)
        return self._message_json(message)

    async def _edit_message_reply_markup(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        self._check_writable(chat)
        message_id = _int(params.get("message_id"), 0)
        target = next(
            (
                m
                for m in self.all_messages
                if m.chat_id == chat.id and m.message_id == message_id and m.from_bot
            ),
            None,
        )
        if target is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = _reply_markup(params)
        if markup == target.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        self._check_rate(chat.id)
        target.reply_markup = markup
        target.markup_edits += 1
        return self._message_json(target)

    async def _answer_callback_query(self, bot: _BotState, params: JSON) -> Any:
        self.callback_answers.append(
            {
                "callback_query_id": str(params.get("callback_query_id")),
                "text": params.get("text"),
                "show_alert": _bool(params.get("show_alert")),
            }
        )
        return True

    async def _get_chat(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        data = chat.to_json()
        data.update(
            accent_color_id=0,
            max_reaction_count=11,
            accepted_gift_types={
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        )
        return data

    def _member_json(self, chat: _FakeChat, user_id: int) -> JSON:
        bot_id = int(self._bots[self.token].user["id"])
        user = self.bot_user if user_id == bot_id else _user_json(user_id)
        if user_id in chat.admins:
            return {"status": "administrator", "user": user, **_admin_rights()}
        if chat.type == "private" and user_id == chat.id:
            return {"status": "member", "user": user}
        if user_id == bot_id:
            if chat.id in self.blocked:
                return {"status": "kicked", "user": user, "until_date": 0}
            return {"status": "member", "user": user}
        if user_id in chat.members:
            return {"status": "member", "user": user}
        return {"status": "left", "user": user}

    async def _get_chat_member(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        user_id = _int(params.get("user_id"), 0)
        return self._member_json(chat, user_id)

    async def _get_chat_administrators(self, bot: _BotState, params: JSON) -> Any:
        chat = self._resolve_chat(params.get("chat_id"))
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        return [self._member_json(chat, uid) for uid in sorted(chat.admins)]

    _methods: ClassVar[
        dict[str, Callable[[FakeTelegramServer, _BotState, JSON], Awaitable[Any]]]
    ] = {
        "getme": _get_me,
        "logout": _true,
        "close": _true,
        "deletewebhook": _true,
        "getwebhookinfo": _get_webhook_info,
        "getupdates": _get_updates,
        "setmycommands": _set_my_commands,
        "getmycommands": _get_my_commands,
        "deletemycommands": _delete_my_commands,
        "sendmessage": _send_message,
        "editmessagetext": _edit_message_text,
        "editmessagereplymarkup": _edit_message_reply_markup,
        "senddocument": _send_document,
        "getfile": _get_file,
        "answercallbackquery": _answer_callback_query,
        "sendchataction": _true,
        "getchat": _get_chat,
        "getchatmember": _get_chat_member,
        "getchatadministrators": _get_chat_administrators,
    }


async def _send_photo_method(server: FakeTelegramServer, bot: _BotState, params: JSON) -> Any:
    """``sendPhoto``, strictly: the photo must be a multipart upload of a PNG or JPEG (a file id
    or URL string is refused, as one this server never issued), at most 10 MB; the caption (may
    be empty) is parsed like a message text and may hold at most 1,024 characters."""
    chat = server._resolve_chat(params.get("chat_id"))
    server._check_writable(chat)
    thread_id = _int(params.get("message_thread_id"), 0) or None
    if thread_id is not None and not chat.is_forum:
        raise ApiError(400, "Bad Request: message thread not found")
    photo = params.get("photo")
    if photo is None:
        raise ApiError(400, "Bad Request: there is no photo in the request")
    if isinstance(photo, str):
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
    if isinstance(photo, UploadedFile):  # a multipart upload (its name and type unchecked)
        photo = photo.data
    if not isinstance(photo, bytes) or not photo.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8")):
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    if len(photo) > 10 * 1024 * 1024:
        raise ApiError(400, "Bad Request: file is too big")
    caption, entities = "", list[JSON]()
    if params.get("caption"):
        caption, entities = server._parse_text({**params, "text": params["caption"]})
    if utf16_len(caption) > MAX_CAPTION_LENGTH:
        raise ApiError(400, "Bad Request: message caption is too long")
    markup = _json(params.get("reply_markup"))
    server._check_rate(chat.id)
    message = SentMessage(
        chat_id=chat.id,
        message_id=next(server._message_ids[chat.id]),
        text=caption,
        raw_text=str(params.get("caption") or ""),
        parse_mode=params.get("parse_mode") or None,
        entities=entities,
        disable_notification=_bool(params.get("disable_notification")),
        reply_markup=markup if isinstance(markup, dict) else None,
        message_thread_id=thread_id,
        date=int(time.time()),
        photo=photo,
    )
    server.all_messages.append(message)
    return server._message_json(message)


FakeTelegramServer._methods["sendphoto"] = _send_photo_method


def _register_webhook_methods() -> None:
    """Webhook mode lives in its own module (``tests.fakes.telegram_webhook``)."""
    from tests.fakes import telegram_webhook as hooks

    methods = FakeTelegramServer._methods
    methods["setwebhook"] = hooks.set_webhook
    methods["deletewebhook"] = hooks.delete_webhook
    methods["getwebhookinfo"] = hooks.get_webhook_info
    methods["getupdates"] = hooks.refusing_get_updates(FakeTelegramServer._get_updates)


_register_webhook_methods()


def _photo_json(m: SentMessage) -> JSON:
    """A photo message's fields: one PhotoSize (the fake does not resize), caption, entities."""
    assert m.photo is not None
    size = {
        "file_id": f"photo-{m.chat_id}-{m.message_id}",
        "file_unique_id": f"p{m.chat_id}x{m.message_id}",
        "width": 900,
        "height": 360,
        "file_size": len(m.photo),
    }
    data: JSON = {"photo": [size]}
    if m.text:
        data["caption"] = m.text
    if m.entities:
        data["caption_entities"] = m.entities
    return data


def _admin_rights() -> JSON:
    rights = [
        "can_be_edited",
        "can_manage_chat",
        "can_delete_messages",
        "can_manage_video_chats",
        "can_restrict_members",
        "can_promote_members",
        "can_change_info",
        "can_invite_users",
        "can_post_stories",
        "can_edit_stories",
        "can_delete_stories",
        "can_post_messages",
        "can_edit_messages",
        "can_pin_messages",
        "can_manage_topics",
    ]
    data: JSON = dict.fromkeys(rights, True)
    data["can_be_edited"] = False
    data["is_anonymous"] = False
    return data


def _forbidden_text(chat_type: str) -> str:
    return {
        "private": "Forbidden: bot was blocked by the user",
        "group": "Forbidden: bot was kicked from the group chat",
        "supergroup": "Forbidden: bot was kicked from the supergroup chat",
        "channel": "Forbidden: bot is not a member of the channel chat",
    }.get(chat_type, "Forbidden: bot was blocked by the user")


def _error_response(e: ApiError) -> web.Response:
    body: JSON = {"ok": False, "error_code": e.code, "description": e.description}
    if e.parameters:
        body["parameters"] = e.parameters
    return web.json_response(body, status=e.code)


async def _read_params(request: web.Request) -> JSON:
    """Parameters from the query string and a JSON, urlencoded or multipart body, like Telegram."""
    params: JSON = dict(request.query)
    if request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            body = await request.json()
            if isinstance(body, dict):
                params.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                params[key] = value if isinstance(value, str) else _uploaded(value)
    return params


def _json(value: Any) -> Any:
    """Form fields carry JSON-encoded objects; JSON bodies carry them decoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON object") from None
    return value


MAX_CALLBACK_DATA_BYTES = 64
MAX_CAPTION_LENGTH = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what a bot may upload
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # what getFile serves a bot
_BAD_KEYBOARD = "Bad Request: can't parse inline keyboard button: "
_BUTTON_KINDS = ("url", "callback_data", "switch_inline_query", "switch_inline_query_current_chat")


def _reply_markup(params: JSON) -> JSON | None:
    """The message's ``reply_markup``, checked as Telegram checks an inline keyboard: every
    button has a text and one action; ``callback_data`` is 1-64 bytes (else
    ``BUTTON_DATA_INVALID``); a ``url`` is http(s) or tg (else ``BUTTON_URL_INVALID``)."""
    markup = _json(params.get("reply_markup"))
    if not isinstance(markup, dict):
        return None
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup  # another keyboard kind: not checked here
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise ApiError(
            400,
            _BAD_KEYBOARD + 'field "inline_keyboard" must be an Array of Array',
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not str(button.get("text") or "").strip():
                raise ApiError(
                    400,
                    _BAD_KEYBOARD + "Text buttons are unallowed in the inline keyboard",
                )
            kinds = [k for k in _BUTTON_KINDS if k in button]
            if len(kinds) != 1:
                raise ApiError(
                    400,
                    _BAD_KEYBOARD + "Text buttons are unallowed in the inline keyboard",
                )
            if "callback_data" in button:
                size = len(str(button["callback_data"]).encode())
                if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if "url" in button and not str(button["url"]).startswith(
                ("http://", "https://", "tg://")
            ):
                raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
    return markup


def _int(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid integer value {value!r}") from None


def _float(value: Any, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Bad Request: invalid number value {value!r}") from None


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in {"true", "1"}


def _scope_key(params: JSON) -> str:
    scope = _json(params.get("scope")) or {"type": "default"}
    kind = scope.get("type", "default") if isinstance(scope, dict) else "default"
    if isinstance(scope, dict) and "chat_id" in scope:
        kind = f"{kind}/{scope['chat_id']}"
    return f"{kind}:{params.get('language_code') or ''}"


def _uploaded(value: object) -> UploadedFile:
    """A multipart form value that is not text: an uploaded file, with its name and type."""
    return UploadedFile(
        filename=str(getattr(value, "filename", "") or ""),
        content_type=str(getattr(value, "content_type", "") or "application/octet-stream"),
        data=_field_bytes(value),
    )


def _field_bytes(value: object) -> bytes:
    """The bytes of a multipart form value that is not text (an uploaded file)."""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    file = getattr(value, "file", None)
    if file is None:
        raise ApiError(400, "Bad Request: unreadable form field")
    return bytes(file.read())
