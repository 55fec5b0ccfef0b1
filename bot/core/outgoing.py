"""What an outbox row says: a message's text and buttons, as JSON (pure data, no Telegram)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutgoingMessage:
    text: str
    parse_mode: str | None = "HTML"
    # Rows of (label, callback data) inline buttons.
    buttons: tuple[tuple[tuple[str, str], ...], ...] = field(default_factory=tuple)
    silent: bool = False
    reply_to_message_id: int | None = None
    # Off for text a member wrote: a link in it must not unfold into a preview card.
    link_preview: bool = True

    def to_json(self) -> str:
        return json.dumps(
            {
                "text": self.text,
                "parse_mode": self.parse_mode,
                "buttons": [[list(b) for b in row] for row in self.buttons],
                "silent": self.silent,
                "reply_to": self.reply_to_message_id,
                "preview": self.link_preview,
            },
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, raw: str) -> OutgoingMessage:
        data = json.loads(raw)
        return cls(
            text=str(data["text"]),
            parse_mode=data.get("parse_mode"),
            buttons=tuple(
                tuple((str(label), str(cb)) for label, cb in row) for row in data.get("buttons", [])
            ),
            silent=bool(data.get("silent", False)),
            reply_to_message_id=data.get("reply_to"),
            link_preview=bool(data.get("preview", True)),
        )
