"""The member's mood chart and its one-line summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.services.mood_chart import render_chart, summarise

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_chart_is_a_png_with_both_periods() -> None:
    points = [(NOW - timedelta(days=d), 1 + d % 5) for d in range(0, 80, 3)]
    png = render_chart(points, NOW, "Your mood")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(png) > 5_000


def test_summary_reads_the_trend() -> None:
    rising = [(NOW - timedelta(days=20 - i), 1 + i // 2) for i in range(8)]
    summary = summarise(rising, NOW)
    assert summary.trend == "up" and summary.count == 8
    assert summarise([], NOW).average_30 is None
    flat = [(NOW - timedelta(days=i), 3) for i in range(6)]
    assert summarise(flat, NOW).trend == "steady"
