"""Anonymous questions: asking, moderating, posting, and carrying replies back to the asker.

This module is the asking (and the one API handlers call); moderation is in
`question_moderation`, and everything the questions put in the outbox in `question_delivery`.

Anonymity is structural:
- The asker's Telegram id is written once, encrypted, into `question_asker` (and `ask_mute`);
  nothing else links a question to a person. It is read to deliver outcomes and replies to the
  asker (`QuestionDelivery.tell_asker`, `.relay_reply`), and to check the asker's own limits
  (waiting questions, mutes, that a follow-up is theirs).
- The code that posts a question and the code that shows it to facilitators
  (`QuestionDelivery.schedule`, `.queue_review`) take a `Question` row, which has no asker
  column, and never read `question_asker`.
- What the bot sends the asker is queued with an opaque key and scrubbed once settled (see
  `bot/delivery/dispatcher.py`), so the outbox does not keep "question N went to person X".

Timing does not point at the asker either: a facilitator's review card, and a post when
moderation is off, go out after a random delay; numbers follow posting order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.core.questions import (
    MAX_QUESTION_CHARS,
    MAX_WAITING_QUESTIONS,
    clean_question,
    posting_delay,
)
from bot.core.screening import Level, Screener
from bot.core.statuses import QuestionStatus
from bot.locales import Catalogue
from bot.services.common import draft_of, drop_previewed_draft, onboarded_member, set_draft
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.members import Awaiting
from bot.services.question_delivery import QuestionDelivery

# Handlers name a decision and a group's settings from here, beside the service.
from bot.services.question_moderation import Decision as Decision
from bot.services.question_moderation import QuestionModeration
from bot.services.question_moderation import QuestionSettings as QuestionSettings
from bot.storage.models import Member, PeerGroup, Question, utcnow
from bot.storage.uow import Database, UnitOfWork

FOLLOW_UP_CHOICES = 3
# Questions left waiting this long no longer count towards the asker's limit.
WAITING_EXPIRES = timedelta(days=14)


@dataclass(frozen=True)
class GroupChoice:
    id: int
    name: str


@dataclass(frozen=True)
class FollowUpChoice:
    question_id: int
    number: int
    group_name: str


@dataclass(frozen=True)
class AskChoices:
    groups: list[GroupChoice]
    follow_ups: list[FollowUpChoice]


@dataclass(frozen=True)
class AskTarget:
    group_name: str
    follow_up_of: int | None  # the question number, for a follow-up
    nonce: str = ""  # names this draft: an old preview's buttons cannot send a newer one


@dataclass(frozen=True)
class Submitted:
    group_name: str
    moderated: bool
    flagged: bool


class QuestionService:
    def __init__(
        self,
        db: Database,
        texts: Catalogue,
        screener: Screener,
        coordinators: frozenset[int],
        delay_bounds: tuple[int, int] = (60, 300),
    ) -> None:
        self.db = db
        self.screener = screener
        self.delay_bounds = delay_bounds
        self.delivery = QuestionDelivery(texts, coordinators, delay_bounds)
        self.moderation = QuestionModeration(db, coordinators, self.delivery)

    # ------------------------------------------------------------------------ asking
    async def choices(self, telegram_id: int) -> AskChoices:
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            groups = [
                GroupChoice(g.id, g.name)
                for g, _ in await uow.groups.for_member(member.id)
                if g.id is not None
            ]
            recent = await uow.questions.recent_posted(telegram_id, utcnow(), FOLLOW_UP_CHOICES)
            names = {g.id: g.name for g in groups}
            follow_ups = [  # only in groups they are still in: only members ask
                FollowUpChoice(q.id, q.number, names[q.group_id])
                for q in recent
                if q.id is not None and q.number is not None and q.group_id in names
            ]
        if not groups and not follow_ups:
            raise InvalidInput("questions.no_groups")
        return AskChoices(groups, follow_ups)

    async def begin(
        self, telegram_id: int, *, group_id: int | None = None, parent_id: int | None = None
    ) -> AskTarget:
        """Start writing a question for a group (or a follow-up to one's own question)."""
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            number: int | None = None
            if parent_id is not None:
                parent = await uow.questions.by_id(parent_id)
                if (
                    parent is None
                    or parent.parent_id is not None  # follow-ups follow a question
                    or parent.status != QuestionStatus.APPROVED
                    or parent.post_at is None
                    or parent.post_at > utcnow()
                    or await uow.questions.asker_of(parent_id) != telegram_id
                ):
                    raise NotFound  # not theirs, or not out yet: reveals nothing
                group = await uow.groups.by_id(parent.group_id)
                number = parent.number
            else:
                group = await self._member_group(uow, member, group_id)
            if group is None or group.id is None:
                raise NotFound
            await self._may_ask(uow, telegram_id, group)
            member.awaiting = Awaiting.QUESTION_TEXT
            draft: dict[str, object] = {"group": group.id}
            if parent_id is not None:
                draft["parent"] = parent_id
            set_draft(member, draft)
            await uow.commit()
            return AskTarget(group.name, number)

    async def preview(self, telegram_id: int, draft: dict[str, object], raw: str) -> AskTarget:
        """The typed question, checked and kept in the draft until the asker confirms."""
        text = clean_question(raw)
        if not text:
            raise InvalidInput("questions.empty")
        if len(text) > MAX_QUESTION_CHARS:
            raise InvalidInput("questions.too_long", max=MAX_QUESTION_CHARS, length=len(text))
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            group = await uow.groups.by_id(_int(draft.get("group")))
            if group is None:
                raise NotFound
            number = None
            if "parent" in draft:
                parent = await uow.questions.by_id(_int(draft.get("parent")))
                number = parent.number if parent else None
            nonce = secrets.token_hex(4)
            member.awaiting = None
            set_draft(member, {**draft, "text": text, "nonce": nonce})
            await uow.commit()
            return AskTarget(group.name, number, nonce)

    async def submit(self, telegram_id: int, nonce: str) -> Submitted:
        """The asker confirmed this preview: store the question and send it on its way."""
        now = utcnow()
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            draft = draft_of(member)
            text = draft.get("text")
            if not isinstance(text, str) or "group" not in draft or draft.get("nonce") != nonce:
                raise NotFound  # nothing to send (already sent, cancelled, or an old preview)
            group = await uow.groups.by_id(_int(draft["group"]))
            if group is None or group.id is None:
                raise NotFound
            await self._may_ask(uow, telegram_id, group)
            parent_id = _int(draft["parent"]) if "parent" in draft else None
            flagged = self.screener.screen(text, member.language).level is Level.URGENT
            moderated = group.moderate_questions or flagged
            question = await uow.questions.add(
                Question(group_id=group.id, parent_id=parent_id, text=text, flagged=flagged),
                telegram_id,
            )
            member.draft = None
            member.awaiting = None
            if moderated:
                await self.delivery.queue_review(uow, question, group)
            else:
                post_at = now + posting_delay(self.delay_bounds)
                await self.delivery.schedule(uow, question, group, post_at)
                await self.delivery.tell_posted(uow, question, group)
            await uow.commit()
            return Submitted(group.name, moderated, flagged)

    async def cancel(self, telegram_id: int, nonce: str) -> None:
        async with self.db.uow() as uow:
            await drop_previewed_draft(uow, telegram_id, nonce)

    async def _member_group(
        self, uow: UnitOfWork, member: Member, group_id: int | None
    ) -> PeerGroup | None:
        assert member.id is not None
        groups = [g for g, _ in await uow.groups.for_member(member.id)]
        if group_id is None:
            return groups[0] if len(groups) == 1 else None
        return next((g for g in groups if g.id == group_id), None)

    async def _may_ask(self, uow: UnitOfWork, telegram_id: int, group: PeerGroup) -> None:
        """Only a current member asks a group; not when muted; a few waiting at most."""
        assert group.id is not None
        member = await uow.members.by_telegram_id(telegram_id)
        if (
            member is None
            or member.id is None
            or (await uow.memberships.get(group.id, member.id) is None)
        ):
            raise NotAllowed("questions.not_a_member", group=group.name)
        if await uow.questions.is_muted(group.id, telegram_id):
            raise NotAllowed("questions.muted", group=group.name)
        now = utcnow()
        waiting = await uow.questions.waiting_count(
            telegram_id, group.id, now, since=now - WAITING_EXPIRES
        )
        if waiting >= MAX_WAITING_QUESTIONS:
            raise InvalidInput("questions.too_many_waiting", max=MAX_WAITING_QUESTIONS)

    # ------------------------------------------------------------------------ replies
    async def relay_reply(
        self,
        *,
        chat_id: int,
        replied_to_message_id: int,
        message_id: int,
        replier_id: int,
        replier_first_name: str,
        text: str,
    ) -> bool:
        """Someone replied to a posted question: carry it to the asker privately, with the
        replier's name (they spoke openly). False when the message was not a question."""
        async with self.db.uow() as uow:
            question_id = await uow.questions.posted_as(chat_id, replied_to_message_id)
            question = await uow.questions.by_id(question_id) if question_id else None
            if question is None or question.id is None:
                return False
            relayed = await self.delivery.relay_reply(
                uow, question, replier_id=replier_id, replier_first_name=replier_first_name,
                text=text,
            )  # fmt: skip
            if relayed:
                await uow.commit()
            return True

    # ------------------------------------------------------------------------ moderation
    # (bot/services/question_moderation.py)
    async def approve(self, actor: int, question_id: int) -> Decision:
        return await self.moderation.approve(actor, question_id)

    async def ask_reason(self, actor: int, question_id: int) -> Decision:
        return await self.moderation.ask_reason(actor, question_id)

    async def reject(self, actor: int, question_id: int, reason: str | None) -> Decision:
        return await self.moderation.reject(actor, question_id, reason)

    async def mute_asker(self, actor: int, question_id: int) -> Decision:
        return await self.moderation.mute_asker(actor, question_id)

    async def settings(self, actor: int, group_id: int) -> QuestionSettings:
        return await self.moderation.settings(actor, group_id)

    async def set_moderation(self, actor: int, group_id: int, on: bool) -> QuestionSettings:
        return await self.moderation.set_moderation(actor, group_id, on)

    async def unmute_all(self, actor: int, group_id: int) -> QuestionSettings:
        return await self.moderation.unmute_all(actor, group_id)


def _int(value: object) -> int:
    if isinstance(value, int):
        return value
    raise NotFound
