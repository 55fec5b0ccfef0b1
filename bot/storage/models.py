"""Tables. Free text is `EncryptedText`; timestamps are UTC (`UTCDateTime`).

What is stored is the least the bot needs: a member is a Telegram id, a chosen display name
(encrypted), a timezone and a language, and what they consented to and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    event,
    true,
)
from sqlmodel import Field, SQLModel

from bot.core import clock
from bot.storage.crypto import pseudonym
from bot.storage.types import EncryptedText, UTCDateTime


def utcnow() -> datetime:
    return clock.now()


class Inbound(SQLModel, table=True):
    """An update from Telegram, stored before it is confirmed so a crash cannot lose it."""

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_status_update", "status", "update_id"),)

    update_id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    # Chat the update belongs to, so replayed updates keep their per-chat order.
    chat_key: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # The raw update (it contains what the member wrote): encrypted, and cleared once handled.
    payload: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    # pending -> done; or dead (a dead letter: kept for an operator, see `peerbot deadletters`)
    # -> replay (an operator asked for another try) -> pending.
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # When it was handled, or when it became a dead letter.
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    # For dead letters: the update's kind ("message", "callback_query" ...) and the class of
    # the error that stopped it; never anything from its content.
    kind: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    error: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    # The replica handling it (see bot/leadership.py); None until the leader claims it.
    owner: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))


class Replica(SQLModel, table=True):
    """A running bot process, alive while its heartbeat is fresh (see bot/leadership.py)."""

    __tablename__ = "replica"

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    # Where it runs: a process on this very machine (same host and boot) whose pid is gone
    # is known dead at once, without waiting for its heartbeat to lapse.
    host: str = Field(sa_column=Column(String(255), nullable=False))
    boot_id: str = Field(sa_column=Column(String(64), nullable=False))
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    heartbeat_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class Lease(SQLModel, table=True):
    """A named lease ('leader'): held by one replica until `expires_at` unless renewed."""

    __tablename__ = "lease"

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    holder: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Member(SQLModel, table=True):
    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    display_name: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    timezone: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    language: str = Field(default="en", sa_column=Column(String(8), nullable=False))
    # Onboarding progress: consent -> name -> timezone -> done.
    step: str = Field(default="consent", sa_column=Column(String(16), nullable=False))
    # Which free-text answer the bot is waiting for from this member, if any.
    awaiting: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    # Answers collected so far in a multi-step flow (e.g. scheduling a meeting), as JSON.
    draft: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    # Invite code the member arrived with; the group is joined when onboarding completes.
    pending_invite: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    consent_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    consent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    declined_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    declined_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    can_facilitate: bool = Field(default=False, nullable=False)
    # Set when Telegram says the member blocked the bot; nothing is queued for them until they
    # write to the bot again.
    unreachable_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # When the member last downloaded their data (/mydata: at most once an hour).
    exported_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class PeerGroup(SQLModel, table=True):
    __tablename__ = "peer_group"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(EncryptedText, nullable=False))
    invite_code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    chat_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, unique=True)
    )
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # Anonymous questions wait for a facilitator's approval unless this is turned off.
    moderate_questions: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=true())
    )


class Membership(SQLModel, table=True):
    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_membership_group_member"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(
        sa_column=Column(Integer, ForeignKey("peer_group.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    role: str = Field(default="member", sa_column=Column(String(16), nullable=False))
    joined_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class AuditEvent(SQLModel, table=True):
    """Who did what, when: role changes, group creation and linking, erasures."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    actor_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    subject_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    group_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    # A person the event is about without naming them (their keyed pseudonym), e.g. whose
    # data a coordinator erased.
    subject_ref: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))


