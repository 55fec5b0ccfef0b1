"""The unit of work, and the database that hands them out.

A `UnitOfWork` is one transaction: it rolls back unless `commit()` is called, and repositories
never commit on their own. When the work runs on behalf of a Telegram update (see
`handling_update`), committing also marks that update's inbound row done, in the same
transaction — so a member's action is applied exactly once even if the update is handled again
after a crash.

The repositories live by area: members.py (members, groups, memberships, audit), inbound.py,
outbox.py, meetings.py, questions.py, privacy.py, replicas.py, escalations.py, checkins.py.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.core.handling import current_ticket
from bot.storage.bounds import ENQUEUE_CHUNK, PRUNE_BATCH
from bot.storage.checkins import CheckinRepository
from bot.storage.db import create_engine
from bot.storage.escalations import EscalationRepository
from bot.storage.inbound import InboundRepository
from bot.storage.meetings import MeetingRepository
from bot.storage.members import (
    AuditRepository,
    GroupRepository,
    MemberRepository,
    MembershipRepository,
)
from bot.storage.outbox import SETTLED, OutboxRepository
from bot.storage.privacy import PrivacyRepository
from bot.storage.questions import BroadcastRepository, QuestionRepository
from bot.storage.replicas import ReplicaRepository

# Importers of these names from here (services, tests) keep working.
__all__ = [
    "ENQUEUE_CHUNK",
    "PRUNE_BATCH",
    "SETTLED",
    "AlreadyHandled",
    "Database",
    "OutboxRepository",
    "UnitOfWork",
    "WriterGate",
]


class AlreadyHandled(Exception):
    """The update this work belongs to was already handled (by an earlier run or a replica).

    Not a failure: the error handler sees `expected_replay` and does not report it.
    """

    expected_replay = True


class WriterGate:
    """SQLite allows one writer at a time; when several connections race for the lock, the
    losers sleep in SQLite's busy handler (up to 100 ms a try). Queueing writers here keeps
    that from ever happening. Urgent writers (storing what Telegram just delivered, a crisis
    escalation) go before everyone already waiting, so bulk work never holds intake back. A
    unit of work nested inside another one in the same task would wait for itself forever,
    so that fails loudly instead. (asyncio.Lock has no priorities, hence this small queue.)"""

    def __init__(self) -> None:
        self._held = False
        self._owner: asyncio.Task[object] | None = None
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    async def acquire(self, *, urgent: bool = False) -> None:
        task = asyncio.current_task()
        if task is not None and task is self._owner:
            raise RuntimeError("a write unit of work was opened inside another one")
        if not self._held:
            self._held = True
            self._owner = task
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._pass_on()  # handed the gate just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    (self._urgent if urgent else self._normal).remove(turn)
            raise
        self._owner = task

    def release(self) -> None:
        self._owner = None
        self._pass_on()

    def _pass_on(self) -> None:
        for queue in (self._urgent, self._normal):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # the gate stays held; its next owner wakes up
                    return
        self._held = False


class UnitOfWork:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        gate: WriterGate | None = None,
        *,
        urgent: bool = False,
    ) -> None:
        self._sessions = sessions
        self._gate = gate
        self._urgent = urgent
        self._committed = False

    async def __aenter__(self) -> Self:
        if self._gate is not None:
            await self._gate.acquire(urgent=self._urgent)
        self.session = self._sessions()
        self.members = MemberRepository(self.session)
        self.groups = GroupRepository(self.session)
        self.memberships = MembershipRepository(self.session)
        self.audit = AuditRepository(self.session)
        self.inbound = InboundRepository(self.session)
        self.outbox = OutboxRepository(self.session)
        self.meetings = MeetingRepository(self.session)
        self.questions = QuestionRepository(self.session)
        self.broadcasts = BroadcastRepository(self.session)
        self.replicas = ReplicaRepository(self.session)
        self.privacy = PrivacyRepository(self.session)
        self.escalations = EscalationRepository(self.session)
        self.checkins = CheckinRepository(self.session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back anything uncommitted and detaches the objects without expiring
        # them, so what a service read stays readable after the unit of work ends.
        try:
            await self.session.close()
        finally:
            if self._gate is not None:
                self._gate.release()

    async def flush(self) -> None:
        """Write what is pending so far (giving new rows their ids) without committing."""
        await self.session.flush()

    async def commit(self) -> None:
        """Commit this update's feature effects, marking the update done in the same
        transaction (see `bot.core.handling`); outside an update, a plain commit."""
        ticket = current_ticket()
        marks = ticket is not None and ticket.feature_commit()
        if marks:
            assert ticket is not None
            if not await self.inbound.mark_done(ticket.update_id):
                await self.session.rollback()
                raise AlreadyHandled(ticket.update_id)
        await self.session.commit()
        self._committed = True
        if marks:
            assert ticket is not None
            ticket.marked = True

    async def commit_independent(self) -> None:
        """Commit work that must hold even if the update's feature handler fails later, and
        that is safe to repeat when the update is tried again (the safety gate's escalation,
        noticing a member is reachable). It does not mark the update done."""
        await self.session.commit()
        self._committed = True


class Database:
    """Owns the engines; hands out units of work.

    `uow(read_only=True)` is for work that only reads: on SQLite it runs on a second engine
    whose transactions do not take the write lock, so reads never queue behind writes.
    """

    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self.read_engine = read_engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = (
            async_sessionmaker(read_engine, expire_on_commit=False)
            if read_engine is not None
            else self._sessions
        )
        self._gate = WriterGate() if engine.dialect.name == "sqlite" else None

    @property
    def is_postgres(self) -> bool:
        """Several bot processes may share it (SQLite: one process only)."""
        return self.engine.dialect.name == "postgresql"

    @classmethod
    def connect(cls, database_url: str) -> Database:
        engine = create_engine(database_url)
        if engine.dialect.name == "sqlite":
            return cls(engine, create_engine(database_url, read_only=True))
        return cls(engine)

    def uow(self, *, read_only: bool = False, urgent: bool = False) -> UnitOfWork:
        """`urgent`: writes that must not wait behind bulk work (storing incoming updates, a
        crisis escalation); on SQLite they take the write lock before other waiting writers."""
        if read_only:
            return UnitOfWork(self._read_sessions)
        return UnitOfWork(self._sessions, self._gate, urgent=urgent)

    async def prune_in_batches(self, step: Callable[[UnitOfWork], Awaitable[int]]) -> int:
        """Run `step` (which deletes up to PRUNE_BATCH old rows) in a transaction of its own
        until it deletes fewer: old records go without holding the write lock for long."""
        removed = 0
        while True:
            async with self.uow() as uow:
                batch = await step(uow)
                await uow.commit()
            removed += batch
            if batch < PRUNE_BATCH:
                return removed

    async def enqueue_in_chunks(
        self,
        rows: Sequence[tuple[str, int, str]],
        *,
        kind: str,
        priority: int,
        batch: str | None = None,
    ) -> int:
        """Queue many (key, chat id, payload) messages, ENQUEUE_CHUNK to a transaction, so the
        write lock is let go between chunks and intake and crisis alerts never wait long. A
        crash half-way is harmless: doing it again skips the keys already queued (which is
        also why, inside an update's handling, these are independent commits)."""
        new = 0
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            async with self.uow() as uow:
                new += await uow.outbox.enqueue_keyed(
                    rows[start : start + ENQUEUE_CHUNK], kind=kind, priority=priority, batch=batch
                )
                await uow.commit_independent()
        return new

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not None:
            await self.read_engine.dispose()
