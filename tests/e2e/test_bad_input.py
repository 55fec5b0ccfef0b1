"""Bad input anywhere gets a short, kind answer and changes nothing; no handler raises."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import text
from telegram.ext import CallbackQueryHandler

from bot.core.callbacks import KINDS
from bot.handlers.common import Buttons
from bot.handlers.fallbacks import refuse_button
from bot.runtime import BotRuntime
from tests.e2e.conftest import COORDINATOR_ID
from tests.e2e.people import onboard
from tests.tgfake.people import Person
from tests.tgfake.server import BOT_ID, FakeBotApi, FakeChat

INACTIVE = "That button is no longer active."
# Everything a person or a group can change (the intake's own tables aside).
DOMAIN_TABLES = (
    "member", "peer_group", "membership", "audit_event", "outbox", "meeting", "rsvp",
    "reminder_mute", "checkin_plan", "checkin", "escalation", "escalation_action", "question",
    "question_asker", "ask_mute", "broadcast",
)  # fmt: skip


async def snapshot(bot: BotRuntime) -> dict[str, list[tuple[Any, ...]]]:
    db = bot.application.bot_data.database
    assert db is not None
    async with db.engine.connect() as conn:
        return {
            table: sorted(
                (
                    tuple(map(repr, row))
                    for row in await conn.execute(text(f"SELECT * FROM {table}"))  # noqa: S608
                ),
            )
            for table in DOMAIN_TABLES
        }


def bot_message_in(chat: FakeChat, message_id: int = 1, date: int | None = None) -> dict[str, Any]:
    """A message of the bot's in `chat`, as a button press carries it (date 0: inaccessible)."""
    return {
        "message_id": message_id,
        "date": int(time.time()) if date is None else date,
        "chat": chat.as_dict(),
        "from": {"id": BOT_ID, "is_bot": True, "first_name": "Peerbot"},
        "text": "Choose:",
    }


def forged_press(
    tg: FakeBotApi, person: Person, data: str, message: dict[str, Any] | None
) -> dict[str, Any]:
    """A press with any data, on any message (or none: as from an inline message)."""
    query: dict[str, Any] = {"from": person.user.as_dict(), "chat_instance": "ci-9", "data": data}
    if message is not None:
        query["message"] = message
    return tg.inject_update({"callback_query": query})


async def answer_to(tg: FakeBotApi, pressed: dict[str, Any]) -> str:
    """The text the bot answered a press with (waiting for the answer)."""
    query_id = pressed["callback_query"]["id"]
    answer = await tg.wait_for(lambda: tg.callback_answers.get(query_id))
    return str(answer.get("text") or "")


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
    await ann.presses("I agree")
    await ann.sees("What name")
    # Pressing a button whose message is gone, and data nobody was ever given.
    message = tg.sent_messages(ann.user.id)[-1]
    await ann.user.press(message, "grp:rot:999")
    await ann.sees("Please send /start first")
    before = await snapshot(bot)
    pressed = await ann.user.press(message, "tz:z:Mars/Olympus_Mons")
    assert await ann.toast(pressed) == INACTIVE
    await ann.sees("no longer active")
    pressed = await ann.user.press(message, "zz:unknown")
    assert await ann.toast(pressed) == INACTIVE
    await ann.sees("no longer active")
    assert await snapshot(bot) == before
    # Her onboarding is where it was.
    await ann.says("Ann")
    await ann.sees("Which timezone")


async def test_text_where_a_choice_was_expected(tg: FakeBotApi, bot: BotRuntime) -> None:
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Do you agree")
    await ann.says("maybe?")
    again = await ann.sees("I need your answer to this: do you agree")
    assert "/start first" not in again
    assert ann.buttons(tg.sent_messages(ann.user.id)[-1]) == ["I agree", "No, thanks"]
    db = bot.application.bot_data.database
    assert db is not None
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM member"))).scalar_one() == 0


def test_every_kind_of_button_has_one_handler_and_anything_else_one_refusal(
    bot: BotRuntime,
) -> None:
    handlers = [h for group in bot.application.handlers.values() for h in group]
    handled = [kind for h in handlers if isinstance(h, Buttons) for kind in h.kinds]
    assert sorted(handled, key=repr) == sorted(KINDS, key=repr)  # each kind exactly once
    others = [h for h in handlers if isinstance(h, CallbackQueryHandler)]
    assert [h.callback for h in others] == [refuse_button]
    assert bot.application.handlers[0][-1] is others[0]  # last: only what nothing else took


