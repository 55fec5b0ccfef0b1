"""Durable intake: updates are stored before Telegram is told they arrived."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from bot.storage.models import utcnow
from bot.storage.uow import Database

# A handler that fails this many times in a row is parked as "failed" (kept, not lost) so one
# poisonous update cannot block its chat forever.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    chat_key: int | None
    payload: str


class IntakeService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def store(self, updates: list[StoredUpdate]) -> set[int]:
        """Store updates (ignoring ones already stored); returns the ids that were new."""
        if not updates:
            return set()
        async with self.db.uow() as uow:
            new = await uow.inbound.store([(u.update_id, u.chat_key, u.payload) for u in updates])
            await uow.commit()
            return new

    async def is_done(self, update_id: int) -> bool:
        async with self.db.uow(read_only=True) as uow:
            return await uow.inbound.status_of(update_id) in ("done", "failed")

    async def finish(self, update_id: int) -> None:
        """Mark handled (if the handler's own commit has not already done so)."""
        async with self.db.uow() as uow:
            await uow.inbound.mark_done(update_id)
            await uow.commit()

    async def failed_attempt(self, update_id: int) -> bool:
        """Count a failed attempt; True when it should be tried again."""
        async with self.db.uow() as uow:
            status = await uow.inbound.record_failure(update_id, give_up_after=MAX_ATTEMPTS)
            await uow.commit()
            return status == "pending"

    async def park(self, update_id: int) -> None:
        """Give up on an update after a permanent failure; the row is kept for an operator."""
        async with self.db.uow() as uow:
            await uow.inbound.record_failure(update_id, give_up_after=1)
            await uow.commit()

    async def unfinished(self) -> list[StoredUpdate]:
        async with self.db.uow(read_only=True) as uow:
            rows = await uow.inbound.unfinished()
        return [StoredUpdate(r.update_id, r.chat_key, r.payload or "{}") for r in rows]

    async def prune(self, older_than: timedelta) -> int:
        """Forget handled updates once Telegram can no longer redeliver them."""
        async with self.db.uow() as uow:
            removed = await uow.inbound.prune_done(utcnow() - older_than)
            await uow.commit()
            return removed

    async def counts(self) -> dict[str, int]:
        async with self.db.uow(read_only=True) as uow:
            return await uow.inbound.counts()
