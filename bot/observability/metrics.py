"""The bot's counters, one `Metrics` per running bot (`BotData.metrics`).

Plain Python on purpose: counting is an integer increment where something happens, and
prometheus-client is imported only by `bot.observability.server` when the endpoint is on. Every
label value comes from a fixed set (anything else is counted as "other"), so a label can never
carry an id or text.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter
from collections.abc import Callable, Iterable

# Update kinds the bot asks Telegram for (bot/receiving.py ALLOWED_UPDATES); others are "other".
UPDATE_KINDS = frozenset({"message", "edited_message", "callback_query", "my_chat_member"})
# What became of one message sent to Telegram.
SEND_RESULTS = frozenset(
    {"sent", "429", "blocked", "timeout", "network_error", "refused", "chat_moved"}
)
# Who sent it: the dispatcher (reminders, announcements, alerts ...) or a handler's reply.
SEND_SOURCES = frozenset({"outbox", "reply"})
SCREENING_LEVELS = frozenset({"none", "concern", "urgent"})
OTHER = "other"
# Seconds to handle one update (from taking it to done, retries included).
HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def one_of(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


class Histogram:
    """Cumulative-bucket histogram (Prometheus semantics)."""

    def __init__(self, buckets: tuple[float, ...]) -> None:
        self.buckets = buckets
        self.counts = [0] * (len(buckets) + 1)  # the last one is +Inf
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """(upper bound, observations at or below it), +Inf last."""
        total = 0
        out: list[tuple[str, int]] = []
        for bound, n in zip([*map(repr, self.buckets), "+Inf"], self.counts, strict=True):
            total += n
            out.append((bound, total))
        return out


class Metrics:
    """What happened in this process since it started (the counters), and when progress was
    last seen (for readiness). Times are the machine's monotonic clock."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.updates_received: Counter[str] = Counter()
        self.updates_handled = 0
        self.updates_retried = 0
        self.updates_parked = 0
        self.handling_seconds = Histogram(HANDLING_BUCKETS)
        self.sends: Counter[tuple[str, str]] = Counter()
        self.screened: Counter[str] = Counter()
        # When Telegram last answered a request of ours (any answer but a network error or a
        # 5xx); when an update was last handled; when the dispatcher last settled a send.
        self.telegram_answered_at: float | None = None
        self.handled_at: float | None = None
        self.dispatched_at: float | None = None

    # -- intake ---------------------------------------------------------------------
    def received(self, kind: str, n: int = 1) -> None:
        self.updates_received[one_of(kind, UPDATE_KINDS)] += n

    def handled(self, seconds: float) -> None:
        self.updates_handled += 1
        self.handling_seconds.observe(seconds)
        self.handled_at = self.clock()

    def retried(self) -> None:
        self.updates_retried += 1

    def parked(self) -> None:
        self.updates_parked += 1
        self.handled_at = self.clock()  # settled, if not well: intake moves on

    def intake_started(self) -> None:
        """Handling begins (this replica leads): progress is measured from now."""
        self.handled_at = self.clock()

    # -- sending --------------------------------------------------------------------
    def sent(self, source: str, result: str) -> None:
        self.sends[(one_of(source, SEND_SOURCES), one_of(result, SEND_RESULTS))] += 1
        if source == "outbox":
            self.dispatched_at = self.clock()

    def dispatcher_started(self) -> None:
        self.dispatched_at = self.clock()

    def telegram_answered(self) -> None:
        self.telegram_answered_at = self.clock()

    def seconds_since(self, moment: float | None) -> float | None:
        return None if moment is None else max(0.0, self.clock() - moment)

    # -- safety ---------------------------------------------------------------------
    def screening(self, level: str) -> None:
        self.screened[one_of(level, SCREENING_LEVELS)] += 1
