"""Start and stop the bot: the application, durable intake, and polling or a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.app import build_application, telegram_request
from bot.context import BotContext, PeerbotApplication
from bot.core import clock
from bot.delivery.dispatcher import Dispatcher
from bot.delivery.limiter import SharedBudgetLimiter, retry_seconds
from bot.handlers.broadcasts import refresh_progress
from bot.handlers.errors import apologise
from bot.intake import Poller, UpdateRunner, WebhookServer
from bot.leadership import Leadership
from bot.settings import Settings

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
PRUNE_EVERY = timedelta(hours=1)
# How often a running announcement's status message is brought up to date.
PROGRESS_SECONDS = 2.0
# Telegram keeps undelivered updates for 24 hours; a handled update is remembered longer than
# that so a late redelivery is still recognised and skipped.
KEEP_HANDLED = timedelta(days=7)


async def _tick(context: BotContext) -> None:
    """Turn whatever the schedule says is due into outbox rows, then wake the dispatcher."""
    now = clock.now()
    services = context.services
    reminders = await services.reminders.tick(now)
    prompts = await services.checkins.tick(now)
    realerts = await services.safety.tick(now)
    if (reminders.queued or prompts or realerts) and context.bot_data.delivery is not None:
        context.bot_data.delivery.notify()


async def _prune(context: BotContext) -> None:
    """Forget handled updates and settled delivery records once they are past keeping, and
    what the retention periods say must go (bot/services/privacy.py)."""
    expired = await context.services.privacy.tick(clock.now())
    for kind, count in expired.items():
        if count:
            log.info("retention: deleted %d %s", count, kind.replace("_", " "))
    removed = await context.services.intake.prune(KEEP_HANDLED)
    if removed:
        log.info("forgot %d handled updates", removed)
    delivery = context.bot_data.delivery
    if delivery is not None:
        pruned = await delivery.prune(context.bot_data.settings.keep_deliveries)
        if pruned:
            log.info("forgot %d settled delivery records", pruned)


class LeaseLost(Exception):
    """This replica could no longer be sure it leads, so it stopped (bot/leadership.py)."""


class FatalError(Exception):
    """The bot cannot run and waiting will not change that; the message is one line for the
    operator (and never carries the token)."""


class BotRuntime:
    def __init__(self, settings: Settings, application: PeerbotApplication | None = None) -> None:
        self.settings = settings
        self.application = application or build_application(settings)
        self.runner: UpdateRunner | None = None
        self.poller: Poller | None = None
        self.webhook: WebhookServer | None = None
        self.dispatcher: Dispatcher | None = None
        self.leadership: Leadership | None = None
        self._delivery_bot: Bot | None = None
        self.metrics = self.application.bot_data.metrics
        limiter = self.application.bot.rate_limiter
        if isinstance(limiter, SharedBudgetLimiter):
            limiter.metrics = self.metrics
        # /healthz, /readyz, /metrics (PEERBOT_HTTP_PORT), and what they say of the bot.
        self.health: HealthEndpoints | None = None
        self.phase = "starting"
        # Set when something the bot cannot go on without stopped (polling refused, the
        # leader lease lost): `run_until_stopped` then stops the process.
        self.failed = asyncio.Event()
        self.failure: BaseException | None = None

    async def start(self) -> None:
        """Start everything; Telegram being unreachable is waited out, a refused token is not.

        May be cancelled at any point: `stop()` then closes whatever was opened."""
        app = self.application
        if not self.settings.has_alert_route:
            log.warning(
                "PEERBOT_ALLOW_NO_CRISIS_ALERTS is on: with no PEERBOT_COORDINATORS and no "
                "PEERBOT_ALERT_CHAT_ID, urgent crisis alerts reach no one"
            )
        # 1. Health and metrics on a port of their own: /healthz answers from now on, and
        #    /readyz says "starting" until the end of this sequence.
        await self._start_health_endpoints()
        # 2. The token (getMe), then the database (migrations) and the command menus.
        await self._until_reachable(app.initialize)
        post_init = app.post_init
        if post_init is not None:
            await self._until_reachable(lambda: post_init(app), undo=self._close_database)
        await app.start()
        # 3. Intake, and leadership: the leader handles, runs the schedule, sends (and polls).
        db = app.bot_data.database
        assert db is not None
        self.leadership = Leadership(db, shared=db.is_postgres)
        self.runner = UpdateRunner(
            app,
            app.bot_data.services.intake,
            self.settings.concurrent_chats,
            self.leadership,
            on_parked=lambda update: apologise(app, update),
        )
        leading = await self.leadership.check()
        # Renewing starts now: taking up the leader's work below may wait for Telegram.
        self.leadership.watch(self._lead, self._lease_lost)
        if leading:
            await self._lead()
        else:
            log.info("another replica leads; this one stores what it receives and stands by")
        # 4. The webhook (every replica receives), with the health endpoints on its port
        #    when they share it; setWebhook.
        if self.settings.webhook is not None:
            shared = self._health_shares_webhook_port()
            routes = self._health_endpoints().routes() if shared else ()
            webhook = self.webhook = WebhookServer(
                app, self.runner, self.settings.webhook, also_serve=routes
            )
            try:
                await self._until_reachable(webhook.start, undo=webhook.stop)
            except OSError as exc:
                raise _cannot_listen(
                    "WEBHOOK_PORT", webhook.config.listen, webhook.config.port, exc
                ) from None
            log.info("bot started (webhook)")
        self.phase = "running"

    def _health_shares_webhook_port(self) -> bool:
        http = self.settings.http
        return http is not None and http.shared_with(self.settings.webhook)

    def _health_endpoints(self) -> HealthEndpoints:
        """The endpoints' handlers (aiohttp and prometheus-client are imported only now)."""
        from bot.observability.server import HealthEndpoints, Sources

        app = self.application
        assert self.settings.http is not None
        self.health = HealthEndpoints(
            self.settings.http,
            Sources(
                metrics=self.metrics,
                database=lambda: app.bot_data.database,
                phase=lambda: self.phase,
                leading=lambda: self.leadership is not None and self.leadership.leading,
                ask_telegram=app.bot.get_me,
            ),
        )
        return self.health

    async def _start_health_endpoints(self) -> None:
        http = self.settings.http
        if http is not None and not self._health_shares_webhook_port():
            try:
                await self._health_endpoints().start()
            except OSError as exc:
                raise _cannot_listen("PEERBOT_HTTP_PORT", http.listen, http.port, exc) from None

    async def _lead(self) -> None:
        """What only the leader does: handle updates, run the schedule, send; and in long
        polling mode, fetch updates (Telegram allows one getUpdates at a time)."""
        app = self.application
        assert self.runner is not None
        await self.runner.lead()
        await self._start_delivery()
        if app.job_queue is not None:
            # The schedule lives in the database and ticks are idempotent, so a late tick
            # simply catches up: never let APScheduler drop one for being late.
            never_drop = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
            app.job_queue.run_repeating(
                _tick,
                interval=self.settings.tick_seconds,
                first=0.1,
                name="schedule-tick",
                job_kwargs=never_drop,
            )
            app.job_queue.run_repeating(
                refresh_progress,
                interval=PROGRESS_SECONDS,
                first=0.5,
                name="broadcast-progress",
                job_kwargs={"coalesce": True, "max_instances": 1},
            )
            app.job_queue.run_repeating(
                _prune,
                interval=PRUNE_EVERY,
                first=60,
                name="prune",
                job_kwargs=never_drop,
            )
        if self.settings.webhook is None:
            poller = self.poller = Poller(app, self.runner)
            await self._until_reachable(poller.start)  # deleteWebhook
            assert poller.task is not None
            poller.task.add_done_callback(self._poller_done)
            log.info("bot started (long polling)")

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

    async def _until_reachable(
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

    async def _close_database(self) -> None:
        app = self.application
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        app.bot_data.database = None

    async def _start_delivery(self) -> None:
        """The dispatcher gets a Bot of its own, without PTB's rate limiter: it keeps
        Telegram's limits itself and must see each 429 to pause everything."""
        app = self.application
        db = app.bot_data.database
        assert db is not None
        self._delivery_bot = Bot(
            self.settings.bot_token,
            base_url=f"{self.settings.api_url}/bot",
            base_file_url=f"{self.settings.api_url}/file/bot",
            request=telegram_request(16),
        )
        await self._until_reachable(self._delivery_bot.initialize)  # getMe
        leadership = self.leadership
        assert leadership is not None
        self.dispatcher = Dispatcher(
            db,
            self._delivery_bot,
            budget=app.bot_data.send_budget,
            owner=leadership.me.id,
            live=lambda: leadership.live,
            leading=leadership.sure,
            metrics=self.metrics,
        )
        await self.dispatcher.start()
        app.bot_data.delivery = self.dispatcher

    async def stop(self, *, hurry: bool = False) -> None:
        """Stop and close everything; safe on a runtime whose start failed or was cancelled
        part-way, and safe to call twice.

        `hurry` (SIGTERM, SIGINT) keeps the whole stop within about 2 s: updates still being
        handled, a running tick and sends in flight are cancelled instead of awaited. Nothing
        is lost by that: updates are stored before they are confirmed and replayed at the next
        start, ticks are idempotent, and the outbox settles an interrupted send at next start.
        """
        app = self.application
        self.phase = "stopping"
        if self.leadership is not None:
            await self.leadership.stop_watching()
        if self.poller is not None:
            await self.poller.stop()
        if self.webhook is not None:
            await self.webhook.stop()
        drain = SIGNAL_DRAIN_SECONDS if hurry else DRAIN_SECONDS
        if self.runner is not None:
            await self.runner.stop_taking()
        if self.runner is not None and not await self.runner.drain(drain):
            log.warning("stopping with updates still being handled; they resume at next start")
            await self.runner.cancel()
        if hurry and app.job_queue is not None and app.running:
            await app.job_queue.stop(wait=False)  # cancels a running tick
        if app.running:
            await app.stop()
        if self.dispatcher is not None:
            await self._stop_dispatcher(self.dispatcher, SEND_STOP_SECONDS if hurry else None)
            self.dispatcher = None
            app.bot_data.delivery = None
        if self._delivery_bot is not None:
            await self._delivery_bot.shutdown()
        if self.leadership is not None:
            # Only now, with nothing more being handled or sent: another may lead at once.
            await self.leadership.hand_over()
        await self._close_database()
        await app.shutdown()
        # An application whose initialize() never finished skips this in shutdown().
        await app.bot.shutdown()
        if self.health is not None:  # last: /healthz answers while the bot stops
            await self.health.stop()
            self.health = None
        if self.runner is not None:
            log.info("bot stopped")

    @staticmethod
    async def _stop_dispatcher(dispatcher: Dispatcher, seconds: float | None) -> None:
        stopping = asyncio.create_task(dispatcher.stop())
        done, _ = await asyncio.wait({stopping}, timeout=seconds)
        if not done:
            log.warning("stopping with messages still being sent; they are settled at next start")
            await _cancel(stopping)


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
