"""What the database says about the bot's backlog, read at scrape time.

A few aggregate queries in one read-only transaction, each on an indexed status column, so a
scrape costs milliseconds however much history is kept. Aggregates only: no id and nothing
anyone wrote leaves this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, func, or_, select, text
from sqlmodel import col

from bot.core import clock
from bot.storage.models import Escalation, Inbound, Outbox
from bot.storage.uow import Database

# Dead letters in this window count towards a "storm" (bot/observability/readiness.py).
PARKED_WINDOW = timedelta(minutes=10)
UNSETTLED = ("pending", "sending")
UNRESOLVED = ("open", "acknowledged")


@dataclass(frozen=True)
class Figures:
    # Messages the bot owes (queued or being sent), and how long the one owed longest has been
    # owed: since it was due, or, once a send of it failed, since it was queued (retries move
    # its next try on, and must not make an outbox that never drains look fresh).
    outbox_depth: int = 0
    outbox_due: int = 0
    outbox_oldest_due_seconds: float | None = None
    # Updates stored and not yet handled, and how long the oldest has waited.
    inbound_waiting: int = 0
    inbound_oldest_seconds: float | None = None
    # Updates kept as dead letters within PARKED_WINDOW.
    parked_recently: int = 0
    # Escalations not yet resolved, by level; how long the oldest urgent one nobody
    # acknowledged has been waiting.
    escalations_open: dict[str, int] = field(default_factory=dict)
    escalation_unacknowledged_oldest_seconds: float | None = None


def _age(now: datetime, then: datetime | None) -> float | None:
    return None if then is None else max(0.0, (now - then).total_seconds())


async def read_figures(db: Database) -> Figures:
    now = clock.now()  # rows are stamped with the bot's clock
    owed_since = case((col(Outbox.attempts) == 0, col(Outbox.not_before)), else_=Outbox.created_at)
    async with db.uow(read_only=True) as uow:
        session = uow.session
        depth = (
            await session.execute(select(func.count()).where(col(Outbox.status).in_(UNSETTLED)))
        ).scalar_one()
        due, oldest_due = (
            await session.execute(
                select(func.count(), func.min(owed_since)).where(
                    col(Outbox.status).in_(UNSETTLED),
                    or_(col(Outbox.attempts) > 0, col(Outbox.not_before) <= now),
                )
            )
        ).one()
        waiting, oldest_waiting = (
            await session.execute(
                select(func.count(), func.min(col(Inbound.received_at))).where(
                    col(Inbound.status) == "pending"
                )
            )
        ).one()
        parked = (
            await session.execute(
                select(func.count()).where(
                    col(Inbound.status) == "dead", col(Inbound.done_at) >= now - PARKED_WINDOW
                )
            )
        ).scalar_one()
        open_rows = (
            await session.execute(
                select(col(Escalation.level), func.count())
                .where(col(Escalation.status).in_(UNRESOLVED))
                .group_by(col(Escalation.level))
            )
        ).all()
        unacknowledged = (
            await session.execute(
                select(func.min(col(Escalation.created_at))).where(
                    col(Escalation.status) == "open", col(Escalation.level) == "urgent"
                )
            )
        ).scalar_one()
    return Figures(
        outbox_depth=int(depth),
        outbox_due=int(due),
        outbox_oldest_due_seconds=_age(now, _as_datetime(oldest_due)),
        inbound_waiting=int(waiting),
        inbound_oldest_seconds=_age(now, _as_datetime(oldest_waiting)),
        parked_recently=int(parked),
        escalations_open={str(level): int(n) for level, n in open_rows},
        escalation_unacknowledged_oldest_seconds=_age(now, _as_datetime(unacknowledged)),
    )


def _as_datetime(value: object) -> datetime | None:
    """min() of a timestamp column; SQLite may hand back its stored text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def database_answers(db: Database) -> None:
    """Raises unless the database accepts a write transaction now (on SQLite: its write lock
    can be taken; on PostgreSQL: a connection answers)."""
    async with db.uow() as uow:
        await uow.session.execute(text("SELECT 1"))
