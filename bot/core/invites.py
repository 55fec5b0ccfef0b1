"""Invite codes and the deep links that carry them."""

from __future__ import annotations

import re
import secrets

JOIN_PREFIX = "join_"
# 16 url-safe characters = 96 random bits: not guessable, short enough for a link.
_CODE_BYTES = 12
_CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16}$")


def new_invite_code() -> str:
    return secrets.token_urlsafe(_CODE_BYTES)


def invite_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={JOIN_PREFIX}{code}"


def code_from_start_payload(payload: str | None) -> str | None:
    """The invite code in a /start payload, or None when there is none or it is malformed."""
    if not payload or not payload.startswith(JOIN_PREFIX):
        return None
    code = payload[len(JOIN_PREFIX) :]
    return code if _CODE_RE.match(code) else None
