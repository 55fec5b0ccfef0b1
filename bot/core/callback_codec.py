"""The button codec: the strict forms of a button's fields, its kinds, and encoding and
decoding callback data. The kinds themselves are declared in bot.core.callbacks.

Data is `prefix:action:field:...` (or `prefix:field:...` for a few kinds without an action),
ASCII only, at most 64 bytes. A press is acted on only when its data is exactly of a declared
shape and it was pressed where that kind of button lives; anything else decodes to None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

MAX_DATA_BYTES = 64  # Telegram's limit for callback_data
MAX_ID = 2**31 - 1  # row ids are 32-bit signed integers in the database
MAX_STAMP = 10**11 - 1  # Unix seconds (year 5138): occurrence and check-in prompt times

Value = int | str | None


class Where(Enum):
    """Where a kind of button may be pressed."""

    PRIVATE = "private"  # the presser's own private chat with the bot
    GROUP = "group"  # a group or supergroup chat
    ANY = "any"  # anywhere (e.g. alerts, which may go to a coordinators' group chat)


class Place(Enum):
    """Where a press came from, as far as the codec cares."""

    PRIVATE = "private"  # the presser's own chat with the bot
    GROUP = "group"
    OTHER = "other"  # a channel, someone else's private chat, or no chat at all


def place_of(chat_type: str | None, chat_id: int | None, presser_id: int | None) -> Place:
    if chat_type == "private" and chat_id is not None and chat_id == presser_id:
        return Place.PRIVATE
    if chat_type in ("group", "supergroup"):
        return Place.GROUP
    return Place.OTHER


# ------------------------------------------------------------------------------------ fields
class Refused(ValueError):
    """A field's text is not of its declared form."""


@dataclass(frozen=True)
class Field:
    name: str

    def parse(self, raw: str) -> Value:
        raise NotImplementedError

    def format(self, value: Value) -> str:
        raise NotImplementedError


_ID = re.compile(r"[1-9][0-9]{0,9}")
_STAMP = re.compile(r"[1-9][0-9]{0,10}")


@dataclass(frozen=True)
class Id(Field):
    """A row id: ASCII digits without a leading zero, 1..2**31-1."""

    def parse(self, raw: str) -> int:
        if _ID.fullmatch(raw) is None or int(raw) > MAX_ID:
            raise Refused(self.name)
        return int(raw)

    def format(self, value: Value) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_ID:
            raise Refused(self.name)
        return str(value)


@dataclass(frozen=True)
class Stamp(Field):
    """A moment in Unix seconds (an occurrence, a check-in prompt)."""

    def parse(self, raw: str) -> int:
        if _STAMP.fullmatch(raw) is None or int(raw) > MAX_STAMP:
            raise Refused(self.name)
        return int(raw)

    def format(self, value: Value) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_STAMP:
            raise Refused(self.name)
        return str(value)


_USER = re.compile(r"[1-9][0-9]{0,15}")
MAX_USER_ID = 2**53 - 1  # Telegram's user ids fit in 52 bits


@dataclass(frozen=True)
class UserId(Field):
    """A Telegram user id: ASCII digits without a leading zero, 1..2**53-1."""

    def parse(self, raw: str) -> int:
        if _USER.fullmatch(raw) is None or int(raw) > MAX_USER_ID:
            raise Refused(self.name)
        return int(raw)

    def format(self, value: Value) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_USER_ID:
            raise Refused(self.name)
        return str(value)


@dataclass(frozen=True)
class Choice(Field):
    """One of a few words."""

    options: tuple[str, ...] = ()

    def parse(self, raw: str) -> str:
        if raw not in self.options:
            raise Refused(self.name)
        return raw

    def format(self, value: Value) -> str:
        if not isinstance(value, str) or value not in self.options:
            raise Refused(self.name)
        return value


@dataclass(frozen=True)
class Number(Field):
    """One of a few small numbers, written plainly ("7", never "07")."""

    options: tuple[int, ...] = ()

    def parse(self, raw: str) -> int:
        for option in self.options:
            if raw == str(option):
                return option
        raise Refused(self.name)

    def format(self, value: Value) -> str:
        if not isinstance(value, int) or isinstance(value, bool) or value not in self.options:
            raise Refused(self.name)
        return str(value)


@dataclass(frozen=True)
class Token(Field):
    """A code or nonce of a strict ASCII form; `absent` stands for None (no code)."""

    pattern: str = ""
    absent: str | None = None
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern, re.ASCII))

    def parse(self, raw: str) -> str | None:
        if self.absent is not None and raw == self.absent:
            return None
        if not raw.isascii() or self._compiled.fullmatch(raw) is None:
            raise Refused(self.name)
        return raw

    def format(self, value: Value) -> str:
        if value is None and self.absent is not None:
            return self.absent
        if not isinstance(value, str) or not value.isascii():
            raise Refused(self.name)
        if self._compiled.fullmatch(value) is None:
            raise Refused(self.name)
        return value


