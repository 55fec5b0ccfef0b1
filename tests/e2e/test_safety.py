"""Safety end to end: crisis language anywhere reaches a human, who must acknowledge it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.screening import Level, Screener, load_lexicons
from tests.e2e.conftest import COORDINATOR_ID, BotStarter, ClockAt, MovableClock
from tests.e2e.people import invite_code_in, onboard, onboard_in_spanish
from tests.tgfake.server import FakeBotApi


@pytest.fixture
def movable_clock(clock_at: ClockAt) -> MovableClock:
    return clock_at(datetime(2026, 5, 4, 21, 0, tzinfo=UTC))


async def test_a_private_crisis_message_reaches_a_coordinator_who_acknowledges_and_resolves(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot(PEERBOT_ONCALL_CONTACT="Jo, 07700 900123")
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Annie", city="London")
    await ann.says("i'm not ok. i want to just die tonight")
    reply = await ann.sees("glad you told us")
    assert "Samaritans" in reply and "116 123" in reply and "Jo, 07700 900123" in reply
    alert = await cora.sees("Urgent — someone may be in danger")
    assert "Annie" in alert and "want to just die tonight" in alert

    # Anyone else pressing the same button (replayed data) changes and learns nothing.
    bo = tg.person("Bo")
    await onboard(bo, "Bo")
    alert_message = [m for m in tg.sent_messages(cora.user.id) if "Urgent" in m["text"]][-1]
    forged = alert_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bo.user.press(tg.sent_messages(bo.user.id)[-1], forged)
    await bo.sees("no longer active")
    assert "Acknowledged" not in tg.sent_messages(cora.user.id)[-1]["text"]

    await cora.presses("Acknowledge")
    await cora.sees("You have acknowledged escalation")
    await cora.sees("Acknowledged by Cora")
    await cora.presses("Resolve")
    await cora.sees("send a short note")
    await cora.says("Called Annie, she is safe with her sister tonight.")
    await cora.sees("is resolved")
    await cora.says("/escalations")
    shown = await cora.sees("No open escalations")
    assert "The safety path, last 30 days" in shown
    assert "Escalations: 1 (urgent: 1, concern: 0); resolved: 1" in shown
    assert "Urgent ones acknowledged: 1 of 1" in shown
    await cora.says("/escalations lately")
    await cora.sees("add a number of days from 1 to 365")
    await bo.says("/escalations")
    await bo.sees("Only coordinators can see escalations.")


async def test_a_group_message_from_someone_who_never_started_the_bot_escalates_quietly(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    await cora.says("/newgroup Circle")
    invite_code_in(await cora.sees("is ready"))
    chat = tg.group("Circle chat")
    await tg.add_bot_to_group(chat, by=cora.user)
    await cora.says_in(chat, "/link")
    await tg.group_sees(chat, "now connected")
    stranger = tg.person("Sam")
    await stranger.says_in(chat, "honestly i have the pills saved up, tonight is the night")
    alert = await cora.sees("Urgent")
    assert "Circle chat" in alert
    # Nothing is said in the group that singles them out.
    assert [m["text"] for m in tg.sent_messages(chat.id)][-1].startswith(
        "This chat is now connected"
    )


async def test_an_edited_message_and_several_messages_join_one_escalation(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    original = await ann.says("rough evening")
    ann.user.edit(original, "rough evening, i want to kill myself")
    await cora.sees("Urgent")
    await ann.sees("glad you told us")
    await ann.says("I really mean it, I want to die")
    await ann.sees("glad you told us")
    alerts = [m for m in tg.sent_messages(cora.user.id) if "Urgent" in m["text"]]
    assert len(alerts) == 1  # joined the open escalation: no second page


# No lexicon phrase covers this farewell: only the learned second stage finds it.
UNLISTED_FAREWELL = "I am going to the station now, to the fast train, i am sorry mum"


async def test_wording_no_lexicon_lists_still_reaches_a_coordinator(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    assert Screener(load_lexicons()).screen(UNLISTED_FAREWELL, "en").level is Level.NONE
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Annie", city="London")
    await ann.says(UNLISTED_FAREWELL)
    reply = await ann.sees("glad you told us")
    assert "Samaritans" in reply
    alert = await cora.sees("Urgent — someone may be in danger")
    assert "Annie" in alert and "fast train" in alert


async def test_nobody_acknowledges_so_every_coordinator_is_paged_again(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1, PEERBOT_REALERT_MINUTES=5)
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("kms")
    await cora.sees("Urgent")
    movable_clock.moment += timedelta(minutes=6)
    await cora.sees("Still not acknowledged after 5 minutes")
    await cora.presses("Acknowledge")
    await cora.sees("You have acknowledged")
    movable_clock.moment += timedelta(minutes=30)
    await cora.says("/help")
    await cora.sees("findahelpline")
    assert sum("Still not acknowledged" in m for m in cora.inbox()) == 1


async def test_429s_and_5xx_delay_the_alert_but_do_not_lose_it(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    tg.inject("429", method="sendMessage", chat_id=COORDINATOR_ID, retry_after=1, times=1)
    tg.inject("502", method="sendMessage", chat_id=COORDINATOR_ID, times=2)
    await ann.says("he said he would kill me, he is hitting me")
    await cora.sees("Urgent", timeout=15)


async def test_a_spanish_member_says_it_was_not_what_they_meant_and_the_coordinator_sees_it(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    lucia = tg.person("Lucía", language_code="es")
    await onboard_in_spanish(lucia, "Lucía", "Madrid")
    await lucia.says("a veces pienso en quitarme la vida")
    await lucia.sees("Me alegra de verdad que nos lo hayas contado")
    (reply,) = [m for m in tg.sent_messages(lucia.user.id) if "Me alegra" in m["text"]]
    assert lucia.buttons(reply) == ["No quise decir eso"] and "024" in reply["text"]
    await cora.sees("Urgent — someone may be in danger")

    # Someone else pressing her button (replayed data) is refused kindly, and nothing changes.
    bo = tg.person("Bo")
    await onboard(bo, "Bo")
    forged = reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await bo.user.press(tg.sent_messages(bo.user.id)[-1], forged)
    await bo.sees("belongs to someone else's message, so nothing has changed")
    assert not any("not what they meant" in m for m in cora.inbox())

    await lucia.presses("No quise decir eso")
    await lucia.sees("Gracias por contárnoslo")
    # The help lines stay where they were; only the button is gone.
    (kept,) = [m for m in tg.sent_messages(lucia.user.id) if "Me alegra" in m["text"]]
    assert kept["text"] == reply["text"] and lucia.buttons(kept) == []

    note = await cora.sees("the member said this was not what they meant")
    assert "repeats until someone acknowledges it" in note
    await cora.says("/escalations")
    shown = await cora.sees("The safety path")
    assert "Lucía" in shown and "open — the member said it was not what they meant" in shown
    assert "by the member's own word: 1 urgent escalation of 1 in the last 30 days" in shown


async def test_a_short_yes_right_after_a_members_concern_pages_once(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Annie", city="London")
    await ann.says("i have been thinking about suicide")  # concern: a review, no page
    await ann.says("yes")
    reply = await ann.sees("glad you told us")
    assert "Samaritans" in reply
    alert = await cora.sees("Urgent — someone may be in danger")
    assert "thinking about suicide" in alert and "yes" in alert
    # Why it pages, in words a coordinator can check: the reply, read after the concern.
    assert "the reply “yes” right after it" in alert.split("Why it was flagged:", 1)[1]
    await cora.says("/escalations")
    shown = await cora.sees("The safety path")
    assert "Escalations: 1 (urgent: 1, concern: 0)" in shown  # raised, not a second one


@pytest.mark.parametrize(("sensitivity", "paged"), [("balanced", True), ("quiet", False)])
async def test_the_organisations_sensitivity_decides_what_pages(
    tg: FakeBotApi, start_bot: BotStarter, sensitivity: str, paged: bool
) -> None:
    # Hyperbole with a crisis phrase: balanced pages for it; quiet (the model does not agree
    # it is a crisis) sends it to review, so nobody is paged and no help lines are sent.
    await start_bot(PEERBOT_SCREEN_SENSITIVITY=sensitivity)
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Ann")
    await onboard(ann, "Annie", city="London")
    await ann.says("ready to end it all... the semester I mean 🎓")
    if paged:
        await ann.sees("glad you told us")
        await cora.sees("Urgent — someone may be in danger")
    else:
        await ann.sees("Thanks for your message")
    await cora.says("/escalations")
    shown = await cora.sees("The safety path")
    level = "urgent: 1, concern: 0" if paged else "urgent: 0, concern: 1"
    assert f"Escalations: 1 ({level})" in shown
    helped = [m for m in tg.sent_messages(ann.user.id) if "glad you told us" in m["text"]]
    pages = [m for m in tg.sent_messages(cora.user.id) if "may be in danger" in m["text"]]
    assert bool(helped) is paged and bool(pages) is paged
