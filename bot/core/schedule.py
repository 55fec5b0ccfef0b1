"""When things happen: meeting occurrences, reminders and check-in prompts.

Meetings repeat in *wall-clock* time where they are held ("Tuesdays at 19:00 in London"), so
each occurrence is computed as a local date and time and only then turned into UTC with
`zoneinfo`: across a daylight-saving change the meeting stays at 19:00 local, and its UTC time
moves. A local time that does not exist (the hour skipped in spring) is read with the offset in
force before the change, i.e. it moves forward by the gap; an ambiguous local time (the hour
repeated in autumn) is its first occurrence.

All functions take and return timezone-aware UTC datetimes, apart from the explicitly local
`first_local` / `at_local` arguments.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Repeat(StrEnum):
    ONCE = "once"
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"  # on the n-th weekday of the month (n = 1..4, or -1 for the last)


@dataclass(frozen=True)
class MeetingRule:
    first_local: datetime  # naive: the first occurrence's wall-clock date and time
    timezone: str
    repeat: Repeat
    # For MONTHLY: which weekday of the month; derived from first_local when None.
    nth: int | None = None

    def __post_init__(self) -> None:
        if self.first_local.tzinfo is not None:
            raise ValueError("first_local is a wall-clock time: pass it without tzinfo")
        if self.nth is not None and self.nth not in (1, 2, 3, 4, -1):
            raise ValueError("nth must be 1-4 or -1")

    @property
    def week_of_month(self) -> int:
        return self.nth if self.nth is not None else nth_weekday_of(self.first_local.date())


def to_utc(local: datetime, timezone: str) -> datetime:
    """A naive wall-clock time in `timezone` as UTC (see the module docstring for DST gaps)."""
    return local.replace(tzinfo=ZoneInfo(timezone), fold=0).astimezone(UTC)


def to_local(moment: datetime, timezone: str) -> datetime:
    _require_aware(moment)
    return moment.astimezone(ZoneInfo(timezone))


def nth_weekday_of(day: date) -> int:
    """1 for the first Tuesday of its month, ..., 4; -1 for a 5th (i.e. the last) one."""
    n = (day.day - 1) // 7 + 1
    return -1 if n == 5 else n


def _nth_weekday_in_month(year: int, month: int, weekday: int, nth: int) -> date | None:
    if nth == -1:
        last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))
    return day if day.month == month else None


def _local_occurrences(rule: MeetingRule, from_day: date) -> list[datetime]:
    """Candidate local occurrences starting near `from_day` (a small window, in order)."""
    first = rule.first_local
    if rule.repeat is Repeat.ONCE:
        return [first]
    if rule.repeat in (Repeat.WEEKLY, Repeat.BIWEEKLY):
        step = 7 if rule.repeat is Repeat.WEEKLY else 14
        days_since = max(0, (from_day - first.date()).days)
        k = days_since // step
        return [first + timedelta(days=step * (k + i)) for i in range(3)]
    # Monthly on the n-th weekday.
    start = max(from_day, first.date())
    results: list[datetime] = []
    year, month = start.year, start.month
    for _ in range(3):
        day = _nth_weekday_in_month(year, month, first.weekday(), rule.week_of_month)
        if day is not None:
            results.append(datetime.combine(day, first.time()))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return [r for r in results if r >= first]


def next_occurrence(rule: MeetingRule, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after` (UTC), or None when there is none."""
    _require_aware(after)
    local_after = to_local(after, rule.timezone).date() - timedelta(days=1)
    for _ in range(24):  # at most a couple of years of monthly gaps
        candidates = _local_occurrences(rule, local_after)
        for local in candidates:
            moment = to_utc(local, rule.timezone)
            if moment > after:
                return moment
        if rule.repeat is Repeat.ONCE or not candidates:
            return None
        local_after = candidates[-1].date() + timedelta(days=1)
    return None


def occurrences_between(rule: MeetingRule, start: datetime, end: datetime) -> list[datetime]:
    """Occurrences with start < t <= end, in order."""
    found: list[datetime] = []
    cursor = start
    while (moment := next_occurrence(rule, cursor)) is not None and moment <= end:
        found.append(moment)
        cursor = moment
    return found


DEFAULT_REMINDER_OFFSETS = (timedelta(hours=24), timedelta(hours=1))


class Due(StrEnum):
    NOT_YET = "not_yet"
    SEND = "send"  # due now, or late but still useful
    SKIP = "skip"  # the moment it was about has passed: sending now would only confuse


def reminder_due(
    occurrence: datetime,
    offset: timedelta,
    now: datetime,
    offsets: tuple[timedelta, ...] = (),
) -> Due:
    """Whether the reminder `offset` before `occurrence` should go out at `now`.

    After downtime a reminder is sent late rather than never, as long as the meeting is still
    ahead; a reminder for a meeting that has already started is skipped, and so is one that a
    closer reminder (another of `offsets`, also due by now) supersedes.
    """
    _require_aware(occurrence, now)
    if now < occurrence - offset:
        return Due.NOT_YET
    if now >= occurrence:
        return Due.SKIP
    if any(other < offset and now >= occurrence - other for other in offsets):
        return Due.SKIP
    return Due.SEND


class Rhythm(StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"


@dataclass(frozen=True)
class CheckinRule:
    rhythm: Rhythm
    at_local: time  # naive wall-clock time
    timezone: str
    weekday: int = 0  # Monday = 0, for WEEKLY

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")


def next_checkin(rule: CheckinRule, after: datetime) -> datetime | None:
    """The first check-in prompt strictly after `after` (UTC)."""
    _require_aware(after)
    if rule.rhythm is Rhythm.OFF:
        return None
    day = to_local(after, rule.timezone).date() - timedelta(days=1)
    for _ in range(16):
        if rule.rhythm is Rhythm.DAILY or day.weekday() == rule.weekday:
            moment = to_utc(datetime.combine(day, rule.at_local), rule.timezone)
            if moment > after:
                return moment
        day += timedelta(days=1)
    return None  # pragma: no cover - a week always has the weekday


# A prompt this late is still welcome; later than this, it is skipped (not flooded).
CHECKIN_GRACE = timedelta(hours=2)


def checkin_due(scheduled: datetime, now: datetime) -> Due:
    _require_aware(scheduled, now)
    if now < scheduled:
        return Due.NOT_YET
    return Due.SEND if now - scheduled <= CHECKIN_GRACE else Due.SKIP


def _require_aware(*moments: datetime) -> None:
    for moment in moments:
        if moment.tzinfo is None:
            raise ValueError("naive datetime: pass timezone-aware UTC times")


@dataclass(frozen=True)
class ReminderSlot:
    due: datetime  # when the reminder goes out
    occurrence: datetime  # the meeting it is about
    offset: timedelta


def next_reminder_slot(
    rule: MeetingRule, offsets: tuple[timedelta, ...], after: datetime
) -> ReminderSlot | None:
    """The first reminder due strictly after `after`, over every offset and occurrence."""
    best: ReminderSlot | None = None
    for offset in offsets:
        occurrence = next_occurrence(rule, after + offset)
        if occurrence is None:
            continue
        slot = ReminderSlot(occurrence - offset, occurrence, offset)
        if best is None or (slot.due, -slot.offset) < (best.due, -best.offset):
            best = slot
    return best


def format_local(moment: datetime, timezone: str) -> str:
    """A moment as a member reads it in their own timezone: "Tue 24 Mar, 19:00"."""
    return to_local(moment, timezone).strftime("%a %d %b, %H:%M")
