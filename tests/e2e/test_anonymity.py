"""Nothing the bot sends anywhere but to the asker's own chat may identify the asker."""

from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import select

from bot.storage.models import Outbox
from tests.e2e.conftest import BotStarter
from tests.e2e.people import coordinator_and_facilitator, invite_code_in, joins
from tests.e2e.test_questions import asks, posted
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi

ASKER_ID = 5_550_123_987
ASKER_NAMES = ("Zephyrine", "Quillfeather", "zq_hidden_asker", "Moonbeam")


def leaks(tg: FakeBotApi) -> list[str]:
    """Every request to any chat but the asker's own that carries something of hers."""
    found = []
    for request in tg.requests:
        if request.params.get("chat_id") == ASKER_ID:
            continue
        sent = json.dumps(request.params, ensure_ascii=False)
        for mark in (str(ASKER_ID), *ASKER_NAMES):
            if mark.lower() in sent.lower():
                found.append(f"{request.method} to {request.params.get('chat_id')}: {mark}")
    return found


async def test_the_whole_question_path_never_reveals_the_asker(
    tg: FakeBotApi, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # even at DEBUG, logs carry nothing of hers
    bot = await start_bot(PEERBOT_LOG_LEVEL="DEBUG")
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    zeph = Person(tg, tg.user("Zephyrine", last_name="Quillfeather", username="zq_hidden_asker",
                              user_id=ASKER_ID))  # fmt: skip
    bo, sam = tg.person("Bo"), tg.person("Sam")
    await joins(zeph, "Moonbeam", code)
    await joins(bo, "Bobby", code)
    chat = tg.group("Circle chat")
    await tg.add_bot_to_group(chat, by=fay.user)
    await fay.says_in(chat, "/link")
    await tg.group_sees(chat, "now connected")

    # Approved, answered, followed up; then a second question rejected with a reason.
    await asks(zeph, "How did you tell your family about the diagnosis?")
    await fay.presses("Approve")
    await tg.group_sees(chat, "Anonymous question #1")
    await zeph.sees("now posted")
    bo.user.reply(posted(tg, chat.id, "Anonymous question #1"), "I wrote them a letter first")
    await zeph.sees("I wrote them a letter first")
    follow_up_message = posted(tg, ASKER_ID, "replied to your anonymous question")
    follow_up_data = follow_up_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await zeph.presses("Answer anonymously")
    await zeph.says("Did they take it well?")
    await zeph.presses("Send anonymously")
    await fay.sees("Anonymous follow-up to question #1")
    await fay.presses("Approve")
    await tg.group_sees(chat, "Anonymous follow-up to question #1")
    await zeph.says("/ask")
    await zeph.sees("Which group would you like to ask?")
    await zeph.presses("Circle")
    await zeph.says("Can I bring my partner next time?")
    await zeph.presses("Send anonymously")
    card = await fay.sees("Can I bring my partner next time?")
    assert "Moonbeam" not in card
    card_message = posted(tg, fay.user.id, "Can I bring my partner")
    approve_data = card_message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    mute_data = card_message["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    await fay.presses("Reject")
    await fay.says("Let's keep the group to members, sorry!")
    await zeph.sees("Let's keep the group to members")

    # Replayed buttons from a facilitator and a stranger: nothing changes, nothing is revealed.
    await joins(sam, "Sam", code)
    for person, data in ((fay, follow_up_data), (sam, follow_up_data), (sam, approve_data),
                         (sam, mute_data), (sam, "ask:send")):  # fmt: skip
        await person.user.press(tg.sent_messages(person.user.id)[-1], data)
        await person.sees("no longer active")
    await fay.says("/questions")
    await fay.sees("Mutes in place: 0")
    assert sum("Anonymous question" in m.get("text", "") for m in tg.sent_messages(chat.id)) == 1

    assert leaks(tg) == []
    logged = "\n".join(r.getMessage() for r in caplog.records).lower()
    assert [m for m in (str(ASKER_ID), *ASKER_NAMES) if m.lower() in logged] == []
    # The outbox keeps no "this went to her" once her messages are out.
    db = bot.application.bot_data.database
    assert db is not None
    async with db.uow(read_only=True) as uow:
        rows = (await uow.session.execute(select(Outbox))).scalars().all()
    assert [r.key for r in rows if r.chat_id == ASKER_ID or str(ASKER_ID) in r.key] == []
    # The test would notice a leak: her own chat does carry her chosen name.
    assert any("Moonbeam" in json.dumps(r.params) for r in tg.requests)
