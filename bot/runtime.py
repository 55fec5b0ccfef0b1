"""The bot's lifecycle: one ordered start (`BotRuntime.start`) and its reverse (`stop`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.app import build_application, delivery_bot, open_services, resolve_secret_key
from bot.context import PeerbotApplication
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import SharedBudgetLimiter, retry_seconds
from bot.handlers import start_jobs
from bot.handlers.errors import apologise
from bot.handlers.menus import publish_default_commands
from bot.intake import UpdateRunner
from bot.leadership import Leadership
from bot.receiving import Poller, WebhookServer
from bot.settings import Settings
from bot.storage.crypto import install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.uow import Database

if TYPE_CHECKING:
    from bot.observability.server import HealthEndpoints

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
# On SIGTERM/SIGINT the whole stop takes at most ~2 s: updates still being handled after this
# are cancelled, and replayed at the next start (they are stored before they are confirmed).
SIGNAL_DRAIN_SECONDS = 1.0
# ... and the dispatcher's sends in flight this long.
SEND_STOP_SECONDS = 0.3
# Start-up requests to Telegram that fail on the network or with a 5xx are tried again after
# 1, 2, 4 ... seconds, at most this long apart.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0
TOKEN_REFUSED = "TELEGRAM_BOT_TOKEN: Telegram refused this token; check it with @BotFather"  # noqa: S105


class LeaseLost(Exception):
    """This replica could no longer be sure it leads, so it stopped (bot/leadership.py)."""


class FatalError(Exception):
    """The bot cannot run and waiting will not change that; the message is one line for the
    operator (and never carries the token)."""


class BotRuntime:
    def __init__(self, settings: Settings, application: PeerbotApplication | None = None) -> None:
        self.settings = settings
        self.application = application or build_application(settings)
        self.metrics = self.application.bot_data.metrics
        limiter = self.application.bot.rate_limiter
        if isinstance(limiter, SharedBudgetLimiter):
            limiter.metrics = self.metrics
        # What `start` opened, in order; `stop` closes what is not None, in reverse.
        self.health: HealthEndpoints | None = None  # /healthz /readyz /metrics
        self.database: Database | None = None
        self.runner: UpdateRunner | None = None
        self.leadership: Leadership | None = None
        self.dispatcher: Dispatcher | None = None
        self._delivery_bot: Bot | None = None
        self.poller: Poller | None = None
        self.webhook: WebhookServer | None = None
        self.phase = "starting"  # what /readyz says until the end of `start`
        # Set when something the bot cannot go on without stopped (polling refused, the
        # leader lease lost): `run_until_stopped` then stops the process.
        self.failed = asyncio.Event()
        self.failure: BaseException | None = None

    async def start(self) -> None:
        """Start everything, in this order. Telegram being unreachable is waited out (one log
        line per try), a refused token is not. May be cancelled at any point: `stop()` then
        closes whatever was opened."""
        app = self.application
        self._warn_if_alerts_reach_no_one()
        await self._serve_health()  # 1. /healthz from now on (alone, or on the webhook's port)
        await self._reachable(app.initialize)  # 2. the token (getMe), before anything is written
        db = await self._open_database()  # 3. the key, the database and its migrations
        app.bot_data.open(self.settings, open_services(self.settings, db))  # 4. the screener
        await self._reachable(self._publish_commands)  # 5. the command menus
        await app.start()  # 6. PTB and its scheduler (jobs are added when leading)
        leadership = self.leadership = Leadership(db, shared=db.is_postgres)
        self.runner = UpdateRunner(  # 7. intake: stored updates, handled by the leader
            app,
            app.bot_data.services.intake,
            self.settings.concurrent_chats,
            leadership,
            on_parked=lambda update: apologise(app, update),
        )
        leading = await leadership.check()  # 8. leadership; renewing starts now
        leadership.watch(self._lead, self._lease_lost)
        if leading:
            await self._lead()  # handling, jobs, the dispatcher, long polling
        else:
            log.info("another replica leads; this one stores what it receives and stands by")
        if self.settings.webhook is not None:
            await self._receive_by_webhook()  # 9. webhook mode: every replica receives
        self.phase = "running"

    async def _lead(self) -> None:
        """What only the leader does: handle updates, run the jobs, send; and in long polling
        mode, fetch updates (Telegram allows one getUpdates at a time)."""
        assert self.runner is not None and self.leadership is not None
        await self.runner.lead()
        await self._start_dispatcher(self.leadership)
        start_jobs(self.application, self.settings.tick_seconds)
        if self.settings.webhook is None:
            poller = self.poller = Poller(self.application, self.runner)
            await self._reachable(poller.start)  # deleteWebhook
            assert poller.task is not None
            poller.task.add_done_callback(self._poller_done)
            log.info("bot started (long polling)")

    async def stop(self, *, hurry: bool = False) -> None:
        """Stop and close everything, in the reverse order of `start`; safe on a runtime whose
        start failed or was cancelled part-way, and safe to call twice.

        `hurry` (SIGTERM, SIGINT) keeps the whole stop within about 2 s: updates still being
        handled, a running tick and sends in flight are cancelled instead of awaited. Nothing
        is lost by that: updates are stored before they are confirmed and replayed at the next
        start, ticks are idempotent, and the outbox settles an interrupted send at next start.
        """
        app = self.application
        self.phase = "stopping"
        if self.leadership is not None:
            await self.leadership.stop_watching()  # 8. no more taking up the lead
        await self._stop_receiving()  # 9. and long polling
        await self._stop_handling(hurry)  # 7.
        if hurry and app.job_queue is not None and app.running:
            await app.job_queue.stop(wait=False)  # cancels a running tick
        if app.running:
            await app.stop()  # 6. PTB and its scheduler
        await self._stop_dispatcher(SEND_STOP_SECONDS if hurry else None)  # 8. the sends
        if self.leadership is not None:
            # Only now, with nothing more being handled or sent: another may lead at once.
            await self.leadership.hand_over()
        await self._close_database()  # 4., 3.
        await app.shutdown()  # 2.
        await app.bot.shutdown()  # an application whose initialize() failed skips this
        if self.health is not None:  # 1. last: /healthz answers while the bot stops
            await self.health.stop()
            self.health = None
        if self.runner is not None:
            log.info("bot stopped")

    # The steps of `start`, in order.

    def _warn_if_alerts_reach_no_one(self) -> None:
        if not self.settings.has_alert_route:
            log.warning(
                "PEERBOT_ALLOW_NO_CRISIS_ALERTS is on: with no PEERBOT_COORDINATORS and no "
                "PEERBOT_ALERT_CHAT_ID, urgent crisis alerts reach no one"
            )

    async def _serve_health(self) -> None:
        """/healthz, /readyz and /metrics on a port of their own (on the webhook's, the webhook's
        server serves them from step 9). aiohttp and prometheus-client are imported only now."""
        http = self.settings.http
        if http is None:
            return
        from bot.observability.server import HealthEndpoints, Sources

        app = self.application
        self.health = HealthEndpoints(
            http,
            Sources(
                metrics=self.metrics,
                database=lambda: app.bot_data.database,
                phase=lambda: self.phase,
                leading=lambda: self.leadership is not None and self.leadership.leading,
                ask_telegram=app.bot.get_me,
            ),
        )
        if not http.shared_with(self.settings.webhook):
            try:
                await self.health.start()
            except OSError as exc:
                raise _cannot_listen("PEERBOT_HTTP_PORT", http.listen, http.port, exc) from None

    async def _open_database(self) -> Database:
        install_keyring(resolve_secret_key(self.settings))
        db = self.database = self.application.bot_data.database = Database.connect(
            self.settings.database_url
        )
        await upgrade_to_head(db.engine)
        return db

    async def _publish_commands(self) -> None:
        app = self.application
        await publish_default_commands(
            app.bot,
            app.bot_data.catalogue,
            self.settings.coordinators,
            await app.bot_data.services.roles.facilitator_ids(),
        )

    async def _start_dispatcher(self, leadership: Leadership) -> None:
        app = self.application
        assert self.database is not None
        self._delivery_bot = delivery_bot(self.settings)
        await self._reachable(self._delivery_bot.initialize)  # getMe
        self.dispatcher = Dispatcher(
            self.database,
            self._delivery_bot,
            budget=app.bot_data.send_budget,
            owner=leadership.me.id,
            live=lambda: leadership.live,
            leading=leadership.sure,
            metrics=self.metrics,
        )
        await self.dispatcher.start()
        app.bot_data.delivery = self.dispatcher

    async def _receive_by_webhook(self) -> None:
        """The webhook server (with the health endpoints when they share its port), and
        setWebhook."""
        config = self.settings.webhook
        assert config is not None and self.runner is not None
        shared = self.settings.http is not None and self.settings.http.shared_with(config)
        routes = self.health.routes() if self.health is not None and shared else ()
        webhook = self.webhook = WebhookServer(
            self.application, self.runner, config, also_serve=routes
        )
        try:
            await self._reachable(webhook.start, undo=webhook.stop)
        except OSError as exc:
            raise _cannot_listen("WEBHOOK_PORT", config.listen, config.port, exc) from None
        log.info("bot started (webhook)")

    # The steps of `stop`.

    async def _stop_receiving(self) -> None:
        if self.poller is not None:
            await self.poller.stop()
        if self.webhook is not None:
            await self.webhook.stop()

    async def _stop_handling(self, hurry: bool) -> None:
        if self.runner is None:
            return
        await self.runner.stop_taking()
        if not await self.runner.drain(SIGNAL_DRAIN_SECONDS if hurry else DRAIN_SECONDS):
            log.warning("stopping with updates still being handled; they resume at next start")
            await self.runner.cancel()

    async def _stop_dispatcher(self, seconds: float | None) -> None:
        dispatcher, self.dispatcher = self.dispatcher, None
        if dispatcher is not None:
            self.application.bot_data.delivery = None
            stopping = asyncio.create_task(dispatcher.stop())
            done, _ = await asyncio.wait({stopping}, timeout=seconds)
            if not done:
                log.warning("stopping with messages still being sent; settled at next start")
                await _cancel(stopping)
        if self._delivery_bot is not None:
            await self._delivery_bot.shutdown()

    async def _close_database(self) -> None:
        db, self.database = self.database, None
        self.application.bot_data.database = None
        if db is not None:
            await db.dispose()

    # Failures.

    def _poller_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._fail(task.exception())

    def _lease_lost(self) -> None:
        self._fail(LeaseLost())

    def _fail(self, error: BaseException | None) -> None:
        """Something the bot cannot go on without stopped: `run_until_stopped` ends."""
        if self.failure is None:
            self.failure = error
        self.failed.set()

    async def _reachable(
        self,
        step: Callable[[], Awaitable[object]],
        undo: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Run a start-up step that talks to Telegram, again and again while Telegram cannot
        be reached (network errors, time-outs, 5xx), with one log line per wait."""
        host = urlsplit(self.settings.api_url).hostname or "the Bot API"
        delay = RETRY_FIRST_SECONDS
        while True:
            try:
                await step()
                self.metrics.telegram_answered()
                return
            except InvalidToken:
                # PTB's message carries the token itself: never show it, nor the traceback.
                raise FatalError(TOKEN_REFUSED) from None
            except RetryAfter as exc:
                wait = max(retry_seconds(exc.retry_after), delay)
                log.warning("Telegram at %s asked to wait; retrying in %g s", host, wait)
            except BadRequest as exc:  # a NetworkError in PTB, but waiting does not fix it
                raise self._refused(exc) from None
            except NetworkError:  # also TimedOut, and every 5xx answer
                wait = delay
                log.warning("Telegram not reachable at %s; retrying in %g s", host, wait)
            except TelegramError as exc:
                raise self._refused(exc) from None
            if undo is not None:
                await undo()
            await asyncio.sleep(wait)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _refused(self, error: TelegramError) -> FatalError:
        message = " ".join(error.message.replace(self.settings.bot_token, "<token>").split())
        return FatalError(f"Telegram refused a start-up request: {message}")