@dataclass(frozen=True)
class IdOrWord(Field):
    """A row id, or one of a few words (an audience: a group id, or "all")."""

    words: tuple[str, ...] = ()

    def parse(self, raw: str) -> str:
        if raw in self.words:
            return raw
        return str(Id(self.name).parse(raw))

    def format(self, value: Value) -> str:
        if not isinstance(value, str):
            raise Refused(self.name)
        return self.parse(value)


# ------------------------------------------------------------------------------------ kinds
@dataclass(frozen=True)
class Kind:
    prefix: str
    action: str | None
    fields: tuple[Field, ...]
    where: Where

    @property
    def name(self) -> str:
        return self.prefix if self.action is None else f"{self.prefix}:{self.action}"

    def pressable_in(self, place: Place) -> bool:
        if self.where is Where.ANY:
            return True
        if self.where is Where.PRIVATE:
            return place is Place.PRIVATE
        return place is Place.GROUP

    def __repr__(self) -> str:
        return f"Kind({self.name})"


_TABLE: dict[tuple[str, str | None], Kind] = {}
_WORD = re.compile(r"[a-z]{1,8}")


def declare(prefix: str, action: str | None, *fields: Field, where: Where = Where.PRIVATE) -> Kind:
    assert _WORD.fullmatch(prefix) and (action is None or _WORD.fullmatch(action)), prefix
    with_action = any(a is not None for p, a in _TABLE if p == prefix)
    without = (prefix, None) in _TABLE
    assert not without and not (action is None and with_action), f"{prefix}: ambiguous"
    assert (prefix, action) not in _TABLE, f"{prefix}:{action} declared twice"
    assert len({f.name for f in fields}) == len(fields), f"{prefix}:{action}: field names"
    kind = Kind(prefix, action, fields, where)
    _TABLE[(prefix, action)] = kind
    return kind


# ------------------------------------------------------------------------------------ codec
@dataclass(frozen=True)
class Decoded:
    """A press whose data is exactly of a declared shape, with its fields read."""

    kind: Kind
    values: Mapping[str, Value]

    def _get(self, name: str) -> Value:
        if name not in self.values:
            raise KeyError(f"{self.kind.name} has no field {name!r}")
        return self.values[name]

    def number(self, name: str) -> int:
        value = self._get(name)
        if not isinstance(value, int):
            raise TypeError(f"{self.kind.name}: {name} is not a number")
        return value

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise TypeError(f"{self.kind.name}: {name} is not text")
        return value

    def maybe_text(self, name: str) -> str | None:
        value = self._get(name)
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{self.kind.name}: {name} is not text")
        return value


def encode(kind: Kind, *values: Value) -> str:
    """The callback data for a button of this kind. Raises ValueError for a value that is not
    of its field's form (a bug: the codec never makes data it would refuse)."""
    if kind is not _TABLE.get((kind.prefix, kind.action)):
        raise ValueError(f"undeclared kind {kind!r}")
    if len(values) != len(kind.fields):
        raise ValueError(f"{kind.name} takes {len(kind.fields)} fields, not {len(values)}")
    parts = [kind.prefix] if kind.action is None else [kind.prefix, kind.action]
    for spec, value in zip(kind.fields, values, strict=True):
        raw = spec.format(value)
        if ":" in raw or spec.parse(raw) != value:
            raise ValueError(f"{kind.name}: {spec.name} does not round-trip")
        parts.append(raw)
    data = ":".join(parts)
    assert data.isascii() and 0 < len(data.encode()) <= MAX_DATA_BYTES, kind.name
    return data


def decode(data: str | None) -> Decoded | None:
    """The press's kind and fields, or None for anything the bot did not make."""
    if not isinstance(data, str) or not data or len(data) > MAX_DATA_BYTES or not data.isascii():
        return None
    parts = data.split(":")
    kind = _TABLE.get((parts[0], None))
    rest = parts[1:]
    if kind is None:
        if len(parts) < 2:
            return None
        kind = _TABLE.get((parts[0], parts[1]))
        rest = parts[2:]
        if kind is None:
            return None
    if len(rest) != len(kind.fields):
        return None
    try:
        values = {spec.name: spec.parse(raw) for spec, raw in zip(kind.fields, rest, strict=True)}
    except Refused:
        return None
    return Decoded(kind, values)


def accepted(data: str | None, place: Place) -> Decoded | None:
    """The press, decoded, when it is a kind of button the bot makes and was pressed where
    that kind lives; None for anything the bot refuses."""
    decoded = decode(data)
    if decoded is None or not decoded.kind.pressable_in(place):
        return None
    return decoded


def declared() -> tuple[Kind, ...]:
    """Every kind declared so far, in the order declared."""
    return tuple(_TABLE.values())
