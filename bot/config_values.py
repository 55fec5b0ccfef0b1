"""How a configuration variable's text becomes a value (bot/settings.py declares them): each
parser returns the value or raises a `ConfigError` naming the variable, in one line."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from pydantic import Field


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message is one line for the operator."""

    def __init__(self, variable: str, problem: str, example: str) -> None:
        super().__init__(f"{variable}: {problem} (example: {variable}={example})")
        self.variable = variable

    @classmethod
    def plain(cls, line: str) -> ConfigError:
        """A finding about a file the configuration names (it says which, and where)."""
        error = cls.__new__(cls)
        Exception.__init__(error, line)
        error.variable = line.split(":", 1)[0]
        return error


@dataclass(frozen=True)
class Variable:
    """An environment variable: its default as an operator writes it ("": unset), which is
    also the example an error shows unless one is given, and how its text becomes a value."""

    name: str
    default: str
    parse: Callable[[str, Variable], Any]
    example: str = ""

    def error(self, problem: str) -> ConfigError:
        return ConfigError(self.name, problem, self.example or self.default)


VARIABLES: dict[str, Variable] = {}


def env(
    name: str,
    default: str,
    parse: Callable[[str, Variable], Any] | None = None,
    *,
    example: str = "",
    secret: bool = False,
) -> Any:
    """Declare the field read from variable `name` (without `parse`: its text, or None)."""
    VARIABLES[name] = Variable(name, default, parse or text, example)
    return Field(validation_alias=name, repr=not secret)


def text(value: str, _: Variable) -> str | None:
    return value or None


def whole(low: int, high: int, problem: str) -> Callable[[str, Variable], int]:
    def parse(value: str, variable: Variable) -> int:
        if not value.isdigit() or not low <= int(value) <= high:
            raise variable.error(problem)
        return int(value)

    return parse


def one_of(*choices: str, problem: str, case: Callable[[str], str] = str.lower) -> Any:
    def parse(value: str, variable: Variable) -> str:
        if case(value) not in choices:
            raise variable.error(problem)
        return case(value)

    return parse


def flag(true: str, false: str) -> Callable[[str, Variable], bool]:
    def parse(value: str, variable: Variable) -> bool:
        if value.lower() not in (true, false):
            raise variable.error(f"must be {true} or {false}")
        return value.lower() == true

    return parse


def yes(value: str, variable: Variable) -> bool:
    if value.lower() in ("true", "yes", "on", "1"):
        return True
    if value.lower() in ("false", "no", "off", "0"):
        return False
    raise variable.error("must be true or false")


days = whole(1, 3650, "must be 1 to 3650 days")


def chat_id(value: str, variable: Variable) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise variable.error("must be a chat id (a whole number)") from None


def seconds(value: str, variable: Variable) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0.05 <= seconds <= 3600:
        raise variable.error("must be a number of seconds")
    return seconds


def delay(value: str, variable: Variable) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,5})\s*-\s*(\d{1,5})", value)
    if match is None or int(match[1]) > int(match[2]):
        raise variable.error("must be a range of seconds, low-high")
    return int(match[1]), int(match[2])


def config_dir(value: str, variable: Variable) -> Path | None:
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_dir():
        raise variable.error("must be a directory that exists")
    return path


def offsets(value: str, variable: Variable) -> tuple[timedelta, ...]:
    offsets: list[timedelta] = []
    for part in value.split(","):
        match = re.fullmatch(r"\s*(\d{1,4})\s*([mhd])\s*", part)
        if match is None:
            raise variable.error("must be durations like 24h, 1h or 30m")
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        offsets.append(timedelta(**{unit: int(match.group(1))}))
    if not offsets or any(o <= timedelta(0) or o > timedelta(days=14) for o in offsets):
        raise variable.error("must be between 1m and 14d")
    return tuple(sorted(set(offsets), reverse=True))


def ids(value: str, variable: Variable) -> frozenset[int]:
    ids: set[int] = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise variable.error("must be comma-separated Telegram user ids")
        ids.add(int(part))
    return frozenset(ids)
