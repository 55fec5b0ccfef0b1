"""Durable intake: receive updates (long polling or webhook), store them, then handle them.

Stock PTB confirms an update to Telegram before its handler has run, so a crash in between
loses what the member wrote. Here every update is written to the `inbound` table first and
only then confirmed (next `getUpdates` offset, or the webhook's 200). Handling runs from the
stored copy: one chat's updates strictly in order, different chats concurrently, so one slow
Bot API answer never stalls everyone. Unfinished rows are handled again at start-up; a row is
marked done in the same transaction as the handler's own changes (see `storage.uow`), so a
replay never applies a member's action twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError, OperationalError
from telegram import Update
from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot import failpoints
from bot.context import PeerbotApplication
from bot.services.intake import IntakeService, StoredUpdate
from bot.settings import WebhookSettings
from bot.storage.uow import AlreadyHandled, handling_update

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 25
RETRY_DELAYS = (0.5, 2.0)


def chat_key_of(data: dict[str, Any]) -> int | None:
    """The chat an update belongs to, read from raw JSON (for per-chat ordering)."""
    for kind in ("message", "edited_message", "my_chat_member", "chat_member", "channel_post"):
        if kind in data and isinstance(data[kind], dict):
            chat = data[kind].get("chat")
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                return int(chat["id"])
    query = data.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return int(message["chat"]["id"])
        sender = query.get("from")
        if isinstance(sender, dict):
            return int(sender["id"])
    return None


def is_transient(error: BaseException) -> bool:
    """Worth another try: the network, Telegram's flood control, or a busy database."""
    if isinstance(error, NetworkError | RetryAfter | OperationalError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


class UpdateRunner:
    """Handles stored updates: per chat in order, across chats concurrently."""

    def __init__(
        self,
        application: PeerbotApplication,
        intake: IntakeService,
        max_chats: int,
        on_parked: Callable[[Update], Awaitable[None]] | None = None,
    ) -> None:
        self.application = application
        self.intake = intake
        self.on_parked = on_parked
        self._queues: dict[int, deque[StoredUpdate]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max_chats)
        self._idle = asyncio.Event()
        self._idle.set()
        self.handled = 0

    def submit(self, stored: StoredUpdate) -> None:
        key = stored.chat_key if stored.chat_key is not None else 0
        self._queues.setdefault(key, deque()).append(stored)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"chat-worker-{key}")

    async def _work(self, key: int) -> None:
        queue = self._queues[key]
        try:
            while queue:
                stored = queue.popleft()
                async with self._slots:
                    try:
                        await self._handle(stored)
                    except Exception as exc:  # never let one update kill the chat's worker
                        log.error(
                            "update %s could not be handled: %s",
                            stored.update_id,
                            type(exc).__name__,
                        )
                self.handled += 1
        finally:
            del self._workers[key]
            if not queue:
                self._queues.pop(key, None)
            if not self._workers:
                self._idle.set()

    async def _handle(self, stored: StoredUpdate) -> None:
        update = Update.de_json(json.loads(stored.payload), self.application.bot)
        failures = self.application.bot_data.failures
        for attempt in range(len(RETRY_DELAYS) + 1):
            failures.pop(stored.update_id, None)
            with handling_update(stored.update_id) as ticket:
                await self.application.process_update(update)
                failpoints.hit("handle.processed")
            error = failures.pop(stored.update_id, None)
            if ticket.marked or isinstance(error, AlreadyHandled):
                return
            if error is None:
                await self.intake.finish(stored.update_id)
                return
            if not is_transient(error) or attempt == len(RETRY_DELAYS):
                break
            await self.intake.failed_attempt(stored.update_id)
            await asyncio.sleep(RETRY_DELAYS[attempt])
        # Parked, not lost: the stored row stays for an operator to look at.
        log.error("update %s parked after a failure", stored.update_id)
        await self.intake.park(stored.update_id)
        if self.on_parked is not None:
            await self.on_parked(update)

    async def replay_unfinished(self) -> int:
        rows = await self.intake.unfinished()
        for row in rows:
            self.submit(row)
        if rows:
            log.info("replaying %d stored updates left unfinished", len(rows))
        return len(rows)

    async def accept(self, raw_updates: list[dict[str, Any]]) -> None:
        """Store raw updates durably, then queue them for handling."""
        stored = [
            StoredUpdate(int(u["update_id"]), chat_key_of(u), json.dumps(u, separators=(",", ":")))
            for u in raw_updates
        ]
        new = await self.intake.store(stored)
        failpoints.hit("intake.stored")
        # An update stored before (Telegram handing it over again) is either done, or pending
        # and already queued by the start-up replay: only new ones are queued here.
        for item in stored:
            if item.update_id in new:
                self.submit(item)

    async def drain(self, seconds: float) -> bool:
        """Wait for queued updates to be handled; False if time ran out."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def cancel(self) -> None:
        tasks = list(self._workers.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


class Poller:
    """Long-polls getUpdates; an update is confirmed only after it has been stored."""

    def __init__(self, application: PeerbotApplication, runner: UpdateRunner) -> None:
        self.application = application
        self.runner = runner
        self._task: asyncio.Task[None] | None = None
        self.fatal: BaseException | None = None

    async def start(self) -> None:
        await self.application.bot.delete_webhook(drop_pending_updates=False)
        self._task = asyncio.create_task(self._loop(), name="poller")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def _loop(self) -> None:
        offset: int | None = None
        delay = 1.0
        bot = self.application.bot
        while True:
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=POLL_TIMEOUT,
                    allowed_updates=ALLOWED_UPDATES,
                    read_timeout=POLL_TIMEOUT + 10,
                )
            except RetryAfter as exc:
                retry = exc.retry_after
                await asyncio.sleep(
                    retry.total_seconds() if hasattr(retry, "total_seconds") else retry
                )
                continue
            except (InvalidToken, Conflict, Forbidden) as exc:
                # Cannot be fixed by waiting: stop loudly rather than spin.
                log.critical("polling stopped: %s", type(exc).__name__)
                self.fatal = exc
                raise
            except NetworkError as exc:
                log.warning("getUpdates failed (%s); retrying in %.0f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            delay = 1.0
            if not updates:
                continue
            raw = [u.to_dict() for u in updates]
            failpoints.hit("intake.received")
            try:
                await self.runner.accept(raw)
            except Exception as exc:
                # Not stored, so not confirmed: Telegram will hand them to us again.
                log.error("could not store updates (%s); will fetch again", type(exc).__name__)
                await asyncio.sleep(delay)
                continue
            offset = max(u.update_id for u in updates) + 1


class WebhookServer:
    """Receives updates over HTTPS (behind a proxy); answers 200 only once they are stored."""

    def __init__(
        self, application: PeerbotApplication, runner: UpdateRunner, config: WebhookSettings
    ) -> None:
        self.application = application
        self.runner = runner
        self.config = config
        self._site_runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(given.encode(), self.config.secret.encode()):
            log.warning("webhook request without the right secret token was refused")
            return web.Response(status=403)
        try:
            data = await request.json()
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
        except ValueError:
            return web.Response(status=400)
        try:
            await self.runner.accept([data])
        except Exception as exc:
            log.error("could not store a webhook update (%s)", type(exc).__name__)
            return web.Response(status=503)  # Telegram will deliver it again
        return web.Response(status=200)

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.config.path, self._receive)
        self._site_runner = web.AppRunner(app, access_log=None)
        await self._site_runner.setup()
        site = web.TCPSite(self._site_runner, self.config.listen, self.config.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port
        await self.application.bot.set_webhook(
            url=self.config.url,
            secret_token=self.config.secret,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def stop(self) -> None:
        if self._site_runner is not None:
            await self._site_runner.cleanup()
            self._site_runner = None
