"""Unit of work and repositories.

A `UnitOfWork` is one transaction: it rolls back unless `commit()` is called, and repositories
never commit on their own. When the work runs on behalf of a Telegram update (see
`handling_update`), committing also marks that update's inbound row done, in the same
transaction — so a member's action is applied exactly once even if the update is handled again
after a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVarTuple

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.sql import Select
from sqlmodel import col

from bot.core.handling import current_ticket
from bot.storage.checkins import CheckinRepository
from bot.storage.db import create_engine, insert_ignoring_conflicts, is_postgres
from bot.storage.escalations import EscalationRepository
from bot.storage.models import (
    AuditEvent,
    Inbound,
    Meeting,
    Member,
    Membership,
    Outbox,
    PeerGroup,
    ReminderMute,
    Rsvp,
    utcnow,
)
from bot.storage.privacy import PrivacyRepository
from bot.storage.questions import BroadcastRepository, QuestionRepository
from bot.storage.replicas import ReplicaRepository

Row = TypeVarTuple("Row")  # the columns a select returns

# Rows per INSERT when queueing many messages (keeps each statement's parameters bounded).
ENQUEUE_CHUNK = 500
# Rows deleted per transaction when old records are pruned.
PRUNE_BATCH = 1000
# Outbox rows nothing will happen to any more.
SETTLED = ("sent", "failed", "unreachable", "ambiguous", "cancelled")


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


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int, *, for_update: bool = False) -> Member | None:
        stmt = select(Member).where(col(Member.telegram_id) == telegram_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_id(self, member_id: int) -> Member | None:
        return await self.session.get(Member, member_id)

    async def facilitator_telegram_ids(self) -> list[int]:
        stmt = select(col(Member.telegram_id)).where(col(Member.can_facilitate).is_(True))
        return [int(t) for t in (await self.session.execute(stmt)).scalars()]

    async def mark_unreachable(self, telegram_id: int, when: datetime) -> None:
        await self.session.execute(
            update(Member).where(col(Member.telegram_id) == telegram_id).values(unreachable_at=when)
        )

    async def add(self, member: Member) -> Member:
        self.session.add(member)
        await self.session.flush()
        return member

    async def delete(self, member: Member) -> None:
        await self.session.delete(member)


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, group_id: int) -> PeerGroup | None:
        return await self.session.get(PeerGroup, group_id)

    async def all(self) -> list[PeerGroup]:
        return list(
            (await self.session.execute(select(PeerGroup).order_by(col(PeerGroup.id)))).scalars()
        )

    async def by_invite_code(self, code: str) -> PeerGroup | None:
        stmt = select(PeerGroup).where(col(PeerGroup.invite_code) == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        await self.session.execute(
            update(PeerGroup)
            .where(col(PeerGroup.chat_id) == old_chat_id)
            .values(chat_id=new_chat_id)
        )

    async def by_chat_id(self, chat_id: int) -> PeerGroup | None:
        stmt = select(PeerGroup).where(col(PeerGroup.chat_id) == chat_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, group: PeerGroup) -> PeerGroup:
        self.session.add(group)
        await self.session.flush()
        return group

    async def for_member(self, member_id: int) -> list[tuple[PeerGroup, str]]:
        """The member's groups with their role in each, oldest membership first."""
        stmt = (
            select(PeerGroup, col(Membership.role))
            .join(Membership, col(Membership.group_id) == col(PeerGroup.id))
            .where(col(Membership.member_id) == member_id)
            .order_by(col(Membership.joined_at), col(PeerGroup.id))
        )
        rows = (await self.session.execute(stmt)).all()
        return [(row[0], row[1]) for row in rows]


