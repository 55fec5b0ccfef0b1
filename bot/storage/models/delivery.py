"""What passes through the bot: updates from Telegram, messages owed, and the replicas
that handle them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlmodel import Field, SQLModel

from bot.core.statuses import (
    InboundStatus,
    OutboxStatus,
)
from bot.storage.models.common import utcnow
from bot.storage.types import EncryptedText, EnumText, UTCDateTime


class Inbound(SQLModel, table=True):
    """An update from Telegram, stored before it is confirmed so a crash cannot lose it."""

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_status_update", "status", "update_id"),)

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    # Chat the update belongs to, so replayed updates keep their per-chat order.
    chat_key: int | None = Field(default=None, sa_type=BigInteger)
    # The raw update (it contains what the member wrote): encrypted, and cleared once handled.
    payload: str | None = Field(default=None, sa_type=EncryptedText)
    # pending -> done; or dead (a dead letter: kept for an operator, see `peerbot deadletters`)
    # -> replay (an operator asked for another try) -> pending.
    status: InboundStatus = Field(
        default=InboundStatus.PENDING, sa_type=EnumText(InboundStatus, 16)
    )
    attempts: int = Field(default=0)
    received_at: datetime = Field(sa_type=UTCDateTime)
    # When it was handled, or when it became a dead letter.
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # For dead letters: the update's kind ("message", "callback_query" ...) and the class of
    # the error that stopped it; never anything from its content.
    kind: str | None = Field(default=None, sa_type=String(32))
    error: str | None = Field(default=None, sa_type=String(64))
    # The replica handling it (see bot/leadership.py); None until the leader claims it.
    owner: str | None = Field(default=None, sa_type=String(36))


class Replica(SQLModel, table=True):
    """A running bot process, alive while its heartbeat is fresh (see bot/leadership.py)."""

    __tablename__ = "replica"

    id: str = Field(sa_type=String(36), primary_key=True)
    # Where it runs: a process on this very machine (same host and boot) whose pid is gone
    # is known dead at once, without waiting for its heartbeat to lapse.
    host: str = Field(sa_type=String(255))
    boot_id: str = Field(sa_type=String(64))
    pid: int = Field()
    started_at: datetime = Field(sa_type=UTCDateTime)
    heartbeat_at: datetime = Field(sa_type=UTCDateTime)


class Lease(SQLModel, table=True):
    """A named lease ('leader'): held by one replica until `expires_at` unless renewed."""

    __tablename__ = "lease"

    name: str = Field(sa_type=String(32), primary_key=True)
    holder: str | None = Field(default=None, sa_type=String(36))
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


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
    key: str = Field(sa_type=String(200), unique=True)
    kind: str = Field(sa_type=String(32))
    chat_id: int = Field(sa_type=BigInteger)
    # 0 = urgent safety alert; larger numbers wait behind smaller ones.
    priority: int = Field(default=5)
    # JSON: text, parse mode, buttons... (it may carry what a member wrote, so encrypted).
    payload: str = Field(sa_type=EncryptedText)
    # pending -> sending -> sent | failed | unreachable | ambiguous | cancelled
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=EnumText(OutboxStatus, 16))
    attempts: int = Field(default=0)
    not_before: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    error: str | None = Field(default=None, sa_type=String(200))
    # Groups a send (a broadcast) so its progress can be counted and cancelled together.
    batch: str | None = Field(default=None, sa_type=String(64), index=True)
    # The replica that claimed it for sending: recovery touches a row in flight only when
    # this replica is gone.
    owner: str | None = Field(default=None, sa_type=String(36))
