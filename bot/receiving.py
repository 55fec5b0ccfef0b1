"""Receiving updates from Telegram: long polling (the leader only) or a webhook (every
replica). Either way an update is confirmed only once `UpdateRunner.accept` has stored it."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from telegram.error import Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter

from bot import failpoints
from bot.context import PeerbotApplication
from bot.intake import UpdateRunner
from bot.raw_updates import an_id
from bot.settings import WebhookSettings

if TYPE_CHECKING:
    # Imported when a webhook server starts: a polling bot does not load aiohttp's server.
    from aiohttp import web

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]
POLL_TIMEOUT = 25


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
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        # A poller that already stopped on its own (a refused token) was reported then.
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def _loop(self) -> None:
        offset: int | None = None
        delay = 1.0
        while True:
            try:
                raw = await self._fetch(offset)
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
            self.application.bot_data.metrics.telegram_answered()
            if not raw:
                continue
            failpoints.hit("intake.received")
            try:
                await self.runner.accept(raw)
            except Exception as exc:
                # Not stored, so not confirmed: Telegram will hand them to us again.
                log.error("could not store updates (%s); will fetch again", type(exc).__name__)
                await asyncio.sleep(delay)
                continue
            offset = max(int(u["update_id"]) for u in raw) + 1

    async def _fetch(self, offset: int | None) -> list[dict[str, Any]]:
        """getUpdates as raw JSON: the update is stored exactly as Telegram sent it, and one
        the library cannot parse becomes a dead letter when it is handled, instead of failing
        the whole batch (PTB's own `get_updates` parses, and on failure logs the raw batch)."""
        result = await self.application.bot._post(  # private: see the docstring
            "getUpdates",
            {"offset": offset, "timeout": POLL_TIMEOUT, "allowed_updates": ALLOWED_UPDATES},
            read_timeout=POLL_TIMEOUT + 10,
        )
        if not isinstance(result, list):
            raise NetworkError("getUpdates answered something other than a list")
        updates = [u for u in result if isinstance(u, dict) and an_id(u.get("update_id"))]
        if len(updates) != len(result):
            log.warning("%d malformed updates without an id ignored", len(result) - len(updates))
        return updates


class WebhookServer:
    """Receives updates over HTTPS (behind a proxy); answers 200 only once they are stored."""

    def __init__(
        self,
        application: PeerbotApplication,
        runner: UpdateRunner,
        config: WebhookSettings,
        also_serve: Sequence[web.RouteDef] = (),
    ) -> None:
        self.application = application
        self.runner = runner
        self.config = config
        # Other routes on the same port (the health and metrics endpoints, bot/observability).
        self.also_serve = also_serve
        self._site_runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        from aiohttp import web

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
        from aiohttp import web

        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.config.path, self._receive)
        app.add_routes(self.also_serve)
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
        self.application.bot_data.metrics.telegram_answered()

    async def stop(self) -> None:
        if self._site_runner is not None:
            await self._site_runner.cleanup()
            self._site_runner = None
