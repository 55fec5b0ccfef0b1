"""Escalations and their audit trail (the safety path's records)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class EscalationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
