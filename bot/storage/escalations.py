"""Escalations and their audit trail (the safety path's records): every query the safety
service needs, so the service itself speaks no SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.statuses import EscalationLevel, EscalationStatus, OutboxStatus
from bot.storage.models import Escalation, EscalationAction, Outbox


class EscalationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, escalation_id: int, *, for_update: bool = False) -> Escalation | None:
        return await self.session.get(Escalation, escalation_id, with_for_update=for_update)

    async def add(self, escalation: Escalation, update_id: int | None) -> int:
        """Store a new escalation with its "created" action; its id."""
        self.session.add(escalation)
        await self.session.flush()
        assert escalation.id is not None
        await self.record(escalation.id, "created", update_id=update_id)
        return escalation.id

    async def record(
        self,
        escalation_id: int,
        action: str,
        *,
        actor: int | None = None,
        update_id: int | None = None,
    ) -> None:
        """One line of the audit trail."""
        self.session.add(
            EscalationAction(
                escalation_id=escalation_id,
                actor_telegram_id=actor,
                action=action,
                update_id=update_id,
            )
        )

    async def escalated_by(self, update_id: int) -> int | None:
        """The escalation an update created or joined (a retried update finds it again)."""
        stmt = select(col(EscalationAction.escalation_id)).where(
            col(EscalationAction.update_id) == update_id
        )
        found = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(found) if found is not None else None

    async def open_urgent_for(self, author_id: int, since: datetime) -> Escalation | None:
        """The author's newest urgent escalation made since `since` and not yet resolved."""
        stmt = (
            select(Escalation)
            .where(
                col(Escalation.author_telegram_id) == author_id,
                col(Escalation.level) == EscalationLevel.URGENT,
                col(Escalation.status) != EscalationStatus.RESOLVED,
                col(Escalation.created_at) >= since,
            )
            .order_by(col(Escalation.id).desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def recent_concern(
        self, author_id: int, chat_id: int, since: datetime
    ) -> Escalation | None:
        """The author's newest concern-level escalation from this chat, made since
        `since` (the message a short reply may be answering)."""
        stmt = (
            select(Escalation)
            .where(
                col(Escalation.author_telegram_id) == author_id,
                col(Escalation.chat_id) == chat_id,
                col(Escalation.level) == EscalationLevel.CONCERN,
                col(Escalation.created_at) >= since,
            )
            .order_by(col(Escalation.id).desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def due_for_realert(self, now: datetime) -> list[Escalation]:
        stmt = select(Escalation).where(
            col(Escalation.status) == EscalationStatus.OPEN, col(Escalation.next_alert_at) <= now
        )
        return list((await self.session.execute(stmt)).scalars())

    async def unresolved(self) -> list[Escalation]:
        stmt = select(Escalation).where(col(Escalation.status) != EscalationStatus.RESOLVED)
        return list((await self.session.execute(stmt)).scalars())

    async def made_since_or_unresolved(self, since: datetime) -> list[Escalation]:
        stmt = select(Escalation).where(
            or_(
                col(Escalation.created_at) >= since,
                col(Escalation.status) != EscalationStatus.RESOLVED,
            )
        )
        return list((await self.session.execute(stmt)).scalars())

    async def realert_counts(self, escalation_ids: Iterable[int]) -> dict[int, int]:
        stmt = (
            select(col(EscalationAction.escalation_id), func.count())
            .where(
                col(EscalationAction.action) == "realerted",
                col(EscalationAction.escalation_id).in_(list(escalation_ids)),
            )
            .group_by(col(EscalationAction.escalation_id))
        )
        return {int(e): int(n) for e, n in (await self.session.execute(stmt)).all()}

    async def trail(self, escalation_id: int) -> list[EscalationAction]:
        stmt = (
            select(EscalationAction)
            .where(col(EscalationAction.escalation_id) == escalation_id)
            .order_by(col(EscalationAction.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def alerts(self, batch: str, *, sent_only: bool) -> list[Outbox]:
        """The alert messages queued for an escalation (its outbox batch, which is indexed,
        unlike a key prefix), oldest first."""
        stmt = select(Outbox).where(col(Outbox.batch) == batch).order_by(col(Outbox.id))
        if sent_only:
            stmt = stmt.where(col(Outbox.status) == OutboxStatus.SENT)
        return list((await self.session.execute(stmt)).scalars())

    async def mark_not_meant(self, escalation_id: int, at: datetime) -> bool:
        """Record that the member said it was not what they meant; False if already recorded
        (the first time is kept)."""
        stmt = (
            update(Escalation)
            .where(col(Escalation.id) == escalation_id, col(Escalation.not_meant_at).is_(None))
            .values(not_meant_at=at)
        )
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def not_meant(self, escalation_ids: Iterable[int]) -> dict[int, datetime]:
        """When the member said "That's not what I meant", for those of these who did."""
        ids = list(escalation_ids)
        if not ids:
            return {}
        stmt = select(col(Escalation.id), col(Escalation.not_meant_at)).where(
            col(Escalation.id).in_(ids), col(Escalation.not_meant_at).is_not(None)
        )
        return {i: at for i, at in (await self.session.execute(stmt)).all() if i and at}