FORGED = [
    "", "::::", "A" * 40, "' OR 1=1 --", "esc", "esc:", "esc:ack", "esc:ack:0",
    f"esc:ack:{2**31}", "esc:ack:9999999999", "esc:ack:\u00b3", "q:ok:\u00b2", "q:ok:\u0661",
    "q:ok:99999999999999999999", "q:ok:01", "rsvp:1:\u00b2:going", "rsvp:1:1767225600:going",
    "mood:99999999999999:3", "mood:1767225600:9", "ob:yes", "ob:yes:not-an-invite",
    "grp:link:1", "grp:rot:1:2", "ask:send", "bc:g:everyone", "lang:xx", "tz:z:Mars/Olympus_Mons",
]  # fmt: skip


@pytest.mark.parametrize("forged", FORGED)
async def test_forged_button_data_is_refused_kindly(
    tg: FakeBotApi, bot: BotRuntime, forged: str
) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    before = await snapshot(bot)
    pressed = await ann.user.press(tg.sent_messages(ann.user.id)[-1], forged)
    assert await ann.toast(pressed) in (
        INACTIVE,
        "That button works in the group chat it was sent to.",
    )
    await ann.sees(lambda shown: "no longer active" in shown or "group chat" in shown)
    assert await snapshot(bot) == before
    assert tg.unanswered_queries() == []


async def test_forged_presses_in_a_group_are_answered_and_nothing_is_said_there(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    """Onboarding buttons pressed in a group chat the bot was never linked to (it used to
    welcome the presser there, with their name and timezone), and junk of every kind."""
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    zed = tg.person("Zed")  # never started the bot
    chat = tg.group("Somewhere else")
    await tg.add_bot_to_group(chat, by=ann.user)
    before = await snapshot(bot)
    private_only = ["ob:yes:-", "ob:no", "tz:z:Europe/London", "set:name", "ci:r:daily"]
    for person in (ann, zed):
        for data in [*private_only, "esc:", "esc", *FORGED[:4]]:
            pressed = forged_press(tg, person, data, bot_message_in(chat))
            expected = "private chat" if data in private_only else INACTIVE
            assert expected in await answer_to(tg, pressed), data
    assert chat.id not in tg.spoken_in()
    assert await snapshot(bot) == before
    assert tg.unanswered_queries() == []


async def test_a_press_without_a_message_is_answered(tg: FakeBotApi, bot: BotRuntime) -> None:
    """As from an inline message (the bot sends none): no chat to speak in, nothing to do."""
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    before = await snapshot(bot)
    sent_before = len(tg.sent_messages())
    # Refused by the codec (a private button, or data it did not make): its kind word.
    for person, data in [(ann, "grp:link:1"), (ann, "ob:yes:-"), (ann, "set:name"), (ann, ""),
                         (cora, "esc:"), (cora, "::::")]:  # fmt: skip
        assert await answer_to(tg, forged_press(tg, person, data, None)), data
    # Of a shape pressable anywhere, so its service looks: no such escalation. Answered (in
    # words when the service is quick, else blank by the intake's deadline), nothing said.
    await answer_to(tg, forged_press(tg, cora, "esc:ack:1", None))
    for person in (ann, cora):  # their presses queue with their own chats: wait for them
        await person.says("/help")
        await person.sees("findahelpline.com")
    assert len(tg.sent_messages()) == sent_before + 2
    assert await snapshot(bot) == before
    assert tg.unanswered_queries() == []


async def test_a_press_on_an_inaccessible_message_still_works(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    """Telegram leaves out an old message's content (date 0): the press is handled all the
    same, and a forged one refused."""
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    private = tg.chats[ann.user.id]
    pressed = forged_press(tg, ann, "set:lang", bot_message_in(private, 1, date=0))
    await ann.sees("Choose your language")
    assert await answer_to(tg, pressed) == ""
    pressed = forged_press(tg, ann, "q:ok:\u00b2", bot_message_in(private, 1, date=0))
    assert await answer_to(tg, pressed) == INACTIVE
    await ann.sees("no longer active")
    assert tg.unanswered_queries() == []
