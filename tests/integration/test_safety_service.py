"""The safety path as a service: a crisis message becomes an escalation, the coordinators are
paged once, paged again while nobody acknowledges, and only coordinators see or settle it. The
member may say it was not what they meant (coordinators are told; nothing closes); a short reply
right after their own concern is read together with it."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.core.handling import UpdateTicket, handling_update
from bot.core.safety_context import CONTEXT_WINDOW
from bot.core.screening import Level
from bot.services import Services
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.safety import Flagged
from bot.storage.models import Outbox, utcnow
from bot.storage.uow import Database

CORA, CARL = 1, 2  # coordinators
MEMBER, STRANGER = 10, 11
URGENT = "i want to kill myself tonight, i have the pills here"


async def _alerts(db: Database) -> list[tuple[int, str]]:
    async with db.uow(read_only=True) as uow:
        rows = (await uow.session.execute(select(Outbox).where(Outbox.kind == "alert"))).scalars()
        return [(r.chat_id, json.loads(r.payload)["text"]) for r in rows]


async def _screen(services: Services, text: str, update_id: int | None = None) -> int | None:
    async def go() -> int | None:
        flagged = await services.safety.screen(
            author_id=MEMBER, author_name="Mo", chat_id=MEMBER, chat_title=None,
            text=text, language="en",
        )  # fmt: skip
        return flagged.escalation_id

    if update_id is None:
        return await go()
    with handling_update(UpdateTicket(update_id)):
        return await go()


@pytest.fixture
def services(db: Database) -> Services:
    return Services.build(db, frozenset({CORA, CARL}), realert_after=timedelta(minutes=5))


async def test_an_urgent_message_pages_every_coordinator_once(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    alerts = await _alerts(db)
    assert sorted(chat for chat, _ in alerts) == [CORA, CARL]
    # The same member writing again while it is open joins it: nobody is paged twice.
    assert await _screen(services, URGENT + " really") == escalation
    assert len(await _alerts(db)) == 2


async def test_an_update_handled_again_is_screened_into_the_same_escalation(
    db: Database, services: Services
) -> None:
    first = await _screen(services, URGENT, update_id=500)
    again = await _screen(services, URGENT, update_id=500)
    assert first == again
    assert len(await _alerts(db)) == 2
    assert [action for action, _ in await services.safety.trail(first or 0)] == ["created"]


async def test_ordinary_words_page_nobody(db: Database, services: Services) -> None:
    assert await _screen(services, "see you all on thursday, I'll bring biscuits") is None
    assert await _alerts(db) == []


async def test_nobody_acknowledging_pages_again_until_someone_does(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    now = utcnow()
    assert await services.safety.tick(now + timedelta(minutes=4)) == 0
    assert await services.safety.tick(now + timedelta(minutes=6)) == 1
    assert len(await _alerts(db)) == 4
    view = await services.safety.acknowledge(CORA, escalation)
    assert view.status == "acknowledged"
    assert await services.safety.tick(now + timedelta(minutes=30)) == 0
    assert len(await _alerts(db)) == 4
    trail = await services.safety.trail(escalation)
    assert trail == [("created", None), ("realerted", None), ("acknowledged", CORA)]


async def test_only_coordinators_see_and_settle_escalations(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    with pytest.raises(NotFound):
        await services.safety.acknowledge(STRANGER, escalation)
    with pytest.raises(NotFound):
        await services.safety.resolve(STRANGER, escalation, "called them")
    with pytest.raises(NotFound):
        await services.safety.open_escalations(STRANGER)
    with pytest.raises(NotFound):  # a coordinator asking about one that does not exist
        await services.safety.acknowledge(CORA, escalation + 100)
    assert [e.id for e in await services.safety.open_escalations(CARL)] == [escalation]
    with pytest.raises(InvalidInput):
        await services.safety.resolve(CARL, escalation, "   ")
    view = await services.safety.resolve(CARL, escalation, "Spoke with them; safe for tonight.")
    assert view.status == "resolved"
    assert await services.safety.open_escalations(CARL) == []
    assert [a for a, _ in await services.safety.trail(escalation)] == ["created", "resolved"]


async def test_coordinators_see_how_the_safety_path_is_doing(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    await services.safety.tick(utcnow() + timedelta(minutes=6))  # nobody acknowledged in time
    await services.safety.acknowledge(CORA, escalation)
    figures = await services.safety.figures(CARL, days=30)
    assert (figures.total, figures.urgent, figures.acknowledged) == (1, 1, 1)
    assert figures.realerted == 1 and figures.open_now == 1
    assert figures.oldest_unacknowledged is None  # someone has it
    with pytest.raises(NotFound):
        await services.safety.figures(STRANGER, days=30)


async def test_an_alert_shows_why_it_was_flagged_again_on_a_repeat(
    db: Database, services: Services
) -> None:
    await _screen(services, URGENT)
    await services.safety.tick(utcnow() + timedelta(minutes=6))
    alerts = [text for _, text in await _alerts(db)]
    assert len(alerts) == 4
    for text in alerts:
        why = text.split("Why it was flagged:", 1)[1]
        assert "kill myself" in why or "pills" in why, why


# ------------------------------------------------------------- "That's not what I meant"
async def test_the_member_saying_it_was_not_what_they_meant_tells_the_coordinators_once(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    assert await services.safety.not_meant(MEMBER, escalation) is True
    assert await services.safety.not_meant(MEMBER, escalation) is False  # a second press
    notes = [(chat, text) for chat, text in await _alerts(db) if "not what they meant" in text]
    assert sorted(chat for chat, _ in notes) == [CORA, CARL]  # everyone the alert went to, once
    assert all("repeats until someone acknowledges" in text for _, text in notes)
    trail = await services.safety.trail(escalation)
    assert trail == [("created", None), ("not_meant", MEMBER)]
    (view,) = await services.safety.open_escalations(CORA)
    assert view.status == "open" and view.not_meant_at is not None  # never closed by it


async def test_only_the_author_may_say_it_was_not_what_they_meant(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    for presser, which in ((STRANGER, escalation), (CORA, escalation), (MEMBER, escalation + 9)):
        with pytest.raises(NotAllowed):
            await services.safety.not_meant(presser, which)
    assert [a for a, _ in await services.safety.trail(escalation)] == ["created"]
    assert not [text for _, text in await _alerts(db) if "not what they meant" in text]
    (view,) = await services.safety.open_escalations(CORA)
    assert view.not_meant_at is None


async def test_the_members_word_stops_no_realert_and_counts_as_a_false_alarm(
    db: Database, services: Services
) -> None:
    escalation = await _screen(services, URGENT)
    assert escalation is not None
    await services.safety.not_meant(MEMBER, escalation)
    assert await services.safety.tick(utcnow() + timedelta(minutes=6)) == 1
    realerts = [text for _, text in await _alerts(db) if text.startswith("⏰")]
    assert len(realerts) == 2 and all("not what they meant" in text for text in realerts)
    figures = await services.safety.figures(CORA, days=30)
    assert (figures.not_meant, figures.urgent_lately) == (1, 1)
    await services.safety.acknowledge(CORA, escalation)  # only a person stops the re-alerts
    assert await services.safety.tick(utcnow() + timedelta(minutes=30)) == 0


# ------------------------------------------------------------- a short reply, in context
CONCERN = "i have been thinking about suicide"
GROUP = -100


async def _flag(
    services: Services, text: str, *, author: int = MEMBER, chat: int = MEMBER
) -> Flagged:
    return await services.safety.screen(
        author_id=author, author_name="Mo", chat_id=chat, chat_title=None if chat > 0 else "Circle",
        text=text, language="en",
    )  # fmt: skip


async def test_yes_alone_is_nothing(db: Database, services: Services) -> None:
    assert (await _flag(services, "yes")).escalation_id is None


async def test_yes_right_after_the_members_concern_raises_it_to_urgent(
    db: Database, services: Services
) -> None:
    concern = await _flag(services, CONCERN)
    assert concern.screening.level is Level.CONCERN and await _alerts(db) == []
    reply = await _flag(services, "yes")
    assert reply.screening.level is Level.URGENT and reply.new_page
    assert reply.escalation_id == concern.escalation_id  # raised, not a second escalation
    alerts = await _alerts(db)
    assert sorted(chat for chat, _ in alerts) == [CORA, CARL]
    for _, text in alerts:
        why = text.split("Why it was flagged:", 1)[1]
        assert "the reply “yes” right after it" in why and "thinking about suicide" in why
    (view,) = await services.safety.open_escalations(CORA)
    assert (view.level, view.status) == ("urgent", "open")
    assert [a for a, _ in await services.safety.trail(view.id)] == ["created", "raised"]


async def test_a_reply_after_the_window_is_screened_alone(db: Database, services: Services) -> None:
    concern = await _flag(services, CONCERN)
    async with db.uow() as uow:  # the concern was eleven minutes ago
        stored = await uow.escalations.get(concern.escalation_id or 0)
        assert stored is not None
        stored.created_at = utcnow() - CONTEXT_WINDOW - timedelta(minutes=1)
        await uow.commit()
    assert (await _flag(services, "yes")).escalation_id is None
    assert await _alerts(db) == []


async def test_a_reply_in_another_chat_or_from_another_member_is_screened_alone(
    db: Database, services: Services
) -> None:
    await _flag(services, CONCERN)
    assert (await _flag(services, "yes", chat=GROUP)).escalation_id is None
    assert (await _flag(services, "I have them here", author=STRANGER)).escalation_id is None
    assert (await _flag(services, "no, not really")).escalation_id is None  # it says no
    assert await _alerts(db) == []
