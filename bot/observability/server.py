"""The endpoints: `/healthz`, `/readyz` and `/metrics` (Prometheus text format).

Imported only when PEERBOT_HTTP_PORT is set (it brings aiohttp's server and prometheus-client).
On the webhook's port the webhook server adds these routes to its own; otherwise this module
runs a server of its own, started first so that /healthz answers while the bot is still
starting (waiting for the database or Telegram).

Everything the endpoints say is counts, seconds and fixed words: never an id or a text.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from bot.observability import readiness
from bot.observability.figures import Figures, database_answers, read_figures
from bot.observability.metrics import (
    SCREENING_LEVELS,
    SEND_RESULTS,
    SEND_SOURCES,
    UPDATE_KINDS,
    Metrics,
)
from bot.settings import HttpSettings
from bot.storage.uow import Database

log = logging.getLogger(__name__)

T = TypeVar("T")

# How long an endpoint waits for the database, and for Telegram's answer to `getMe`, before
# it answers without them; and how often at most it asks Telegram itself.
DATABASE_SECONDS = 3.0
TELEGRAM_SECONDS = 5.0
ASK_TELEGRAM_EVERY = 10.0
JSON = "application/json"
# The classic text format (what generate_latest writes), which every Prometheus reads.
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Sources:
    """What the endpoints read from the running bot (callables: they change as it runs)."""

    metrics: Metrics
    database: Callable[[], Database | None]
    # "starting", "running" or "stopping".
    phase: Callable[[], str]
    leading: Callable[[], bool]
    # A cheap request to Telegram (getMe), asked when it has been silent for a while.
    ask_telegram: Callable[[], Awaitable[object]]


class _OneAtATime:
    """At most one attempt in flight; a caller waits at most `seconds` for it (a database
    that hangs must not pile up probes, nor hold an endpoint's answer)."""

    def __init__(self) -> None:
        self.task: asyncio.Future[Any] | None = None

    async def run(self, make: Callable[[], Awaitable[T]], seconds: float) -> T:
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(make())
            self.task.add_done_callback(_retrieve)
        done, _ = await asyncio.wait({self.task}, timeout=seconds)
        if not done:
            raise TimeoutError
        result: T = self.task.result()
        return result

    async def cancel(self) -> None:
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task})


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # seen here, so asyncio does not report it as never retrieved


