"""Health and metrics without a running bot: what "ready" means, the figures read from the
database for a scrape, and counters that can only ever carry fixed words."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core import clock
from bot.observability import server
from bot.observability.figures import Figures, read_figures
from bot.observability.metrics import Histogram, Metrics
from bot.observability.readiness import Facts, reasons
from bot.settings import HttpSettings
from bot.storage.models import Escalation, Inbound, Outbox
from bot.storage.uow import Database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

# A leader that is doing fine: everything answered a moment ago.
HEALTHY = Facts(
    phase="running",
    leading=True,
    database_problem=None,
    figures=Figures(),
    telegram_silent=2.0,
    intake_silent=5.0,
    dispatch_silent=5.0,
)


@pytest.fixture
def frozen_clock() -> Iterator[None]:
    clock.set_clock(lambda: NOW)
    yield
    clock.set_clock(None)


# ------------------------------------------------------------------------ readiness
def test_a_healthy_leader_is_ready_and_a_starting_or_stopping_bot_is_not() -> None:
    assert reasons(HEALTHY) == []
    assert reasons(replace(HEALTHY, phase="starting")) == ["starting"]
    assert reasons(replace(HEALTHY, phase="stopping")) == ["stopping"]


def test_the_database_not_answering_makes_any_replica_unready() -> None:
    assert reasons(replace(HEALTHY, database_problem="unreachable (OSError)", figures=None)) == [
        "database: unreachable (OSError)"
    ]
    standby = replace(HEALTHY, leading=False, database_problem="no answer within 3 s")
    assert reasons(standby) == ["database: no answer within 3 s"]


def test_a_standby_that_can_store_is_ready_though_it_talks_to_telegram_only_at_start() -> None:
    standby = replace(
        HEALTHY,
        leading=False,
        figures=None,
        telegram_silent=3600.0,
        intake_silent=None,
        dispatch_silent=None,
    )
    assert reasons(standby) == []


def test_a_leader_telegram_has_not_answered_for_a_minute_is_not_ready() -> None:
    assert reasons(replace(HEALTHY, telegram_silent=59.0)) == []
    assert reasons(replace(HEALTHY, telegram_silent=75.4)) == ["telegram: no answer for 75 s"]
    assert reasons(replace(HEALTHY, telegram_silent=None)) == ["telegram: no answer yet"]


def test_updates_waiting_while_none_is_handled_is_stuck_intake() -> None:
    waiting = Figures(inbound_waiting=4, inbound_oldest_seconds=400.0)
    assert reasons(replace(HEALTHY, figures=waiting, intake_silent=400.0)) == [
        "intake: 4 updates waiting, the oldest 400 s, none handled for 400 s"
    ]
    # A long backlog that is being worked through is progress, not a fault.
    assert reasons(replace(HEALTHY, figures=waiting, intake_silent=1.0)) == []


def test_messages_owed_while_none_is_sent_is_a_stuck_dispatcher() -> None:
    owed = Figures(outbox_depth=12, outbox_due=12, outbox_oldest_due_seconds=900.0)
    assert reasons(replace(HEALTHY, figures=owed, dispatch_silent=600.0)) == [
        "dispatcher: 12 messages due, the oldest for 900 s, none sent for 600 s"
    ]
    # An announcement to thousands takes minutes and keeps sending: ready.
    assert reasons(replace(HEALTHY, figures=owed, dispatch_silent=0.1)) == []


def test_a_storm_of_dead_letters_is_not_ready_and_one_is_not_a_storm() -> None:
    assert reasons(replace(HEALTHY, figures=Figures(parked_recently=1))) == []
    assert reasons(replace(HEALTHY, figures=Figures(parked_recently=12))) == [
        "dead letters: 12 in the last 10 min"
    ]


def test_every_reason_is_given_at_once() -> None:
    everything = replace(
        HEALTHY,
        telegram_silent=120.0,
        figures=Figures(
            inbound_waiting=1,
            inbound_oldest_seconds=300.0,
            outbox_due=1,
            outbox_oldest_due_seconds=300.0,
            parked_recently=10,
        ),
        intake_silent=300.0,
        dispatch_silent=300.0,
    )
    assert [r.split(":")[0] for r in reasons(everything)] == [
        "telegram",
        "intake",
        "dispatcher",
        "dead letters",
    ]


# ------------------------------------------------------------------------ counters
def test_labels_take_only_fixed_words() -> None:
    metrics = Metrics()
    metrics.received("message")
    metrics.received("secret_chat_of_555123")  # a kind Telegram never sends us
    metrics.sent("outbox", "429")
    metrics.sent("reply", "Forbidden: bot was blocked by the user 555123")
    metrics.screening("urgent")
    metrics.screening("I want to die")
    assert dict(metrics.updates_received) == {"message": 1, "other": 1}
    assert dict(metrics.sends) == {("outbox", "429"): 1, ("reply", "other"): 1}
    assert dict(metrics.screened) == {"urgent": 1, "other": 1}


def test_the_handling_histogram_is_cumulative() -> None:
    histogram = Histogram((0.1, 1.0))
    for seconds in (0.05, 0.1, 0.5, 3.0):
        histogram.observe(seconds)
    assert histogram.cumulative() == [("0.1", 2), ("1.0", 3), ("+Inf", 4)]
    assert (histogram.count, histogram.sum) == (4, pytest.approx(3.65))


def test_progress_is_measured_on_the_machines_clock() -> None:
    moments = iter([100.0, 100.0, 130.0])
    metrics = Metrics(clock=lambda: next(moments))
    assert metrics.seconds_since(metrics.handled_at) is None
    metrics.intake_started()
    metrics.handled(0.2)
    assert metrics.seconds_since(metrics.handled_at) == 30.0


# ------------------------------------------------------------------------ figures
def _outbox(
    key: str, status: str, *, due: timedelta, created: timedelta, attempts: int = 0
) -> Outbox:
    return Outbox(
        key=key,
        kind="reminder",
        chat_id=1,
        payload="{}",
        status=status,
        attempts=attempts,
        not_before=NOW + due,
        created_at=NOW - created,
    )


def _escalation(level: str, status: str, age: timedelta) -> Escalation:
    return Escalation(
        level=level,
        status=status,
        author_telegram_id=555123,
        chat_id=555123,
        text="words",
        created_at=NOW - age,
        updated_at=NOW - age,
    )


async def test_figures_count_what_is_owed_waiting_and_open(
    db: Database, frozen_clock: None
) -> None:
    assert await read_figures(db) == Figures()
    async with db.uow() as uow:
        uow.session.add_all(
            [
                # Due for 100 s, never tried.
                _outbox(
                    "a", "pending", due=-timedelta(seconds=100), created=timedelta(seconds=100)
                ),
                # Not due yet (an anonymous question's delay): owed later, not now.
                _outbox("b", "pending", due=timedelta(seconds=60), created=timedelta(seconds=1)),
                # Tried and failed, its next try a minute away: owed since it was queued.
                _outbox(
                    "c",
                    "pending",
                    due=timedelta(seconds=60),
                    created=timedelta(seconds=400),
                    attempts=3,
                ),
                _outbox(
                    "d",
                    "sending",
                    due=-timedelta(seconds=1),
                    created=timedelta(seconds=1),
                    attempts=1,
                ),
                _outbox("e", "sent", due=-timedelta(days=1), created=timedelta(days=1), attempts=1),
                Inbound(update_id=1, status="pending", received_at=NOW - timedelta(seconds=50)),
                Inbound(update_id=2, status="done", received_at=NOW - timedelta(hours=1)),
                Inbound(
                    update_id=3,
                    status="dead",
                    received_at=NOW - timedelta(minutes=3),
                    done_at=NOW - timedelta(minutes=2),
                ),
                Inbound(
                    update_id=4,
                    status="dead",
                    received_at=NOW - timedelta(hours=2),
                    done_at=NOW - timedelta(hours=2),
                ),
                _escalation("urgent", "open", timedelta(seconds=200)),
                _escalation("urgent", "acknowledged", timedelta(seconds=900)),
                _escalation("concern", "open", timedelta(seconds=3000)),
                _escalation("urgent", "resolved", timedelta(days=3)),
            ]
        )
        await uow.commit()
    assert await read_figures(db) == Figures(
        outbox_depth=4,
        outbox_due=3,
        outbox_oldest_due_seconds=400.0,
        inbound_waiting=1,
        inbound_oldest_seconds=50.0,
        parked_recently=1,
        escalations_open={"urgent": 2, "concern": 1},
        escalation_unacknowledged_oldest_seconds=200.0,
    )


# ------------------------------------------------------------------------ the endpoints' facts
def _endpoints(db: Database | None, *, leading: bool, ask: object = None) -> server.HealthEndpoints:
    async def ask_telegram() -> object:
        if isinstance(ask, BaseException):
            raise ask
        return ask

    return server.HealthEndpoints(
        HttpSettings(port=0, listen="127.0.0.1"),
        server.Sources(
            metrics=Metrics(),
            database=lambda: db,
            phase=lambda: "running",
            leading=lambda: leading,
            ask_telegram=ask_telegram,
        ),
    )


async def test_a_quiet_leader_asks_telegram_before_it_calls_it_silent(db: Database) -> None:
    answered = _endpoints(db, leading=True, ask={"id": 1})
    assert reasons(await answered.facts()) == []
    await answered.stop()
    gone = _endpoints(db, leading=True, ask=OSError("no route"))
    assert reasons(await gone.facts()) == ["telegram: no answer yet"]
    await gone.stop()


async def test_a_database_that_hangs_is_reported_without_waiting_for_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()

    async def hangs(db: Database) -> None:
        await release.wait()

    monkeypatch.setattr(server, "database_answers", hangs)
    monkeypatch.setattr(server, "DATABASE_SECONDS", 0.05)
    standby = _endpoints(db, leading=False)
    assert reasons(await standby.facts()) == ["database: no answer within 0 s"]
    # A second look does not pile another probe on the hung one.
    first = standby._probe.task
    assert reasons(await standby.facts()) == ["database: no answer within 0 s"]
    assert standby._probe.task is first
    release.set()
    assert reasons(await standby.facts()) == []
    await standby.stop()