class Outbox(SQLModel, table=True):
    """A message the bot owes someone, written in the same transaction as its cause.

    `key` makes the same logical message impossible to queue twice
    (e.g. `reminder:{meeting}:{occurrence}:{member}`).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "priority", "not_before", "id"),
        # A reply in a chat names the message it answers: find which one we sent.
        Index("ix_outbox_sent_message", "chat_id", "message_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(200), nullable=False, unique=True))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # 0 = urgent safety alert; larger numbers wait behind smaller ones.
    priority: int = Field(default=5, sa_column=Column(Integer, nullable=False))
    # JSON: text, parse mode, buttons... (it may carry what a member wrote, so encrypted).
    payload: str = Field(sa_column=Column(EncryptedText, nullable=False))
    # pending -> sending -> sent | failed | unreachable | ambiguous | cancelled
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    not_before: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    error: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    # Groups a send (a broadcast) so its progress can be counted and cancelled together.
    batch: str | None = Field(default=None, sa_column=Column(String(64), nullable=True, index=True))
    # The replica that claimed it for sending: recovery touches a row in flight only when
    # this replica is gone.
    owner: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))


class Meeting(SQLModel, table=True):
    """A group's meeting, once or repeating, in the wall-clock time of its timezone."""

    __tablename__ = "meeting"
    __table_args__ = (Index("ix_meeting_next_reminder", "next_reminder_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("peer_group.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    title: str = Field(sa_column=Column(EncryptedText, nullable=False))
    place: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    # The first occurrence as local wall-clock time, "YYYY-MM-DDTHH:MM", in `timezone`.
    first_local: str = Field(sa_column=Column(String(16), nullable=False))
    timezone: str = Field(sa_column=Column(String(64), nullable=False))
    repeat: str = Field(sa_column=Column(String(16), nullable=False))
    nth: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    duration_minutes: int = Field(default=60, sa_column=Column(Integer, nullable=False))
    created_by: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("member.id", ondelete="SET NULL"))
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    cancelled_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    # The next reminder slot not yet handled (NULL: none left). The tick reads this index.
    next_reminder_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    next_reminder_occurrence: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    next_reminder_offset_minutes: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=True)
    )


class Rsvp(SQLModel, table=True):
    __tablename__ = "rsvp"
    __table_args__ = (
        UniqueConstraint("meeting_id", "occurrence", "member_id", name="uq_rsvp_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(
        sa_column=Column(Integer, ForeignKey("meeting.id", ondelete="CASCADE"), nullable=False)
    )
    occurrence: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    member_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    answer: str = Field(sa_column=Column(String(8), nullable=False))  # going | maybe | no
    answered_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ReminderMute(SQLModel, table=True):
    """A member who does not want reminders for one group."""

    __tablename__ = "reminder_mute"
    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_reminder_mute"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(
        sa_column=Column(Integer, ForeignKey("peer_group.id", ondelete="CASCADE"), nullable=False)
    )
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )


class CheckinPlan(SQLModel, table=True):
    """A member's check-in rhythm; `next_at` is what the tick reads (indexed)."""

    __tablename__ = "checkin_plan"

    member_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("member.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    rhythm: str = Field(sa_column=Column(String(8), nullable=False))  # off | daily | weekly
    at_local: str = Field(sa_column=Column(String(5), nullable=False))  # "HH:MM"
    weekday: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True, index=True)
    )


