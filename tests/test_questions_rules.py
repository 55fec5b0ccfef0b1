"""Pure rules for anonymous questions and announcements, and the shared send budget."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.core.questions import broadcast_progress, posting_delay
from bot.core.ratelimit import SendBudget
from bot.delivery.limiter import SharedBudgetLimiter


def test_posting_delay_stays_within_its_bounds_and_varies() -> None:
    delays = {posting_delay((60, 300)) for _ in range(200)}
    assert all(timedelta(seconds=60) <= d <= timedelta(seconds=300) for d in delays)
    assert len(delays) > 20  # random, so the timing points at nobody
    assert posting_delay((0, 0)) == timedelta(0)
    assert posting_delay((10, 20), randbelow=lambda n: n - 1) == timedelta(seconds=20)


def test_broadcast_progress_counts_what_people_care_about() -> None:
    progress = broadcast_progress(
        {"sent": 90, "unreachable": 3, "failed": 1, "ambiguous": 1, "pending": 4, "sending": 1},
        total=100,
    )
    assert (progress.delivered, progress.blocked, progress.failed) == (90, 3, 2)
    assert progress.waiting == 5 and not progress.settled
    assert progress.handled == 95
    assert broadcast_progress({"sent": 2, "cancelled": 8}, total=10).settled


async def test_replies_share_the_overall_budget_and_a_429_pauses_everyone() -> None:
    now = [0.0]
    budget = SendBudget(per_second=2)
    limiter = SharedBudgetLimiter(budget, clock=lambda: now[0])
    calls: list[int] = []

    async def send(chat_id: int) -> dict[str, Any]:
        calls.append(chat_id)
        return {"ok": True}

    for chat in (1, 2):
        await limiter.process_request(send, (chat,), {}, "sendMessage", {"chat_id": chat}, None)
    # The overall window is full: a third send (a reply, or the dispatcher's) must wait.
    assert budget.ready_at(3, now[0]) > now[0]
    # Replies to the same person may burst (no per-chat wait for private chats)...
    assert budget.ready_at(1, now[0], per_chat=False) == budget.ready_at(3, now[0])

    attempts = 0

    async def throttled(chat_id: int) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RetryAfter(timedelta(seconds=0.01))
        return {"ok": True}

    budget = SendBudget()
    limiter = SharedBudgetLimiter(budget)  # real time: the limiter waits the 429 out
    result = await limiter.process_request(throttled, (5,), {}, "sendMessage", {"chat_id": 5}, None)
    assert result == {"ok": True} and attempts == 2
    # ...and the 429 paused everything that draws on the budget (the dispatcher too).
    assert budget.ready_at(6, 0.0) > 0.0


@pytest.mark.parametrize("endpoint", ["answerCallbackQuery", "editMessageText"])
async def test_requests_that_send_nothing_are_not_counted(endpoint: str) -> None:
    budget = SendBudget(per_second=1)
    limiter = SharedBudgetLimiter(budget, clock=lambda: 0.0)

    async def call() -> bool:
        return True

    for _ in range(5):
        assert await asyncio.wait_for(
            limiter.process_request(call, (), {}, endpoint, {"chat_id": 1}, None), 1
        )
    assert budget.ready_at(2, 0.0) == 0.0
