"""The safety path's figures, counted from the facts of each escalation (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.safety_figures import EscalationFacts, safety_figures

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _esc(
    level: str, status: str, days_ago: float, ack_after_min: float | None, realerts: int = 0
) -> EscalationFacts:
    created = NOW - timedelta(days=days_ago)
    acked = created + timedelta(minutes=ack_after_min) if ack_after_min is not None else None
    return EscalationFacts(level, status, created, acked, realerts)


def test_a_month_of_escalations_in_figures() -> None:
    facts = [
        _esc("urgent", "resolved", 2, 3),
        _esc("urgent", "resolved", 5, 12, realerts=2),
        _esc("urgent", "acknowledged", 1, 1),
        _esc("urgent", "open", 0.01, None, realerts=1),  # 14 minutes, nobody yet
        _esc("concern", "open", 3, None),
        _esc("urgent", "resolved", 45, 2),  # before the period: not counted
        _esc("urgent", "open", 40, None, realerts=9),  # before, but still open: counted as open
    ]
    figures = safety_figures(facts, NOW, days=30)
    assert (figures.total, figures.urgent, figures.concern, figures.resolved) == (5, 4, 1, 2)
    assert figures.acknowledged == 3
    assert figures.median_to_acknowledge == timedelta(minutes=3)
    assert figures.slowest_to_acknowledge == timedelta(minutes=12)
    assert figures.realerted == 2
    assert figures.open_now == 4  # acknowledged is still open until resolved
    assert figures.oldest_unacknowledged == timedelta(days=40)


def test_a_quiet_month_has_no_times_to_show() -> None:
    figures = safety_figures([], NOW, days=30)
    assert figures.total == figures.open_now == 0
    assert figures.median_to_acknowledge is None and figures.oldest_unacknowledged is None


def test_false_alarms_by_the_members_word_are_counted_over_the_last_month() -> None:
    said = NOW - timedelta(days=1)
    facts = [
        EscalationFacts("urgent", "resolved", NOW - timedelta(days=2), None, 0, said),
        EscalationFacts("urgent", "open", NOW - timedelta(days=3), None, 1, said),  # still open
        _esc("urgent", "resolved", 10, 4),
        EscalationFacts("urgent", "resolved", NOW - timedelta(days=40), None, 0, said),  # older
    ]
    for days in (7, 30, 90):  # the same monthly figure whatever period is asked
        figures = safety_figures(facts, NOW, days=days)
        assert (figures.not_meant, figures.urgent_lately, figures.false_alarm_days) == (2, 3, 30)
    assert safety_figures(facts, NOW, days=90).urgent == 4
