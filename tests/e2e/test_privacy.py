"""Members' data rights end to end: /forget, a coordinator's /erase, /mydata.

The erasure tests look at the database the way an auditor would: every row of every table,
its encrypted columns decrypted with the key, searched for the person's Telegram id, username,
names and every text they wrote."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from bot.runtime import BotRuntime
from bot.storage.uow import Database
from tests.e2e.conftest import BotStarter, ClockAt, MovableClock
from tests.e2e.people import coordinator_and_facilitator, invite_code_in, joins
from tests.e2e.test_questions import asks, posted
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi, FakeChat

QUESTION = "Does anyone else feel glass-heavy on Mondays?"
NOTE = "lemon tea with granny helped"
REPLY_TO_ANN = "tangerine evenings helped me a lot"
CRISIS = "i'm not ok. i want to just die tonight"
DRAFT = "half written thought about periwinkle skies"
DISPLAY_NAME = "Nightjar Moss"


@pytest.fixture
def movable_clock(clock_at: ClockAt) -> MovableClock:
    return clock_at(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))


def database(bot: BotRuntime) -> Database:
    return bot.application.bot_data.services.privacy.db


async def rows_of(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, decrypted (the column types decrypt with the key)."""
    found: dict[str, list[dict[str, Any]]] = {}
    async with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            result = await connection.execute(select(table))
            found[table.name] = [dict(row) for row in result.mappings()]
    return found


def traces(
    tables: dict[str, list[dict[str, Any]]], telegram_id: int, words: list[str]
) -> list[tuple[str, str, object]]:
    """(table, column, value) of every value naming the person or quoting them."""
    number = re.compile(rf"(?<!\d){telegram_id}(?!\d)")
    hits: list[tuple[str, str, object]] = []
    for table, rows in tables.items():
        for row in rows:
            for column, value in row.items():
                named = isinstance(value, int) and value == telegram_id
                quoted = isinstance(value, str) and bool(
                    number.search(value) or any(w.lower() in value.lower() for w in words)
                )
                if named or quoted:
                    hits.append((table, column, value))
    return hits


async def no_traces_left(db: Database, telegram_id: int, words: list[str]) -> None:
    """Settled deliveries are scrubbed just after they are sent: allow them a moment."""
    for _ in range(40):
        hits = traces(await rows_of(db), telegram_id, words)
        if not hits:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(hits)


async def a_full_life(
    tg: FakeBotApi, movable_clock: MovableClock
) -> tuple[Person, Person, Person, Person, FakeChat]:
    """Cora (coordinator), Fay (facilitator of Circle, linked to a chat), Ann, and Zephyrine,
    who does one of everything a member can do."""
    cora, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    zeph = tg.person("Zephyrine", last_name="Quillfeather", username="zephy_q")
    await joins(ann, "Ann", code)
    await joins(zeph, DISPLAY_NAME, code)
    chat = tg.group("Circle chat")
    await tg.add_bot_to_group(chat, by=fay.user)
    await fay.says_in(chat, "/link")
    await tg.group_sees(chat, "now connected")

    # A weekly meeting: both answer, Zephyrine mutes the group's reminders.
    await fay.says("/newmeeting")
    await fay.says("Tuesday talk")
    await fay.says("2026-03-24 19:00")
    await fay.presses("Every week")
    await fay.presses("60 min")
    await fay.says("/skip")
    await fay.sees("Scheduled")
    for person in (ann, zeph):
        await person.says("/meetings")
        await person.toast(await person.presses("Going"))
    await zeph.presses("Mute reminders for Circle")
    await zeph.sees("Reminders for Circle are off")

    # A daily check-in, answered with a note.
    await zeph.says("/checkin")
    await zeph.presses("Every day")
    await zeph.presses("20:00")
    await zeph.sees("Your next check-in is Fri 20 Mar, 20:00")
    movable_clock.moment = datetime(2026, 3, 20, 20, 0, tzinfo=UTC)
    await zeph.sees("how are you feeling right now")
    await zeph.presses("4")
    await zeph.sees("Thank you for checking in")
    await zeph.says(NOTE)
    await zeph.sees("noted")

    # A question of hers, posted and answered; one of Ann's, which she answers in the chat.
    await asks(zeph, QUESTION)
    await fay.sees(QUESTION)
    await fay.presses("Approve")
    await tg.group_sees(chat, "Anonymous question #1")
    ann.user.reply(posted(tg, chat.id, "Anonymous question #1"), "Mondays are hard for me too")
    await zeph.sees("replied to your anonymous question #1")
    movable_clock.moment = datetime(2026, 3, 20, 20, 5, tzinfo=UTC)  # posts go out in order
    await asks(ann, "How do you all sleep before a big day?")
    await fay.sees("sleep before a big day")
    await fay.presses("Approve")
    await tg.group_sees(chat, "Anonymous question #2")
    zeph.user.reply(posted(tg, chat.id, "Anonymous question #2"), REPLY_TO_ANN)
    relayed = await ann.sees("replied to your anonymous question #2")
    assert DISPLAY_NAME in relayed

    # A crisis message: stored, alerted to the coordinator.
    await zeph.says(CRISIS)
    await zeph.sees("glad you told us")
    alert = await cora.sees("Urgent — someone may be in danger")
    assert DISPLAY_NAME in alert

    # An announcement reaches both members.
    await fay.says("/broadcast")
    await fay.sees("Write the announcement for Circle")
    await fay.says("Meeting moved to Thursday")
    await fay.presses("Send to 2")
    await ann.sees("Meeting moved to Thursday")
    await zeph.sees("Meeting moved to Thursday")
    await fay.sees("Delivered: 2 of 2", timeout=10)

    # And a question left half-written (a draft).
    await zeph.says("/ask")
    await zeph.sees("Which group would you like to ask")
    await zeph.presses("Circle")
    await zeph.sees("Write your question")
    await zeph.says(DRAFT)
    await zeph.sees("This is how your question will appear")
    return cora, fay, ann, zeph, chat


