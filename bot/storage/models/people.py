"""Members, their groups, and the audit trail of who did what."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, true
from sqlmodel import Field, SQLModel

from bot.core.roles import GroupRole
from bot.storage.models.common import utcnow
from bot.storage.types import EncryptedText, EnumText, UTCDateTime


class Member(SQLModel, table=True):
    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_type=BigInteger, unique=True)
    display_name: str | None = Field(default=None, sa_type=EncryptedText)
    timezone: str | None = Field(default=None, sa_type=String(64))
    language: str = Field(default="en", sa_type=String(8))
    # Onboarding progress: consent -> name -> timezone -> done.
    step: str = Field(default="consent", sa_type=String(16))
    # Which free-text answer the bot is waiting for from this member, if any.
    awaiting: str | None = Field(default=None, sa_type=String(32))
    # Answers collected so far in a multi-step flow (e.g. scheduling a meeting), as JSON.
    draft: str | None = Field(default=None, sa_type=EncryptedText)
    # Invite code the member arrived with; the group is joined when onboarding completes.
    pending_invite: str | None = Field(default=None, sa_type=String(64))
    consent_version: int | None = Field(default=None)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    declined_version: int | None = Field(default=None)
    declined_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    can_facilitate: bool = Field(default=False, nullable=False)
    # Set when Telegram says the member blocked the bot; nothing is queued for them until they
    # write to the bot again.
    unreachable_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the member last downloaded their data (/mydata: at most once an hour).
    exported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PeerGroup(SQLModel, table=True):
    __tablename__ = "peer_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=EncryptedText)
    invite_code: str = Field(sa_type=String(64), unique=True)
    chat_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)
    created_by: int | None = Field(default=None, foreign_key="member.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Anonymous questions wait for a facilitator's approval unless this is turned off.
    moderate_questions: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_membership_group_member"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="peer_group.id", ondelete="CASCADE")
    member_id: int = Field(foreign_key="member.id", ondelete="CASCADE", index=True)
    role: GroupRole = Field(default=GroupRole.MEMBER, sa_type=EnumText(GroupRole, 16))
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """Who did what, when: role changes, group creation and linking, erasures."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    action: str = Field(sa_type=String(32))
    actor_id: int | None = Field(default=None)
    subject_id: int | None = Field(default=None)
    group_id: int | None = Field(default=None)
    # A person the event is about without naming them (their keyed pseudonym), e.g. whose
    # data a coordinator erased.
    subject_ref: str | None = Field(default=None, sa_type=String(64))
