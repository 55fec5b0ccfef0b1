"""Updates from Telegram, stored before they are confirmed (see bot/services/intake.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.statuses import InboundStatus
from bot.storage.bounds import PRUNE_BATCH
from bot.storage.db import insert_ignoring_conflicts, is_postgres
from bot.storage.models import Inbound, utcnow


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
                "status": InboundStatus.PENDING,
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
            .where(
                col(Inbound.update_id) == update_id, col(Inbound.status) == InboundStatus.PENDING
            )
            .values(status=InboundStatus.DONE, payload=None, done_at=utcnow())
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
            .where(
                col(Inbound.update_id) == update_id, col(Inbound.status) == InboundStatus.PENDING
            )
            .values(status=InboundStatus.DEAD, kind=kind[:32], error=error[:64], done_at=utcnow())
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
            "status": InboundStatus.DEAD,
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
            .where(col(Inbound.status).in_((InboundStatus.DEAD, InboundStatus.REPLAY)))
            .order_by(col(Inbound.update_id))
            .limit(limit)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def request_replay(self, update_id: int) -> bool:
        result = await self.session.execute(
            update(Inbound)
            .where(col(Inbound.update_id) == update_id, col(Inbound.status) == InboundStatus.DEAD)
            .values(status=InboundStatus.REPLAY)
        )
        return bool(getattr(result, "rowcount", 0))

    async def take_replays(self, me: str, limit: int = 100) -> list[Inbound]:
        """Dead letters an operator asked to replay, turned pending again (claimed once)."""
        wanted = (
            select(col(Inbound.update_id))
            .where(col(Inbound.status) == InboundStatus.REPLAY)
            .order_by(col(Inbound.update_id))
            .limit(limit)
        )
        ids = [int(i) for i in (await self.session.execute(wanted)).scalars()]
        if not ids:
            return []
        claimed = (
            await self.session.execute(
                update(Inbound)
                .where(col(Inbound.update_id).in_(ids), col(Inbound.status) == InboundStatus.REPLAY)
                .values(
                    status=InboundStatus.PENDING, attempts=0, error=None, done_at=None, owner=me
                )
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
            .where(col(Inbound.status) == InboundStatus.PENDING, unheld)
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
                .where(
                    col(Inbound.update_id).in_(ids),
                    col(Inbound.status) == InboundStatus.PENDING,
                    unheld,
                )
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
            .where(col(Inbound.status) == InboundStatus.DONE, col(Inbound.done_at) < before)
            .limit(limit)
        )
        result = await self.session.execute(
            delete(Inbound).where(col(Inbound.update_id).in_(oldest.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)
