"""Check-ins end to end: a rhythm, a prompt at the member's local time, a mood, a note, the
chart — and a kind offer of support after several very low answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.conftest import COORDINATOR_ID, BotStarter, ClockAt, MovableClock
from tests.e2e.people import invite_code_in, onboard
from tests.tgfake.server import FakeBotApi


@pytest.fixture
def movable_clock(clock_at: ClockAt) -> MovableClock:
    return clock_at(datetime(2026, 3, 27, 9, 0, tzinfo=UTC))


async def test_daily_checkin_mood_note_and_chart(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    ann = tg.person("Ann")
    await onboard(ann, "Ann", city="London")
    await ann.says("/mood")
    await ann.sees("no mood history yet")
    await ann.says("/checkin")
    await ann.presses("Every day")
    await ann.presses("20:00")
    await ann.sees("Your next check-in is Fri 27 Mar, 20:00 (Europe/London)")

    movable_clock.moment = datetime(2026, 3, 27, 20, 0, tzinfo=UTC)
    await ann.sees("how are you feeling right now")
    await ann.presses("4")
    await ann.sees("Thank you for checking in")
    await ann.says("slept well, calmer today")
    await ann.sees("noted")

    # Clocks go forward on Sunday 29 March: 20:00 London is then 19:00 UTC.
    movable_clock.moment = datetime(2026, 3, 29, 19, 0, tzinfo=UTC)
    await ann.sees("how are you feeling right now")
    await ann.presses("3")
    await ann.sees("Thank you for checking in")
    await ann.says("/skip")

    await ann.says("/mood")
    chart = await ann.sees("Your mood: 2 check-ins")
    assert "average 3.5" in chart
    photos = [u for u in tg.uploads if u["method"] == "sendPhoto" and u["chat_id"] == ann.user.id]
    assert photos and next(iter(photos[0]["files"].values())).startswith(b"\x89PNG")


async def test_several_very_low_answers_offer_a_facilitator_kindly(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    await cora.says("/newgroup Circle")
    code = invite_code_in(await cora.sees("is ready"))
    ann = tg.person("Ann")
    await onboard(ann, "Ann", start=f"/start join_{code}")
    await ann.says("/checkin")
    await ann.presses("Every day")
    await ann.presses("08:00")
    await ann.sees("Your next check-in")
    for day in range(3):
        movable_clock.moment = datetime(2026, 3, 28, 8, 0, tzinfo=UTC) + timedelta(days=day)
        await ann.sees("how are you feeling right now")
        await ann.presses("1")
        await ann.sees("Thank you for checking in")
    await ann.sees("Would you like to talk with one of your group's facilitators")
    await ann.presses("Yes, I'd like to talk")
    await ann.sees("A facilitator has been asked to get in touch")
    notice = await cora.sees("said they would like to talk")
    assert "Ann" in notice
    link = [m for m in tg.sent_messages(cora.user.id) if "would like to talk" in m["text"]]
    assert link  # the notice names Ann; the tappable link points to her chat
    await cora.says("/groupmood")
    await cora.sees("fewer than five members")
