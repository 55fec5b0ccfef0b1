"""Occurrences, reminders and check-ins across timezones and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.core.schedule import (
    CheckinRule,
    Due,
    MeetingRule,
    Repeat,
    Rhythm,
    checkin_due,
    next_checkin,
    next_occurrence,
    nth_weekday_of,
    occurrences_between,
    reminder_due,
    to_local,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekly_meeting_keeps_local_time_across_spring_forward_in_london() -> None:
    # Tuesdays 19:00 London; clocks go forward on Sunday 29 March 2026.
    rule = MeetingRule(datetime(2026, 3, 17, 19, 0), "Europe/London", Repeat.WEEKLY)
    got = occurrences_between(rule, utc(2026, 3, 16), utc(2026, 4, 1))
    assert got == [utc(2026, 3, 17, 19), utc(2026, 3, 24, 19), utc(2026, 3, 31, 18)]
    assert all(to_local(t, "Europe/London").hour == 19 for t in got)


def test_weekly_meeting_across_fall_back_in_london() -> None:
    # Clocks go back on Sunday 25 October 2026.
    rule = MeetingRule(datetime(2026, 10, 20, 19, 0), "Europe/London", Repeat.WEEKLY)
    got = occurrences_between(rule, utc(2026, 10, 19), utc(2026, 11, 1))
    assert got == [utc(2026, 10, 20, 18), utc(2026, 10, 27, 19)]


def test_new_york_march_and_november_changes() -> None:
    # US clocks: forward on 8 March 2026, back on 1 November 2026.
    rule = MeetingRule(datetime(2026, 3, 5, 18, 30), "America/New_York", Repeat.WEEKLY)
    march = occurrences_between(rule, utc(2026, 3, 1), utc(2026, 3, 13))
    assert march == [utc(2026, 3, 5, 23, 30), utc(2026, 3, 12, 22, 30)]
    autumn = MeetingRule(datetime(2026, 10, 29, 18, 30), "America/New_York", Repeat.WEEKLY)
    november = occurrences_between(autumn, utc(2026, 10, 28), utc(2026, 11, 6))
    assert november == [utc(2026, 10, 29, 22, 30), utc(2026, 11, 5, 23, 30)]


def test_a_time_skipped_by_spring_forward_moves_forward_by_the_gap() -> None:
    # 01:30 does not exist in London on 29 March 2026 (01:00 -> 02:00).
    rule = MeetingRule(datetime(2026, 3, 29, 1, 30), "Europe/London", Repeat.ONCE)
    moment = next_occurrence(rule, utc(2026, 3, 1))
    assert moment == utc(2026, 3, 29, 1, 30)
    assert to_local(moment, "Europe/London").hour == 2  # 02:30 BST


def test_an_ambiguous_time_in_autumn_is_the_first_one() -> None:
    rule = MeetingRule(datetime(2026, 10, 25, 1, 30), "Europe/London", Repeat.ONCE)
    assert next_occurrence(rule, utc(2026, 10, 1)) == utc(2026, 10, 25, 0, 30)


def test_facilitator_and_member_in_different_timezones_see_the_same_instant() -> None:
    rule = MeetingRule(datetime(2026, 3, 10, 19, 0), "Europe/London", Repeat.WEEKLY)
    moment = next_occurrence(rule, utc(2026, 3, 9))
    assert moment is not None
    assert to_local(moment, "America/New_York").strftime("%H:%M") == "15:00"
    # After London's change (29 March) but New York changed already (8 March): 14:00 vs 15:00.
    later = next_occurrence(rule, utc(2026, 3, 30))
    assert later is not None
    assert to_local(later, "America/New_York").strftime("%H:%M") == "14:00"


def test_biweekly_and_once() -> None:
    rule = MeetingRule(datetime(2026, 1, 6, 10, 0), "UTC", Repeat.BIWEEKLY)
    assert occurrences_between(rule, utc(2026, 1, 1), utc(2026, 2, 4)) == [
        utc(2026, 1, 6, 10),
        utc(2026, 1, 20, 10),
        utc(2026, 2, 3, 10),
    ]
    once = MeetingRule(datetime(2026, 1, 6, 10, 0), "UTC", Repeat.ONCE)
    assert next_occurrence(once, utc(2026, 1, 6, 10)) is None
    assert next_occurrence(once, utc(2026, 1, 6, 9)) == utc(2026, 1, 6, 10)


def test_monthly_on_the_nth_weekday() -> None:
    # Second Thursday of the month, 18:00 Berlin.
    rule = MeetingRule(datetime(2026, 1, 8, 18, 0), "Europe/Berlin", Repeat.MONTHLY, nth=2)
    got = occurrences_between(rule, utc(2026, 1, 1), utc(2026, 4, 30))
    days = [to_local(t, "Europe/Berlin").date().isoformat() for t in got]
    assert days == ["2026-01-08", "2026-02-12", "2026-03-12", "2026-04-09"]
    assert all(to_local(t, "Europe/Berlin").hour == 18 for t in got)


def test_monthly_on_the_last_weekday() -> None:
    assert nth_weekday_of(datetime(2026, 1, 29).date()) == -1  # fifth Thursday = last
    rule = MeetingRule(datetime(2026, 1, 29, 18, 0), "UTC", Repeat.MONTHLY)
    got = occurrences_between(rule, utc(2026, 1, 1), utc(2026, 3, 31))
    assert [t.day for t in got] == [29, 26, 26]


def test_reminders_are_late_rather_than_never_but_never_after_the_meeting() -> None:
    meeting = utc(2026, 5, 5, 19)
    hour = timedelta(hours=1)
    assert reminder_due(meeting, hour, utc(2026, 5, 5, 17, 59)) is Due.NOT_YET
    assert reminder_due(meeting, hour, utc(2026, 5, 5, 18)) is Due.SEND
    assert reminder_due(meeting, timedelta(hours=24), utc(2026, 5, 5, 18, 30)) is Due.SEND
    assert reminder_due(meeting, hour, utc(2026, 5, 5, 19)) is Due.SKIP


def test_daily_checkin_follows_local_time_across_dst() -> None:
    rule = CheckinRule(Rhythm.DAILY, time(20, 0), "Europe/London")
    assert next_checkin(rule, utc(2026, 3, 28, 21)) == utc(2026, 3, 29, 19)
    assert next_checkin(rule, utc(2026, 3, 27, 12)) == utc(2026, 3, 27, 20)


def test_weekly_checkin_and_off() -> None:
    rule = CheckinRule(Rhythm.WEEKLY, time(9, 0), "America/New_York", weekday=0)
    moment = next_checkin(rule, utc(2026, 11, 24, 12))  # a Tuesday
    assert moment == utc(2026, 11, 30, 14)
    assert next_checkin(CheckinRule(Rhythm.OFF, time(9), "UTC"), utc(2026, 1, 1)) is None


def test_missed_checkins_are_skipped_not_flooded() -> None:
    scheduled = utc(2026, 1, 1, 9)
    assert checkin_due(scheduled, utc(2026, 1, 1, 8)) is Due.NOT_YET
    assert checkin_due(scheduled, utc(2026, 1, 1, 10)) is Due.SEND
    assert checkin_due(scheduled, utc(2026, 1, 2, 9)) is Due.SKIP


def test_naive_datetimes_are_refused() -> None:
    rule = MeetingRule(datetime(2026, 1, 6, 10, 0), "UTC", Repeat.WEEKLY)
    with pytest.raises(ValueError, match="naive"):
        next_occurrence(rule, datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="wall-clock"):
        MeetingRule(utc(2026, 1, 6), "UTC", Repeat.WEEKLY)


def test_reminder_slots_walk_every_offset_of_every_occurrence() -> None:
    from bot.core.schedule import DEFAULT_REMINDER_OFFSETS, next_reminder_slot

    rule = MeetingRule(datetime(2026, 3, 24, 19, 0), "Europe/London", Repeat.WEEKLY)
    after = utc(2026, 3, 20)
    slots = []
    for _ in range(4):
        slot = next_reminder_slot(rule, DEFAULT_REMINDER_OFFSETS, after)
        assert slot is not None
        slots.append((slot.due, slot.occurrence))
        after = slot.due
    assert slots == [
        (utc(2026, 3, 23, 19), utc(2026, 3, 24, 19)),
        (utc(2026, 3, 24, 18), utc(2026, 3, 24, 19)),
        # After the clocks change on 29 March: 19:00 BST is 18:00 UTC.
        (utc(2026, 3, 30, 18), utc(2026, 3, 31, 18)),
        (utc(2026, 3, 31, 17), utc(2026, 3, 31, 18)),
    ]
    once = MeetingRule(datetime(2026, 3, 24, 19, 0), "UTC", Repeat.ONCE)
    assert next_reminder_slot(once, DEFAULT_REMINDER_OFFSETS, utc(2026, 3, 24, 18)) is None


def test_typed_meeting_times() -> None:
    from datetime import date

    from bot.core.profile import Invalid
    from bot.core.when import parse_local_datetime

    today = date(2026, 11, 24)
    assert parse_local_datetime("2026-12-01 19:00", today) == datetime(2026, 12, 1, 19, 0)
    assert parse_local_datetime("1.12.2026 7:30", today) == datetime(2026, 12, 1, 7, 30)
    assert parse_local_datetime("1 Dec 19:00", today) == datetime(2026, 12, 1, 19, 0)
    assert parse_local_datetime("3 March 18.30", today) == datetime(2027, 3, 3, 18, 30)
    assert parse_local_datetime("tomorrow 18:30", today) == datetime(2026, 11, 25, 18, 30)
    for bad in ("31 Feb 10:00", "2026-13-01 10:00", "next week", "25:00", "1 Foo 10:00", ""):
        assert isinstance(parse_local_datetime(bad, today), Invalid), bad


def test_ics_for_a_monthly_meeting() -> None:
    from bot.core.ics import meeting_ics

    rule = MeetingRule(datetime(2026, 1, 8, 18, 0), "Europe/Berlin", Repeat.MONTHLY)
    ics = meeting_ics(
        "m1@peerbot",
        "Talk; coffee, cake",
        "Room 4\nfloor 2",
        rule,
        timedelta(minutes=90),
        utc(2026, 1, 1),
    )
    assert "DTSTART;TZID=Europe/Berlin:20260108T180000\r\n" in ics
    assert "DTEND;TZID=Europe/Berlin:20260108T193000\r\n" in ics
    assert "RRULE:FREQ=MONTHLY;BYDAY=2TH\r\n" in ics
    assert "SUMMARY:Talk\\; coffee\\, cake" in ics
    assert "LOCATION:Room 4\\nfloor 2" in ics
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
