"""Meetings, RSVPs, reminder mutes, and whom a group's messages reach."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVarTuple

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlmodel import col

from bot.core.statuses import RsvpAnswer
from bot.storage.db import is_postgres
from bot.storage.models import Meeting, Member, Membership, ReminderMute, Rsvp, utcnow

Row = TypeVarTuple("Row")  # the columns a select returns


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, meeting: Meeting) -> Meeting:
        self.session.add(meeting)
        await self.session.flush()
        return meeting

    async def by_id(self, meeting_id: int) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    async def for_groups(self, group_ids: list[int]) -> list[Meeting]:
        if not group_ids:
            return []
        stmt = (
            select(Meeting)
            .where(col(Meeting.group_id).in_(group_ids), col(Meeting.cancelled_at).is_(None))
            .order_by(col(Meeting.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def reminders_due(self, now: datetime, limit: int) -> list[Meeting]:
        """Meetings whose next reminder is due: an index range scan, whatever the total."""
        stmt = (
            select(Meeting)
            .where(col(Meeting.next_reminder_at) <= now, col(Meeting.cancelled_at).is_(None))
            .order_by(col(Meeting.next_reminder_at))
            .limit(limit)
        )
        if is_postgres(self.session):
            stmt = stmt.with_for_update(skip_locked=True)
        return list((await self.session.execute(stmt)).scalars())

    async def rsvps(self, meeting_id: int, occurrence: datetime) -> dict[int, RsvpAnswer]:
        """member id -> answer, for one occurrence."""
        stmt = select(col(Rsvp.member_id), col(Rsvp.answer)).where(
            col(Rsvp.meeting_id) == meeting_id, col(Rsvp.occurrence) == occurrence
        )
        return {int(m): RsvpAnswer(a) for m, a in (await self.session.execute(stmt)).all()}

    async def set_rsvp(
        self, meeting_id: int, occurrence: datetime, member_id: int, answer: str
    ) -> None:
        stmt = select(Rsvp).where(
            col(Rsvp.meeting_id) == meeting_id,
            col(Rsvp.occurrence) == occurrence,
            col(Rsvp.member_id) == member_id,
        )
        existing = (await self.session.execute(stmt)).scalar_one_or_none()
        if existing is None:
            self.session.add(
                Rsvp(
                    meeting_id=meeting_id,
                    occurrence=occurrence,
                    member_id=member_id,
                    answer=RsvpAnswer(answer),
                )
            )
        else:
            existing.answer = RsvpAnswer(answer)
            existing.answered_at = utcnow()
        await self.session.flush()

    async def muted_member_ids(self, group_id: int) -> set[int]:
        stmt = select(col(ReminderMute.member_id)).where(col(ReminderMute.group_id) == group_id)
        return {int(m) for m in (await self.session.execute(stmt)).scalars()}

    async def set_muted(self, group_id: int, member_id: int, muted: bool) -> None:
        await self.session.execute(
            delete(ReminderMute).where(
                col(ReminderMute.group_id) == group_id, col(ReminderMute.member_id) == member_id
            )
        )
        if muted:
            self.session.add(ReminderMute(group_id=group_id, member_id=member_id))
        await self.session.flush()

    async def advance_reminder(self, meeting: Meeting, was: datetime) -> bool:
        """Move a meeting to the reminder slot set on `meeting`, unless someone else changed
        it since it read `was` (compare-and-set). True when it moved."""
        result = await self.session.execute(
            update(Meeting)
            .where(
                col(Meeting.id) == meeting.id,
                col(Meeting.next_reminder_at) == was,
                col(Meeting.cancelled_at).is_(None),
            )
            .values(
                next_reminder_at=meeting.next_reminder_at,
                next_reminder_occurrence=meeting.next_reminder_occurrence,
                next_reminder_offset_minutes=meeting.next_reminder_offset_minutes,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def recipient_rows(self, group_id: int) -> list[tuple[int, int, str, str | None]]:
        """(member id, telegram id, language, timezone) of the members the bot can reach:
        what a bulk send needs, without loading (and decrypting) whole members."""
        columns = select(
            col(Member.id), col(Member.telegram_id), col(Member.language), col(Member.timezone)
        )
        rows = (await self.session.execute(_reachable_in_group(columns, group_id))).all()
        return [(int(m or 0), int(t), str(lang), zone) for m, t, lang, zone in rows]

    async def recipients(self, group_id: int) -> list[Member]:
        """Members of the group the bot can reach."""
        stmt = _reachable_in_group(select(Member), group_id)
        return list((await self.session.execute(stmt)).scalars())


def _reachable_in_group(stmt: Select[*Row], group_id: int) -> Select[*Row]:
    """`stmt` (a select from `member`) narrowed to the group's members the bot can reach:
    onboarded and not blocking it, in a stable order."""
    return (
        stmt.join(Membership, col(Membership.member_id) == col(Member.id))
        .where(
            col(Membership.group_id) == group_id,
            col(Member.unreachable_at).is_(None),
            col(Member.step) == "done",
        )
        .order_by(col(Member.id))
    )
