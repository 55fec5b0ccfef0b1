"""Anonymous questions, who asked them (apart, encrypted), and announcements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, UniqueConstraint, event
from sqlmodel import Field, SQLModel

from bot.core.statuses import (
    BroadcastStatus,
    QuestionStatus,
)
from bot.storage.crypto import pseudonym
from bot.storage.models.common import utcnow
from bot.storage.types import EncryptedText, EnumText, UTCDateTime


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
    group_id: int = Field(foreign_key="peer_group.id", ondelete="CASCADE")
    # A follow-up names the question it follows; it is posted as a reply to that post.
    parent_id: int | None = Field(default=None, foreign_key="question.id", ondelete="CASCADE")
    # "Anonymous question #N": given when a question is approved (follow-ups have none).
    number: int | None = Field(default=None)
    text: str = Field(sa_type=EncryptedText)
    # pending (waiting for a facilitator) -> approved | rejected
    status: QuestionStatus = Field(
        default=QuestionStatus.PENDING, sa_type=EnumText(QuestionStatus, 16)
    )
    # The screener found crisis language: a facilitator looks before anyone else sees it.
    flagged: bool = Field(default=False)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When an approved question goes out (a random delay when moderation is off).
    post_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, sa_type=BigInteger)


class QuestionAsker(SQLModel, table=True):
    """Who asked: the asker's Telegram id, encrypted. Read only to deliver replies to them."""

    __tablename__ = "question_asker"

    question_id: int = Field(
        primary_key=True,
        foreign_key="question.id",
        ondelete="CASCADE",
        sa_column_kwargs={"autoincrement": False},
    )
    asker: str = Field(sa_type=EncryptedText)
    # The asker's keyed pseudonym: their questions are found without decrypting every row
    # (rows stored before it existed have none, and are matched by decrypting).
    asker_ref: str | None = Field(default=None, sa_type=String(64), index=True)


class AskMute(SQLModel, table=True):
    """Someone a facilitator stopped from asking in a group (muted from one of their questions,
    so the facilitator never learns who it is). The Telegram id is encrypted."""

    __tablename__ = "ask_mute"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="peer_group.id", ondelete="CASCADE", index=True)
    asker: str = Field(sa_type=EncryptedText)
    asker_ref: str | None = Field(default=None, sa_type=String(64), index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Broadcast(SQLModel, table=True):
    """An announcement to a group's members (or, from a coordinator, to everyone). Its messages
    are outbox rows with `batch = "bc:{id}"`; the status message shows their progress."""

    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_unfinished", "finished_at"),)

    id: int | None = Field(default=None, primary_key=True)
    group_id: int | None = Field(default=None, foreign_key="peer_group.id", ondelete="SET NULL")
    author_telegram_id: int = Field(sa_type=BigInteger)
    text: str = Field(sa_type=EncryptedText)
    # queueing -> sending -> done | cancelled
    status: BroadcastStatus = Field(
        default=BroadcastStatus.SENDING, sa_type=EnumText(BroadcastStatus, 16)
    )
    total: int = Field(default=0)
    status_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    status_message_id: int | None = Field(default=None, sa_type=BigInteger)
    # What the status message shows now, so it is only edited when that changes.
    shown: str | None = Field(default=None, sa_type=String(300))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Every row that points at a person without naming them gets the keyed pseudonym as it is
# stored, whatever code stores it: finding a person's rows (to export or erase them) is then
# an indexed lookup, never a decryption of the whole table.
@event.listens_for(QuestionAsker, "before_insert")
@event.listens_for(AskMute, "before_insert")
def _asker_pseudonym(_mapper: object, _connection: object, row: QuestionAsker | AskMute) -> None:
    if row.asker_ref is None:
        row.asker_ref = pseudonym(int(row.asker))
