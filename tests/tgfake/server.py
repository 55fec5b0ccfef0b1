"""A fake Telegram Bot API server on 127.0.0.1, for driving the real bot over real HTTP.

It keeps users, chats and messages the way Telegram does, long-polls `getUpdates` (or delivers
to a webhook), checks every request against the official Bot API description, and can inject
faults (429, 403, 5xx, slow or hanging answers) and enforce Telegram's flood limits.

A request that breaks the spec is answered like Telegram answers it (400 and a description)
*and* recorded in `violations`, so a test fails even if the bot swallowed the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from tests.tgfake.html_parse import HtmlError, parse_html
from tests.tgfake.spec import Spec, Validator

BOT_ID = 424242
SENDING_METHODS = {
    "sendMessage",
    "sendPhoto",
    "sendDocument",
    "copyMessage",
    "forwardMessage",
    "sendAudio",
    "sendVideo",
    "sendVoice",
    "sendAnimation",
    "sendSticker",
}

# What counts as the bot saying something in a chat (see `spoken_in`).
SPEAKING_METHODS = SENDING_METHODS | {
    "sendMediaGroup",
    "sendPoll",
    "sendLocation",
    "sendVenue",
    "sendContact",
    "sendDice",
    "sendVideoNote",
    "sendPaidMedia",
    "sendInvoice",
    "sendChecklist",
    "editMessageText",
    "editMessageCaption",
    "editMessageMedia",
    "pinChatMessage",
}


@dataclass
class RecordedRequest:
    method: str
    params: dict[str, Any]
    status: int
    response: Any
    at: float


@dataclass
class Violation:
    method: str
    problems: list[str]
    params: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.method}: {'; '.join(self.problems)}"


@dataclass
class Fault:
    kind: str  # "429" | "403" | "500" | "502" | "slow" | "hang" | "drop"
    method: str | None
    chat_id: int | None
    times: int
    retry_after: int
    delay: float


@dataclass
class FakeChat:
    id: int
    type: str
    title: str | None = None
    bot_is_member: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        if self.title:
            data["title"] = self.title
        return data


@dataclass
class FakeUser:
    server: FakeBotApi = field(repr=False)
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    started: bool = False
    blocked: bool = False

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data

    def send(self, text: str, chat: FakeChat | None = None, **extra: Any) -> dict[str, Any]:
        return self.server.user_message(self, text, chat, **extra)

    def reply(self, message: dict[str, Any], text: str) -> dict[str, Any]:
        chat = self.server.chats[message["chat"]["id"]]
        return self.server.user_message(self, text, chat, reply_to_message=message)

    def edit(self, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        return self.server.user_edit(self, message, new_text)

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        return self.server.user_press(self, message, data)

    def block(self) -> None:
        self.blocked = True

    def unblock(self) -> None:
        self.blocked = False


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


class FakeBotApi:
    def __init__(
        self, token: str, spec: Spec | None, bot_username: str = "peerbot_test_bot"
    ) -> None:
        self.token = token
        self.spec = spec
        self.validator = Validator(spec) if spec else None
        self.bot_username = bot_username
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.bot_events: list[tuple[int, dict[str, Any]]] = []  # (chat id, message snapshot)
        self.requests: list[RecordedRequest] = []
        self.arrivals: list[str] = []  # method names, recorded as requests arrive
        self.violations: list[Violation] = []
        self.errors: list[RecordedRequest] = []
        self.flood_429s: list[RecordedRequest] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.callback_answers: dict[str, dict[str, Any]] = {}
        self.uploads: list[dict[str, Any]] = []
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._user_ids = itertools.count(100_001)
        self._chat_ids = itertools.count(1)
        self._query_ids = itertools.count(1)
        self._open_queries: set[str] = set()
        self._query_updates: dict[str, dict[str, Any]] = {}  # query id -> raw injected update
        self._unfiltered: set[int] = set()  # update ids delivered whatever allowed_updates says
        self._faults: list[Fault] = []
        self._flood = False
        self._sent_global: deque[float] = deque()
        self._sent_private: dict[int, float] = {}
        self._sent_group: dict[int, deque[float]] = {}
        self._changed = asyncio.Event()
        self._closing = asyncio.Event()
        self._release = asyncio.Event()
        self._webhook: dict[str, Any] | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.root_url = ""

    # ----------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.root_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._closing.set()
        self._release.set()
        self._notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._webhook_task
        if self._runner is not None:
            await self._runner.cleanup()

    # ----------------------------------------------------------------- people and chats
    def user(
        self,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        user_id: int | None = None,
    ) -> FakeUser:
        user = FakeUser(
            self, user_id or next(self._user_ids), first_name, last_name, username, language_code
        )
        self.users[user.id] = user
        self.chats[user.id] = FakeChat(user.id, "private")
        return user

    def person(self, first_name: str, **kwargs: Any) -> Any:
        from tests.tgfake.people import Person

        return Person(self, self.user(first_name, **kwargs))

    def mark_started(self, user: FakeUser) -> None:
        """As if the user had opened the bot once (without an update to handle)."""
        user.started = True

    def group(
        self, title: str, *, chat_id: int | None = None, kind: str = "supergroup"
    ) -> FakeChat:
        chat = FakeChat(chat_id or -1_001_000_000_000 - next(self._chat_ids), kind, title)
        self.chats[chat.id] = chat
        return chat

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Peerbot",
            "username": self.bot_username,
        }

    def _store(self, chat_id: int, message: dict[str, Any]) -> dict[str, Any]:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        message["message_id"] = next(counter)
        self.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def _queue_update(self, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **payload}
        self._updates.append(update)
        self._notify()
        return update

    def user_message(
        self, user: FakeUser, text: str, chat: FakeChat | None = None, **extra: Any
    ) -> dict[str, Any]:
        target = chat or self.chats[user.id]
        if target.type == "private":
            user.started = True
            user.blocked = False
        message: dict[str, Any] = {
            "date": int(time.time()),
            "chat": target.as_dict(),
            "from": user.as_dict(),
        }
        if "caption" in extra:
            message["caption"] = extra.pop("caption")
            message["photo"] = [
                {"file_id": "p1", "file_unique_id": "u1", "width": 10, "height": 10}
            ]
        else:
            message["text"] = text
            if text.startswith("/"):
                command = text.split()[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        message.update(extra)
        self._store(target.id, message)
        self._queue_update({"message": message})
        return message

    def user_edit(self, user: FakeUser, message: dict[str, Any], new_text: str) -> dict[str, Any]:
        edited = {**message, "text": new_text, "edit_date": int(time.time())}
        self.messages[message["chat"]["id"]][message["message_id"]] = edited
        self._queue_update({"edited_message": edited})
        return edited

    def user_press(self, user: FakeUser, message: dict[str, Any], data: str) -> dict[str, Any]:
        # Like Telegram's, unique across every bot session (not just this server's life).
        query_id = f"{secrets.randbits(63)}{next(self._query_ids)}"
        self._open_queries.add(query_id)
        query = {
            "id": query_id,
            "from": user.as_dict(),
            "chat_instance": "ci-1",
            "data": data,
            "message": message,
        }
        return self._queue_update({"callback_query": query})

    async def add_bot_to_group(self, chat: FakeChat, by: FakeUser) -> None:
        chat.bot_is_member = True
        self._queue_update(
            {
                "my_chat_member": {
                    "chat": chat.as_dict(),
                    "from": by.as_dict(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "left", "user": self._bot_user()},
                    "new_chat_member": {"status": "member", "user": self._bot_user()},
                }
            }
        )

    async def remove_bot_from_group(self, chat: FakeChat, by: FakeUser) -> None:
        chat.bot_is_member = False
        self._queue_update(
            {
                "my_chat_member": {
                    "chat": chat.as_dict(),
                    "from": by.as_dict(),
                    "date": int(time.time()),
                    "old_chat_member": {"status": "member", "user": self._bot_user()},
                    "new_chat_member": {
                        "status": "kicked",
                        "user": self._bot_user(),
                        "until_date": 0,
                    },
                }
            }
        )

    # ----------------------------------------------------------------- raw updates
    def inject_update(
        self, payload: dict[str, Any], *, ignore_allowed: bool = False
    ) -> dict[str, Any]:
        """Queue a raw update (any kind, any shape) as Telegram would send it, bypassing the
        FakeUser helpers; `update_id` is assigned here and returned in the queued copy.

        What Telegram itself would know from such an update is recorded so the bot can answer
        it: the sender becomes a user (started, if they wrote in a private chat), a group or
        channel the update came from is a chat the bot is a member of (Telegram only delivers
        from chats the bot is in), a callback query gets a fresh unique id that is open for
        answerCallbackQuery, and the bot's own message a button sits on is stored so it can be
        edited. `ignore_allowed` delivers the update even if the bot's `allowed_updates` leaves
        its kind out (Telegram does so for updates created before the last getUpdates call).
        """
        payload = dict(payload)
        payload.pop("update_id", None)
        for kind, body in payload.items():
            if isinstance(body, dict):
                self._learn_from(kind, body)
        query = payload.get("callback_query")
        if isinstance(query, dict):
            query = dict(query)
            query["id"] = f"{secrets.randbits(63)}{next(self._query_ids)}"
            payload["callback_query"] = query
            self._open_queries.add(query["id"])
        update = self._queue_update(payload)
        if isinstance(query, dict):
            self._query_updates[query["id"]] = update
        if ignore_allowed:
            self._unfiltered.add(update["update_id"])
        return update

    def _learn_from(self, kind: str, body: dict[str, Any]) -> None:
        sender = body.get("from")
        message = body.get("message") if kind == "callback_query" else body
        chat = message.get("chat") if isinstance(message, dict) else body.get("chat")
        if isinstance(sender, dict) and _is_int(sender.get("id")):
            self._learn_user(sender)
        if not isinstance(chat, dict) or not _is_int(chat.get("id")):
            return
        known = self.chats.get(chat["id"])
        if chat.get("type") == "private":
            if known is None and isinstance(sender, dict) and sender.get("id") == chat["id"]:
                self._learn_user(sender)
            user = self.users.get(chat["id"])
            if user is not None and kind == "my_chat_member":
                status = (body.get("new_chat_member") or {}).get("status")
                user.blocked = status == "kicked"
                user.started = user.started or not user.blocked
            elif user is not None and isinstance(sender, dict) and sender.get("id") == user.id:
                user.started = True
                user.blocked = False
        else:
            if known is None:
                known = FakeChat(chat["id"], str(chat.get("type")), chat.get("title"))
                self.chats[known.id] = known
            known.bot_is_member = True
            if kind == "my_chat_member":
                status = (body.get("new_chat_member") or {}).get("status")
                known.bot_is_member = status not in ("left", "kicked")
        if (
            kind == "callback_query"
            and isinstance(message, dict)
            and message.get("date")
            and (message.get("from") or {}).get("id") == BOT_ID
            and _is_int(message.get("message_id"))
        ):
            stored = self.messages.setdefault(chat["id"], {})
            stored.setdefault(message["message_id"], dict(message))

    def _learn_user(self, data: dict[str, Any]) -> None:
        if data["id"] in self.users or data["id"] == BOT_ID:
            return
        user = FakeUser(
            self,
            data["id"],
            str(data.get("first_name") or ""),
            data.get("last_name"),
            data.get("username"),
            data.get("language_code"),
        )
        self.users[user.id] = user
        self.chats.setdefault(user.id, FakeChat(user.id, "private"))

    def _deliverable(self, update: dict[str, Any], allowed: list[str] | None) -> bool:
        return update["update_id"] in self._unfiltered or _allowed(update, allowed)

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates queued and not yet confirmed by the bot (a later getUpdates offset)."""
        return list(self._updates)

    def pending_update_count(self) -> int:
        return len(self._updates)

    def unanswered_queries(self) -> list[dict[str, Any]]:
        """Injected or pressed callback queries the bot never answered (raw updates where
        injected, else just the id), in the order they were queued."""
        injected = [u for q, u in self._query_updates.items() if q in self._open_queries]
        pressed = [
            {"callback_query": {"id": q}}
            for q in sorted(self._open_queries)
            if q not in self._query_updates
        ]
        return injected + pressed

    def spoken_in(self) -> dict[int, list[RecordedRequest]]:
        """Every chat the bot tried to say something in (sent, or edited the text of a message;
        successful or refused), with those requests. Answering a button, showing "typing" and
        removing buttons are not counted as speaking."""
        spoken: dict[int, list[RecordedRequest]] = {}
        for request in self.requests:
            if request.method not in SPEAKING_METHODS:
                continue
            chat_id = request.params.get("chat_id")
            if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
                chat_id = int(chat_id)
            if isinstance(chat_id, int) and not isinstance(chat_id, bool):
                spoken.setdefault(chat_id, []).append(request)
        return spoken

    # ----------------------------------------------------------------- observation
    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The bot's messages (edits applied), oldest first."""
        chats = [chat_id] if chat_id is not None else list(self.messages)
        found = [
            m
            for c in chats
            for m in self.messages.get(c, {}).values()
            if m.get("from", {}).get("id") == BOT_ID
        ]
        return sorted(found, key=lambda m: (m["chat"]["id"], m["message_id"]))

    async def group_sees(self, chat: FakeChat, expected: str, timeout: float = 5.0) -> str:
        from tests.tgfake.people import group_sees

        return await group_sees(self, chat, expected, timeout)

    def commands_for(self, scope: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self.commands.get(_scope_key(scope), [])

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                recent = [
                    f"{m['chat']['id']}: {_plain(m)[:80]!r}" for m in self.sent_messages()[-8:]
                ]
                raise AssertionError(
                    "timed out waiting; the bot's last messages were:\n  " + "\n  ".join(recent)
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    def _notify(self) -> None:
        self._changed.set()

    # ----------------------------------------------------------------- faults and limits
    def inject(
        self,
        kind: str,
        *,
        method: str | None = None,
        chat_id: int | None = None,
        times: int = 1,
        retry_after: int = 1,
        delay: float = 0.0,
    ) -> None:
        self._faults.append(Fault(kind, method, chat_id, times, retry_after, delay))

    def release_hangs(self) -> None:
        self._release.set()

    def enforce_flood_limits(self, on: bool = True) -> None:
        """30 messages/s overall, 1/s in one private chat, 20/min in one group (strict)."""
        self._flood = on

    def _take_fault(self, method: str, params: dict[str, Any]) -> Fault | None:
        chat = params.get("chat_id")
        for fault in self._faults:
            if fault.times <= 0:
                continue
            if fault.method is not None and fault.method != method:
                continue
            if fault.chat_id is not None and chat != fault.chat_id:
                continue
            fault.times -= 1
            return fault
        return None

    def _check_flood(self, method: str, params: dict[str, Any]) -> int | None:
        if not self._flood or method not in SENDING_METHODS:
            return None
        now = time.monotonic()
        chat = params.get("chat_id")
        while self._sent_global and now - self._sent_global[0] >= 1.0:
            self._sent_global.popleft()
        if len(self._sent_global) >= 30:
            return math.ceil(1.0 - (now - self._sent_global[0]))
        if isinstance(chat, int) and chat > 0:
            last = self._sent_private.get(chat)
            if last is not None and now - last < 1.0:
                return 1
        elif isinstance(chat, int):
            window = self._sent_group.setdefault(chat, deque())
            while window and now - window[0] >= 60.0:
                window.popleft()
            if len(window) >= 20:
                return math.ceil(60.0 - (now - window[0]))
        self._sent_global.append(now)
        if isinstance(chat, int) and chat > 0:
            self._sent_private[chat] = now
        elif isinstance(chat, int):
            self._sent_group[chat].append(now)
        return None

    # ----------------------------------------------------------------- HTTP
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.arrivals.append(method)
        self._notify()
        params, files = await self._read_params(request, method)
        if request.match_info["token"] != self.token:
            self.violations.append(Violation(method, ["Unauthorized: wrong token"], params))
            return self._reply(
                method, params, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
        if self.validator is not None:
            problems = self.validator.validate(method, params, set(files))
            if problems:
                self.violations.append(Violation(method, problems, params))
                code = 404 if problems[0].startswith("Not Found") else 400
                return self._reply(
                    method,
                    params,
                    code,
                    {"ok": False, "error_code": code, "description": problems[0]},
                )
        fault = self._take_fault(method, params)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(fault.delay)
            elif fault.kind == "hang":
                await self._release.wait()
            elif fault.kind == "drop":
                if request.transport is not None:
                    request.transport.close()
                raise ConnectionResetError("fault: dropped")
            else:
                return self._fault_reply(method, params, fault)
        retry = self._check_flood(method, params)
        if retry is not None:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry}",
                "parameters": {"retry_after": retry},
            }
            response = self._reply(method, params, 429, body)
            self.flood_429s.append(self.requests[-1])
            return response
        try:
            result = await self._call(method, params, files)
        except ApiError as error:
            body: dict[str, Any] = {
                "ok": False,
                "error_code": error.code,
                "description": error.description,
            }
            response = self._reply(method, params, error.code, body)
            self.errors.append(self.requests[-1])
            if error.code == 400 and error.description.startswith("Bad Request: fake"):
                self.violations.append(Violation(method, [error.description], params))
            return response
        return self._reply(method, params, 200, {"ok": True, "result": result})

    def _fault_reply(self, method: str, params: dict[str, Any], fault: Fault) -> web.Response:
        if fault.kind == "429":
            body: dict[str, Any] = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
            return self._reply(method, params, 429, body)
        if fault.kind == "403":
            return self._reply(
                method,
                params,
                403,
                {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                },
            )
        code = int(fault.kind)
        return self._reply(
            method,
            params,
            code,
            {"ok": False, "error_code": code, "description": "Internal Server Error"},
        )

    def _reply(
        self, method: str, params: dict[str, Any], status: int, body: dict[str, Any]
    ) -> web.Response:
        self.requests.append(RecordedRequest(method, params, status, body, time.monotonic()))
        self._notify()
        return web.json_response(body, status=status)

    async def _read_params(
        self, request: web.Request, method: str
    ) -> tuple[dict[str, Any], dict[str, bytes]]:
        raw: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        if request.content_type == "application/json":
            data = await request.json()
            return (data if isinstance(data, dict) else {}), files
        if request.content_type == "multipart/form-data":
            reader = await request.multipart()
            async for part in reader:
                if part.filename is not None:  # type: ignore[union-attr]
                    files[part.name or ""] = await part.read()  # type: ignore[union-attr]
                else:
                    raw[part.name or ""] = await part.text()  # type: ignore[union-attr]
        else:
            raw.update(await request.post())
            raw.update(request.query)
        return {k: self._decode(method, k, v) for k, v in raw.items()}, files

    def _decode(self, method: str, name: str, value: Any) -> Any:
        """PTB sends non-string values JSON-encoded; strings as they are."""
        if not isinstance(value, str):
            return value
        types: list[str] = ["String"]
        if self.spec is not None and method in self.spec.methods:
            for f in self.spec.methods[method].get("fields", []):
                if f["name"] == name:
                    types = f["types"]
        if types == ["String"]:
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    # ----------------------------------------------------------------- methods
    async def _call(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            raise ApiError(400, f"Bad Request: fake server does not implement {method}")
        return await handler(params, files)

    async def _m_getMe(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": True,
            "supports_inline_queries": False,
        }

    async def _m_getUpdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        if isinstance(offset, int):
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        allowed = params.get("allowed_updates")
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        deadline = time.monotonic() + timeout
        while True:
            ready = [u for u in self._updates if self._deliverable(u, allowed)][:limit]
            if ready or self._closing.is_set():
                return ready
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.1))

    async def _m_setWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._webhook = {
            "url": params["url"],
            "secret": params.get("secret_token"),
            "allowed": params.get("allowed_updates"),
        }
        if self._webhook_task is None:
            self._webhook_task = asyncio.create_task(self._deliver_webhook())
        return True

    async def _m_deleteWebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_getWebhookInfo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {
            "url": (self._webhook or {}).get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _deliver_webhook(self) -> None:
        async with ClientSession(timeout=ClientTimeout(total=10)) as session:
            while not self._closing.is_set():
                hook = self._webhook
                pending = [
                    u for u in self._updates if hook and self._deliverable(u, hook["allowed"])
                ]
                if hook is None or not pending:
                    self._changed.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._changed.wait(), 0.05)
                    continue
                update = pending[0]
                headers = {}
                if hook["secret"]:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret"]
                try:
                    async with session.post(hook["url"], json=update, headers=headers) as resp:
                        ok = 200 <= resp.status < 300
                except Exception:
                    ok = False
                if ok:
                    self._updates.remove(update)
                else:
                    await asyncio.sleep(0.1)

    def _target(self, params: dict[str, Any]) -> FakeChat:
        chat_id = params.get("chat_id")
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        if chat.type == "private":
            user = self.users[chat.id]
            if user.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if not user.started:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        elif not chat.bot_is_member:
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")
        return chat

    def _bot_message(
        self, chat: FakeChat, params: dict[str, Any], **content: Any
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "date": int(time.time()),
            "chat": chat.as_dict(),
            "from": self._bot_user(),
            **content,
        }
        if (
            isinstance(params.get("reply_markup"), dict)
            and "inline_keyboard" in params["reply_markup"]
        ):
            message["reply_markup"] = params["reply_markup"]
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            original = self.messages.get(chat.id, {}).get(reply.get("message_id"))
            if original is not None:
                message["reply_to_message"] = original
        self._store(chat.id, message)
        self.bot_events.append((chat.id, dict(message)))
        return message

    async def _m_sendMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._target(params)
        return self._bot_message(chat, params, text=_shown(params["text"], params))

    async def _m_sendPhoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._target(params)
        self.uploads.append({"method": "sendPhoto", "chat_id": chat.id, "files": files})
        content: dict[str, Any] = {
            "photo": [{"file_id": "ph1", "file_unique_id": "uph1", "width": 700, "height": 600}]
        }
        if params.get("caption"):
            content["caption"] = _shown(params["caption"], params)
        return self._bot_message(chat, params, **content)

    async def _m_sendDocument(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self._target(params)
        self.uploads.append({"method": "sendDocument", "chat_id": chat.id, "files": files})
        content: dict[str, Any] = {
            "document": {"file_id": "d1", "file_unique_id": "ud1", "file_name": "file"}
        }
        if params.get("caption"):
            content["caption"] = _shown(params["caption"], params)
        return self._bot_message(chat, params, **content)

    def _existing(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = params.get("chat_id")
        message = self.messages.get(chat_id, {}).get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None or message.get("from", {}).get("id") != BOT_ID:
            raise ApiError(400, "Bad Request: message to edit not found")
        return message

    async def _m_editMessageText(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        message = self._existing(params)
        text = _shown(params["text"], params)
        markup = params.get("reply_markup")
        if text == message.get("text") and markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        message["text"] = text
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        self.bot_events.append((message["chat"]["id"], dict(message)))
        return message

    async def _m_editMessageReplyMarkup(
        self, params: dict[str, Any], files: dict[str, bytes]
    ) -> Any:
        message = self._existing(params)
        markup = params.get("reply_markup") or None
        if markup == message.get("reply_markup"):
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current "
                "content and reply markup of the message",
            )
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _m_deleteMessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat = self.messages.get(params.get("chat_id"), {})  # type: ignore[arg-type]
        if chat.pop(params.get("message_id"), None) is None:  # type: ignore[arg-type]
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _m_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        query_id = str(params["callback_query_id"])
        if query_id not in self._open_queries:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._open_queries.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    async def _m_sendChatAction(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self._target(params)
        return True

    async def _m_setMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        scope = params.get("scope")
        if isinstance(scope, dict) and scope.get("type") == "chat":
            chat = self.chats.get(scope.get("chat_id"))  # type: ignore[arg-type]
            if chat is None:
                raise ApiError(400, "Bad Request: chat not found")
        self.commands[_scope_key(scope)] = list(params["commands"])
        return True

    async def _m_deleteMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        self.commands.pop(_scope_key(params.get("scope")), None)
        return True

    async def _m_getMyCommands(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return self.commands_for(params.get("scope"))

    async def _m_close(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True

    async def _m_logOut(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return True


def _scope_key(scope: dict[str, Any] | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _allowed(update: dict[str, Any], allowed: list[str] | None) -> bool:
    if not allowed:
        return not any(k in update for k in ("chat_member", "message_reaction"))
    return any(kind in update for kind in allowed)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(text: str, params: dict[str, Any]) -> str:
    """The text as a person sees it (HTML parsed)."""
    if params.get("parse_mode") == "HTML":
        try:
            return parse_html(text)
        except HtmlError:
            return text
    return text


def _plain(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")
