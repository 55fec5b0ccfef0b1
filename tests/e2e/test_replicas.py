"""Three replicas on one PostgreSQL database behind one webhook URL behave as one bot, also
when the leader dies mid-way (see replica_story.py for the story)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.replica_story import Story, StoryResult
from tests.tgfake.server import FakeBotApi

# Sends in flight when a process dies are recorded as ambiguous, never resent: at most the
# dispatcher's in-flight limit, as for a single process.
AMBIGUITY_BOUND = 10


def _check(result: StoryResult, *, takeover_within: float) -> None:
    copies = result.announced
    assert [m for m, n in copies.items() if n > 1] == [], "an announcement went twice"
    lost = result.members - len(copies)
    assert result.ambiguous <= AMBIGUITY_BOUND
    assert lost <= result.ambiguous, f"{lost} members never got the announcement"
    assert [m for m, n in result.reminded.items() if n > 1] == [], "a reminder went twice"
    assert all(n >= 1 for n in result.crisis_alerts.values()), result.crisis_alerts
    assert all(n >= 1 for n in result.crisis_replies.values()), "a writer got no help lines"
    assert result.flood_429s == 0
    assert result.out_of_order_chats == 0
    assert result.takeover_seconds <= takeover_within
    assert len(result.served) >= 2, "the webhook deliveries all reached one replica"


@pytest.mark.slow
@pytest.mark.parametrize("death", ["SIGKILL", "SIGSTOP"])
async def test_replicas_behave_as_one_bot_when_the_leader_dies(
    tg: FakeBotApi, database_url: str, db_backend: str, tmp_path: Path, death: str
) -> None:
    if db_backend != "postgresql":
        pytest.skip("several replicas share PostgreSQL (SQLite is one process by design)")
    story = Story(tg, database_url, tmp_path)
    try:
        result = await story.run(freeze=death == "SIGSTOP")
    finally:
        await story.close()
    print(f"{death}: {result.summary()}")
    # Killed: a process on the same machine that is gone is known dead at once. Frozen: it
    # is alive to the kernel, so only its lease's lapse (10 s + one 2 s renewal) tells.
    _check(result, takeover_within=5.0 if death == "SIGKILL" else 15.0)
