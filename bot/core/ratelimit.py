"""Telegram's sending limits, kept in every window — including the first second.

About 30 messages per second overall, 1 per second in one private chat, 20 per minute in one
group. A token bucket lets a burst through at the start; a sliding log cannot.

Telegram counts a message when the request *arrives*, which is some time after we decide to
send it and before its answer comes back — and that delay varies. So the log holds the moment
each send *finished* (never earlier than its arrival), and sends still in flight count as if
they had arrived just now. Whatever the network does, every window Telegram can see holds no
more than the limit. A small margin on each window absorbs clock differences.

Pure and clock-free: callers pass `now` (seconds, monotonic).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

GLOBAL_PER_SECOND = 30
GROUP_PER_MINUTE = 20
PRIVATE_INTERVAL = 1.0
MARGIN = 0.02
# How long to wait before asking again when only in-flight sends block the next one.
POLL = 0.005


@dataclass
class _Window:
    limit: int
    seconds: float
    finished: deque[float] = field(default_factory=deque)
    in_flight: int = 0

    def ready_at(self, now: float) -> float:
        while self.finished and now - self.finished[0] >= self.seconds:
            self.finished.popleft()
        used = len(self.finished) + self.in_flight
        if used < self.limit:
            return now
        excess = used - self.limit  # this many must leave the window first
        if excess < len(self.finished):
            return self.finished[excess] + self.seconds
        return now + POLL  # only sends in flight are in the way: wait for one to finish

    def start(self) -> None:
        self.in_flight += 1

    def finish(self, now: float) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.finished.append(now)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self.finished


class SendBudget:
    """When the next message to a chat may go, without breaking any of Telegram's limits.

    Call `ready_at` until it returns a moment <= now, then `start`, send, and `finish`.
    """

    def __init__(
        self,
        per_second: int = GLOBAL_PER_SECOND,
        group_per_minute: int = GROUP_PER_MINUTE,
        private_interval: float = PRIVATE_INTERVAL,
        margin: float = MARGIN,
    ) -> None:
        self._global = _Window(per_second, 1.0 + margin)
        self._group_limit = group_per_minute
        self._group_seconds = 60.0 + margin
        self._private_seconds = private_interval + margin
        self._chats: dict[int, _Window] = {}
        self._paused_until = 0.0
        self._chat_paused_until: dict[int, float] = {}

    def pause_until(self, moment: float) -> None:
        """Telegram said retry_after: nothing goes out before `moment`."""
        self._paused_until = max(self._paused_until, moment)

    def pause_chat_until(self, chat_id: int, moment: float) -> None:
        """Telegram said retry_after for one chat's own limit: only that chat waits."""
        self._chat_paused_until[chat_id] = max(self._chat_paused_until.get(chat_id, 0), moment)

    def _chat(self, chat_id: int) -> _Window:
        window = self._chats.get(chat_id)
        if window is None:
            if chat_id < 0:
                window = _Window(self._group_limit, self._group_seconds)
            else:
                window = _Window(1, self._private_seconds)
            self._chats[chat_id] = window
        return window

    def ready_at(self, chat_id: int, now: float, *, per_chat: bool = True) -> float:
        """The earliest moment (>= now) a message to `chat_id` may be started.

        `per_chat=False` leaves the chat's own window out (a reply to someone who just wrote:
        Telegram lets a conversation burst); the overall window always counts."""
        moment = max(now, self._paused_until, self._global.ready_at(now))
        if chat_id in self._chat_paused_until:
            if self._chat_paused_until[chat_id] <= now:
                del self._chat_paused_until[chat_id]
            else:
                moment = max(moment, self._chat_paused_until[chat_id])
        window = self._chats.get(chat_id) if per_chat else None
        if window is not None:
            moment = max(moment, window.ready_at(now))
        return moment

    def room_now(self, now: float) -> int:
        """How many messages the overall limit would let start right now."""
        if self._paused_until > now:
            return 0
        self._global.ready_at(now)  # trims old entries
        return max(0, self._global.limit - len(self._global.finished) - self._global.in_flight)

    def start(self, chat_id: int, *, per_chat: bool = True) -> None:
        self._global.start()
        if per_chat:
            self._chat(chat_id).start()

    def finish(self, chat_id: int, now: float, *, per_chat: bool = True) -> None:
        self._global.finish(now)
        if per_chat:
            self._chat(chat_id).finish(now)

    def record(self, chat_id: int, now: float) -> None:
        """A send that started and finished at `now` (for callers that do not overlap sends)."""
        self.start(chat_id)
        self.finish(chat_id, now)

    def forget_idle(self, now: float) -> None:
        """Drop per-chat state nobody needs any more (keeps memory flat on large sends)."""
        for chat_id in list(self._chats):
            window = self._chats[chat_id]
            window.ready_at(now)  # trims old entries
            if window.idle:
                del self._chats[chat_id]
