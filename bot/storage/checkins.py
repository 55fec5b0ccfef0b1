"""Check-in plans and answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.models import Checkin, CheckinPlan, Member, Membership


class CheckinRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def plan_of(self, member_id: int) -> CheckinPlan | None:
        return await self.session.get(CheckinPlan, member_id)

    def add_plan(self, plan: CheckinPlan) -> CheckinPlan:
        self.session.add(plan)
        return plan

    async def plans_due(self, now: datetime, limit: int) -> list[tuple[CheckinPlan, Member]]:
        """Plans whose next prompt is due, the most overdue first, with their member."""
        stmt = (
            select(CheckinPlan, Member)
            .join(Member, col(Member.id) == col(CheckinPlan.member_id))
            .where(col(CheckinPlan.next_at) <= now)
            .order_by(col(CheckinPlan.next_at))
            .limit(limit)
        )
        return [(plan, member) for plan, member in (await self.session.execute(stmt)).all()]

    async def record_answer(
        self, member_id: int, prompt_at: datetime, mood: int, now: datetime
    ) -> Checkin:
        """One answer per prompt: answering again changes it (and when it was answered)."""
        stmt = select(Checkin).where(
            col(Checkin.member_id) == member_id, col(Checkin.prompt_at) == prompt_at
        )
        checkin = (await self.session.execute(stmt)).scalar_one_or_none()
        if checkin is None:
            checkin = Checkin(member_id=member_id, prompt_at=prompt_at, mood=mood, answered_at=now)
            self.session.add(checkin)
        else:
            checkin.mood = mood
            checkin.answered_at = now
        await self.session.flush()  # the recent moods read next include it
        return checkin

    async def latest_answer(self, member_id: int) -> Checkin | None:
        stmt = (
            select(Checkin)
            .where(col(Checkin.member_id) == member_id)
            .order_by(col(Checkin.answered_at).desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def recent_moods(self, member_id: int, n: int) -> list[int]:
        """The member's last `n` moods, by prompt, newest first."""
        stmt = (
            select(col(Checkin.mood))
            .where(col(Checkin.member_id) == member_id)
            .order_by(col(Checkin.prompt_at).desc())
            .limit(n)
        )
        return [int(m) for m in (await self.session.execute(stmt)).scalars()]

    async def moods_since(self, member_id: int, since: datetime) -> list[tuple[datetime, int]]:
        """(prompt, mood) for the member's answers to prompts since `since`, oldest first."""
        stmt = (
            select(col(Checkin.prompt_at), col(Checkin.mood))
            .where(col(Checkin.member_id) == member_id, col(Checkin.prompt_at) >= since)
            .order_by(col(Checkin.prompt_at))
        )
        return [(at, int(mood)) for at, mood in (await self.session.execute(stmt)).all()]

    async def group_average(self, group_id: int, since: datetime) -> tuple[float | None, int]:
        """(average mood, distinct members who answered) for a group's current members'
        answers since `since`; the average is None when nobody answered."""
        stmt = (
            select(func.avg(col(Checkin.mood)), func.count(func.distinct(col(Checkin.member_id))))
            .join(Membership, col(Membership.member_id) == col(Checkin.member_id))
            .where(col(Membership.group_id) == group_id, col(Checkin.prompt_at) >= since)
        )
        average, contributors = (await self.session.execute(stmt)).one()
        return (None if average is None else float(average)), int(contributors or 0)
