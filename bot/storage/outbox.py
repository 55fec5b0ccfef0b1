"""Messages the bot owes someone (the outbox the dispatcher sends from)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.statuses import OutboxStatus
from bot.storage.bounds import ENQUEUE_CHUNK, PRUNE_BATCH
from bot.storage.db import insert_ignoring_conflicts, is_postgres
from bot.storage.models import Outbox, utcnow

# Outbox rows nothing will happen to any more.
SETTLED = (
    OutboxStatus.SENT,
    OutboxStatus.FAILED,
    OutboxStatus.UNREACHABLE,
    OutboxStatus.AMBIGUOUS,
    OutboxStatus.CANCELLED,
)


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
            "status": OutboxStatus.PENDING,
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
                "status": OutboxStatus.PENDING,
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
            .where(col(Outbox.status) == OutboxStatus.PENDING, col(Outbox.not_before) <= now)
            .order_by(col(Outbox.priority), col(Outbox.not_before), col(Outbox.id))
            .limit(limit)
        )
        if is_postgres(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list((await self.session.execute(stmt)).scalars())
        for row in rows:
            row.status = OutboxStatus.SENDING
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
                col(Outbox.status) == OutboxStatus.SENDING,
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
            .where(col(Outbox.batch) == batch, col(Outbox.status) == OutboxStatus.PENDING)
            .values(status=OutboxStatus.CANCELLED)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def drop_pending_for_chat(self, chat_id: int) -> int:
        """The member blocked the bot: what was queued for them will not go."""
        pending = (col(Outbox.chat_id) == chat_id) & (col(Outbox.status) == OutboxStatus.PENDING)
        # Messages to an anonymous asker keep no trace of whom they were for.
        await self.session.execute(
            update(Outbox)
            .where(pending, col(Outbox.kind) == "asker")
            .values(status=OutboxStatus.UNREACHABLE, chat_id=0, payload="{}")
        )
        result = await self.session.execute(
            update(Outbox).where(pending).values(status=OutboxStatus.UNREACHABLE)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def follow_chat(self, old_chat_id: int, new_chat_id: int) -> None:
        """A group chat's id changed: queued messages follow it."""
        await self.session.execute(
            update(Outbox)
            .where(
                col(Outbox.chat_id) == old_chat_id,
                col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
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
        stmt = select(func.min(col(Outbox.not_before))).where(
            col(Outbox.status) == OutboxStatus.PENDING
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None
