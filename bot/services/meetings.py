"""Meetings: facilitators schedule them; members see them in their own time and RSVP."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.roles import GroupRole, may_manage_group
from bot.core.schedule import (
    DEFAULT_REMINDER_OFFSETS,
    MeetingRule,
    Repeat,
    next_occurrence,
    next_reminder_slot,
    to_local,
)
from bot.core.statuses import RsvpAnswer
from bot.locales import Catalogue
from bot.services.common import actor_for, manages_group, move_flow, onboarded_member
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.notices import queue_notice
from bot.services.reminders import rule_of, set_next_slot
from bot.storage.models import Meeting, Member, utcnow
from bot.storage.uow import Database, UnitOfWork

RSVP_ANSWERS = {"g": RsvpAnswer.GOING, "m": RsvpAnswer.MAYBE, "n": RsvpAnswer.NO}
# Who hears that a meeting changed or was cancelled.
COMING = (RsvpAnswer.GOING, RsvpAnswer.MAYBE)
TITLE_MAX = 80
PLACE_MAX = 200


@dataclass(frozen=True)
class MeetingDraft:
    group_id: int
    title: str
    first_local: datetime  # naive wall-clock, in the facilitator's timezone
    repeat: Repeat
    duration_minutes: int = 60
    place: str | None = None


@dataclass(frozen=True)
class UpcomingMeeting:
    meeting_id: int
    group_name: str
    title: str
    place: str | None
    starts: datetime  # UTC
    duration_minutes: int
    answer: str | None
    can_manage: bool = False


@dataclass(frozen=True)
class CalendarEntry:
    title: str
    place: str | None
    first_local: str
    timezone: str
    repeat: str
    nth: int | None
    duration_minutes: int


class MeetingService:
    def __init__(
        self,
        db: Database,
        coordinators: frozenset[int],
        texts: Catalogue,
        offsets: tuple[timedelta, ...] = DEFAULT_REMINDER_OFFSETS,
    ) -> None:
        self.db = db
        self.coordinators = coordinators
        self.texts = texts
        self.offsets = offsets

    async def create(self, telegram_id: int, draft: MeetingDraft) -> int:
        if not draft.title.strip() or len(draft.title) > TITLE_MAX:
            raise InvalidInput("meetings.bad_title", max=TITLE_MAX)
        if draft.place is not None and len(draft.place) > PLACE_MAX:
            raise InvalidInput("meetings.bad_place", max=PLACE_MAX)
        if not 5 <= draft.duration_minutes <= 24 * 60:
            raise InvalidInput("meetings.bad_duration")
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            group = await uow.groups.by_id(draft.group_id)
            if group is None:
                raise NotFound
            if not await manages_group(uow, member, draft.group_id, self.coordinators):
                raise NotAllowed
            timezone = member.timezone or "UTC"
            rule = MeetingRule(
                draft.first_local.replace(second=0, microsecond=0), timezone, draft.repeat
            )
            now = utcnow()
            if next_occurrence(rule, now) is None:
                raise InvalidInput("meetings.in_the_past")
            meeting = Meeting(
                group_id=draft.group_id,
                title=draft.title.strip(),
                place=draft.place,
                first_local=rule.first_local.isoformat(timespec="minutes"),
                timezone=timezone,
                repeat=draft.repeat.value,
                duration_minutes=draft.duration_minutes,
                created_by=member.id,
            )
            set_next_slot(meeting, next_reminder_slot(rule, self.offsets, now))
            await uow.meetings.add(meeting)
            uow.audit.record("meeting.create", actor_id=member.id, group_id=draft.group_id)
            move_flow(member, None, None)  # the wizard is over
            await uow.commit()
            assert meeting.id is not None
            return meeting.id

    async def upcoming(self, telegram_id: int, horizon: timedelta) -> list[UpcomingMeeting]:
        """The member's meetings in the coming `horizon`, soonest first."""
        now = utcnow()
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            memberships = await uow.groups.for_member(member.id)
            groups = {g.id: g for g, _ in memberships}
            actor = actor_for(member, telegram_id, self.coordinators)
            managed = {g.id for g, role in memberships if may_manage_group(actor, GroupRole(role))}
            found: list[UpcomingMeeting] = []
            for meeting in await uow.meetings.for_groups([g for g in groups if g is not None]):
                starts = next_occurrence(rule_of(meeting), now - timedelta(minutes=1))
                if starts is None or starts > now + horizon:
                    continue
                assert meeting.id is not None
                answers = await uow.meetings.rsvps(meeting.id, starts)
                group = groups[meeting.group_id]
                found.append(
                    UpcomingMeeting(
                        meeting.id,
                        group.name,
                        meeting.title,
                        meeting.place,
                        starts,
                        meeting.duration_minutes,
                        answers.get(member.id),
                        can_manage=meeting.group_id in managed,
                    )
                )
        return sorted(found, key=lambda m: m.starts)

    async def rsvp(self, telegram_id: int, meeting_id: int, occurrence: datetime, code: str) -> str:
        answer = RSVP_ANSWERS.get(code)
        if answer is None:
            raise NotFound
        async with self.db.uow() as uow:
            member, meeting = await self._members_meeting(uow, telegram_id, meeting_id)
            assert member.id is not None
            # Only a real occurrence of this meeting that has not started can be answered.
            rule = rule_of(meeting)
            if next_occurrence(rule, occurrence - timedelta(seconds=1)) != occurrence:
                raise NotFound
            if occurrence <= utcnow():
                raise InvalidInput("meetings.already_started")
            await uow.meetings.set_rsvp(meeting_id, occurrence, member.id, answer)
            await uow.commit()
            return answer

    async def edit(
        self,
        telegram_id: int,
        meeting_id: int,
        *,
        first_local: datetime | None = None,
        place: str | None = None,
    ) -> tuple[str, int]:
        """Move a meeting (the whole series) or change its place; everyone who said they would
        (or might) come to its next occurrence is told. Returns (title, how many were told)."""
        if place is not None and len(place) > PLACE_MAX:
            raise InvalidInput("meetings.bad_place", max=PLACE_MAX)
        async with self.db.uow() as uow:
            member, meeting = await self._managed_meeting(uow, telegram_id, meeting_id)
            now = utcnow()
            before = next_occurrence(rule_of(meeting), now)
            answers = await uow.meetings.rsvps(meeting_id, before) if before else {}
            if first_local is not None:
                moved = MeetingRule(first_local, meeting.timezone, Repeat(meeting.repeat))
                if next_occurrence(moved, now) is None:
                    raise InvalidInput("meetings.in_the_past")
                meeting.first_local = first_local.isoformat(timespec="minutes")
                set_next_slot(meeting, next_reminder_slot(moved, self.offsets, now))
            if place is not None:
                meeting.place = place
            event = uow.audit.record("meeting.edit", actor_id=member.id, group_id=meeting.group_id)
            starts = next_occurrence(rule_of(meeting), now)
            told = 0
            for attendee in await uow.meetings.recipients(meeting.group_id):
                if answers.get(attendee.id or 0) not in COMING or starts is None:
                    continue
                zone = attendee.timezone or meeting.timezone
                await queue_notice(
                    uow, self.texts, event, telegram_id=attendee.telegram_id,
                    language=attendee.language, key="meetings.changed_notice",
                    title=meeting.title, timezone=zone,
                    time=self.texts.moment(attendee.language, to_local(starts, zone)),
                    place=meeting.place or "—",
                )  # fmt: skip
                told += 1
            move_flow(member, None, None)  # the edit's question was answered
            await uow.commit()
            return meeting.title, told

    async def _members_meeting(
        self, uow: UnitOfWork, telegram_id: int, meeting_id: int
    ) -> tuple[Member, Meeting]:
        """A live meeting of one of this member's groups; anything else is 'not found'
        (which reveals nothing about other groups' meetings)."""
        member = await onboarded_member(uow, telegram_id)
        meeting = await uow.meetings.by_id(meeting_id)
        assert member.id is not None
        if meeting is None or meeting.cancelled_at is not None:
            raise NotFound
        if await uow.memberships.get(meeting.group_id, member.id) is None:
            raise NotFound
        return member, meeting

    async def _managed_meeting(
        self, uow: UnitOfWork, telegram_id: int, meeting_id: int
    ) -> tuple[Member, Meeting]:
        member = await onboarded_member(uow, telegram_id)
        meeting = await uow.meetings.by_id(meeting_id)
        assert member.id is not None
        if meeting is None or meeting.cancelled_at is not None:
            raise NotFound
        if not await manages_group(uow, member, meeting.group_id, self.coordinators):
            raise NotAllowed
        return member, meeting

    async def cancel(self, telegram_id: int, meeting_id: int) -> tuple[str, int]:
        """Cancel a meeting; everyone who said they would (or might) come to its next
        occurrence is told, through the outbox. Returns (title, how many were told)."""
        async with self.db.uow() as uow:
            member, meeting = await self._managed_meeting(uow, telegram_id, meeting_id)
            now = utcnow()
            meeting.cancelled_at = now
            set_next_slot(meeting, None)
            event = uow.audit.record(
                "meeting.cancel", actor_id=member.id, group_id=meeting.group_id
            )
            starts = next_occurrence(rule_of(meeting), now)
            told = 0
            if starts is not None:
                answers = await uow.meetings.rsvps(meeting_id, starts)
                for attendee in await uow.meetings.recipients(meeting.group_id):
                    if answers.get(attendee.id or 0) not in COMING:
                        continue
                    zone = attendee.timezone or meeting.timezone
                    await queue_notice(
                        uow,
                        self.texts,
                        event,
                        telegram_id=attendee.telegram_id,
                        language=attendee.language,
                        key="meetings.cancelled_notice",
                        title=meeting.title,
                        time=self.texts.moment(attendee.language, to_local(starts, zone)),
                        timezone=zone,
                    )
                    told += 1
            await uow.commit()
            return meeting.title, told

    async def set_reminders_muted(self, telegram_id: int, group_id: int, muted: bool) -> str:
        """Mute or unmute a group's reminders for this member; returns the group's name."""
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            group = await uow.groups.by_id(group_id)
            if group is None or await uow.memberships.get(group_id, member.id) is None:
                raise NotAllowed
            await uow.meetings.set_muted(group_id, member.id, muted)
            await uow.commit()
            return group.name

    async def is_muted(self, telegram_id: int, group_id: int) -> bool:
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            return member.id in await uow.meetings.muted_member_ids(group_id)

    async def calendar_entry(self, telegram_id: int, meeting_id: int) -> CalendarEntry:
        """What a member's calendar file needs — only for meetings of their own groups."""
        async with self.db.uow(read_only=True) as uow:
            _, meeting = await self._members_meeting(uow, telegram_id, meeting_id)
            return CalendarEntry(
                meeting.title,
                meeting.place,
                meeting.first_local,
                meeting.timezone,
                meeting.repeat,
                meeting.nth,
                meeting.duration_minutes,
            )
