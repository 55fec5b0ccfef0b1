"""Which crisis line to show a member, from data (`bot/locales/helplines.toml`)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

HELPLINES_FILE = Path(__file__).resolve().parent.parent / "locales" / "safety" / "helplines.toml"


@dataclass(frozen=True)
class Helplines:
    lines: dict[str, str]
    timezones: dict[str, str]

    def country_for(self, timezone: str | None, language_tag: str | None) -> str:
        if timezone and timezone in self.timezones:
            return self.timezones[timezone]
        if language_tag and "-" in language_tag:
            region = language_tag.split("-", 1)[1].upper()
            if region in self.lines:
                return region
        return "default"

    def for_member(self, timezone: str | None, language_tag: str | None) -> str:
        return self.lines.get(self.country_for(timezone, language_tag), self.lines["default"])


_installed: Helplines | None = None


def helplines() -> Helplines:
    """The crisis lines in use: the shipped ones, or the organisation's merged over them."""
    return _installed or shipped_helplines()


@lru_cache(maxsize=1)
def shipped_helplines(path: Path = HELPLINES_FILE) -> Helplines:
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    return Helplines(dict(data["lines"]), dict(data["timezones"]))


def install_helplines(lines: Helplines | None) -> None:
    """Use `lines` from now on (None: the shipped ones again). Set once, at start."""
    global _installed
    _installed = lines
