"""The reminder tick: turn due reminder slots into outbox rows, idempotently.

The tick asks the database which meetings have a reminder due (an indexed range), queues one
message per member (and one for the linked group chat) under a key naming the meeting, the
occurrence, the offset and the member, and advances the meeting to its next slot. Running it
twice, late, or in two processes at once cannot queue anything twice: the keys are unique.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import callbacks
from bot.core.outgoing import OutgoingMessage
from bot.core.schedule import (
    DEFAULT_REMINDER_OFFSETS,
    Due,
    MeetingRule,
    ReminderSlot,
    Repeat,
    next_reminder_slot,
    reminder_due,
    to_local,
)
from bot.core.statuses import RsvpAnswer
from bot.locales import Catalogue, Markup
from bot.storage.models import Meeting
from bot.storage.uow import Database

REMINDER_PRIORITY = 5
MEETINGS_PER_TICK = 200


@dataclass(frozen=True)
class TickResult:
    meetings: int
    queued: int
    skipped_slots: int


def rule_of(meeting: Meeting) -> MeetingRule:
    return MeetingRule(
        first_local=datetime.fromisoformat(meeting.first_local),
        timezone=meeting.timezone,
        repeat=Repeat(meeting.repeat),
        nth=meeting.nth,
    )


def set_next_slot(meeting: Meeting, slot: ReminderSlot | None) -> None:
    meeting.next_reminder_at = slot.due if slot else None
    meeting.next_reminder_occurrence = slot.occurrence if slot else None
    meeting.next_reminder_offset_minutes = int(slot.offset.total_seconds() // 60) if slot else None


def _when(remaining: timedelta, texts: Catalogue, lang: str) -> str:
    """ "in 24 hours", "in 1 hour", "in 25 minutes": from the real time left (a late
    reminder after downtime says how long there really is)."""
    minutes = max(1, round(remaining.total_seconds() / 60))
    if minutes < 90:
        return (
            texts.t(lang, "reminders.in_one_hour")
            if 55 <= minutes <= 65
            else texts.t(lang, "reminders.in_minutes", minutes=minutes)
        )
    return texts.t(lang, "reminders.in_hours", hours=round(minutes / 60))


class ReminderService:
    def __init__(
        self,
        db: Database,
        texts: Catalogue,
        offsets: tuple[timedelta, ...] = DEFAULT_REMINDER_OFFSETS,
    ) -> None:
        self.db = db
        self.texts = texts
        self.offsets = offsets

    async def tick(self, now: datetime) -> TickResult:
        """Queue what is due. Each meeting's reminders go out in bounded transactions (a
        10,000-member group must not hold the write lock while members' messages wait), and
        the meeting moves to its next slot only afterwards, compare-and-set: a crash or a
        second process in between repeats keys that are already queued, nothing more."""
        queued = skipped = 0
        async with self.db.uow(read_only=True) as uow:
            meetings = await uow.meetings.reminders_due(now, MEETINGS_PER_TICK)
        for meeting in meetings:
            q, s = await self._catch_up(meeting, now)
            queued += q
            skipped += s
        return TickResult(len(meetings), queued, skipped)

    async def _catch_up(self, meeting: Meeting, now: datetime) -> tuple[int, int]:
        rule = rule_of(meeting)
        queued = skipped = 0
        while (
            meeting.next_reminder_at is not None
            and meeting.next_reminder_at <= now
            and meeting.next_reminder_occurrence is not None
            and meeting.next_reminder_offset_minutes is not None
        ):
            offset = timedelta(minutes=meeting.next_reminder_offset_minutes)
            occurrence = meeting.next_reminder_occurrence
            if reminder_due(occurrence, offset, now, self.offsets) is Due.SEND:
                queued += await self._queue(meeting, occurrence, offset, now)
            else:
                skipped += 1
            was = meeting.next_reminder_at
            set_next_slot(meeting, next_reminder_slot(rule, self.offsets, was))
            async with self.db.uow() as uow:
                moved = await uow.meetings.advance_reminder(meeting, was)
                await uow.commit()
            if not moved:  # edited, cancelled or advanced by another process meanwhile
                break
        return queued, skipped

    async def _queue(
        self, meeting: Meeting, occurrence: datetime, offset: timedelta, now: datetime
    ) -> int:
        assert meeting.id is not None
        async with self.db.uow(read_only=True) as uow:
            group = await uow.groups.by_id(meeting.group_id)
            if group is None:
                return 0
            answers = await uow.meetings.rsvps(meeting.id, occurrence)
            muted = await uow.meetings.muted_member_ids(meeting.group_id)
            recipients = await uow.meetings.recipient_rows(meeting.group_id)
        base_key = (
            f"reminder:{meeting.id}:{occurrence:%Y%m%dT%H%MZ}:{int(offset.total_seconds() // 60)}"
        )
        stamp = int(occurrence.timestamp())
        # Members share a handful of languages and timezones: each message is made once.
        made: dict[tuple[str, str], str] = {}
        rows: list[tuple[str, int, str]] = []
        for member_id, telegram_id, lang, timezone in recipients:
            if member_id in muted or answers.get(member_id) == RsvpAnswer.NO:
                continue
            zone = timezone or meeting.timezone
            payload = made.get((lang, zone))
            if payload is None:
                payload = made[(lang, zone)] = self._member_message(
                    meeting, group.name, occurrence, now, lang, zone, stamp
                ).to_json()
            rows.append((f"{base_key}:{member_id}", telegram_id, payload))
        if group.chat_id is not None:
            # A group's chat is read by all its members: the organisation's language.
            lang = self.texts.default_language
            t = self.texts.t
            place = t(lang, "reminders.place", place=meeting.place) if meeting.place else ""
            text = t(
                lang,
                "reminders.chat",
                title=meeting.title,
                when=_when(occurrence - now, self.texts, lang),
                time=self.texts.moment(lang, to_local(occurrence, meeting.timezone)),
                timezone=meeting.timezone,
                place=_raw(place),
            )
            rows.append((f"{base_key}:chat", group.chat_id, OutgoingMessage(text=text).to_json()))
        return await self.db.enqueue_in_chunks(rows, kind="reminder", priority=REMINDER_PRIORITY)

    def _member_message(
        self,
        meeting: Meeting,
        group_name: str,
        occurrence: datetime,
        now: datetime,
        lang: str,
        zone: str,
        stamp: int,
    ) -> OutgoingMessage:
        assert meeting.id is not None
        t = self.texts.t
        place = t(lang, "reminders.place", place=meeting.place) if meeting.place else ""
        text = t(
            lang,
            "reminders.member",
            title=meeting.title,
            group=group_name,
            when=_when(occurrence - now, self.texts, lang),
            time=self.texts.moment(lang, to_local(occurrence, zone)),
            timezone=zone,
            place=_raw(place),
        )
        return OutgoingMessage(
            text=text,
            buttons=(
                tuple(
                    (t(lang, f"reminders.{answer}_button"),
                     callbacks.encode(callbacks.RSVP, meeting.id, stamp, code))
                    for answer, code in ((RsvpAnswer.GOING, "g"), (RsvpAnswer.MAYBE, "m"),
                                         (RsvpAnswer.NO, "n"))
                ),
            ),
        )  # fmt: skip


def _raw(html: str) -> Markup:
    """Catalogue text inserted into catalogue text: already escaped."""
    return Markup(html)
