"""Meetings end to end: a facilitator schedules, members RSVP, reminders arrive on time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e.conftest import COORDINATOR_ID, BotStarter, ClockAt, MovableClock
from tests.e2e.people import invite_code_in, onboard
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi


@pytest.fixture
def movable_clock(clock_at: ClockAt) -> MovableClock:
    return clock_at(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))


async def _group_with_members(tg: FakeBotApi) -> tuple[Person, Person, Person]:
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora", city="London")
    await cora.says("/newgroup Tuesday Circle")
    code = invite_code_in(await cora.sees("is ready"))
    ann = tg.person("Ann")
    await onboard(ann, "Ann", city="Berlin", start=f"/start join_{code}")
    bo = tg.person("Bo")
    await onboard(bo, "Bo", city="New York", start=f"/start join_{code}")
    return cora, ann, bo


async def _tuesday_talk(
    facilitator: Person, place: str = "/skip", repeat: str = "Every week"
) -> None:
    """Tuesday 24 March 2026 at 19:00 London (weekly unless said otherwise), for an hour."""
    await facilitator.says("/newmeeting")
    await facilitator.says("Tuesday talk")
    await facilitator.says("2026-03-24 19:00")
    await facilitator.presses(repeat)
    await facilitator.presses("60 min")
    await facilitator.says(place)
    await facilitator.sees("Scheduled")


async def test_schedule_a_meeting_and_get_reminders_in_your_own_time(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, ann, bo = await _group_with_members(tg)

    await cora.says("/newmeeting")
    await cora.sees("What is the meeting called")
    await cora.says("Tuesday talk")
    await cora.sees("When is the first meeting")
    await cora.says("2026-03-24 19:00")
    await cora.presses("Every week")
    await cora.presses("90 min")
    await cora.sees("Where is it")
    await cora.says("Room 4 <upstairs>")
    await cora.sees("Scheduled: Tuesday talk")

    await ann.says("/meetings")
    await ann.sees("Tuesday talk")
    await ann.sees("20:00 your time (Europe/Berlin)")
    await bo.says("/meetings")
    await bo.sees("15:00 your time (America/New_York)")
    toast = await bo.toast(await bo.presses("Can't go"))
    assert toast == "Saved: can't go."

    # 24 hours before: reminders to those who have not said no, in their own time.
    movable_clock.moment = datetime(2026, 3, 23, 19, 0, tzinfo=UTC)
    await ann.sees("starts in 24 hours: Tue 24 Mar, 20:00 your time")
    await cora.sees("starts in 24 hours")
    movable_clock.moment = datetime(2026, 3, 24, 18, 0, tzinfo=UTC)
    await ann.sees("starts in 1 hour")
    # After London's clocks change, the next week's meeting is still at 19:00 London time.
    movable_clock.moment = datetime(2026, 3, 30, 18, 0, tzinfo=UTC)
    await cora.sees("Tue 31 Mar, 19:00")
    await bo.sees("Tue 31 Mar, 14:00 your time")
    # Bo said he can't go to the first meeting: the second week's reminder is his first.
    reminders_to_bo = [m for m in bo.inbox() if "starts in" in m]
    assert len(reminders_to_bo) == 1


async def test_a_member_downloads_the_meeting_as_a_calendar_file(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, ann, _ = await _group_with_members(tg)
    await cora.says("/newmeeting")
    await cora.says("Tuesday talk")
    await cora.says("24 Mar 19:00")  # the short date form, on purpose
    await cora.presses("Just once")
    await cora.presses("60 min")
    await cora.says("/skip")
    await cora.sees("Scheduled: Tuesday talk")
    await ann.says("/meetings")
    await ann.presses("Add to calendar")
    documents = await tg.wait_for(
        lambda: [r for r in tg.requests if r.method == "sendDocument"], timeout=5
    )
    assert documents


async def test_reminders_can_be_muted_per_group(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, ann, _ = await _group_with_members(tg)
    await _tuesday_talk(cora, repeat="Just once")
    await ann.says("/meetings")
    await ann.presses("Mute reminders for Tuesday Circle")
    await ann.sees("Reminders for Tuesday Circle are off")
    movable_clock.moment = datetime(2026, 3, 23, 19, 0, tzinfo=UTC)
    await cora.sees("starts in 24 hours")
    assert not any("starts in" in m for m in ann.inbox())


async def test_cancelling_tells_those_who_were_coming(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, ann, bo = await _group_with_members(tg)
    await _tuesday_talk(cora)
    await ann.says("/meetings")
    assert await ann.toast(await ann.presses("Going")) == "Saved: going."
    await bo.says("/meetings")
    await bo.sees("Tuesday talk")
    assert "Cancel this meeting" not in bo.buttons(tg.sent_messages(bo.user.id)[-2])
    await cora.says("/meetings")
    await cora.presses("Cancel this meeting")
    await cora.presses("Yes, cancel it")
    await cora.sees("is cancelled. 1 member who planned to come was told")
    await ann.sees("Tuesday talk on Tue 24 Mar, 20:00 (Europe/Berlin) has been cancelled")
    movable_clock.moment = datetime(2026, 3, 23, 19, 0, tzinfo=UTC)
    await ann.says("/meetings")
    await ann.sees("No meetings in the next 30 days")
    assert not any("starts in" in m for m in bo.inbox())


async def test_changing_time_or_place_tells_those_who_were_coming(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, ann, bo = await _group_with_members(tg)
    await _tuesday_talk(cora, place="Room 4")
    await ann.says("/meetings")
    assert await ann.toast(await ann.presses("Maybe")) == "Saved: maybe."
    await cora.says("/meetings")
    await cora.presses("Change time or place")
    await cora.sees("What would you like to change?")
    await cora.presses("Place")
    await cora.says("Room 9")
    await cora.sees("is updated. 1 member who planned to come was told")
    await ann.sees("Tuesday talk has changed: next on Tue 24 Mar, 20:00 (Europe/Berlin), at Room 9")
    await cora.says("/meetings")
    await cora.presses("Change time or place")
    await cora.sees("What would you like to change?")
    await cora.presses("Time")
    await cora.says("25 Mar 18:00")
    await cora.sees("is updated")
    await ann.sees("next on Wed 25 Mar, 19:00 (Europe/Berlin)")
    # Reminders follow the new time: 24 hours before Wednesday 18:00 London (UTC).
    movable_clock.moment = datetime(2026, 3, 24, 18, 0, tzinfo=UTC)
    await bo.sees("starts in 24 hours: Wed 25 Mar, 14:00 your time")
