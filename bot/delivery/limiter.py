"""One budget for everything the bot sends.

The dispatcher sends what the bot owes people (reminders, announcements, alerts); PTB sends
replies. Telegram counts both against the same ~30 messages per second, so both take their
turn from the same `SendBudget`: a burst of replies can never push a large send over the limit,
and a 429 pauses both.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import BaseRateLimiter

from bot.core.ratelimit import SendBudget
from bot.observability.metrics import Metrics

log = logging.getLogger(__name__)

# Requests that put a message in a chat (edits change one; Telegram does not count them alike).
SENDING_ENDPOINTS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendAudio", "sendVideo", "sendVoice",
    "sendAnimation", "sendSticker", "sendMediaGroup", "copyMessage", "forwardMessage",
})  # fmt: skip
MAX_RETRIES = 3

Result = bool | dict[str, Any] | list[dict[str, Any]]


def retry_seconds(value: object) -> float:
    """RetryAfter.retry_after is seconds in older PTB releases and a timedelta in newer ones."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]


async def take_turn(
    budget: SendBudget, chat_id: int, clock: Callable[[], float], *, per_chat: bool = True
) -> None:
    """Wait until the budget allows a message to `chat_id`, then count it as started."""
    while True:
        now = clock()
        ready = budget.ready_at(chat_id, now, per_chat=per_chat)
        if ready <= now:
            budget.start(chat_id, per_chat=per_chat)
            return
        await asyncio.sleep(ready - now)


class SharedBudgetLimiter(BaseRateLimiter[int]):
    """PTB's rate limiter for replies, drawing on the dispatcher's budget."""

    def __init__(
        self,
        budget: SendBudget,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self.budget = budget
        self.clock = clock
        # Every request of the application's bot passes here (but getUpdates): what Telegram
        # answered is counted (bot/runtime.py hands over the running bot's metrics).
        self.metrics = metrics or Metrics()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        counted = endpoint in SENDING_ENDPOINTS and isinstance(chat_id, int)
        # Replies skip a private chat's own 1/s window (a conversation may burst: pacing every
        # reply a second apart would slow every exchange); group chats keep their 20/min, and
        # everything counts towards the overall limit. Anything that is not a message
        # (answering a button, editing, setting commands) never waits here.
        per_chat = counted and isinstance(chat_id, int) and chat_id < 0
        for attempt in range(MAX_RETRIES + 1):
            if counted:
                assert isinstance(chat_id, int)
                await take_turn(self.budget, chat_id, self.clock, per_chat=per_chat)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._count(counted, "429")
                wait = retry_seconds(exc.retry_after)
                if isinstance(chat_id, int) and chat_id > 0:
                    # A private chat's own limit: the dispatcher's alerts need not wait too.
                    self.budget.pause_chat_until(chat_id, self.clock() + wait)
                else:
                    self.budget.pause_until(self.clock() + wait)
                if attempt == MAX_RETRIES:
                    raise
                log.info("reply throttled by Telegram; retrying in %.1f s", wait)
                await asyncio.sleep(wait)
            except Forbidden:
                self._count(counted, "blocked")
                raise
            except TimedOut:
                self._count(counted, "timeout", answered=False)
                raise
            except BadRequest:  # a NetworkError in PTB's tree, but Telegram's answer
                self._count(counted, "refused")
                raise
            except NetworkError:  # also every 5xx
                self._count(counted, "network_error", answered=False)
                raise
            except TelegramError:
                self._count(counted, "refused")
                raise
            else:
                self._count(counted, "sent")
                return result
            finally:
                if counted:
                    assert isinstance(chat_id, int)
                    self.budget.finish(chat_id, self.clock(), per_chat=per_chat)
        raise AssertionError("unreachable")  # the loop returns or raises

    def _count(self, message: bool, result: str, *, answered: bool = True) -> None:
        if message:
            self.metrics.sent("reply", result)
        if answered:
            self.metrics.telegram_answered()