def _cannot_listen(variable: str, listen: str, port: int, error: OSError) -> FatalError:
    """A port in use, or an address this machine does not have: one line for the operator."""
    reason = os.strerror(error.errno) if error.errno else str(error)
    return FatalError(f"{variable}: cannot listen on {listen}:{port} ({reason.lower()})")


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel `task` and wait for it to finish, without swallowing our own cancellation."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def run_until_stopped(settings: Settings) -> None:
    """Run the bot until SIGINT or SIGTERM; either stops it within about 2 s, in any phase
    (start-up included: a start still waiting for Telegram is cancelled)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C is KeyboardInterrupt
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    runtime = BotRuntime(settings)
    stopping = asyncio.create_task(stop.wait(), name="stop-signal")
    try:
        starting = asyncio.create_task(runtime.start(), name="start")
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            log.info("stopping before start-up finished")
            await _cancel(starting)
            return
        starting.result()  # a failed start raises here
        failed = asyncio.create_task(runtime.failed.wait(), name="failed")
        try:
            await asyncio.wait({stopping, failed}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            failed.cancel()
        error = runtime.failure
        if isinstance(error, InvalidToken):  # the token was revoked while running
            raise FatalError(TOKEN_REFUSED) from None
        if runtime.failed.is_set():
            raise SystemExit(f"stopped: {type(error).__name__}")
    except asyncio.CancelledError:  # Ctrl-C where signal handlers are not available
        stop.set()
        raise
    finally:
        stopping.cancel()
        await runtime.stop(hurry=stop.is_set())
        for sig in handled:
            loop.remove_signal_handler(sig)
