"""Durable intake: updates are stored before Telegram is told they arrived.

An update that cannot be stored or handled as it is becomes a *dead letter*: its raw form is
kept (encrypted), Telegram is told it arrived, and everything behind it goes on. An operator
lists dead letters with `peerbot deadletters` and, after an upgrade, asks for one to be
handled again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.statuses import InboundStatus
from bot.storage.db import database_unavailable
from bot.storage.models import Inbound, utcnow
from bot.storage.uow import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredUpdate:
    update_id: int
    chat_key: int | None
    payload: str
    kind: str = "unknown"


@dataclass(frozen=True)
class DeadLetter:
    update_id: int
    kind: str
    error: str
    at: datetime
    replay_requested: bool


class IntakeService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def store(self, updates: list[StoredUpdate], owner: str | None = None) -> set[int]:
        """Store updates (ignoring ones already stored), held by `owner` (None: by no one
        until the leader claims them); returns the ids that were new."""
        new, _ = await self.store_and_claim(updates, owner, None)
        return new

    async def store_and_claim(
        self, updates: list[StoredUpdate], owner: str | None, live: Sequence[str] | None
    ) -> tuple[set[int], list[StoredUpdate]]:
        """Store updates held by `owner` and, in the same transaction, claim for it the
        pending ones no `live` replica holds (None: claim nothing). Returns the new ids and
        what was claimed.

        When the batch cannot be stored for a reason other than the database being down, each
        update is stored on its own and one that still fails is kept as a dead letter, so a
        single odd update never holds back the ones around it. A database that is down raises:
        nothing is confirmed and Telegram hands the batch over again.
        """
        if not updates:
            return set(), []
        try:
            return await self._store(updates, owner, live)
        except Exception as exc:
            if database_unavailable(exc):
                raise
            batch_error = exc
        new: set[int] = set()
        for item in updates:
            try:
                new |= (await self._store([item], owner, None))[0]
            except Exception as exc:
                if database_unavailable(exc):
                    raise
                await self._keep_dead(item, type(exc).__name__)
        log.warning(
            "a batch of %d updates was stored one by one after %s",
            len(updates),
            type(batch_error).__name__,
        )
        claimed = await self.claim(owner, live) if owner is not None and live is not None else []
        return new, claimed

    async def _store(
        self, updates: list[StoredUpdate], owner: str | None, live: Sequence[str] | None
    ) -> tuple[set[int], list[StoredUpdate]]:
        async with self.db.uow(urgent=True) as uow:
            new = await uow.inbound.store(
                [(u.update_id, u.chat_key, u.payload) for u in updates], owner
            )
            claimed = (
                await uow.inbound.claim(owner, live)
                if owner is not None and live is not None
                else []
            )
            await uow.commit()
        return new, _as_stored(claimed)

    async def _keep_dead(self, item: StoredUpdate, error: str) -> None:
        log.error(
            "update %s (%s) could not be stored: %s; kept as a dead letter",
            item.update_id,
            item.kind,
            error,
        )
        try:
            async with self.db.uow() as uow:
                await uow.inbound.store_dead_letter(item.update_id, item.kind, error, item.payload)
                await uow.commit()
        except Exception as exc:
            if database_unavailable(exc):
                raise
            # Even the raw form cannot be kept: keep the fact that it arrived.
            async with self.db.uow() as uow:
                await uow.inbound.store_dead_letter(item.update_id, item.kind, error, None)
                await uow.commit()

    async def finish(self, update_id: int) -> None:
        """Mark handled (when no handler committed feature effects to do it)."""
        async with self.db.uow() as uow:
            await uow.inbound.mark_done(update_id)
            await uow.commit()

    async def failed_attempt(self, update_id: int) -> None:
        async with self.db.uow() as uow:
            await uow.inbound.count_attempt(update_id)
            await uow.commit()

    async def make_dead_letter(self, update_id: int, kind: str, error: str) -> None:
        """Give up on an update for now; it is kept (raw, encrypted) for an operator."""
        async with self.db.uow() as uow:
            await uow.inbound.make_dead_letter(update_id, kind, error)
            await uow.commit()

    async def dead_letters(self) -> list[DeadLetter]:
        async with self.db.uow(read_only=True) as uow:
            rows = await uow.inbound.dead_letters()
        return [
            DeadLetter(
                update_id=r.update_id,
                kind=r.kind or "unknown",
                error=r.error or "unknown",
                at=r.done_at or r.received_at,
                replay_requested=r.status == InboundStatus.REPLAY,
            )
            for r in rows
        ]

    async def request_replay(self, update_id: int) -> bool:
        """Ask the running bot (or the next start) to handle a dead letter again."""
        async with self.db.uow() as uow:
            found = await uow.inbound.request_replay(update_id)
            await uow.commit()
            return found

    async def take_replays(self, me: str) -> list[StoredUpdate]:
        async with self.db.uow() as uow:
            rows = await uow.inbound.take_replays(me)
            await uow.commit()
        return [
            StoredUpdate(r.update_id, r.chat_key, r.payload or "{}", r.kind or "unknown")
            for r in rows
        ]

    async def claim(self, me: str, live: Sequence[str]) -> list[StoredUpdate]:
        """Pending updates no live replica holds (stored by another replica, or left
        unfinished by one that died), now held by `me`, oldest first."""
        async with self.db.uow(urgent=True) as uow:
            rows = await uow.inbound.claim(me, live)
            await uow.commit()
        return _as_stored(rows)

    async def prune(self, older_than: timedelta) -> int:
        """Forget handled updates once Telegram can no longer redeliver them."""
        before = utcnow() - older_than
        return await self.db.prune_in_batches(lambda uow: uow.inbound.prune_done(before))

    async def counts(self) -> dict[str, int]:
        async with self.db.uow(read_only=True) as uow:
            return await uow.inbound.counts()


def _as_stored(rows: Sequence[Inbound]) -> list[StoredUpdate]:
    return [StoredUpdate(r.update_id, r.chat_key, r.payload or "{}") for r in rows]
