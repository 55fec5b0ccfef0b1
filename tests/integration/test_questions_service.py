"""Anonymous questions as a service, against a real database: asking, moderating, follow-ups,
replies carried back, and that nothing the group or a facilitator receives names the asker."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from bot.core.questions import MAX_QUESTION_CHARS, MAX_REASON_CHARS
from bot.core.statuses import OutboxStatus, QuestionStatus
from bot.services import Services
from bot.services.errors import InvalidInput, NeedsOnboarding, NotAllowed, NotFound
from bot.services.questions import AskTarget
from bot.storage.models import Outbox, Question
from bot.storage.uow import Database

CORA = 1  # coordinator
FAY = 10  # facilitator of Circle
ASKER = 5_550_123_987
ASKER_NAME = "Zephyrine"
OLLY = 101  # another member of Circle
STRANGER = 102  # onboarded, in no group
URGENT = "i want to kill myself tonight, i have the pills here"


@dataclass(frozen=True)
class Sent:
    kind: str
    chat_id: int
    key: str
    text: str
    buttons: str  # the buttons' labels and callback data, as sent

    @property
    def everything(self) -> str:
        return f"{self.key} {self.text} {self.buttons}"


async def _outbox(db: Database) -> list[Sent]:
    async with db.uow(read_only=True) as uow:
        # Not the setup's own notices (Fay hearing she may facilitate).
        stmt = select(Outbox).where(~Outbox.key.startswith("notice:")).order_by(Outbox.id)
        rows = (await uow.session.execute(stmt)).scalars()
        sent = []
        for row in rows:
            payload = json.loads(row.payload)
            buttons = json.dumps(payload.get("buttons"))
            sent.append(Sent(row.kind, row.chat_id, row.key, payload["text"], buttons))
        return sent


async def _questions(db: Database) -> list[Question]:
    async with db.uow(read_only=True) as uow:
        return list((await uow.session.execute(select(Question).order_by(Question.id))).scalars())


async def _person(services: Services, telegram_id: int, name: str, code: str | None) -> None:
    await services.members.accept_consent(telegram_id, "en", code)
    await services.members.set_display_name(telegram_id, name)
    await services.members.set_timezone(telegram_id, "Europe/London")


@dataclass(frozen=True)
class Setup:
    services: Services
    db: Database
    circle: int


@pytest.fixture
async def setup(db: Database) -> Setup:
    # No random delay: what is approved is due at once, so follow-ups can be asked.
    services = Services.build(db, frozenset({CORA}), question_delay=(0, 0))
    await _person(services, CORA, "Cora", None)
    await _person(services, FAY, "Fay", None)
    await services.roles.set_facilitator(CORA, FAY, allowed=True)
    circle = await services.groups.create_group(FAY, "Circle")
    await _person(services, ASKER, ASKER_NAME, circle.invite_code)
    await _person(services, OLLY, "Olly", circle.invite_code)
    await _person(services, STRANGER, "Sam", None)
    return Setup(services, db, circle.id)


async def _ask(
    services: Services, text: str, *, group_id: int | None = None, parent_id: int | None = None
) -> AskTarget:
    """Begin, type and preview a question (not yet sent); returns the preview."""
    await services.questions.begin(ASKER, group_id=group_id, parent_id=parent_id)
    profile = await services.members.profile(ASKER)
    assert profile is not None
    return await services.questions.preview(ASKER, profile.draft, text)


async def _asked(setup: Setup, text: str, *, parent_id: int | None = None) -> int:
    """A question sent and waiting for a facilitator; returns its id."""
    questions = setup.services.questions
    preview = await _ask(setup.services, text, group_id=setup.circle, parent_id=parent_id)
    submitted = await questions.submit(ASKER, preview.nonce)
    assert submitted.moderated and not submitted.flagged
    return max(q.id or 0 for q in await _questions(setup.db))


def _to_asker(sent: list[Sent]) -> list[str]:
    return [s.text for s in sent if s.chat_id == ASKER and s.kind == "asker"]


async def test_a_moderated_question_reaches_the_facilitator_then_everyone_once_approved(
    setup: Setup,
) -> None:
    services, db = setup.services, setup.db
    choices = await services.questions.choices(ASKER)
    assert [g.name for g in choices.groups] == ["Circle"] and choices.follow_ups == []
    preview = await _ask(services, "  How do you handle the holidays?\n", group_id=setup.circle)
    assert preview.group_name == "Circle" and preview.follow_up_of is None
    submitted = await services.questions.submit(ASKER, preview.nonce)
    assert (submitted.group_name, submitted.moderated, submitted.flagged) == ("Circle", True, False)
    with pytest.raises(NotFound):  # Send pressed twice sends once
        await services.questions.submit(ASKER, preview.nonce)

    sent = await _outbox(db)
    assert [(s.kind, s.chat_id) for s in sent] == [("notice", FAY)]  # the review card only
    assert "How do you handle the holidays?" in sent[0].text
    question_id = (await _questions(db))[0].id
    assert question_id is not None

    decision = await services.questions.approve(FAY, question_id)
    assert (decision.group_name, decision.number, decision.already) == ("Circle", 1, None)
    sent = await _outbox(db)
    posts = sorted(s.chat_id for s in sent if s.kind == "question")
    assert posts == sorted([FAY, ASKER, OLLY])  # the group has no chat: each member privately
    assert all("#1" in s.text for s in sent if s.kind == "question")
    told = _to_asker(sent)
    assert len(told) == 1 and "#1" in told[0] and "Circle" in told[0]

    again = await services.questions.approve(FAY, question_id)
    assert again.already is QuestionStatus.APPROVED
    assert len(await _outbox(db)) == len(sent)  # nothing posted twice


async def test_nothing_the_group_or_a_facilitator_receives_names_the_asker(setup: Setup) -> None:
    services, db = setup.services, setup.db
    first = await _asked(setup, "Is it normal to feel numb?")
    decision = await services.questions.approve(FAY, first)
    await services.questions.reject(FAY, await _asked(setup, "A second one"), "Please rephrase")
    await services.questions.mute_asker(FAY, await _asked(setup, "A third one"))
    assert ASKER_NAME not in repr(decision) and str(ASKER) not in repr(decision)

    sent = await _outbox(db)
    others = [s for s in sent if s.chat_id != ASKER]
    assert {s.kind for s in others} == {"notice", "question"}
    for s in others:
        assert str(ASKER) not in s.everything and ASKER_NAME not in s.everything, s
    # What goes to the asker is keyed by nothing that says which question it was.
    mine = [s for s in sent if s.kind == "asker"]
    assert len(mine) == 3 and all(s.chat_id == ASKER for s in mine)
    assert all(f":{first}:" not in s.key and str(ASKER) not in s.key for s in mine)
    settings = await services.questions.settings(FAY, setup.circle)
    assert settings.muted == 1 and str(ASKER) not in repr(settings)


async def test_a_rejection_tells_the_asker_why_and_posts_nothing(setup: Setup) -> None:
    services, db = setup.services, setup.db
    question_id = await _asked(setup, "Can I share my address here?")
    asked_reason = await services.questions.ask_reason(FAY, question_id)
    assert asked_reason.already is None
    decision = await services.questions.reject(FAY, question_id, "  Not  here, please.  ")
    assert (decision.number, decision.already) == (None, None)
    sent = await _outbox(db)
    assert not [s for s in sent if s.kind == "question"]
    told = _to_asker(sent)
    assert len(told) == 1 and "Not here, please." in told[0]
    assert (await _questions(db))[0].status == QuestionStatus.REJECTED
    # Decided already: approving now posts nothing.
    late = await services.questions.approve(FAY, question_id)
    assert late.already is QuestionStatus.REJECTED
    assert len(await _outbox(db)) == len(sent)


async def test_a_muted_asker_cannot_ask_again_until_unmuted(setup: Setup) -> None:
    services = setup.services
    question_id = await _asked(setup, "Why is nobody answering?")
    await services.questions.mute_asker(FAY, question_id)
    told = _to_asker(await _outbox(setup.db))
    assert len(told) == 1 and "paused" in told[0]
    with pytest.raises(NotAllowed):
        await services.questions.begin(ASKER, group_id=setup.circle)
    settings = await services.questions.unmute_all(FAY, setup.circle)
    assert settings.muted == 0
    assert (await services.questions.begin(ASKER, group_id=setup.circle)).group_name == "Circle"


async def test_only_the_groups_facilitators_and_coordinators_moderate(setup: Setup) -> None:
    services, db = setup.services, setup.db
    question_id = await _asked(setup, "What helps you sleep?")
    for outsider in (OLLY, STRANGER, ASKER):
        for decide in (
            services.questions.approve(outsider, question_id),
            services.questions.reject(outsider, question_id, None),
            services.questions.mute_asker(outsider, question_id),
        ):
            with pytest.raises(NotFound):  # learns nothing, not even that it exists
                await decide
        with pytest.raises(NotFound):
            await services.questions.set_moderation(outsider, setup.circle, False)
    assert (await _questions(db))[0].status == QuestionStatus.PENDING
    assert [s.kind for s in await _outbox(db)] == ["notice"]
    assert (await services.questions.settings(FAY, setup.circle)).moderated
    # A coordinator may, though not in the group.
    assert (await services.questions.approve(CORA, question_id)).number == 1


async def test_follow_ups_are_the_askers_own_and_carry_replies_back(setup: Setup) -> None:
    services, db = setup.services, setup.db
    first = await _asked(setup, "How do you start the day?")
    await services.questions.approve(FAY, first)
    # Olly's copy of the post was delivered as message 77; Olly replies to it.
    async with db.uow() as uow:
        rows = (await uow.session.execute(select(Outbox).where(Outbox.chat_id == OLLY))).scalars()
        post = next(r for r in rows if r.kind == "question")
        post.status, post.message_id = OutboxStatus.SENT, 77
        await uow.commit()
    relayed = await services.questions.relay_reply(
        chat_id=OLLY, replied_to_message_id=77, message_id=78, replier_id=OLLY,
        replier_first_name="O", text="A walk, every morning.",
    )  # fmt: skip
    assert relayed
    reply = _to_asker(await _outbox(db))[-1]
    assert "Olly" in reply and "A walk, every morning." in reply
    assert not await services.questions.relay_reply(
        chat_id=OLLY, replied_to_message_id=5, message_id=79, replier_id=OLLY,
        replier_first_name="O", text="not a reply to a question",
    )  # fmt: skip

    choices = await services.questions.choices(ASKER)
    assert [(f.question_id, f.number) for f in choices.follow_ups] == [(first, 1)]
    for someone_else in (OLLY, FAY):
        with pytest.raises(NotFound):
            await services.questions.begin(someone_else, parent_id=first)
    follow_up = await _asked(setup, "And in the evening?", parent_id=first)
    card = [s for s in await _outbox(db) if s.kind == "notice"][-1]
    assert card.chat_id == FAY and "follow-up to question #1" in card.text
    decision = await services.questions.approve(FAY, follow_up)
    assert decision.number is None  # follow-ups take their question's number
    posts = [s for s in await _outbox(db) if s.kind == "question" and f":{follow_up}:" in s.key]
    assert len(posts) == 3 and all("follow-up to question #1" in s.text for s in posts)
    with pytest.raises(NotFound):  # a follow-up is followed up through its question
        await services.questions.begin(ASKER, parent_id=follow_up)


async def test_a_crisis_question_is_held_for_the_coordinators_even_unmoderated(
    setup: Setup,
) -> None:
    services, db = setup.services, setup.db
    settings = await services.questions.set_moderation(FAY, setup.circle, False)
    assert not settings.moderated
    preview = await _ask(services, URGENT, group_id=setup.circle)
    submitted = await services.questions.submit(ASKER, preview.nonce)
    assert submitted.moderated and submitted.flagged
    sent = await _outbox(db)
    # To the coordinator alone (who knows from the alert who wrote it), not the facilitator,
    # and nothing posted.
    assert [(s.kind, s.chat_id) for s in sent] == [("notice", CORA)]
    assert "safety check flagged" in sent[0].text
    assert (await _questions(db))[0].flagged

    # An ordinary question in the unmoderated group is posted without review.
    preview = await _ask(services, "Any book recommendations?", group_id=setup.circle)
    submitted = await services.questions.submit(ASKER, preview.nonce)
    assert not submitted.moderated and not submitted.flagged
    kinds = [(s.kind, s.chat_id) for s in (await _outbox(db))[1:]]
    assert sorted(kinds) == sorted(
        [("question", FAY), ("question", ASKER), ("question", OLLY), ("asker", ASKER)]
    )


async def test_bad_input_is_refused_and_changes_nothing(setup: Setup) -> None:
    services, db = setup.services, setup.db
    with pytest.raises(NeedsOnboarding):
        await services.questions.choices(999)
    with pytest.raises(InvalidInput):  # in no group: nowhere to ask
        await services.questions.choices(STRANGER)
    with pytest.raises(NotFound):  # not their group
        await services.questions.begin(STRANGER, group_id=setup.circle)
    await services.questions.begin(ASKER, group_id=setup.circle)
    profile = await services.members.profile(ASKER)
    assert profile is not None
    draft = profile.draft
    for text in ("   ", "x" * (MAX_QUESTION_CHARS + 1)):
        with pytest.raises(InvalidInput):
            await services.questions.preview(ASKER, draft, text)
    after = await services.members.profile(ASKER)
    assert after is not None and after.draft == draft and after.awaiting == profile.awaiting
    with pytest.raises(NotFound):  # no preview to send
        await services.questions.submit(ASKER, "deadbeef")
    preview = await services.questions.preview(ASKER, draft, "A real question")
    with pytest.raises(NotFound):  # an older preview's Send
        await services.questions.submit(ASKER, preview.nonce + "0")
    await services.questions.cancel(ASKER, preview.nonce)
    with pytest.raises(NotFound):  # cancelled
        await services.questions.submit(ASKER, preview.nonce)
    assert await _questions(db) == [] and await _outbox(db) == []

    question_id = await _asked(setup, "Is anyone else tired all the time?")
    with pytest.raises(InvalidInput):
        await services.questions.reject(FAY, question_id, "x" * (MAX_REASON_CHARS + 1))
    with pytest.raises(NotFound):
        await services.questions.approve(FAY, question_id + 100)
    assert (await _questions(db))[0].status == QuestionStatus.PENDING
    assert _to_asker(await _outbox(db)) == []