def _problem(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within {DATABASE_SECONDS:.0f} s"
    return f"unreachable ({type(error).__name__})"


class HealthEndpoints:
    def __init__(self, config: HttpSettings, sources: Sources) -> None:
        self.config = config
        self.sources = sources
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_BotCollector(self))
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._probe = _OneAtATime()
        self._figures = _OneAtATime()
        self._telegram = _OneAtATime()
        self._asked_telegram_at: float | None = None
        self._scraped: Figures | None = None
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/healthz", self._healthz),
            web.get("/readyz", self._readyz),
            web.get("/metrics", self._metrics),
        ]

    async def start(self) -> None:
        """Serve on a port of its own (not the webhook's)."""
        app = web.Application(client_max_size=64 * 1024)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.listen, self.config.port)
        try:
            await site.start()
        except OSError:
            await self.stop()
            raise
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self.config.port
        log.info("health and metrics on port %d", self.port)

    async def stop(self) -> None:
        for attempt in (self._probe, self._figures, self._telegram):
            await attempt.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- the endpoints ---------------------------------------------------------------
    async def _healthz(self, request: web.Request) -> web.Response:
        """The process and its event loop are alive (this answer is proof enough)."""
        return web.Response(text='{"status":"ok"}', content_type=JSON)

    async def _readyz(self, request: web.Request) -> web.Response:
        facts = await self.facts()
        problems = readiness.reasons(facts)
        body: dict[str, object] = {"ready": not problems, "leader": facts.leading}
        if problems:
            body["reason"] = "; ".join(problems)
        return web.Response(
            text=json.dumps(body), status=503 if problems else 200, content_type=JSON
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        self._scraped = await self._read_figures()
        output = generate_latest(self.registry)
        return web.Response(body=output, headers={"Content-Type": PROMETHEUS_TEXT})

    # -- what they read --------------------------------------------------------------
    async def facts(self) -> readiness.Facts:
        sources = self.sources
        metrics = sources.metrics
        phase = sources.phase()
        if phase != "running":
            return readiness.Facts(phase, False, None, None, None, None, None)
        leading = sources.leading()
        db = sources.database()
        problem: str | None = "not open" if db is None else None
        if db is not None:
            try:
                await self._probe.run(lambda: database_answers(db), DATABASE_SECONDS)
            except Exception as exc:
                problem = _problem(exc)
        figures = await self._read_figures() if leading and problem is None else None
        if leading:
            await self._ask_telegram_if_silent()
        return readiness.Facts(
            phase=phase,
            leading=leading,
            database_problem=problem,
            figures=figures,
            telegram_silent=metrics.seconds_since(metrics.telegram_answered_at),
            intake_silent=metrics.seconds_since(metrics.handled_at),
            dispatch_silent=metrics.seconds_since(metrics.dispatched_at),
        )

    async def _read_figures(self) -> Figures | None:
        db = self.sources.database()
        if db is None:
            return None
        try:
            return await self._figures.run(lambda: read_figures(db), DATABASE_SECONDS)
        except Exception as exc:
            log.info("figures not read from the database: %s", type(exc).__name__)
            return None

    async def _ask_telegram_if_silent(self) -> None:
        """A webhook leader with nothing to send asks Telegram nothing for hours: before
        calling Telegram silent, ask it once (getMe), at most every ASK_TELEGRAM_EVERY s."""
        metrics = self.sources.metrics
        silent = metrics.seconds_since(metrics.telegram_answered_at)
        if silent is not None and silent <= readiness.TELEGRAM_SECONDS:
            return
        if not self._telegram_in_flight:
            asked = metrics.seconds_since(self._asked_telegram_at)
            if asked is not None and asked < ASK_TELEGRAM_EVERY:
                return
            self._asked_telegram_at = metrics.clock()
        try:
            await self._telegram.run(self.sources.ask_telegram, TELEGRAM_SECONDS)
        except Exception as exc:
            log.info("Telegram did not answer getMe: %s", type(exc).__name__)
            return
        metrics.telegram_answered()

    @property
    def _telegram_in_flight(self) -> bool:
        task = self._telegram.task
        return task is not None and not task.done()


class _BotCollector(Collector):
    """The bot's own metrics, from its counters and the figures read for this scrape."""

    def __init__(self, endpoints: HealthEndpoints) -> None:
        self.endpoints = endpoints

    def collect(self) -> Iterable[Metric]:
        sources = self.endpoints.sources
        m = sources.metrics
        received = CounterMetricFamily(
            "peerbot_updates_received",
            "Updates from Telegram stored by this replica, by kind",
            labels=["kind"],
        )
        # Every series from the start, at 0: a rate over a series that appears late misses
        # its first increase.
        for kind in sorted({*UPDATE_KINDS, *m.updates_received}):
            received.add_metric([kind], m.updates_received.get(kind, 0))
        yield received
        yield CounterMetricFamily(
            "peerbot_updates_handled", "Updates handled by this replica", value=m.updates_handled
        )
        yield CounterMetricFamily(
            "peerbot_updates_retried",
            "Attempts at handling an update that failed and were tried again",
            value=m.updates_retried,
        )
        yield CounterMetricFamily(
            "peerbot_updates_parked",
            "Updates kept as dead letters (see `peerbot deadletters`)",
            value=m.updates_parked,
        )
        handling = HistogramMetricFamily(
            "peerbot_update_handling_seconds",
            "Time to handle one update, retries included",
        )
        handling.add_metric([], m.handling_seconds.cumulative(), m.handling_seconds.sum)
        yield handling
        sends = CounterMetricFamily(
            "peerbot_sends",
            "Messages sent to Telegram by source (outbox, reply) and result "
            "(sent, 429, blocked, timeout, network_error, refused, chat_moved)",
            labels=["source", "result"],
        )
        combinations = {(s, r) for s in SEND_SOURCES for r in SEND_RESULTS} | set(m.sends)
        for source, result in sorted(combinations):
            sends.add_metric([source, result], m.sends.get((source, result), 0))
        yield sends
        screened = CounterMetricFamily(
            "peerbot_screener_decisions",
            "Crisis screener decisions on what people wrote, by level",
            labels=["level"],
        )
        for level in sorted(SCREENING_LEVELS):
            screened.add_metric([level], m.screened.get(level, 0))
        yield screened
        yield GaugeMetricFamily(
            "peerbot_leader",
            "1 when this replica leads (handles, runs the schedule, sends), else 0",
            value=1 if sources.phase() == "running" and sources.leading() else 0,
        )
        silent = m.seconds_since(m.telegram_answered_at)
        if silent is not None:
            yield GaugeMetricFamily(
                "peerbot_telegram_last_answer_seconds",
                "Seconds since Telegram last answered a request of this replica",
                value=silent,
            )
        figures = self.endpoints._scraped
        yield GaugeMetricFamily(
            "peerbot_database_up",
            "1 when the database answered this scrape's queries, else 0",
            value=0 if figures is None else 1,
        )
        if figures is not None:
            yield from _figure_metrics(figures)


def _figure_metrics(f: Figures) -> Iterable[Metric]:
    yield GaugeMetricFamily(
        "peerbot_outbox_depth", "Messages owed: queued or being sent", value=f.outbox_depth
    )
    yield GaugeMetricFamily(
        "peerbot_outbox_due", "Messages owed now (due, or tried and failed)", value=f.outbox_due
    )
    yield GaugeMetricFamily(
        "peerbot_outbox_oldest_due_seconds",
        "How long the message owed longest has been owed (0 when none is)",
        value=f.outbox_oldest_due_seconds or 0.0,
    )
    yield GaugeMetricFamily(
        "peerbot_updates_waiting", "Updates stored and not handled yet", value=f.inbound_waiting
    )
    yield GaugeMetricFamily(
        "peerbot_updates_waiting_oldest_seconds",
        "How long the oldest update not handled yet has waited (0 when none)",
        value=f.inbound_oldest_seconds or 0.0,
    )
    escalations = GaugeMetricFamily(
        "peerbot_escalations_open",
        "Escalations not resolved yet, by level",
        labels=["level"],
    )
    for level in ("concern", "urgent"):
        escalations.add_metric([level], f.escalations_open.get(level, 0))
    yield escalations
    yield GaugeMetricFamily(
        "peerbot_escalations_unacknowledged_oldest_seconds",
        "How long the oldest urgent escalation nobody acknowledged has waited (0 when none)",
        value=f.escalation_unacknowledged_oldest_seconds or 0.0,
    )
