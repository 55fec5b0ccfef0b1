"""A member's first minutes: /start, consent, name, timezone — and coming back later."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.core.consent import CONSENT_VERSION
from bot.runtime import BotRuntime
from tests.e2e.conftest import BotStarter
from tests.e2e.people import onboard
from tests.tgfake.server import FakeBotApi


async def test_new_member_gives_consent_and_sets_up_a_profile(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Welcome to")
    await ann.sees("Group rules")
    await ann.sees("Your privacy")
    await ann.sees("Do you agree")
    await ann.presses("I agree")
    await ann.sees("What name would you like others")
    await ann.says("Annie")
    await ann.sees("Which timezone are you in")
    await ann.presses("Europe")
    await ann.presses("London")
    await ann.sees("You're all set, Annie. Your timezone is Europe/London")
    await ann.sees("/groups")


async def test_timezone_can_be_typed_as_a_city(tg: FakeBotApi, bot: BotRuntime) -> None:
    bo = tg.person("Bo")
    await bo.says("/start")
    await bo.presses("I agree")
    await bo.says("Bo")
    await bo.says("Atlantis")
    await bo.sees("couldn't find that timezone")
    await bo.says("new york")
    await bo.sees("Your timezone is America/New_York")


async def test_declining_stores_nothing_but_the_refusal(tg: FakeBotApi, bot: BotRuntime) -> None:
    cy = tg.person("Cy")
    await cy.says("/start")
    await cy.presses("No, thanks")
    await cy.sees("completely okay")
    db = bot.application.bot_data.database
    assert db is not None
    async with db.engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT display_name, timezone, consent_version, declined_version,"
                    " pending_invite FROM member"
                )
            )
        ).all()
    assert rows == [(None, None, None, CONSENT_VERSION, None)]
    # Changing their mind later works.
    await cy.says("/start")
    await cy.presses("I agree")
    await cy.sees("What name would you like")


async def test_onboarded_member_gets_the_menu_not_the_consent_again(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/start")
    await ann.sees("Welcome back, Ann")
    assert not any("Do you agree" in m for m in ann.inbox()[-3:])


async def test_restart_with_the_same_database_asks_nothing_twice(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    first = await start_bot()
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.presses("I agree")
    await ann.says("Ann")
    await first.stop()

    await start_bot()
    # Mid-onboarding before the restart: she continues where she was.
    await ann.says("/start")
    await ann.sees("Which timezone are you in")
    await ann.says("Berlin")
    await ann.sees("You're all set, Ann")
    await ann.says("/start")
    await ann.sees("Welcome back, Ann")
    consent_screens = [m for m in ann.inbox() if "Do you agree" in m]
    assert len(consent_screens) == 1


async def test_settings_change_name_and_timezone(tg: FakeBotApi, bot: BotRuntime) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/settings")
    await ann.sees("Name: Ann")
    await ann.presses("Change name")
    await ann.says("Annabel")
    await ann.sees("others now see you as Annabel")
    await ann.says("/settings")
    await ann.presses("Change timezone")
    await ann.presses("Asia")
    await ann.presses("Tokyo")
    await ann.sees("your timezone is now Asia/Tokyo")
    await ann.says("/settings")
    await ann.sees("Timezone: Asia/Tokyo")


async def test_a_new_privacy_notice_is_agreed_to_again(
    tg: FakeBotApi, bot: BotRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    monkeypatch.setattr("bot.services.members.CONSENT_VERSION", CONSENT_VERSION + 1)
    await ann.says("/start")
    await ann.sees("have changed since you last agreed")
    await ann.sees("Do you agree")
    await ann.presses("I agree")
    # Name and timezone are kept: she is straight back in.
    await ann.sees("You're all set, Ann. Your timezone is Europe/London")
