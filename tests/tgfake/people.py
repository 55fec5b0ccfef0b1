"""Simulated people, so tests read the way a person acts: "Ann says /start", "Ann presses
*I agree*", "Ann sees Welcome"."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.tgfake.server import FakeBotApi, FakeChat, FakeUser

DEFAULT_WAIT = 5.0


def _text(message: dict[str, Any]) -> str:
    return str(message.get("text") or message.get("caption") or "")


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


class Person:
    def __init__(self, server: FakeBotApi, user: FakeUser) -> None:
        self.server = server
        self.user = user
        self._cursor = len(server.bot_events)

    @property
    def name(self) -> str:
        return self.user.first_name

    def _act(self) -> None:
        self._cursor = len(self.server.bot_events)

    async def says(self, text: str) -> dict[str, Any]:
        self._act()
        return self.user.send(text)

    async def says_in(self, chat: FakeChat, text: str) -> dict[str, Any]:
        self._act()
        return self.user.send(text, chat)

    def _new_events(self, chat_id: int) -> list[dict[str, Any]]:
        return [m for c, m in self.server.bot_events[self._cursor :] if c == chat_id]

    async def sees(
        self,
        expected: str | Callable[[str], bool],
        timeout: float = DEFAULT_WAIT,
        chat: FakeChat | None = None,
    ) -> str:
        """Wait for a new bot message (or edit) in her chat that contains `expected`."""
        chat_id = chat.id if chat is not None else self.user.id

        def match() -> str | None:
            for message in self._new_events(chat_id):
                shown = _text(message)
                if callable(expected):
                    if expected(shown):
                        return shown
                elif _normalise(expected) in _normalise(shown):
                    return shown
            return None

        try:
            return str(await self.server.wait_for(match, timeout=timeout))
        except AssertionError:
            seen = [_text(m)[:100] for m in self._new_events(chat_id)]
            raise AssertionError(
                f"{self.name} did not see {expected!r} within {timeout}s; she saw: {seen}"
            ) from None

    def buttons(self, message: dict[str, Any]) -> list[str]:
        markup = message.get("reply_markup") or {}
        return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]

    async def presses(
        self, label: str, chat: FakeChat | None = None, timeout: float = DEFAULT_WAIT
    ) -> dict[str, Any]:
        """Press the button with this label on the newest bot message that has one (waiting
        for it to appear, as a person waits for the bot's answer)."""
        chat_id = chat.id if chat is not None else self.user.id

        def find() -> tuple[dict[str, Any], str] | None:
            for message in reversed(self.server.sent_messages(chat_id)):
                markup = message.get("reply_markup") or {}
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        text = _normalise(button["text"])
                        if _normalise(label) in text and "callback_data" in button:
                            return message, button["callback_data"]
            return None

        try:
            message, data = await self.server.wait_for(find, timeout=timeout)
        except AssertionError:
            shown = [
                (_text(m)[:60], self.buttons(m)) for m in self.server.sent_messages(chat_id)[-5:]
            ]
            raise AssertionError(
                f"{self.name} found no button {label!r}; recent messages: {shown}"
            ) from None
        self._act()
        return await self.user.press(message, data)

    async def toast(self, pressed: dict[str, Any], timeout: float = DEFAULT_WAIT) -> str:
        """The short notice Telegram shows after a button press, once the bot answered it."""
        query_id = pressed["callback_query"]["id"]
        answer = await self.server.wait_for(
            lambda: self.server.callback_answers.get(query_id), timeout=timeout
        )
        return str(answer.get("text") or "")

    def inbox(self) -> list[str]:
        """The bot's messages in her private chat, as she sees them now, oldest first."""
        return [_text(m) for m in self.server.sent_messages(self.user.id)]


async def group_sees(
    server: FakeBotApi, chat: FakeChat, expected: str, timeout: float = DEFAULT_WAIT
) -> str:
    def match() -> str | None:
        for message in server.sent_messages(chat.id):
            if _normalise(expected) in _normalise(_text(message)):
                return _text(message)
        return None

    try:
        return str(await server.wait_for(match, timeout=timeout))
    except AssertionError:
        seen = [_text(m)[:100] for m in server.sent_messages(chat.id)]
        raise AssertionError(f"the group did not see {expected!r}; it saw {seen}") from None
