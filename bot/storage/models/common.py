"""What every table module shares."""

from __future__ import annotations

from datetime import datetime

from bot.core import clock


def utcnow() -> datetime:
    return clock.now()