def her_words() -> list[str]:
    return [
        "Zephyrine",
        "Quillfeather",
        "zephy_q",
        DISPLAY_NAME,
        QUESTION,
        "glass-heavy",
        NOTE,
        REPLY_TO_ANN,
        "want to just die tonight",
        DRAFT,
    ]


async def the_group_carries_on(
    tg: FakeBotApi, db: Database, fay: Person, ann: Person, chat: FakeChat
) -> None:
    """Everyone else's data, and the group's history, work as before."""
    tables = await rows_of(db)
    assert len(tables["rsvp"]) == 1  # Ann's answer stays
    assert len(tables["membership"]) == 2  # Fay's and Ann's
    bc = [r for r in tables["outbox"] if r["batch"] == "bc:1"]
    assert len(bc) == 2 and all(r["status"] == "sent" for r in bc)  # still 2 of 2
    questions = sorted(tables["question"], key=lambda q: q["id"])
    assert [q["number"] for q in questions] == [1, 2]
    assert questions[0]["text"] == "" and "sleep" in questions[1]["text"]
    # Her posted question's thread: a reply to it is relayed to no one, and nothing breaks.
    fay.user.reply(posted(tg, chat.id, "Anonymous question #1"), "Welcome, whoever you are")
    # Ann's question's thread works as before.
    fay.user.reply(posted(tg, chat.id, "Anonymous question #2"), "A warm bath, always")
    await ann.sees(lambda shown: "A warm bath" in shown)
    await ann.presses("Answer anonymously")
    await ann.sees("Write your anonymous follow-up to question #2")


