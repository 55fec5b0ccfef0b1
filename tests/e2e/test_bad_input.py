"""Bad input anywhere gets a short, kind answer and changes nothing; no handler raises."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.runtime import BotRuntime
from tests.e2e.people import onboard
from tests.tgfake.server import FakeBotApi


async def _name_of(bot: BotRuntime, telegram_id: int) -> str | None:
    db = bot.application.bot_data.database
    assert db is not None
    async with db.uow() as uow:
        member = await uow.members.by_telegram_id(telegram_id)
        return member.display_name if member else None


async def test_unknown_command_and_stray_text(tg: FakeBotApi, bot: BotRuntime) -> None:
    ann = tg.person("Ann")
    await ann.says("/frobnicate")
    await ann.sees("I don't know that command")
    await ann.says("hello?")
    await ann.sees("Please send /start first")
    await onboard(ann, "Ann")
    await ann.says("just chatting")
    await ann.sees("I only understand the commands")
    await ann.says("x" * 10_000)
    await ann.sees("I only understand the commands")


@pytest.mark.parametrize(
    ("bad_name", "answer"),
    [
        ("<b>Boss</b>", "characters I can't use"),
        ("Ann\u0007\u0000", "characters I can't use"),
        ("A", "between 2 and 32 characters"),
        ("x" * 10_000, "longer than I can take"),
        ("Ann<a href='tg://user?id=1'>x</a>", "characters I can't use"),
    ],
)
async def test_bad_names_are_refused_kindly_and_change_nothing(
    tg: FakeBotApi, bot: BotRuntime, bad_name: str, answer: str
) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/settings")
    await ann.presses("Change name")
    await ann.says(bad_name)
    await ann.sees(answer)
    assert await _name_of(bot, ann.user.id) == "Ann"


async def test_stale_and_forged_buttons_change_nothing(tg: FakeBotApi, bot: BotRuntime) -> None:
    ann = tg.person("Ann")
    await ann.says("/start")
    consent = await ann.sees("Do you agree")
    del consent
    await ann.presses("I agree")
    await ann.sees("What name")
    # Pressing a button whose message is gone, and data nobody was ever given.
    message = tg.sent_messages(ann.user.id)[-1]
    await ann.user.press(message, "grp:rot:999")
    await ann.sees("Please send /start first")
    await ann.user.press(message, "tz:z:Mars/Olympus_Mons")
    await ann.sees("couldn't find that timezone")
    await ann.user.press(message, "zz:unknown")
    await ann.sees("no longer active")
    # Her onboarding is where it was.
    await ann.says("Ann")
    await ann.sees("Which timezone")


async def test_text_where_a_choice_was_expected(tg: FakeBotApi, bot: BotRuntime) -> None:
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Do you agree")
    await ann.says("maybe?")
    await ann.sees("Please send /start first")
    db = bot.application.bot_data.database
    assert db is not None
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM member"))).scalar_one() == 0


@pytest.mark.parametrize(
    "forged",
    ["q:ok:\u00b2", "q:ok:99999999999999999999", "esc:ack:\u00b3", "rsvp:1:\u00b2:going",
     "mood:99999999999999:3"],
)  # fmt: skip
async def test_forged_button_data_is_refused_kindly(
    tg: FakeBotApi, bot: BotRuntime, forged: str
) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.user.press(tg.sent_messages(ann.user.id)[-1], forged)
    await ann.sees("no longer active")
