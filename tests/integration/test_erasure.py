"""Erasure against a real database, for the records a member's own story does not create:
a facilitator's announcements and groups, notices naming the member, dead letters they sent
in a group chat, and rows stored before pseudonyms existed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select, update

from bot.services import Services
from bot.services.errors import NotAllowed, NotFound
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import (
    AskMute,
    AuditEvent,
    Broadcast,
    Inbound,
    Meeting,
    Outbox,
    PeerGroup,
    Question,
    QuestionAsker,
)
from bot.storage.uow import Database

CORA, FAY, ANN = 1, 20, 30


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    db = Database.connect(database_url)
    await upgrade_to_head(db.engine)
    yield Services.build(db, frozenset({CORA}))
    await db.dispose()


async def member(services: Services, telegram_id: int, name: str, code: str | None = None) -> None:
    await services.members.accept_consent(telegram_id, "en", code)
    await services.members.set_display_name(telegram_id, name)
    await services.members.set_timezone(telegram_id, "Europe/London")


async def test_erasing_a_facilitator_keeps_the_group_and_its_counts(services: Services) -> None:
    db = services.privacy.db
    await member(services, CORA, "Cora")
    await member(services, FAY, "Fay Quill")
    await services.roles.set_facilitator(CORA, FAY, allowed=True)
    group = await services.groups.create_group(FAY, "Circle")
    await member(services, ANN, "Ann", group.invite_code)
    async with db.uow() as uow:
        meeting = Meeting(
            group_id=group.id, title="Tuesday talk", first_local="2026-03-24T19:00",
            timezone="Europe/London", repeat="weekly", created_by=2,
        )  # fmt: skip
        uow.session.add(meeting)
        broadcast = await uow.broadcasts.add(
            Broadcast(
                group_id=group.id, author_telegram_id=FAY, text="Fay's own words",
                status="done", total=1, status_chat_id=FAY, status_message_id=9,
            )
        )  # fmt: skip
        await uow.outbox.enqueue(
            key=f"bc:{broadcast.id}:{ANN}", kind="broadcast", chat_id=ANN,
            payload='{"text": "Fay\'s own words"}', batch=f"bc:{broadcast.id}",
        )  # fmt: skip
        await uow.session.execute(update(Outbox).values(status="sent", message_id=5))
        # A notice naming her to someone else hangs off an audit event about her.
        fay = await uow.members.by_telegram_id(FAY)
        assert fay is not None
        event = uow.audit.record("checkin.talk_request", actor_id=fay.id)
        await uow.session.flush()
        await uow.outbox.enqueue(
            key=f"notice:{event.id}:{CORA}", kind="notice", chat_id=CORA,
            payload='{"text": "Fay Quill would like to talk"}',
        )  # fmt: skip
        # A question of hers stored before pseudonyms existed, and a mute of hers.
        question = await uow.questions.add(
            Question(group_id=group.id, text="an old question of Fay's"), FAY
        )
        await uow.questions.mute(group.id, FAY)
        await uow.questions.mute(group.id, ANN)
        await uow.session.flush()
        await uow.session.execute(update(QuestionAsker).values(asker_ref=None))
        await uow.session.execute(update(AskMute).values(asker_ref=None))
        # Dead letters: one she sent in the group's chat, one from Ann.
        for update_id, sender in ((1, FAY), (2, ANN)):
            raw = {"update_id": update_id, "message": {"from": {"id": sender}, "text": "x"}}
            await uow.inbound.store_dead_letter(update_id, "message", "Boom", json.dumps(raw))
        await uow.commit()
    question_id = question.id

    with pytest.raises(NotAllowed):
        await services.privacy.erase(ANN, FAY)
    with pytest.raises(NotFound):
        await services.privacy.erase(CORA, 999)
    erased = await services.privacy.erase(CORA, FAY)
    assert erased.questions_deleted == 1 and erased.memberships == 1

    async with db.uow(read_only=True) as uow:
        assert await uow.members.by_telegram_id(FAY) is None
        (kept_group,) = (await uow.session.execute(select(PeerGroup))).scalars()
        assert kept_group.name == "Circle" and kept_group.created_by is None
        (kept_meeting,) = (await uow.session.execute(select(Meeting))).scalars()
        assert kept_meeting.title == "Tuesday talk"
        (bc,) = (await uow.session.execute(select(Broadcast))).scalars()
        assert bc.text == "" and bc.author_telegram_id == 0 and bc.status_chat_id is None
        assert await uow.outbox.counts(batch=f"bc:{bc.id}") == {"sent": 1}  # Ann's
        rows = list((await uow.session.execute(select(Outbox))).scalars())
        assert all("Fay" not in row.payload for row in rows)
        assert not [r for r in rows if r.key.startswith("notice:")]
        assert await uow.questions.by_id(question_id or 0) is None
        mutes = list((await uow.session.execute(select(AskMute))).scalars())
        assert [m.asker for m in mutes] == [str(ANN)]
        letters = list((await uow.session.execute(select(Inbound))).scalars())
        assert [letter.update_id for letter in letters] == [2]
        ann = await uow.members.by_telegram_id(ANN)
        assert ann is not None and ann.id is not None
        assert [g.name for g, _ in await uow.groups.for_member(ann.id)] == ["Circle"]
        (audit,) = [
            e
            for e in (await uow.session.execute(select(AuditEvent))).scalars()
            if e.action == "member.erased"
        ]
        assert audit.subject_ref and audit.actor_id is not None
