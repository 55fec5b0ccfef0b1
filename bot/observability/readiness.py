"""What "ready" means, as a pure function of what the bot knows at one moment.

Every replica: the database answers (a standby's whole job is to store what reaches it, so
that is what its readiness is). The leader, which also fetches, handles and sends, besides:

- Telegram answered a request within TELEGRAM_SECONDS (long polls answer at least every 25 s;
  a quiet webhook leader is asked `getMe` by the endpoint itself before it says no);
- intake makes progress: no stored update has waited STUCK_SECONDS while none was handled
  for as long;
- the dispatcher makes progress: no message has been owed STUCK_SECONDS while none was sent
  for as long (a large announcement takes minutes, but keeps sending);
- no dead-letter storm: fewer than STORM_PARKED updates parked in the last 10 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.observability.figures import PARKED_WINDOW, Figures

TELEGRAM_SECONDS = 60.0
STUCK_SECONDS = 180.0
STORM_PARKED = 10


@dataclass(frozen=True)
class Facts:
    # "starting", "running" or "stopping": only a running bot is ready.
    phase: str
    leading: bool
    # None while the database answers; else what went wrong, in a few words.
    database_problem: str | None
    figures: Figures | None
    # Seconds since Telegram last answered, an update was last handled, and the dispatcher
    # last settled a send (None: never).
    telegram_silent: float | None
    intake_silent: float | None
    dispatch_silent: float | None


def reasons(facts: Facts) -> list[str]:
    """Why the bot is not ready; empty when it is. Each reason is short and carries only
    counts and seconds."""
    if facts.phase != "running":
        return [facts.phase]
    found: list[str] = []
    if facts.database_problem is not None:
        found.append(f"database: {facts.database_problem}")
    if not facts.leading:
        return found
    silent = facts.telegram_silent
    if silent is None or silent > TELEGRAM_SECONDS:
        found.append(
            "telegram: no answer yet"
            if silent is None
            else f"telegram: no answer for {silent:.0f} s"
        )
    figures = facts.figures
    if figures is None:
        return found
    waited = figures.inbound_oldest_seconds
    if _stuck(waited, facts.intake_silent):
        found.append(
            f"intake: {figures.inbound_waiting} updates waiting, the oldest {waited:.0f} s, "
            f"none handled {_for(facts.intake_silent)}"
        )
    owed = figures.outbox_oldest_due_seconds
    if _stuck(owed, facts.dispatch_silent):
        found.append(
            f"dispatcher: {figures.outbox_due} messages due, the oldest for {owed:.0f} s, "
            f"none sent {_for(facts.dispatch_silent)}"
        )
    if figures.parked_recently >= STORM_PARKED:
        minutes = PARKED_WINDOW.total_seconds() / 60
        found.append(f"dead letters: {figures.parked_recently} in the last {minutes:.0f} min")
    return found


def _stuck(oldest: float | None, silent: float | None) -> bool:
    return (
        oldest is not None and oldest > STUCK_SECONDS and (silent is None or silent > STUCK_SECONDS)
    )


def _for(value: float | None) -> str:
    return "yet" if value is None else f"for {value:.0f} s"
