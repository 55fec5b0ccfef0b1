"""Replicas and the leader lease: which bot processes are alive, and which one leads.

Times here are the machines' wall clocks (never the bot's movable domain clock): replicas on
different hosts must keep their clocks in sync (NTP) to within a fraction of the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import Lease, Replica

LEADER = "leader"


class ReplicaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def heartbeat(self, replica: Replica, now: datetime) -> None:
        """Say `replica` is alive at `now` (announcing it the first time)."""
        result = await self.session.execute(
            update(Replica).where(col(Replica.id) == replica.id).values(heartbeat_at=now)
        )
        if not getattr(result, "rowcount", 0):
            replica.heartbeat_at = now
            self.session.add(replica)
            await self.session.flush()

    async def all(self) -> list[Replica]:
        return list((await self.session.execute(select(Replica))).scalars())

    async def forget(self, ids: Sequence[str]) -> None:
        if ids:
            await self.session.execute(delete(Replica).where(col(Replica.id).in_(ids)))

    async def take_lease(
        self, me: str, now: datetime, until: datetime, *, dead: Sequence[str] = ()
    ) -> bool:
        """Hold (or keep holding) the leader lease until `until`: compare-and-set, so it is
        taken only when free, lapsed, held by us already, or held by a replica known dead."""
        free = or_(
            col(Lease.holder).is_(None),
            col(Lease.holder) == me,
            col(Lease.expires_at) < now,
        )
        if dead:
            free = or_(free, col(Lease.holder).in_(dead))
        result = await self.session.execute(
            update(Lease).where(col(Lease.name) == LEADER, free).values(holder=me, expires_at=until)
        )
        return bool(getattr(result, "rowcount", 0))

    async def release_lease(self, me: str) -> None:
        await self.session.execute(
            update(Lease)
            .where(col(Lease.name) == LEADER, col(Lease.holder) == me)
            .values(holder=None, expires_at=None)
        )

    async def leader(self) -> Lease | None:
        return await self.session.get(Lease, LEADER)
