"""The current time, in one place, so tests can move it (meetings, reminders, check-ins)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


def _system() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system


def now() -> datetime:
    """Timezone-aware UTC now."""
    return _source()


def set_clock(source: Callable[[], datetime] | None) -> None:
    """Use `source` for the time (None: the system clock again)."""
    global _source
    _source = source or _system
