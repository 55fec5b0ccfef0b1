"""The retention limits applied to everyone's records, a bounded batch at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Text,
    and_,
    delete,
    func,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.statuses import (
    EscalationStatus,
    QuestionStatus,
)
from bot.storage.db import rowcount
from bot.storage.models import (
    AuditEvent,
    Checkin,
    Escalation,
    EscalationAction,
    Question,
)

# Rows changed per statement by the retention job (each batch its own short transaction).
RETENTION_BATCH = 1000


class Retention:
    session: AsyncSession

    async def expire_checkin_notes(self, before: datetime) -> int:
        ids = (
            select(col(Checkin.id))
            .where(col(Checkin.answered_at) < before, col(Checkin.note).is_not(None))
            .limit(RETENTION_BATCH)
        )
        return rowcount(
            await self.session.execute(
                update(Checkin).where(col(Checkin.id).in_(ids.scalar_subquery())).values(note=None)
            )
        )

    async def expire_escalation_notes(self, before: datetime) -> int:
        """Coordinators' notes (and the quoted words) of escalations resolved before `before`."""
        ids = (
            select(col(Escalation.id))
            .where(
                col(Escalation.status) == EscalationStatus.RESOLVED,
                col(Escalation.resolved_at) < before,
                or_(col(Escalation.note).is_not(None), _stored(col(Escalation.text)) != ""),
            )
            .limit(RETENTION_BATCH)
        )
        return rowcount(
            await self.session.execute(
                update(Escalation)
                .where(col(Escalation.id).in_(ids.scalar_subquery()))
                .values(note=None, text="")
            )
        )

    async def expire_safety_records(self, before: datetime) -> int:
        """Escalations made before `before` and closed (resolved, or their author erased)."""
        ids = (
            select(col(Escalation.id))
            .where(
                col(Escalation.created_at) < before,
                or_(
                    col(Escalation.status) == EscalationStatus.RESOLVED,
                    col(Escalation.erased_at).is_not(None),
                ),
            )
            .limit(RETENTION_BATCH)
        )
        return rowcount(
            await self.session.execute(
                delete(Escalation).where(col(Escalation.id).in_(ids.scalar_subquery()))
            )
        )

    async def expire_question_texts(self, before: datetime) -> int:
        """Anonymous questions asked before `before`: their words (decided ones only)."""
        ids = (
            select(col(Question.id))
            .where(
                col(Question.created_at) < before,
                col(Question.status) != QuestionStatus.PENDING,
                _stored(col(Question.text)) != "",
            )
            .limit(RETENTION_BATCH)
        )
        return rowcount(
            await self.session.execute(
                update(Question).where(col(Question.id).in_(ids.scalar_subquery())).values(text="")
            )
        )

    async def expire_audit(self, before: datetime) -> int:
        ids = select(col(AuditEvent.id)).where(col(AuditEvent.at) < before).limit(RETENTION_BATCH)
        removed = rowcount(
            await self.session.execute(
                delete(AuditEvent).where(col(AuditEvent.id).in_(ids.scalar_subquery()))
            )
        )
        actions = (
            select(col(EscalationAction.id))
            .where(col(EscalationAction.at) < before)
            .limit(RETENTION_BATCH)
        )
        removed += rowcount(
            await self.session.execute(
                delete(EscalationAction).where(
                    col(EscalationAction.id).in_(actions.scalar_subquery())
                )
            )
        )
        return removed

    async def count_rows(self, table: Any, *where: Any) -> int:
        stmt = select(func.count()).select_from(table)
        if where:
            stmt = stmt.where(and_(*where))
        return int((await self.session.execute(stmt)).scalar_one())


def _stored(column: Any) -> Any:
    """An encrypted column as stored (no decryption): "" when its text was erased."""
    return type_coerce(column, Text)
