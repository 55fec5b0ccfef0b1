"""Validation of what a member tells the bot about themselves: display name, timezone, language."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

NAME_MIN = 2
NAME_MAX = 32

# Letters, marks, digits, spaces, a few joiners, and emoji/symbols. Nothing that looks like
# markup, a mention or a command, so a name can never impersonate formatting or another user.
_NAME_FORBIDDEN = set('<>&"@/\\`*_[]{}|#')
_ALLOWED_CATEGORIES = ("L", "M", "N", "Zs", "So", "Sk", "Pd", "Pc", "Po", "Ps", "Pe")


@dataclass(frozen=True)
class Invalid:
    """Why an input was refused: a catalogue key and its parameters."""

    reason: str
    params: tuple[tuple[str, int | str], ...] = ()


def clean_display_name(raw: str) -> str | Invalid:
    """Return the normalised name, or why it is not acceptable."""
    name = unicodedata.normalize("NFC", raw)
    name = " ".join(name.split())
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in name):
        return Invalid("name.invalid_characters")
    for ch in name:
        if ch in _NAME_FORBIDDEN:
            return Invalid("name.invalid_characters")
        if not unicodedata.category(ch).startswith(_ALLOWED_CATEGORIES):
            return Invalid("name.invalid_characters")
    if len(name) < NAME_MIN or len(name) > NAME_MAX:
        return Invalid("name.bad_length", (("min", NAME_MIN), ("max", NAME_MAX)))
    if not any(unicodedata.category(ch)[0] in "LN" for ch in name):
        return Invalid("name.invalid_characters")
    return name


# A short list per region covers most members with two taps; anyone else types a city.
TIMEZONE_REGIONS: dict[str, tuple[str, ...]] = {
    "europe": (
        "Europe/London",
        "Europe/Dublin",
        "Europe/Lisbon",
        "Europe/Paris",
        "Europe/Berlin",
        "Europe/Madrid",
        "Europe/Rome",
        "Europe/Warsaw",
        "Europe/Athens",
        "Europe/Helsinki",
        "Europe/Kyiv",
        "Europe/Istanbul",
    ),
    "americas": (
        "America/New_York",
        "America/Chicago",
        "America/Denver",
        "America/Los_Angeles",
        "America/Anchorage",
        "Pacific/Honolulu",
        "America/Toronto",
        "America/Mexico_City",
        "America/Bogota",
        "America/Sao_Paulo",
        "America/Argentina/Buenos_Aires",
        "America/Santiago",
    ),
    "africa": (
        "Africa/Lagos",
        "Africa/Cairo",
        "Africa/Johannesburg",
        "Africa/Nairobi",
        "Africa/Casablanca",
        "Africa/Accra",
    ),
    "asia": (
        "Asia/Dubai",
        "Asia/Kolkata",
        "Asia/Dhaka",
        "Asia/Bangkok",
        "Asia/Singapore",
        "Asia/Shanghai",
        "Asia/Hong_Kong",
        "Asia/Tokyo",
        "Asia/Seoul",
        "Asia/Manila",
        "Asia/Jakarta",
        "Asia/Karachi",
    ),
    "oceania": (
        "Australia/Perth",
        "Australia/Adelaide",
        "Australia/Brisbane",
        "Australia/Sydney",
        "Pacific/Auckland",
        "Pacific/Fiji",
    ),
}


@lru_cache(maxsize=1)
def _zones_by_city() -> dict[str, str]:
    """Lower-cased city (last path element, spaces for underscores) -> IANA name."""
    index: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if "/" not in zone or zone.startswith(("Etc/", "SystemV/", "posix/", "right/")):
            continue
        city = zone.rsplit("/", 1)[1].replace("_", " ").lower()
        index.setdefault(city, zone)
    return index


_ZONE_TEXT = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-/ .']{1,63}$")


def resolve_timezone(raw: str) -> str | Invalid:
    """Accept an IANA name ("Europe/London") or a city ("london", "New York")."""
    text = " ".join(raw.split())
    if not _ZONE_TEXT.match(text):
        return Invalid("timezone.unknown")
    candidate = text.replace(" ", "_")
    if "/" in candidate:
        for zone in available_timezones():
            if zone.lower() == candidate.lower():
                return zone
        return Invalid("timezone.unknown")
    by_city = _zones_by_city().get(text.lower())
    return by_city if by_city is not None else Invalid("timezone.unknown")


def is_valid_timezone(name: str) -> bool:
    if len(name) > 64:  # no zone name is this long; a huge one makes the file lookup fail
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


# The languages the message catalogue ships (bot/locales/<code>/); a test keeps them equal.
SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "es")
# The catalogue's source language: every text exists in it.
DEFAULT_LANGUAGE = "en"


def language_from_telegram(code: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """Telegram gives IETF tags such as "es-MX"; the catalogue's language for it ("es"), else
    `default` (the organisation's language)."""
    if not code:
        return default
    base = code.split("-", 1)[0].lower()
    return base if base in SUPPORTED_LANGUAGES else default


GROUP_NAME_MIN = 3
GROUP_NAME_MAX = 64


def clean_group_name(raw: str) -> str | Invalid:
    name = " ".join(unicodedata.normalize("NFC", raw).split())
    if len(name) < GROUP_NAME_MIN or len(name) > GROUP_NAME_MAX:
        return Invalid("groups.name_invalid", (("min", GROUP_NAME_MIN), ("max", GROUP_NAME_MAX)))
    if any(unicodedata.category(ch)[0] == "C" for ch in name) or set(name) & set("<>"):
        return Invalid("groups.name_invalid", (("min", GROUP_NAME_MIN), ("max", GROUP_NAME_MAX)))
    return name
