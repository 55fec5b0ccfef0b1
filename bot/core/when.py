"""Reading a date and time as a facilitator types it ("2026-12-01 19:00", "1 Dec 19:00",
"tomorrow 18:30")."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from bot.core.profile import Invalid

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for name in names
}
_TIME = r"(?P<h>\d{1,2})[:.](?P<m>\d{2})"
_ISO = re.compile(rf"^(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}})[ T]{_TIME}$")
_DOTTED = re.compile(rf"^(?P<d>\d{{1,2}})\.(?P<mo>\d{{1,2}})\.(?P<y>\d{{4}}) {_TIME}$")
_NAMED = re.compile(rf"^(?P<d>\d{{1,2}}) (?P<mon>[a-z]+)\.?(?: (?P<y>\d{{4}}))? {_TIME}$")
_RELATIVE = re.compile(rf"^(?P<rel>today|tomorrow) {_TIME}$")


def parse_local_datetime(raw: str, today: date) -> datetime | Invalid:
    """A naive local date and time, or why it could not be read."""
    text = " ".join(raw.lower().replace(",", " ").split())
    try:
        if (m := _ISO.match(text)) or (m := _DOTTED.match(text)):
            day = date(int(m["y"]), int(m["mo"]), int(m["d"]))
        elif m := _NAMED.match(text):
            month = _MONTHS.get(m["mon"])
            if month is None:
                return Invalid("meetings.bad_when")
            year = int(m["y"]) if m["y"] else today.year
            day = date(year, month, int(m["d"]))
            if not m["y"] and day < today:
                day = date(year + 1, month, int(m["d"]))
        elif m := _RELATIVE.match(text):
            day = today + timedelta(days=1 if m["rel"] == "tomorrow" else 0)
        else:
            return Invalid("meetings.bad_when")
        return datetime.combine(day, time(int(m["h"]), int(m["m"])))
    except ValueError:  # 31 February, 25:00 ...
        return Invalid("meetings.bad_when")
