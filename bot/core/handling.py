"""What one Telegram update's handling has done so far: its outcome travels with it.

The intake runner opens a ticket for each stored update and binds it to the task that runs
the handlers (a context variable, so concurrent chats never see each other's). The unit of
work reads it to mark the update done in the same transaction as the handler's own changes;
the error handler records a failure on it; the runner reads it afterwards to decide between
done, another try, and a dead letter. Nothing about the outcome lives in shared state.

Two kinds of commit happen while an update is handled:
- *feature effects* (saving a name, an RSVP, a question): they mark the update done in the
  same transaction, so a replay never applies them twice. One update has at most one such
  commit; `strict` (the test suite turns it on) makes a second one fail loudly.
- *independent* commits that must survive whatever happens later and are safe to repeat when
  the update is tried again: the safety gate's escalation (idempotent per update) and
  noticing that a member is reachable again.
"""

from __future__ import annotations

import contextvars
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# Test mode: a second feature commit for one update raises instead of being allowed.
_strict = False


def set_strict_single_commit(on: bool) -> None:
    global _strict  # a process-wide test switch, set once at start
    _strict = on


class DoubleCommit(RuntimeError):
    """An update's feature effects were committed twice (only raised in strict mode)."""


@dataclass
class UpdateTicket:
    update_id: int
    # The update's feature effects are committed (and the update marked done with them).
    marked: bool = False
    # The first error a handler raised during the current attempt, if any.
    error: BaseException | None = None
    # Independent steps already taken in an earlier attempt of this process (e.g. the help
    # lines were sent): a retry does not repeat what the member already saw.
    steps_done: set[str] = field(default_factory=set)

    def begin_attempt(self) -> None:
        self.error = None

    def feature_commit(self) -> bool:
        """Called before a feature commit: True when this commit must mark the update done."""
        if not self.marked:
            return True
        if _strict:
            raise DoubleCommit(f"update {self.update_id}: feature effects committed twice")
        return False

    def record_error(self, error: BaseException) -> None:
        if self.error is None:
            self.error = error


_current: contextvars.ContextVar[UpdateTicket | None] = contextvars.ContextVar(
    "peerbot_update_ticket", default=None
)


def current_ticket() -> UpdateTicket | None:
    """The ticket of the update being handled in this task, if any."""
    return _current.get()


@contextmanager
def handling_update(ticket: UpdateTicket) -> Iterator[UpdateTicket]:
    """Bind the work done in this context (task) to one update's ticket."""
    token = _current.set(ticket)
    try:
        yield ticket
    finally:
        _current.reset(token)


class AnsweredQueries:
    """Button presses answered so far. Telegram accepts one answer per press, within 15 s:
    whoever claims a press first (its handler, or the intake's deadline) answers it."""

    def __init__(self, keep: int = 8192) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._keep = keep

    def claim(self, query_id: str) -> bool:
        """True for the first caller only."""
        if query_id in self._seen:
            return False
        self._seen[query_id] = None
        while len(self._seen) > self._keep:
            self._seen.popitem(last=False)
        return True


answered_queries = AnsweredQueries()
