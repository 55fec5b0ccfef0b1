"""Meetings, RSVPs and reminder mutes; check-in plans and answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.core.statuses import (
    RsvpAnswer,
)
from bot.storage.models.common import utcnow
from bot.storage.types import EncryptedText, EnumText, UTCDateTime


class Meeting(SQLModel, table=True):
    """A group's meeting, once or repeating, in the wall-clock time of its timezone."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_next_reminder", "next_reminder_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="peer_group.id", ondelete="CASCADE", index=True)
    title: str = Field(sa_type=EncryptedText)
    place: str | None = Field(default=None, sa_type=EncryptedText)
    # The first occurrence as local wall-clock time, "YYYY-MM-DDTHH:MM", in `timezone`.
    first_local: str = Field(sa_type=String(16))
    timezone: str = Field(sa_type=String(64))
    repeat: str = Field(sa_type=String(16))
    nth: int | None = Field(default=None)
    duration_minutes: int = Field(default=60)
    created_by: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The next reminder slot not yet handled (NULL: none left). The tick reads this index.
    next_reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_reminder_occurrence: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_reminder_offset_minutes: int | None = Field(default=None)


class Rsvp(SQLModel, table=True):
    __tablename__ = "rsvp"
    __table_args__ = (
        UniqueConstraint("meeting_id", "occurrence", "member_id", name="uq_rsvp_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", ondelete="CASCADE")
    occurrence: datetime = Field(sa_type=UTCDateTime)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    answer: RsvpAnswer = Field(sa_type=EnumText(RsvpAnswer, 8))
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReminderMute(SQLModel, table=True):
    """A member who does not want reminders for one group."""

    __tablename__ = "reminder_mute"
    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_reminder_mute"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="peer_group.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")


class CheckinPlan(SQLModel, table=True):
    """A member's check-in rhythm; `next_at` is what the tick reads (indexed)."""

    __tablename__ = "checkin_plan"

    member_id: int = Field(
        primary_key=True,
        foreign_key="member.id",
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    rhythm: str = Field(sa_type=String(8))  # off | daily | weekly
    at_local: str = Field(sa_type=String(5))  # "HH:MM"
    weekday: int = Field(default=0)
    next_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)


class Checkin(SQLModel, table=True):
    """One answer to a check-in prompt: a mood from 1 to 5 and, optionally, a short note."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("member_id", "prompt_at", name="uq_checkin_per_prompt"),
        Index("ix_checkin_member_at", "member_id", "answered_at"),
        Index("ix_checkin_answered_at", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE")
    # The prompt this answers (one answer per prompt; answering again changes it).
    prompt_at: datetime = Field(sa_type=UTCDateTime)
    mood: int = Field()
    note: str | None = Field(default=None, sa_type=EncryptedText)
    answered_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
