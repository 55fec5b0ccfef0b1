"""Check-in plans and answers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession


class CheckinRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
