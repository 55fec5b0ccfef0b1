"""Escalations (what the screener flagged) and their audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String, event
from sqlmodel import Field, SQLModel

from bot.core.statuses import (
    EscalationLevel,
    EscalationStatus,
)
from bot.storage.crypto import pseudonym
from bot.storage.models.common import utcnow
from bot.storage.types import EncryptedText, EnumText, UTCDateTime


class Escalation(SQLModel, table=True):
    """Something a person wrote that the screener flagged: a page for `urgent`, a review item
    for `concern`. Stored before anyone is alerted."""

    __tablename__ = "escalation"
    __table_args__ = (
        Index("ix_escalation_realert", "status", "next_alert_at"),
        Index("ix_escalation_created", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    level: EscalationLevel = Field(sa_type=EnumText(EscalationLevel, 8))
    status: EscalationStatus = Field(
        default=EscalationStatus.OPEN, sa_type=EnumText(EscalationStatus, 16)
    )
    author_telegram_id: int = Field(sa_type=BigInteger, index=True)
    author_name: str | None = Field(default=None, sa_type=EncryptedText)
    chat_id: int = Field(sa_type=BigInteger)
    chat_title: str | None = Field(default=None, sa_type=EncryptedText)
    text: str = Field(sa_type=EncryptedText)
    categories: str = Field(default="", sa_type=String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, sa_type=BigInteger)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: int | None = Field(default=None, sa_type=BigInteger)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_type=EncryptedText)
    next_alert_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    alerts: int = Field(default=0)
    # The author's keyed pseudonym (bot.storage.crypto.pseudonym), set when stored. Once the
    # author's data is erased it is all that is left of them here: `author_telegram_id` is 0,
    # and the name, the chat title of a private chat and the text are gone.
    author_ref: str | None = Field(default=None, sa_type=String(64), index=True)
    # When the author's data was erased (the record is kept, pseudonymised, until it expires).
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the author pressed "That's not what I meant" under the crisis reply (migration 0012).
    not_meant_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class EscalationAction(SQLModel, table=True):
    """The audit trail of an escalation: who did what, when."""

    __tablename__ = "escalation_action"
    __table_args__ = (Index("ix_escalation_action_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    escalation_id: int = Field(foreign_key="escalation.id", ondelete="CASCADE", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor_telegram_id: int | None = Field(default=None, sa_type=BigInteger)
    action: str = Field(sa_type=String(32))
    # The update that created or joined the escalation: a retried update escalates once.
    update_id: int | None = Field(default=None, sa_type=BigInteger, unique=True)


@event.listens_for(Escalation, "before_insert")
def _author_pseudonym(_mapper: object, _connection: object, row: Escalation) -> None:
    if row.author_ref is None and row.author_telegram_id:
        row.author_ref = pseudonym(row.author_telegram_id)
