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


async def test_replies_share_the_overall_budget_and_a_429_pauses_what_it_concerns() -> None:
    """A 429 on a reply in a private chat is that chat's own limit: only that chat waits (a
    crisis alert to a coordinator does not); in a group chat it pauses everything."""
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
    refused = asyncio.Event()

    async def throttled(chat_id: int) -> dict[str, Any]:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            refused.set()
            raise RetryAfter(timedelta(seconds=0.01))
        return {"ok": True}

    for chat, everyone_waits in ((5, False), (-100, True)):
        attempts = 0
        refused.clear()
        budget = SendBudget()
        limiter = SharedBudgetLimiter(budget, clock=lambda: now[0])
        now[0] = 100.0
        task = asyncio.create_task(
            limiter.process_request(throttled, (chat,), {}, "sendMessage", {"chat_id": chat}, None)
        )
        await refused.wait()
        # While the limiter waits the 429 out: the chat itself waits...
        assert budget.ready_at(chat, now[0], per_chat=False) > now[0]
        # ...and everyone else only when it was a group chat's (the dispatcher too).
        assert (budget.ready_at(6, now[0]) > now[0]) is everyone_waits
        now[0] += 1.0  # the 429's wait is over
        assert await asyncio.wait_for(task, 5) == {"ok": True} and attempts == 2


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
