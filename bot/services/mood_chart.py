"""The member's own mood over time, as a PNG chart (rendered off-screen with matplotlib)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import mean


@dataclass(frozen=True)
class MoodSummary:
    count: int
    average_30: float | None
    average_90: float | None
    trend: str  # "up" | "down" | "steady" | "unknown"


def summarise(points: list[tuple[datetime, int]], now: datetime) -> MoodSummary:
    last_30 = [m for at, m in points if at >= now - timedelta(days=30)]
    last_90 = [m for at, m in points if at >= now - timedelta(days=90)]
    trend = "unknown"
    if len(last_30) >= 4:
        half = len(last_30) // 2
        delta = mean(last_30[half:]) - mean(last_30[:half])
        trend = "up" if delta >= 0.5 else "down" if delta <= -0.5 else "steady"
    return MoodSummary(
        count=len(last_90),
        average_30=mean(last_30) if last_30 else None,
        average_90=mean(last_90) if last_90 else None,
        trend=trend,
    )


def render_chart(points: list[tuple[datetime, int]], now: datetime, title: str) -> bytes:
    """Two panels, the last 30 and the last 90 days; returns PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(2, 1, figsize=(7, 6), dpi=100)
    try:
        for ax, days in zip(axes, (30, 90), strict=True):
            since = now - timedelta(days=days)
            shown = [(at, m) for at, m in points if at >= since]
            ax.set_xlim(since, now)
            ax.set_ylim(0.5, 5.5)
            ax.set_yticks([1, 2, 3, 4, 5])
            ax.grid(alpha=0.3)
            ax.set_title(f"{title} — last {days} days", fontsize=10)
            if shown:
                ax.plot([a for a, _ in shown], [m for _, m in shown], marker="o", color="#4a7bb7")
        figure.autofmt_xdate()
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
