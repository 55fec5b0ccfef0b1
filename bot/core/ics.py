"""A meeting as an iCalendar (.ics) file, so members can put it in their own calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core.schedule import MeetingRule, Repeat, to_utc

_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    """RFC 5545: lines longer than 75 octets continue on the next line after a space."""
    out: list[str] = []
    current = ""
    for ch in line:
        if len((current + ch).encode()) > 75:
            out.append(current)
            current = " " + ch
        else:
            current += ch
    out.append(current)
    return "\r\n".join(out)


def meeting_ics(
    uid: str,
    title: str,
    place: str | None,
    rule: MeetingRule,
    duration: timedelta,
    stamp: datetime,
) -> str:
    local = rule.first_local
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//peerbot//meetings//EN",
        "CALSCALE:GREGORIAN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{stamp:%Y%m%dT%H%M%SZ}",
        f"SUMMARY:{_escape(title)}",
    ]
    if rule.repeat is Repeat.ONCE:
        start = to_utc(local, rule.timezone)
        lines += [f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{start + duration:%Y%m%dT%H%M%SZ}"]
    else:
        end = local + duration
        lines += [
            f"DTSTART;TZID={rule.timezone}:{local:%Y%m%dT%H%M%S}",
            f"DTEND;TZID={rule.timezone}:{end:%Y%m%dT%H%M%S}",
        ]
        day = _WEEKDAYS[local.weekday()]
        rrule = {
            Repeat.WEEKLY: f"FREQ=WEEKLY;BYDAY={day}",
            Repeat.BIWEEKLY: f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day}",
            Repeat.MONTHLY: f"FREQ=MONTHLY;BYDAY={rule.week_of_month}{day}",
        }[rule.repeat]
        lines.append(f"RRULE:{rrule}")
    if place:
        lines.append(f"LOCATION:{_escape(place)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
