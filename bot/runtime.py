"""Start and stop the bot: the application, durable intake, and polling or a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta

from telegram import Bot
from telegram.request import HTTPXRequest

from bot.app import build_application
from bot.context import BotContext, PeerbotApplication
from bot.core import clock
from bot.delivery.dispatcher import Dispatcher
from bot.handlers.broadcasts import refresh_progress
from bot.handlers.errors import apologise
from bot.intake import Poller, UpdateRunner, WebhookServer
from bot.settings import Settings

log = logging.getLogger(__name__)

DRAIN_SECONDS = 10.0
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


async def _prune_inbound(context: BotContext) -> None:
    removed = await context.services.intake.prune(KEEP_HANDLED)
    if removed:
        log.info("forgot %d handled updates", removed)


class BotRuntime:
    def __init__(self, settings: Settings, application: PeerbotApplication | None = None) -> None:
        self.settings = settings
        self.application = application or build_application(settings)
        self.runner: UpdateRunner | None = None
        self.poller: Poller | None = None
        self.webhook: WebhookServer | None = None
        self.dispatcher: Dispatcher | None = None
        self._delivery_bot: Bot | None = None

    async def start(self) -> None:
        app = self.application
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        self.runner = UpdateRunner(
            app,
            app.bot_data.services.intake,
            self.settings.concurrent_chats,
            on_parked=lambda update: apologise(app, update),
        )
        await self.runner.replay_unfinished()
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
                _prune_inbound,
                interval=PRUNE_EVERY,
                first=60,
                name="prune-inbound",
                job_kwargs=never_drop,
            )
        if self.settings.webhook is not None:
            self.webhook = WebhookServer(app, self.runner, self.settings.webhook)
            await self.webhook.start()
            log.info("bot started (webhook)")
        else:
            self.poller = Poller(app, self.runner)
            await self.poller.start()
            log.info("bot started (long polling)")

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
            request=HTTPXRequest(connection_pool_size=16, read_timeout=15, connect_timeout=10),
        )
        await self._delivery_bot.initialize()
        self.dispatcher = Dispatcher(db, self._delivery_bot, budget=app.bot_data.send_budget)
        await self.dispatcher.start()
        app.bot_data.delivery = self.dispatcher

    async def stop(self) -> None:
        app = self.application
        if self.poller is not None:
            await self.poller.stop()
        if self.webhook is not None:
            await self.webhook.stop()
        if self.runner is not None and not await self.runner.drain(DRAIN_SECONDS):
            log.warning("stopping with updates still being handled; they resume at next start")
            await self.runner.cancel()
        if app.running:
            await app.stop()
        if self.dispatcher is not None:
            await self.dispatcher.stop()
            app.bot_data.delivery = None
        if self._delivery_bot is not None:
            await self._delivery_bot.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        await app.shutdown()
        log.info("bot stopped")


async def run_until_stopped(settings: Settings) -> None:
    runtime = BotRuntime(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    try:
        waiters = [asyncio.create_task(stop.wait())]
        if runtime.poller is not None and runtime.poller.task is not None:
            waiters.append(runtime.poller.task)  # type: ignore[arg-type]
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not waiters[0] and task.exception() is not None:
                raise SystemExit(f"stopped: {type(task.exception()).__name__}")
    finally:
        await runtime.stop()