async def test_forget_erases_everything_but_a_pseudonymised_safety_record(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    bot = await start_bot(PEERBOT_TICK_SECONDS=0.1)
    db = database(bot)
    cora, fay, ann, zeph, chat = await a_full_life(tg, movable_clock)
    assert traces(await rows_of(db), zeph.user.id, her_words())  # the scan does find her

    await zeph.says("/forget")
    explained = await zeph.sees("Erase your data")
    assert "365 days" in explained and "/mydata" in explained
    await zeph.presses("Keep my data")
    await zeph.sees("Nothing has been erased")
    await zeph.says("/settings")
    await zeph.presses("Erase my data")
    await zeph.sees("Erase your data")
    await zeph.presses("Continue")
    await zeph.sees("Are you sure?")
    await zeph.presses("Erase everything now")
    await zeph.sees("Your data has been erased")

    await no_traces_left(db, zeph.user.id, her_words())
    tables = await rows_of(db)
    (record,) = tables["escalation"]
    assert record["author_telegram_id"] == 0 and record["author_name"] is None
    assert record["text"] == "" and len(record["author_ref"]) == 64
    assert record["level"] == "urgent" and record["erased_at"] is not None
    await the_group_carries_on(tg, db, fay, ann, chat)

    # The coordinator can still acknowledge the alert; it no longer names her.
    await cora.presses("Acknowledge")
    await cora.sees("You have acknowledged escalation")

    # She comes back one day: a fresh start.
    await zeph.says("/start")
    notice = await zeph.sees("Your privacy")
    assert "/forget" in notice and "/mydata" in notice
    assert (await rows_of(db))["member"] == [] or all(
        m["telegram_id"] != zeph.user.id for m in (await rows_of(db))["member"]
    )


async def test_a_coordinator_erases_a_member_and_nobody_else_can(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    bot = await start_bot(PEERBOT_TICK_SECONDS=0.1)
    db = database(bot)
    cora, fay, ann, zeph, chat = await a_full_life(tg, movable_clock)

    before = await rows_of(db)
    for someone in (fay, ann):
        await someone.says(f"/erase {zeph.user.id}")
        await someone.sees("only coordinators can erase a member's data")
    # A forged confirmation press changes nothing either.
    forged = f"priv:erase:{zeph.user.id}"
    await ann.user.press(tg.sent_messages(ann.user.id)[-1], forged)
    await ann.sees("only coordinators can erase")
    after = await rows_of(db)
    for table in ("member", "membership", "rsvp", "checkin", "question_asker", "escalation"):
        assert after[table] == before[table], table

    await cora.says("/erase 123")
    await cora.sees("No member with the id 123")
    await cora.says(f"/erase {zeph.user.id}")
    confirm = await cora.sees("Erase all the data of")
    assert DISPLAY_NAME in confirm
    await cora.presses("Cancel")
    await cora.sees("nothing has been erased")
    await cora.says(f"/erase {zeph.user.id}")
    await cora.presses("Erase their data")
    await cora.sees(f"All the data of member {zeph.user.id} has been erased")

    await no_traces_left(db, zeph.user.id, her_words())
    audit = [e for e in (await rows_of(db))["audit_event"] if e["action"] == "member.erased"]
    assert len(audit) == 1 and audit[0]["actor_id"] is not None
    assert len(audit[0]["subject_ref"]) == 64
    await the_group_carries_on(tg, db, fay, ann, chat)


async def test_mydata_holds_every_kind_of_record_and_nothing_about_anyone_else(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, fay, ann, zeph, _chat = await a_full_life(tg, movable_clock)

    await zeph.says("/mydata")
    summary = await zeph.sees("everything the bot keeps about you")
    assert "• Check-ins: 1" in summary and "• Anonymous questions you asked: 1" in summary
    uploads = [
        u for u in tg.uploads if u["method"] == "sendDocument" and u["chat_id"] == zeph.user.id
    ]
    (upload,) = uploads
    data = json.loads(next(iter(upload["files"].values())))
    assert data["format"] == "peerbot-member-data" and data["version"] == 1
    assert data["profile"]["telegram_id"] == zeph.user.id
    assert data["profile"]["display_name"] == DISPLAY_NAME
    assert data["consent"]["agreed_at"] and data["consent"]["agreed_version"]
    assert data["groups"] == [
        {
            "group": "Circle",
            "role": "member",
            "joined_at": data["groups"][0]["joined_at"],
            "reminders_muted": True,
        }
    ]
    (rsvp,) = data["rsvps"]
    assert rsvp["meeting"] == "Tuesday talk" and rsvp["answer"] == "going"
    assert data["checkin_plan"]["rhythm"] == "daily"
    (checkin,) = data["checkins"]
    assert checkin["mood"] == 4 and checkin["note"] == NOTE
    (question,) = data["questions"]
    assert question["text"] == QUESTION and question["number"] == 1
    assert question["status"] == "approved" and question["posted_at"]
    (escalation,) = data["escalations"]
    assert escalation["level"] == "urgent" and escalation["status"] == "open"
    assert set(escalation) == {"created_at", "level", "status"}  # no coordinators' notes
    assert data["unfinished_draft"]["text"] == DRAFT

    # Nothing that identifies anyone else.
    raw = json.dumps(data, ensure_ascii=False)
    for other in (cora, fay, ann):
        assert str(other.user.id) not in raw
    for name in ("Cora", "Fay", "Ann", "sleep before a big day", "Mondays are hard"):
        assert name not in raw

    # At most once an hour.
    await zeph.says("/settings")
    await zeph.presses("Download my data")
    await zeph.sees("You downloaded your data a moment ago")
    movable_clock.moment = datetime(2026, 3, 20, 21, 30, tzinfo=UTC)
    await zeph.says("/mydata")
    await zeph.sees("everything the bot keeps about you")
