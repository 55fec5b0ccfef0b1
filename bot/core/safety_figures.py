"""How the safety path is doing, in figures a coordinator can act on: how many escalations, how
fast someone acknowledged the urgent ones, how often nobody did in time (a re-alert), what is
still open, and how often the member said it was not what they meant (a false alarm, by their own
word). Pure: the service reads the facts, this counts them."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.statuses import EscalationLevel, EscalationStatus

# The false-alarm figure is monthly, so months compare with each other whatever period is asked.
FALSE_ALARM_DAYS = 30


@dataclass(frozen=True)
class EscalationFacts:
    level: str  # "urgent" | "concern"
    status: str  # "open" | "acknowledged" | "resolved"
    created_at: datetime
    acknowledged_at: datetime | None
    realerts: int
    # When the member pressed "That's not what I meant" under the crisis reply, if they did.
    not_meant_at: datetime | None = None


@dataclass(frozen=True)
class SafetyFigures:
    days: int
    total: int
    urgent: int
    concern: int
    resolved: int
    # Urgent escalations someone acknowledged, and the median and slowest time it took.
    acknowledged: int
    median_to_acknowledge: timedelta | None
    slowest_to_acknowledge: timedelta | None
    # Urgent escalations nobody acknowledged before the first re-alert.
    realerted: int
    open_now: int
    # The oldest urgent escalation still waiting for anyone to acknowledge it.
    oldest_unacknowledged: timedelta | None
    # Over the last FALSE_ALARM_DAYS whatever the period: urgent escalations, and how many of
    # them the member said were not what they meant.
    urgent_lately: int = 0
    not_meant: int = 0
    false_alarm_days: int = FALSE_ALARM_DAYS


def safety_figures(facts: Sequence[EscalationFacts], now: datetime, days: int) -> SafetyFigures:
    """Counts over the escalations made in the last `days` days; what is open now over every
    escalation given (the service also passes older ones still open, and every one of the last
    FALSE_ALARM_DAYS)."""
    since = now - timedelta(days=days)
    recent = [f for f in facts if f.created_at >= since]
    urgent = [f for f in recent if f.level == EscalationLevel.URGENT]
    waits = sorted(
        f.acknowledged_at - f.created_at for f in urgent if f.acknowledged_at is not None
    )
    month = now - timedelta(days=FALSE_ALARM_DAYS)
    lately = [f for f in facts if f.level == EscalationLevel.URGENT and f.created_at >= month]
    waiting = [
        now - f.created_at
        for f in facts
        if f.level == EscalationLevel.URGENT
        and f.acknowledged_at is None
        and f.status == EscalationStatus.OPEN
    ]
    return SafetyFigures(
        days=days,
        total=len(recent),
        urgent=len(urgent),
        concern=len(recent) - len(urgent),
        resolved=sum(1 for f in recent if f.status == EscalationStatus.RESOLVED),
        acknowledged=len(waits),
        median_to_acknowledge=_median(waits),
        slowest_to_acknowledge=waits[-1] if waits else None,
        realerted=sum(1 for f in urgent if f.realerts > 0),
        open_now=sum(1 for f in facts if f.status != EscalationStatus.RESOLVED),
        oldest_unacknowledged=max(waiting) if waiting else None,
        urgent_lately=len(lately),
        not_meant=sum(1 for f in lately if f.not_meant_at is not None),
        false_alarm_days=FALSE_ALARM_DAYS,
    )


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))
