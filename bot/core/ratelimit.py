"""Telegram's sending limits, kept in every window — including the first second.

About 30 messages per second overall, 1 per second in one private chat, 20 per minute in one
group. A token bucket would let a burst through at the start; a sliding log of recent sends
cannot: a send is allowed only when the window ending now holds fewer than the limit. Each
window is padded slightly so jitter between our clock and Telegram's arrival times cannot turn
an on-the-edge send into a 429.

Pure and clock-free: callers pass `now` (seconds, monotonic).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

GLOBAL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
PRIVATE_INTERVAL = 1.0
# Padding on each window, for network jitter between our send and Telegram's count.
MARGIN = 0.02


@dataclass
class _Window:
    limit: int
    seconds: float
    sent: deque[float] = field(default_factory=deque)

    def _trim(self, now: float) -> None:
        while self.sent and now - self.sent[0] >= self.seconds:
            self.sent.popleft()

    def ready_at(self, now: float) -> float:
        self._trim(now)
        if len(self.sent) < self.limit:
            return now
        return self.sent[len(self.sent) - self.limit] + self.seconds

    def record(self, now: float) -> None:
        self.sent.append(now)


class SendBudget:
    """When the next message to a chat may go, without breaking any of Telegram's limits."""

    def __init__(
        self,
        per_second: int = GLOBAL_PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        private_interval: float = PRIVATE_INTERVAL,
        margin: float = MARGIN,
    ) -> None:
        self._global = _Window(per_second, 1.0 + margin)
        self._group_limit = group_per_minute
        self._group_window = 60.0 + margin
        self._private_interval = private_interval + margin
        self._groups: dict[int, _Window] = {}
        self._private_last: dict[int, float] = {}
        self._paused_until = 0.0

    def pause_until(self, moment: float) -> None:
        """Telegram said retry_after: nothing goes out before `moment`."""
        self._paused_until = max(self._paused_until, moment)

    def ready_at(self, chat_id: int, now: float) -> float:
        """The earliest moment (>= now) a message to `chat_id` may be sent."""
        moment = max(now, self._paused_until, self._global.ready_at(now))
        if chat_id < 0:
            window = self._groups.get(chat_id)
            if window is not None:
                moment = max(moment, window.ready_at(now))
        else:
            last = self._private_last.get(chat_id)
            if last is not None:
                moment = max(moment, last + self._private_interval)
        return moment

    def record(self, chat_id: int, now: float) -> None:
        self._global.record(now)
        if chat_id < 0:
            window = self._groups.setdefault(
                chat_id, _Window(self._group_limit, self._group_window)
            )
            window.record(now)
        else:
            self._private_last[chat_id] = now

    def forget_idle(self, now: float) -> None:
        """Drop per-chat state nobody needs any more (keeps memory flat on large sends)."""
        idle = [c for c, t in self._private_last.items() if now - t > self._private_interval]
        for chat in idle:
            del self._private_last[chat]
        for chat in [c for c, w in self._groups.items() if w.ready_at(now) == now and not w.sent]:
            del self._groups[chat]
