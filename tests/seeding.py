"""Rows that tests and benchmarks put in the database directly, where going through the bot
for each would only make them slower (a 10,000-member group, a meeting already due)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage.models import Meeting


def weekly_meeting_due_now(group_id: int, title: str) -> Meeting:
    """A weekly meeting starting in an hour, whose one-hour reminder is due now."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now + timedelta(hours=1)
    return Meeting(
        group_id=group_id, title=title,
        first_local=start.replace(tzinfo=None).isoformat(timespec="minutes"),
        timezone="UTC", repeat="weekly", duration_minutes=60, created_by=None,
        next_reminder_at=now - timedelta(seconds=1), next_reminder_occurrence=start,
        next_reminder_offset_minutes=60,
    )  # fmt: skip