class Checkin(SQLModel, table=True):
    """One answer to a check-in prompt: a mood from 1 to 5 and, optionally, a short note."""

    __tablename__ = "checkin"
    __table_args__ = (
        UniqueConstraint("member_id", "prompt_at", name="uq_checkin_per_prompt"),
        Index("ix_checkin_member_at", "member_id", "answered_at"),
        Index("ix_checkin_answered_at", "answered_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(
        sa_column=Column(Integer, ForeignKey("member.id", ondelete="CASCADE"), nullable=False)
    )
    # The prompt this answers (one answer per prompt; answering again changes it).
    prompt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    mood: int = Field(sa_column=Column(Integer, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    answered_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Escalation(SQLModel, table=True):
    """Something a person wrote that the screener flagged: a page for `urgent`, a review item
    for `concern`. Stored before anyone is alerted."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_realert", "status", "next_alert_at"),
        Index("ix_escalation_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    level: str = Field(sa_column=Column(String(8), nullable=False))  # urgent | concern
    status: str = Field(default="open", sa_column=Column(String(16), nullable=False))
    author_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    author_name: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    chat_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_title: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    text: str = Field(sa_column=Column(EncryptedText, nullable=False))
    categories: str = Field(default="", sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    acknowledged_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    acknowledged_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    resolved_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(EncryptedText, nullable=True))
    next_alert_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    alerts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    # The author's keyed pseudonym (bot.storage.crypto.pseudonym), set when stored. Once the
    # author's data is erased it is all that is left of them here: `author_telegram_id` is 0,
    # and the name, the chat title of a private chat and the text are gone.
    author_ref: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, index=True)
    )
    # When the author's data was erased (the record is kept, pseudonymised, until it expires).
    erased_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class EscalationAction(SQLModel, table=True):
    """The audit trail of an escalation: who did what, when."""

    __tablename__ = "escalation_action"
    __table_args__ = (Index("ix_escalation_action_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("escalation.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))
    actor_telegram_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    # The update that created or joined the escalation: a retried update escalates once.
    update_id: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True, unique=True)
    )


class Question(SQLModel, table=True):
    """An anonymous question (or an anonymous follow-up to one) for a group.

    Deliberately without the asker: who asked lives in `QuestionAsker`, encrypted, and only
    the code that delivers replies to the asker (and the safety path) reads it.
    """

    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("group_id", "number", name="uq_question_number"),
        Index("ix_question_status", "status", "post_at"),
        Index("ix_question_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(
        sa_column=Column(Integer, ForeignKey("peer_group.id", ondelete="CASCADE"), nullable=False)
    )
    # A follow-up names the question it follows; it is posted as a reply to that post.
    parent_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("question.id", ondelete="CASCADE"), nullable=True),
    )
    # "Anonymous question #N": given when a question is approved (follow-ups have none).
    number: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    text: str = Field(sa_column=Column(EncryptedText, nullable=False))
    # pending (waiting for a facilitator) -> approved | rejected
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    # The screener found crisis language: a facilitator looks before anyone else sees it.
    flagged: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # When an approved question goes out (a random delay when moderation is off).
    post_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    decided_by: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class QuestionAsker(SQLModel, table=True):
    """Who asked: the asker's Telegram id, encrypted. Read only to deliver replies to them."""

    __tablename__ = "question_asker"

    question_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("question.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    asker: str = Field(sa_column=Column(EncryptedText, nullable=False))
    # The asker's keyed pseudonym: their questions are found without decrypting every row
    # (rows stored before it existed have none, and are matched by decrypting).
    asker_ref: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, index=True)
    )


class AskMute(SQLModel, table=True):
    """Someone a facilitator stopped from asking in a group (muted from one of their questions,
    so the facilitator never learns who it is). The Telegram id is encrypted."""

    __tablename__ = "ask_mute"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("peer_group.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    asker: str = Field(sa_column=Column(EncryptedText, nullable=False))
    asker_ref: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True, index=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Broadcast(SQLModel, table=True):
    """An announcement to a group's members (or, from a coordinator, to everyone). Its messages
    are outbox rows with `batch = "bc:{id}"`; the status message shows their progress."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_unfinished", "finished_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("peer_group.id", ondelete="SET NULL"), nullable=True),
    )
    author_telegram_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(sa_column=Column(EncryptedText, nullable=False))
    # sending -> done | cancelled
    status: str = Field(default="sending", sa_column=Column(String(16), nullable=False))
    total: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    status_chat_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    status_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    # What the status message shows now, so it is only edited when that changes.
    shown: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


# Every row that points at a person without naming them gets the keyed pseudonym as it is
# stored, whatever code stores it: finding a person's rows (to export or erase them) is then
# an indexed lookup, never a decryption of the whole table.
@event.listens_for(QuestionAsker, "before_insert")
@event.listens_for(AskMute, "before_insert")
def _asker_pseudonym(_mapper: object, _connection: object, row: QuestionAsker | AskMute) -> None:
    if row.asker_ref is None:
        row.asker_ref = pseudonym(int(row.asker))


@event.listens_for(Escalation, "before_insert")
def _author_pseudonym(_mapper: object, _connection: object, row: Escalation) -> None:
    if row.author_ref is None and row.author_telegram_id:
        row.author_ref = pseudonym(row.author_telegram_id)