class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, group_id: int, member_id: int) -> Membership | None:
        stmt = select(Membership).where(
            col(Membership.group_id) == group_id,
            col(Membership.member_id) == member_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, membership: Membership) -> Membership:
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def remove(self, group_id: int, member_id: int) -> bool:
        result = await self.session.execute(
            delete(Membership).where(
                col(Membership.group_id) == group_id,
                col(Membership.member_id) == member_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def facilitator_telegram_ids(self, group_id: int) -> list[int]:
        stmt = (
            select(col(Member.telegram_id))
            .join(Membership, col(Membership.member_id) == col(Member.id))
            .where(
                col(Membership.group_id) == group_id,
                col(Membership.role) == "facilitator",
            )
            .order_by(col(Membership.joined_at))
        )
        return [int(t) for t in (await self.session.execute(stmt)).scalars()]

    async def count(self, group_id: int) -> int:
        stmt = select(func.count()).where(col(Membership.group_id) == group_id)
        return int((await self.session.execute(stmt)).scalar_one())


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        action: str,
        *,
        actor_id: int | None = None,
        subject_id: int | None = None,
        group_id: int | None = None,
        subject_ref: str | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            action=action,
            actor_id=actor_id,
            subject_id=subject_id,
            group_id=group_id,
            subject_ref=subject_ref,
        )
        self.session.add(event)
        return event

    async def actions(self) -> list[AuditEvent]:
        stmt = select(AuditEvent).order_by(col(AuditEvent.id))
        return list((await self.session.execute(stmt)).scalars())


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(
        self, rows: Sequence[tuple[int, int | None, str]], owner: str | None = None
    ) -> set[int]:
        """Store (update_id, chat_key, payload) rows held by `owner` (None: by no one until
        the leader claims them); returns the ids that were new."""
        now = utcnow()
        values: list[dict[str, Any]] = [
            {
                "update_id": update_id,
                "chat_key": chat_key,
                "payload": payload,
                "status": "pending",
                "attempts": 0,
                "received_at": now,
                "owner": owner,
            }
            for update_id, chat_key, payload in rows
        ]
        new = await insert_ignoring_conflicts(
            self.session,
            Inbound.__table__,  # type: ignore[attr-defined]  # set by SQLModel at runtime
            values,
            ["update_id"],
        )
        return {int(update_id) for update_id in new}

    async def status_of(self, update_id: int) -> str | None:
        stmt = select(col(Inbound.status)).where(col(Inbound.update_id) == update_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def mark_done(self, update_id: int) -> bool:
        """Mark done and drop the stored payload; False if it was not waiting to be handled."""
        result = await self.session.execute(
            update(Inbound)
            .where(col(Inbound.update_id) == update_id, col(Inbound.status) == "pending")
            .values(status="done", payload=None, done_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))

    async def count_attempt(self, update_id: int) -> None:
        await self.session.execute(
            update(Inbound)
            .where(col(Inbound.update_id) == update_id)
            .values(attempts=col(Inbound.attempts) + 1)
        )

    async def make_dead_letter(self, update_id: int, kind: str, error: str) -> bool:
        """Keep a pending update (raw, encrypted) for an operator instead of handling it."""
        result = await self.session.execute(
            update(Inbound)
            .where(col(Inbound.update_id) == update_id, col(Inbound.status) == "pending")
            .values(status="dead", kind=kind[:32], error=error[:64], done_at=utcnow())
        )
        return bool(getattr(result, "rowcount", 0))

    async def store_dead_letter(
        self, update_id: int, kind: str, error: str, payload: str | None
    ) -> None:
        """Keep an update that could not be stored the ordinary way."""
        now = utcnow()
        values: dict[str, Any] = {
            "update_id": update_id,
            "chat_key": None,
            "payload": payload,
            "status": "dead",
            "attempts": 0,
            "received_at": now,
            "done_at": now,
            "kind": kind[:32],
            "error": error[:64],
        }
        table = Inbound.__table__  # type: ignore[attr-defined]  # set by SQLModel at runtime
        await insert_ignoring_conflicts(self.session, table, [values], ["update_id"])

    async def dead_letters(self, limit: int = 200) -> list[Inbound]:
        stmt = (
            select(Inbound)
            .where(col(Inbound.status).in_(("dead", "replay")))
            .order_by(col(Inbound.update_id))
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def request_replay(self, update_id: int) -> bool:
        result = await self.session.execute(
            update(Inbound)
            .where(col(Inbound.update_id) == update_id, col(Inbound.status) == "dead")
            .values(status="replay")
        )
        return bool(getattr(result, "rowcount", 0))

    async def take_replays(self, me: str, limit: int = 100) -> list[Inbound]:
        """Dead letters an operator asked to replay, turned pending again (claimed once)."""
        wanted = (
            select(col(Inbound.update_id))
            .where(col(Inbound.status) == "replay")
            .order_by(col(Inbound.update_id))
            .limit(limit)
        )
        ids = [int(i) for i in (await self.session.execute(wanted)).scalars()]
        if not ids:
            return []
        claimed = (
            await self.session.execute(
                update(Inbound)
                .where(col(Inbound.update_id).in_(ids), col(Inbound.status) == "replay")
                .values(status="pending", attempts=0, error=None, done_at=None, owner=me)
                .returning(col(Inbound.update_id))
            )
        ).scalars()
        taken = [int(i) for i in claimed]
        stmt = select(Inbound).where(col(Inbound.update_id).in_(taken))
        return list((await self.session.execute(stmt)).scalars())

    async def claim(self, me: str, live: Sequence[str], limit: int = 1000) -> list[Inbound]:
        """Take the pending updates no live replica holds (new ones, and ones a replica that
        died left unfinished), oldest first, for `me` to handle. Each is claimed once: rows
        another transaction is claiming are skipped, and the update re-checks the holder."""
        unheld = or_(col(Inbound.owner).is_(None), col(Inbound.owner).not_in(live))
        wanted = (
            select(col(Inbound.update_id))
            .where(col(Inbound.status) == "pending", unheld)
            .order_by(col(Inbound.update_id))
            .limit(limit)
        )
        if is_postgres(self.session):
            wanted = wanted.with_for_update(skip_locked=True)
        ids = [int(i) for i in (await self.session.execute(wanted)).scalars()]
        if not ids:
            return []
        taken = (
            await self.session.execute(
                update(Inbound)
                .where(col(Inbound.update_id).in_(ids), col(Inbound.status) == "pending", unheld)
                .values(owner=me)
                .returning(col(Inbound.update_id))
            )
        ).scalars()
        stmt = (
            select(Inbound)
            .where(col(Inbound.update_id).in_([int(i) for i in taken]))
            .order_by(col(Inbound.update_id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def counts(self) -> dict[str, int]:
        stmt = select(col(Inbound.status), func.count()).group_by(col(Inbound.status))
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def latest_update_id(self) -> int | None:
        value = (await self.session.execute(select(func.max(col(Inbound.update_id))))).scalar_one()
        return int(value) if value is not None else None

    async def prune_done(self, before: datetime, limit: int = PRUNE_BATCH) -> int:
        """Forget up to `limit` updates handled before `before` (bounded: one short lock)."""
        oldest = (
            select(col(Inbound.update_id))
            .where(col(Inbound.status) == "done", col(Inbound.done_at) < before)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(Inbound).where(col(Inbound.update_id).in_(oldest.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def enqueue(
        self,
        *,
        key: str,
        kind: str,
        chat_id: int,
        payload: str,
        priority: int = 5,
        not_before: datetime | None = None,
        batch: str | None = None,
    ) -> bool:
        """Queue a message unless one with this key exists; True when it was new."""
        row = {
            "key": key,
            "kind": kind,
            "chat_id": chat_id,
            "payload": payload,
            "priority": priority,
            "status": "pending",
            "attempts": 0,
            "not_before": not_before or utcnow(),
            "created_at": utcnow(),
            "batch": batch,
        }
        table = Outbox.__table__  # type: ignore[attr-defined]
        return bool(await insert_ignoring_conflicts(self.session, table, [row], ["key"]))

    async def enqueue_many(
        self,
        rows: Sequence[tuple[int, str]],
        *,
        key: str,
        kind: str,
        priority: int,
        batch: str | None = None,
    ) -> int:
        """Queue many (chat id, payload) messages at once; `key` has a `{chat}` placeholder.
        Returns how many were new."""
        keyed = [(key.format(chat=chat_id), chat_id, payload) for chat_id, payload in rows]
        return await self.enqueue_keyed(keyed, kind=kind, priority=priority, batch=batch)

    async def enqueue_keyed(
        self,
        rows: Sequence[tuple[str, int, str]],
        *,
        kind: str,
        priority: int,
        batch: str | None = None,
    ) -> int:
        """Queue many (key, chat id, payload) messages at once; returns how many were new.
        Thousands at once go through `Database.enqueue_in_chunks` instead."""
        now = utcnow()
        values: list[dict[str, Any]] = [
            {
                "key": key,
                "kind": kind,
                "chat_id": chat_id,
                "payload": payload,
                "priority": priority,
                "status": "pending",
                "attempts": 0,
                "not_before": now,
                "created_at": now,
                "batch": batch,
            }
            for key, chat_id, payload in rows
        ]
        table = Outbox.__table__  # type: ignore[attr-defined]
        new = 0
        for start in range(0, len(values), ENQUEUE_CHUNK):
            chunk = values[start : start + ENQUEUE_CHUNK]
            new += len(await insert_ignoring_conflicts(self.session, table, chunk, ["key"]))
        return new

    async def claim(self, limit: int, now: datetime, owner: str | None = None) -> list[Outbox]:
        """Take due rows for sending (most urgent first); other processes skip them."""
        stmt = (
            select(Outbox)
            .where(col(Outbox.status) == "pending", col(Outbox.not_before) <= now)
            .order_by(col(Outbox.priority), col(Outbox.not_before), col(Outbox.id))
            .limit(limit)
        )
        if is_postgres(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list((await self.session.execute(stmt)).scalars())
        for row in rows:
            row.status = "sending"
            row.claimed_at = now
            row.owner = owner
            row.attempts += 1
        return rows

    async def get(self, outbox_id: int, *, lock: bool = False) -> Outbox | None:
        return await self.session.get(Outbox, outbox_id, with_for_update=lock or None)

    async def orphaned_in_flight(self, live: Sequence[str]) -> list[Outbox]:
        """Rows claimed but never settled by a replica that is gone (it died mid-send),
        locked: rows a live replica is sending are never touched."""
        stmt = (
            select(Outbox)
            .where(
                col(Outbox.status) == "sending",
                or_(col(Outbox.owner).is_(None), col(Outbox.owner).not_in(live)),
            )
            .order_by(col(Outbox.id))
        )
        if is_postgres(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self.session.execute(stmt)).scalars())

    async def counts(self, batch: str | None = None) -> dict[str, int]:
        stmt = select(col(Outbox.status), func.count()).group_by(col(Outbox.status))
        if batch is not None:
            stmt = stmt.where(col(Outbox.batch) == batch)
        return {status: int(n) for status, n in (await self.session.execute(stmt)).all()}

    async def cancel_batch(self, batch: str) -> int:
        result = await self.session.execute(
            update(Outbox)
            .where(col(Outbox.batch) == batch, col(Outbox.status) == "pending")
            .values(status="cancelled")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def drop_pending_for_chat(self, chat_id: int) -> int:
        """The member blocked the bot: what was queued for them will not go."""
        pending = (col(Outbox.chat_id) == chat_id) & (col(Outbox.status) == "pending")
        # Messages to an anonymous asker keep no trace of whom they were for.
        await self.session.execute(
            update(Outbox)
            .where(pending, col(Outbox.kind) == "asker")
            .values(status="unreachable", chat_id=0, payload="{}")
        )
        result = await self.session.execute(
            update(Outbox).where(pending).values(status="unreachable")
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def follow_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group chat's id changed: queued messages follow it."""
        await self.session.execute(
            update(Outbox)
            .where(
                col(Outbox.chat_id) == old_chat_id, col(Outbox.status).in_(("pending", "sending"))
            )
            .values(chat_id=new_chat_id)
        )

    async def prune_settled(self, before: datetime, limit: int = PRUNE_BATCH) -> int:
        """Delete up to `limit` delivery records settled (sent, failed ...) before `before`."""
        oldest = (
            select(col(Outbox.id))
            .where(col(Outbox.status).in_(SETTLED), col(Outbox.created_at) < before)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(Outbox).where(col(Outbox.id).in_(oldest.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def next_due(self) -> datetime | None:
        stmt = select(func.min(col(Outbox.not_before))).where(col(Outbox.status) == "pending")
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, meeting: Meeting) -> Meeting:
        self.session.add(meeting)
        await self.session.flush()
        return meeting

    async def by_id(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    async def for_groups(self, group_ids: list[int]) -> list[Meeting]:
        if not group_ids:
            return []
        stmt = (
            select(Meeting)
            .where(col(Meeting.group_id).in_(group_ids), col(Meeting.cancelled_at).is_(None))
            .order_by(col(Meeting.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def reminders_due(self, now: datetime, limit: int) -> list[Meeting]:
        """Meetings whose next reminder is due: an index range scan, whatever the total."""
        stmt = (
            select(Meeting)
            .where(col(Meeting.next_reminder_at) <= now, col(Meeting.cancelled_at).is_(None))
            .order_by(col(Meeting.next_reminder_at))
            .limit(limit)
        )
        if is_postgres(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self.session.execute(stmt)).scalars())

    async def rsvps(self, meeting_id: int, occurrence: datetime) -> dict[int, str]:
        """member id -> answer, for one occurrence."""
        stmt = select(col(Rsvp.member_id), col(Rsvp.answer)).where(
            col(Rsvp.meeting_id) == meeting_id, col(Rsvp.occurrence) == occurrence
        )
        return {int(m): str(a) for m, a in (await self.session.execute(stmt)).all()}

    async def set_rsvp(
        self, meeting_id: int, occurrence: datetime, member_id: int, answer: str
    ) -> None:
        stmt = select(Rsvp).where(
            col(Rsvp.meeting_id) == meeting_id,
            col(Rsvp.occurrence) == occurrence,
            col(Rsvp.member_id) == member_id,
        )
        existing = (await self.session.execute(stmt)).scalar_one_or_none()
        if existing is None:
            self.session.add(
                Rsvp(
                    meeting_id=meeting_id, occurrence=occurrence, member_id=member_id, answer=answer
                )
            )
        else:
            existing.answer = answer
            existing.answered_at = utcnow()
        await self.session.flush()

    async def muted_member_ids(self, group_id: int) -> set[int]:
        stmt = select(col(ReminderMute.member_id)).where(col(ReminderMute.group_id) == group_id)
        return {int(m) for m in (await self.session.execute(stmt)).scalars()}

    async def set_muted(self, group_id: int, member_id: int, muted: bool) -> None:
        await self.session.execute(
            delete(ReminderMute).where(
                col(ReminderMute.group_id) == group_id, col(ReminderMute.member_id) == member_id
            )
        )
        if muted:
            self.session.add(ReminderMute(group_id=group_id, member_id=member_id))
        await self.session.flush()

    async def advance_reminder(self, meeting: Meeting, was: datetime) -> bool:
        """Move a meeting to the reminder slot set on `meeting`, unless someone else changed
        it since it read `was` (compare-and-set). True when it moved."""
        result = await self.session.execute(
            update(Meeting)
            .where(
                col(Meeting.id) == meeting.id,
                col(Meeting.next_reminder_at) == was,
                col(Meeting.cancelled_at).is_(None),
            )
            .values(
                next_reminder_at=meeting.next_reminder_at,
                next_reminder_occurrence=meeting.next_reminder_occurrence,
                next_reminder_offset_minutes=meeting.next_reminder_offset_minutes,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def recipient_rows(self, group_id: int) -> list[tuple[int, int, str, str | None]]:
        """(member id, telegram id, language, timezone) of the members the bot can reach:
        what a bulk send needs, without loading (and decrypting) whole members."""
        columns = select(
            col(Member.id), col(Member.telegram_id), col(Member.language), col(Member.timezone)
        )
        rows = (await self.session.execute(_reachable_in_group(columns, group_id))).all()
        return [(int(m or 0), int(t), str(lang), zone) for m, t, lang, zone in rows]

    async def recipients(self, group_id: int) -> list[Member]:
        """Members of the group the bot can reach."""
        stmt = _reachable_in_group(select(Member), group_id)
        return list((await self.session.execute(stmt)).scalars())


def _reachable_in_group(stmt: Select[*Row], group_id: int) -> Select[*Row]:
    """`stmt` (a select from `member`) narrowed to the group's members the bot can reach:
    onboarded and not blocking it, in a stable order."""
    return (
        stmt.join(Membership, col(Membership.member_id) == col(Member.id))
        .where(
            col(Membership.group_id) == group_id,
            col(Member.unreachable_at).is_(None),
            col(Member.step) == "done",
        )
        .order_by(col(Member.id))
    )
