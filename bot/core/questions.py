"""Rules for anonymous questions and announcements (pure: no Telegram, no database)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

# Longest question or follow-up a member may send (the post adds a short header).
MAX_QUESTION_CHARS = 1500
# Questions one member may have waiting (for a facilitator, or for their posting time) at once.
MAX_WAITING_QUESTIONS = 3
# Longest announcement, as typed (its HTML may be longer; Telegram's limit is 4096).
MAX_BROADCAST_CHARS = 3500
MAX_BROADCAST_HTML = 3900
# Longest reason a facilitator may give for not posting a question.
MAX_REASON_CHARS = 500


def posting_delay(
    bounds: tuple[int, int], randbelow: Callable[[int], int] = secrets.randbelow
) -> timedelta:
    """A random delay between bounds (seconds), so when a question appears in the group does
    not tell anyone who was typing a moment ago."""
    low, high = bounds
    return timedelta(seconds=low + randbelow(high - low + 1))


def clean_question(raw: str) -> str:
    """The question as typed, without leading/trailing blank space (inner spacing kept)."""
    return raw.strip()


@dataclass(frozen=True)
class BroadcastProgress:
    total: int
    delivered: int
    blocked: int  # blocked the bot, or left Telegram
    failed: int  # refused by Telegram, or its delivery could not be confirmed
    cancelled: int
    waiting: int  # not yet sent

    @property
    def settled(self) -> bool:
        return self.waiting == 0

    @property
    def handled(self) -> int:
        return self.delivered + self.blocked + self.failed


def broadcast_progress(counts: Mapping[str, int], total: int) -> BroadcastProgress:
    """Outbox row counts by status (one broadcast's batch) as what the author is shown."""
    return BroadcastProgress(
        total=total,
        delivered=counts.get("sent", 0),
        blocked=counts.get("unreachable", 0),
        failed=counts.get("failed", 0) + counts.get("ambiguous", 0),
        cancelled=counts.get("cancelled", 0),
        waiting=counts.get("pending", 0) + counts.get("sending", 0),
    )
