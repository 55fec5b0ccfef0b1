"""The states stored rows move through, one `StrEnum` per table.

They are `StrEnum`s so a value is stored and compared as the plain string it always was:
no migration, and a row written by an older version reads back as a member of its enum.
"""

from __future__ import annotations

from enum import StrEnum


class InboundStatus(StrEnum):
    """An update from Telegram: pending -> done; or dead (kept for an operator) -> replay
    (an operator asked for another try) -> pending."""

    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"
    REPLAY = "replay"


class OutboxStatus(StrEnum):
    """A message to send: pending -> sending -> sent | failed | unreachable | ambiguous |
    cancelled."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNREACHABLE = "unreachable"
    AMBIGUOUS = "ambiguous"
    CANCELLED = "cancelled"


class EscalationLevel(StrEnum):
    URGENT = "urgent"
    CONCERN = "concern"


class EscalationStatus(StrEnum):
    """open -> acknowledged -> resolved (an open one may be resolved directly)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class QuestionStatus(StrEnum):
    """An anonymous question: pending (waiting for a facilitator) -> approved | rejected."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class BroadcastStatus(StrEnum):
    """An announcement: queueing (its messages are being put in the outbox) -> sending ->
    done | cancelled."""

    QUEUEING = "queueing"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class RsvpAnswer(StrEnum):
    GOING = "going"
    MAYBE = "maybe"
    NO = "no"
