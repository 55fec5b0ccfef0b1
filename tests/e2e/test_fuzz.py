"""Property-based fuzzing: about 1,000 updates generated from the Bot API description (every
update kind, optional fields present and absent, inaccessible messages, service messages, huge
and odd text, forged button data, chats the bot never joined) go to the real bot through the
fake Telegram, in batches of 100, after a prelude in which a few people onboard and two of them
become facilitators with a group each (so that the fuzzing reaches further). Afterwards:

* a newcomer's /start is answered (the consent question) within 2 s;
* every button press was answered (allowing 1.5 s after the last update);
* no request broke the Bot API spec;
* nothing was logged at ERROR or above, and no traceback, by the bot, PTB, APScheduler or asyncio;
* the bot said nothing in a chat it was not asked to speak in. It may speak (send, or edit the
  text of a message) only in (a) the private chat of a person who sent it any update, (b) a
  group from which it received a message starting with a command addressed to it (`/cmd` or
  `/cmd@its_name`), or where someone pressed a `grp:link:` button, the one button meant for
  groups, and (c) a coordinator's private chat (alerts). Never in a channel. Some groups are
  never addressed at all, so anything said there is plainly uninvited. (The rule, in code:
  tests/fuzz/harness.py, `Permissions`.)

The updates are the same on every run (Hypothesis, derandomized), on SQLite only to keep the
suite fast. `bench/fuzz.py` runs the same harness longer, with a random seed, and can isolate
and shrink the update behind each kind of trouble.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import COORDINATOR_ID, BotStarter
from tests.fuzz.harness import FuzzHarness
from tests.fuzz.updates import generate, prelude
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

UPDATES = 1_000
BATCH = 100


@pytest.fixture
def db_backend() -> str:
    return "sqlite"


@pytest.fixture(scope="module")
def generated() -> list[dict[str, Any]]:
    spec = load_spec()
    if spec is None:
        pytest.skip("the Bot API spec is needed to generate updates")
    return generate(spec, UPDATES)


async def test_the_bot_stays_well_under_a_thousand_generated_updates(
    tg: FakeBotApi,
    start_bot: BotStarter,
    caplog: pytest.LogCaptureFixture,
    generated: list[dict[str, Any]],
) -> None:
    caplog.errors_expected = True  # type: ignore[attr-defined]  # judged below, with the rest
    tg.mark_started(tg.user("Cora", user_id=COORDINATOR_ID))
    # PTB's reply limiter paces each chat at one message a second: off, or this takes minutes.
    await start_bot(PEERBOT_REPLY_RATE_LIMIT="off")
    harness = FuzzHarness(tg, [COORDINATOR_ID], batch=BATCH)

    findings = await harness.run(generated, prelude=prelude())

    tg.violations.clear()  # judged below, with the rest (the fixture would repeat them)
    assert findings.problems() == [], "\n".join([findings.summary(), "", *findings.problems()])
