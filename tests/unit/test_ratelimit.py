"""The send budget keeps Telegram's limits in every window, from the first second."""

from __future__ import annotations

from itertools import pairwise

from bot.core.ratelimit import SendBudget


def _simulate(budget: SendBudget, chats: list[int], start: float = 0.0) -> list[tuple[float, int]]:
    """Send one message per chat in order, each at the earliest allowed moment."""
    sends: list[tuple[float, int]] = []
    now = start
    for chat in chats:
        now = budget.ready_at(chat, now)
        budget.record(chat, now)
        sends.append((now, chat))
    return sends


def _max_in_window(times: list[float], seconds: float) -> int:
    best = 0
    j = 0
    for i, t in enumerate(times):
        while t - times[j] >= seconds:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_no_initial_burst_and_never_more_than_30_in_any_second() -> None:
    sends = _simulate(SendBudget(), list(range(1, 1001)))
    times = [t for t, _ in sends]
    assert _max_in_window(times, 1.0) <= 30
    # ...and close to the limit: 1000 messages take about 1000/30 seconds.
    rate = len(times) / (times[-1] - times[0])
    assert 29.0 <= rate <= 30.0


def test_one_message_per_second_in_a_private_chat() -> None:
    sends = _simulate(SendBudget(), [7] * 5)
    times = [t for t, _ in sends]
    assert all(b - a >= 1.0 for a, b in pairwise(times))


def test_twenty_per_minute_in_a_group() -> None:
    sends = _simulate(SendBudget(), [-100] * 45)
    times = [t for t, _ in sends]
    assert _max_in_window(times, 60.0) <= 20
    assert times[19] < 1.0  # the first twenty may go at the global pace
    assert times[20] >= 60.0


def test_retry_after_pauses_everything() -> None:
    budget = SendBudget()
    budget.pause_until(5.0)
    assert budget.ready_at(1, 0.0) == 5.0
    assert budget.ready_at(-100, 6.0) == 6.0


def test_forgetting_idle_chats_keeps_the_limits() -> None:
    budget = SendBudget()
    budget.record(1, 0.0)
    budget.forget_idle(0.5)
    assert budget.ready_at(1, 0.5) >= 1.0
    budget.forget_idle(5.0)
    assert budget.ready_at(1, 5.0) == 5.0


def test_sends_in_flight_count_until_they_finish() -> None:
    """Telegram counts arrivals, which we cannot see: an unfinished send counts as 'now'."""
    budget = SendBudget()
    for chat in range(1, 31):
        assert budget.ready_at(chat, 0.0) == 0.0
        budget.start(chat)
    assert budget.ready_at(99, 0.5) > 0.5  # 30 in flight: nothing more may start
    budget.finish(1, 0.9)  # ...even once one finishes, it stays in the window for a second
    assert budget.ready_at(99, 0.95) > 0.95
    for chat in range(2, 31):
        budget.finish(chat, 0.9)
    assert budget.ready_at(99, 1.0) >= 1.9


def test_a_private_chat_waits_for_its_previous_send_to_finish() -> None:
    budget = SendBudget()
    budget.start(7)
    assert budget.ready_at(7, 3.0) > 3.0
    budget.finish(7, 3.0)
    assert budget.ready_at(7, 3.5) >= 4.0
