"""Moderating anonymous questions: a group's facilitators (or the coordinators) approve, reject
(with or without a reason) or mute whoever asked — without ever learning who that is — and
turn moderation on or off for their group.

Anyone who may not moderate a question's group learns nothing about it: `NotFound`, as for a
question that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.questions import MAX_REASON_CHARS
from bot.core.statuses import QuestionStatus
from bot.services.common import manages_group, onboarded_member, set_draft
from bot.services.errors import InvalidInput, NotFound
from bot.services.members import Awaiting
from bot.services.question_delivery import QuestionDelivery
from bot.storage.models import PeerGroup, Question, utcnow
from bot.storage.uow import Database, UnitOfWork


@dataclass(frozen=True)
class Decision:
    group_name: str
    number: int | None
    already: QuestionStatus | None = None  # someone else decided first
    # Every reviewer's card (chat, message): their buttons go once someone has decided.
    cards: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class QuestionSettings:
    group_id: int
    group_name: str
    moderated: bool
    muted: int


class QuestionModeration:
    def __init__(
        self, db: Database, coordinators: frozenset[int], delivery: QuestionDelivery
    ) -> None:
        self.db = db
        self.coordinators = coordinators
        self.delivery = delivery

    # ------------------------------------------------------------------------ decisions
    async def approve(self, actor: int, question_id: int) -> Decision:
        async with self.db.uow() as uow:
            question, group = await self._moderated(uow, actor, question_id)
            if question.status != QuestionStatus.PENDING:
                return _decided_already(group, question)
            question.decided_by = actor
            await self.delivery.schedule(uow, question, group, utcnow())
            await self.delivery.tell_posted(uow, question, group)
            cards = await uow.questions.review_cards(question_id)
            await uow.commit()
            return Decision(group.name, question.number, cards=cards)

    async def ask_reason(self, actor: int, question_id: int) -> Decision:
        """A facilitator pressed Reject: wait for their reason (or their 'no reason')."""
        async with self.db.uow() as uow:
            question, group = await self._moderated(uow, actor, question_id)
            if question.status != QuestionStatus.PENDING:
                return _decided_already(group, question)
            member = await onboarded_member(uow, actor, lock=True)
            member.awaiting = Awaiting.REJECT_REASON
            set_draft(member, {"question": question_id})
            await uow.commit()
            return Decision(group.name, None)

    async def reject(self, actor: int, question_id: int, reason: str | None) -> Decision:
        reason = " ".join(reason.split()) if reason else None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput("questions.reason_too_long", max=MAX_REASON_CHARS)
        async with self.db.uow() as uow:
            await self._end_reason_flow(uow, actor)
            try:
                question, group = await self._moderated(uow, actor, question_id)
            except NotFound:
                await uow.commit()  # the reason flow ends even when the question is gone
                raise
            if question.status != QuestionStatus.PENDING:
                await uow.commit()
                return _decided_already(group, question)
            question.status = QuestionStatus.REJECTED
            question.decided_by = actor
            key = "questions.rejected_with_reason" if reason else "questions.rejected"
            await self.delivery.tell_asker(
                uow, question, key, group=group.name, reason=reason or ""
            )
            cards = await uow.questions.review_cards(question_id)
            await uow.commit()
            return Decision(group.name, None, cards=cards)

    async def mute_asker(self, actor: int, question_id: int) -> Decision:
        """Stop whoever asked this from asking in the group (the facilitator never learns who),
        and do not post the question."""
        async with self.db.uow() as uow:
            question, group = await self._moderated(uow, actor, question_id)
            assert group.id is not None
            if question.status != QuestionStatus.PENDING:  # muting now would mislead
                return _decided_already(group, question)
            asker = await self.delivery.asker_of(uow, question)
            if asker is not None:
                await uow.questions.mute(group.id, asker)
            question.status = QuestionStatus.REJECTED
            question.decided_by = actor
            await self.delivery.tell_asker(
                uow, question, "questions.you_are_muted", group=group.name
            )
            cards = await uow.questions.review_cards(question_id)
            await uow.commit()
            return Decision(group.name, question.number, cards=cards)

    # ------------------------------------------------------------------------ settings
    async def settings(self, actor: int, group_id: int) -> QuestionSettings:
        async with self.db.uow(read_only=True) as uow:
            group = await self._managed_group(uow, actor, group_id)
            return await self._settings(uow, group)

    async def set_moderation(self, actor: int, group_id: int, on: bool) -> QuestionSettings:
        async with self.db.uow() as uow:
            group = await self._managed_group(uow, actor, group_id, lock=True)
            group.moderate_questions = on
            member = await uow.members.by_telegram_id(actor)
            uow.audit.record(
                "questions.moderation_on" if on else "questions.moderation_off",
                actor_id=member.id if member else None,
                group_id=group_id,
            )
            result = await self._settings(uow, group)
            await uow.commit()
            return result

    async def unmute_all(self, actor: int, group_id: int) -> QuestionSettings:
        async with self.db.uow() as uow:
            group = await self._managed_group(uow, actor, group_id, lock=True)
            await uow.questions.unmute_all(group_id)
            result = await self._settings(uow, group)
            await uow.commit()
            return result

    # ------------------------------------------------------------------------ who may
    async def _settings(self, uow: UnitOfWork, group: PeerGroup) -> QuestionSettings:
        assert group.id is not None
        muted = await uow.questions.mute_count(group.id)
        return QuestionSettings(group.id, group.name, group.moderate_questions, muted)

    async def _managed_group(
        self, uow: UnitOfWork, actor: int, group_id: int, *, lock: bool = False
    ) -> PeerGroup:
        group = await uow.groups.by_id(group_id)
        if group is None or not await self._may_manage(uow, actor, group_id):
            raise NotFound
        if lock:
            await uow.groups.lock(group)
        return group

    async def _may_manage(self, uow: UnitOfWork, actor: int, group_id: int) -> bool:
        member = await uow.members.by_telegram_id(actor)
        if member is None:
            return False
        return await manages_group(uow, member, group_id, self.coordinators)

    async def _moderated(
        self, uow: UnitOfWork, actor: int, question_id: int
    ) -> tuple[Question, PeerGroup]:
        """The question, for someone who may moderate its group; anyone else learns nothing."""
        question = await uow.questions.by_id(question_id, for_update=True)
        if question is None or not await self._may_manage(uow, actor, question.group_id):
            raise NotFound
        group = await uow.groups.by_id(question.group_id)
        if group is None:
            raise NotFound
        return question, group

    async def _end_reason_flow(self, uow: UnitOfWork, telegram_id: int) -> None:
        member = await uow.members.by_telegram_id(telegram_id, for_update=True)
        if member is not None and member.awaiting == Awaiting.REJECT_REASON:
            member.awaiting = None
            member.draft = None


def _decided_already(group: PeerGroup, question: Question) -> Decision:
    return Decision(group.name, question.number, already=QuestionStatus(question.status))
