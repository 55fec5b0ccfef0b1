"""Intake never jams: an update that cannot be read or handled becomes a dead letter, kept for an
operator, while everything behind it goes on; a flagged message is escalated once even when
the rest of its handling fails."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import cli, intake
from bot.runtime import BotRuntime
from bot.storage.models import Escalation, EscalationAction
from tests.e2e.conftest import COORDINATOR_ID, BotStarter
from tests.e2e.people import onboard
from tests.tgfake.server import FakeBotApi


@pytest.fixture(autouse=True)
def quick_replays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(intake, "REPLAY_SWEEP_SECONDS", 0.2)
    monkeypatch.setattr(intake, "RETRY_DELAYS", (0.05, 0.1))


def _services(bot: BotRuntime) -> Any:
    return bot.application.bot_data.services


async def _dead_letters(bot: BotRuntime, count: int, timeout: float = 5.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while True:
        letters = await _services(bot).intake.dead_letters()
        if len(letters) >= count or time.monotonic() > deadline:
            return letters
        await asyncio.sleep(0.05)


async def test_an_unreadable_update_is_kept_and_the_next_person_is_answered(
    tg: FakeBotApi,
    bot: BotRuntime,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.errors_expected = True  # type: ignore[attr-defined]
    ann = tg.person("Ann")
    # The Bot API spec allows a service message whose pinned message is inaccessible
    # (date 0); it used to make storing the whole batch fail, over and over.
    group = tg.group("Tuesday circle")
    tg._queue_update({
        "message": {
            "message_id": 7, "date": int(time.time()), "chat": group.as_dict(),
            "from": ann.user.as_dict(),
            "pinned_message": {"message_id": 3, "date": 0, "chat": group.as_dict()},
        }
    })  # fmt: skip
    # One the library cannot parse at all (an entity without its offset and length).
    broken = tg._queue_update({
        "message": {
            "message_id": 8, "date": int(time.time()), "chat": tg.chats[ann.user.id].as_dict(),
            "from": ann.user.as_dict(), "text": "my secret words",
            "entities": [{"type": "bold"}],
        }
    })  # fmt: skip
    started = time.monotonic()
    await ann.says("/start")
    await ann.sees("Do you agree", timeout=2.0)
    assert time.monotonic() - started < 2.0

    letters = await _dead_letters(bot, 1)
    assert [(d.update_id, d.kind, d.error) for d in letters] == [
        (broken["update_id"], "message", "TypeError")
    ]
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "my secret words" not in log and "Ann" not in log
    # Confirmed to Telegram: never fetched again.
    assert all(u["update_id"] != broken["update_id"] for u in tg._updates)

    # What an operator sees: the update's id, kind and error class, never its content.
    assert await cli._deadletters(bot.settings, None) == 0
    listing = capsys.readouterr().out
    assert str(broken["update_id"]) in listing and "TypeError" in listing
    assert "secret" not in listing and "Ann" not in listing
    assert await cli._deadletters(bot.settings, broken["update_id"]) == 0
    assert "will be handled again" in capsys.readouterr().out
    assert await cli._deadletters(bot.settings, 1) == 1


async def test_a_dead_letter_is_handled_after_the_fix_when_an_operator_replays_it(
    tg: FakeBotApi,
    bot: BotRuntime,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.errors_expected = True  # type: ignore[attr-defined]
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    members = _services(bot).members
    real = members.set_display_name

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(members, "set_display_name", broken)
    await ann.says("/settings")
    await ann.presses("Change name")
    await ann.says("Annie")
    await ann.sees("something went wrong on our side")
    [letter] = await _dead_letters(bot, 1)
    assert (letter.kind, letter.error) == ("message", "KeyError")

    monkeypatch.setattr(members, "set_display_name", real)  # the upgrade
    assert await _services(bot).intake.request_replay(letter.update_id)
    assert not await _services(bot).intake.request_replay(999_999)
    await ann.sees("Annie")
    assert await _dead_letters(bot, 1, timeout=0.5) == []
    profile = await members.profile(ann.user.id)
    assert profile is not None and profile.display_name == "Annie"


async def test_a_crisis_message_escalates_once_even_when_the_rest_of_its_handling_fails(
    tg: FakeBotApi, start_bot: BotStarter, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    caplog.errors_expected = True  # type: ignore[attr-defined]
    bot = await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/settings")
    await ann.presses("Change name")
    members = _services(bot).members
    calls = 0

    async def flaky(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        from sqlalchemy.exc import OperationalError

        raise OperationalError("UPDATE member", {}, Exception("database is locked"))

    monkeypatch.setattr(members, "set_display_name", flaky)
    # She answers the name question with what she is going through.
    await ann.says("i want to kill myself tonight")
    await ann.sees("glad you told us")
    await cora.sees("Urgent — someone may be in danger")
    await ann.sees("something went wrong on our side")
    assert calls == 3  # tried, and tried again, before it was kept as a dead letter
    [letter] = await _dead_letters(bot, 1)
    assert letter.error == "OperationalError"

    db = bot.application.bot_data.database
    assert db is not None
    async with db.uow(read_only=True) as uow:
        escalations = (await uow.session.execute(select(func.count(Escalation.id)))).scalar_one()
        created = (
            await uow.session.execute(
                select(func.count(EscalationAction.id)).where(
                    EscalationAction.update_id == letter.update_id
                )
            )
        ).scalar_one()
    assert (escalations, created) == (1, 1)
    await asyncio.sleep(0.3)
    alerts = [m for m in tg.sent_messages(cora.user.id) if "Urgent" in m.get("text", "")]
    helps = [m for m in tg.sent_messages(ann.user.id) if "glad you told us" in m.get("text", "")]
    assert (len(alerts), len(helps)) == (1, 1)


async def test_a_refusal_is_not_a_failure(tg: FakeBotApi, bot: BotRuntime) -> None:
    """A service's kind refusal is the handler's answer, not an error: nothing is kept."""
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/settings")
    await ann.presses("Change name")
    await ann.says("A")
    await ann.sees("between 2 and 32 characters")
    assert await _dead_letters(bot, 0, timeout=0) == []
