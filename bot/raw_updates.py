"""Reading raw update JSON as Telegram sent it, before (or without) PTB parsing it: which
chat, which kind, which press. Never raises, whatever an update holds, and never returns
content (a kind is safe to log)."""

from __future__ import annotations

import re
from typing import Any

from bot.core import callbacks

_KIND = re.compile(r"[a-z_]{1,32}")
_MAX_ID = 2**62


def an_id(value: object) -> int | None:
    """A Telegram id from raw JSON (bool is an int in Python, and is not an id)."""
    if isinstance(value, int) and not isinstance(value, bool) and -_MAX_ID < value < _MAX_ID:
        return value
    return None


def update_kind(data: object) -> str:
    """The update's kind ("message", "callback_query" ...): safe to log, never content."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key != "update_id" and isinstance(value, dict):
                return key if _KIND.fullmatch(key) else "unknown"
    return "unknown"


def chat_key_of(data: dict[str, Any]) -> int | None:
    """The chat an update belongs to, read from raw JSON (for per-chat ordering). Never
    raises, whatever the update holds."""
    for kind in ("message", "edited_message", "my_chat_member", "chat_member", "channel_post"):
        part = data.get(kind)
        if isinstance(part, dict) and isinstance(part.get("chat"), dict):
            return an_id(part["chat"].get("id"))
    query = data.get("callback_query")
    if isinstance(query, dict):
        message = query.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return an_id(message["chat"].get("id"))
        sender = query.get("from")
        if isinstance(sender, dict):
            return an_id(sender.get("id"))
    return None


def refused_press(data: dict[str, Any]) -> bool:
    """A button press the codec refuses (data it did not make, or pressed where that kind
    of button does not live). Its handling changes nothing, so it need not wait its turn."""
    query = data.get("callback_query")
    if not isinstance(query, dict):
        return False
    raw = query.get("data")
    message = query.get("message")
    chat = message.get("chat") if isinstance(message, dict) else None
    sender = query.get("from")
    place = callbacks.place_of(
        chat.get("type") if isinstance(chat, dict) else None,
        an_id(chat.get("id")) if isinstance(chat, dict) else None,
        an_id(sender.get("id")) if isinstance(sender, dict) else None,
    )
    return callbacks.accepted(raw if isinstance(raw, str) else None, place) is None


def callback_query_id(data: dict[str, Any]) -> str | None:
    query = data.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("id"), str):
        return str(query["id"])
    return None
