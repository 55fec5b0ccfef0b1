"""Anonymous questions: asking, moderating, posting, and carrying replies back to the asker.

Anonymity is structural:
- The asker's Telegram id is written once, encrypted, into `question_asker` (and `ask_mute`);
  nothing else links a question to a person. It is read to deliver outcomes and replies to the
  asker (`_tell_asker`, `relay_reply`), and to check the asker's own limits (waiting questions,
  mutes, that a follow-up is theirs).
- The code that posts a question (`_schedule`, `_queue_post`) and the code that shows it to
  facilitators (`_queue_review`) take a `Question` row, which has no asker column, and never
  read `question_asker`.
- What the bot sends the asker is queued with an opaque key and scrubbed once settled (see
  `bot/delivery/dispatcher.py`), so the outbox does not keep "question N went to person X".

Timing does not point at the asker either: a facilitator's review card, and a post when
moderation is off, go out after a random delay; numbers follow posting order.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import callbacks
from bot.core.outgoing import OutgoingMessage
from bot.core.questions import (
    MAX_QUESTION_CHARS,
    MAX_REASON_CHARS,
    MAX_WAITING_QUESTIONS,
    clean_question,
    posting_delay,
)
from bot.core.screening import Level, Screener
from bot.locales import Catalogue
from bot.services.common import (
    draft_of,
    drop_previewed_draft,
    manages_group,
    onboarded_member,
    set_draft,
)
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.members import Awaiting
from bot.storage.models import Member, PeerGroup, Question, utcnow
from bot.storage.questions import post_key
from bot.storage.uow import Database, UnitOfWork

QUESTION_PRIORITY = 4
REVIEW_PRIORITY = 3
FOLLOW_UP_CHOICES = 3
# A relayed reply, with its header, stays under Telegram's 4096 (UTF-16 units, so <= 2 per char).
REPLY_MAX = 1900
# Questions left waiting this long no longer count towards the asker's limit.
WAITING_EXPIRES = timedelta(days=14)
# Kind of outbox row that goes to an asker: scrubbed once settled.
ASKER_KIND = "asker"


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


@dataclass(frozen=True)
class Decision:
    group_name: str
    number: int | None
    already: str | None = None  # "approved" / "rejected": someone else decided first
    # Every reviewer's card (chat, message): their buttons go once someone has decided.
    cards: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class QuestionSettings:
    group_id: int
    group_name: str
    moderated: bool
    muted: int


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
        self.texts = texts
        self.screener = screener
        self.coordinators = coordinators
        self.delay_bounds = delay_bounds

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
                    or parent.status != "approved"
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
                await self._queue_review(uow, question, group)
            else:
                await self._schedule(uow, question, group, now + posting_delay(self.delay_bounds))
                await self._tell_posted(uow, question, group)
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

    # ------------------------------------------------------------------------ moderation
    async def approve(self, actor: int, question_id: int) -> Decision:
        async with self.db.uow() as uow:
            question, group = await self._moderated(uow, actor, question_id)
            if question.status != "pending":
                return Decision(group.name, question.number, already=question.status)
            question.decided_by = actor
            await self._schedule(uow, question, group, utcnow())
            await self._tell_posted(uow, question, group)
            cards = await uow.questions.review_cards(question_id)
            await uow.commit()
            return Decision(group.name, question.number, cards=cards)

    async def reject(self, actor: int, question_id: int, reason: str | None) -> Decision:
        reason = " ".join(reason.split()) if reason else None
        if reason is not None and len(reason) > MAX_REASON_CHARS:
            raise InvalidInput("questions.reason_too_long", max=MAX_REASON_CHARS)
        async with self.db.uow() as uow:
            await self._end_flow(uow, actor)
            try:
                question, group = await self._moderated(uow, actor, question_id)
            except NotFound:
                await uow.commit()  # the reason flow ends even when the question is gone
                raise
            if question.status != "pending":
                await uow.commit()
                return Decision(group.name, question.number, already=question.status)
            question.status = "rejected"
            question.decided_by = actor
            key = "questions.rejected_with_reason" if reason else "questions.rejected"
            await self._tell_asker(uow, question, key, group=group.name, reason=reason or "")
            cards = await uow.questions.review_cards(question_id)
            await uow.commit()
            return Decision(group.name, None, cards=cards)

    async def mute_asker(self, actor: int, question_id: int) -> Decision:
        """Stop whoever asked this from asking in the group (the facilitator never learns who),
        and do not post the question."""
        async with self.db.uow() as uow:
            question, group = await self._moderated(uow, actor, question_id)
            assert group.id is not None
            if question.status != "pending":  # decided already: muting now would mislead
                return Decision(group.name, question.number, already=question.status)
            asker = await self._asker_of(uow, question)
            if asker is not None:
                await uow.questions.mute(group.id, asker)
            question.status = "rejected"
            question.decided_by = actor
            await self._tell_asker(uow, question, "questions.you_are_muted", group=group.name)
            cards = await uow.questions.review_cards(question_id)
            await uow.commit()
            return Decision(group.name, question.number, cards=cards)

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
            await uow.session.refresh(group, with_for_update=True)
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

    async def _end_flow(self, uow: UnitOfWork, telegram_id: int) -> None:
        member = await uow.members.by_telegram_id(telegram_id, for_update=True)
        if member is not None and member.awaiting == Awaiting.REJECT_REASON:
            member.awaiting = None
            member.draft = None

    async def ask_reason(self, actor: int, question_id: int) -> Decision:
        """A facilitator pressed Reject: wait for their reason (or their 'no reason')."""
        async with self.db.uow() as uow:
            question, group = await self._moderated(uow, actor, question_id)
            if question.status != "pending":
                return Decision(group.name, question.number, already=question.status)
            member = await onboarded_member(uow, actor, lock=True)
            member.awaiting = Awaiting.REJECT_REASON
            set_draft(member, {"question": question_id})
            await uow.commit()
            return Decision(group.name, None)

    # ------------------------------------------------------------------------ posting
    async def _schedule(
        self, uow: UnitOfWork, question: Question, group: PeerGroup, post_at: datetime
    ) -> None:
        """Approve and queue the post. Numbers follow posting order: a post is never due
        before one approved earlier, so #2 cannot appear before #1. Sees no asker."""
        await uow.session.refresh(group, with_for_update=True)  # one approval at a time
        assert group.id is not None
        latest = await uow.questions.latest_post_at(group.id)
        if latest is not None and latest >= post_at:
            post_at = latest + timedelta(seconds=1)
        question.status = "approved"
        question.post_at = post_at
        if question.parent_id is None:
            question.number = await uow.questions.next_number(group.id)
        await uow.session.flush()
        await self._queue_post(uow, question, group)

    async def _tell_posted(self, uow: UnitOfWork, question: Question, group: PeerGroup) -> None:
        """The asker hears once the post is out (shortly after, at a random moment)."""
        assert question.post_at is not None
        key = "questions.follow_up_posted" if question.parent_id else "questions.posted"
        # After the post, at a moment that does not line up with it in the outbox table.
        after = timedelta(seconds=1) + posting_delay((0, self.delay_bounds[1] // 5))
        await self._tell_asker(
            uow, question, key, group=group.name, number=question.number or "",
            not_before=question.post_at + after,
        )  # fmt: skip

    async def _queue_post(self, uow: UnitOfWork, question: Question, group: PeerGroup) -> None:
        """Post to the group's chat, or to each member privately. Sees no asker."""
        assert question.id is not None and group.id is not None and question.post_at is not None
        parent = await uow.questions.by_id(question.parent_id) if question.parent_id else None
        if group.chat_id is not None:
            chats = [(group.chat_id, self.texts.default_language)]
        else:
            chats = [(m.telegram_id, m.language) for m in await uow.meetings.recipients(group.id)]
        for chat_id, language in chats:
            reply_to = (
                await uow.questions.post_message_id(parent.id, chat_id)
                if parent is not None and parent.id is not None
                else None
            )
            if parent is not None:
                text = self.texts.t(language, "questions.follow_up_post",
                                    number=parent.number or "", text=question.text)  # fmt: skip
            else:
                text = self.texts.t(language, "questions.post", number=question.number or "",
                                    group=group.name, text=question.text)  # fmt: skip
            hint = self.texts.t(language, "questions.reply_hint")
            await uow.outbox.enqueue(
                key=post_key(question.id, chat_id),
                kind="question",
                chat_id=chat_id,
                payload=OutgoingMessage(
                    f"{text}\n\n{hint}", reply_to_message_id=reply_to, link_preview=False
                ).to_json(),
                priority=QUESTION_PRIORITY,
                not_before=question.post_at,
            )

    async def _queue_review(self, uow: UnitOfWork, question: Question, group: PeerGroup) -> None:
        """Show the question to the group's facilitators (coordinators when it has none).
        Sees no asker."""
        assert question.id is not None and group.id is not None
        if question.flagged:
            # Coordinators already know who wrote it (the escalation names them): a flagged
            # question goes to them alone, so nobody else can pair the text with the alert.
            reviewers = sorted(self.coordinators)
            not_before = None
        else:
            reviewers = await uow.memberships.facilitator_telegram_ids(group.id)
            reviewers = reviewers or sorted(self.coordinators)
            # Not the moment the asker pressed Send: "last seen just now" would point at them.
            not_before = utcnow() + posting_delay(self.delay_bounds)
        parent = await uow.questions.by_id(question.parent_id) if question.parent_id else None
        for telegram_id in reviewers:
            reviewer = await uow.members.by_telegram_id(telegram_id)
            lang = reviewer.language if reviewer else self.texts.default_language
            t = self.texts.t
            key = "questions.review_follow_up" if parent else "questions.review"
            text = t(lang, key, group=group.name, text=question.text,
                     number=parent.number if parent else "")  # fmt: skip
            if question.flagged:
                text = t(lang, "questions.review_flagged") + "\n\n" + text
            buttons = (
                ((t(lang, "questions.approve_button"),
                  callbacks.encode(callbacks.QUESTION_APPROVE, question.id)),
                 (t(lang, "questions.reject_button"),
                  callbacks.encode(callbacks.QUESTION_REJECT, question.id))),
                ((t(lang, "questions.mute_button"),
                  callbacks.encode(callbacks.QUESTION_MUTE_ASKER, question.id)),),
            )  # fmt: skip
            await uow.outbox.enqueue(
                key=f"question:{question.id}:review:{telegram_id}",
                kind="notice",
                chat_id=telegram_id,
                payload=OutgoingMessage(text, buttons=buttons, link_preview=False).to_json(),
                priority=REVIEW_PRIORITY,
                not_before=not_before,
            )

    # ------------------------------------------------------------------------ the asker
    async def _asker_of(self, uow: UnitOfWork, question: Question) -> int | None:
        assert question.id is not None
        return await uow.questions.asker_of(question.id)

    async def _tell_asker(
        self,
        uow: UnitOfWork,
        question: Question,
        key: str,
        *,
        not_before: datetime | None = None,
        **params: object,
    ) -> None:
        asker = await self._asker_of(uow, question)
        if asker is None:
            return
        member = await uow.members.by_telegram_id(asker)
        if member is None or member.unreachable_at is not None:
            return
        # An opaque key, not the question's: the row must not say whose question it was.
        # (Queued once: only a state change that happens once queues it.)
        await uow.outbox.enqueue(
            key=f"{ASKER_KIND}:{secrets.token_hex(12)}",
            kind=ASKER_KIND,
            chat_id=asker,
            payload=OutgoingMessage(self.texts.t(member.language, key, **params)).to_json(),
            priority=QUESTION_PRIORITY,
            not_before=not_before,
        )

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
            root = await uow.questions.by_id(question.parent_id) if question.parent_id else question
            asker = await self._asker_of(uow, question)
            if root is None or root.id is None or asker is None or asker == replier_id:
                return True
            member = await uow.members.by_telegram_id(asker)
            if member is None or member.unreachable_at is not None:
                return True
            replier = await uow.members.by_telegram_id(replier_id)
            name = (replier.display_name if replier else None) or replier_first_name
            t = self.texts.t
            body = t(member.language, "questions.reply_relayed", number=root.number or "",
                     name=name, text=text[:REPLY_MAX])  # fmt: skip
            button = ((t(member.language, "questions.follow_up_button"),
                       callbacks.encode(callbacks.QUESTION_FOLLOW_UP, root.id)),)  # fmt: skip
            await uow.outbox.enqueue(
                key=f"{ASKER_KIND}:{secrets.token_hex(12)}",  # the update is handled once
                kind=ASKER_KIND,
                chat_id=asker,
                payload=OutgoingMessage(body, buttons=(button,), link_preview=False).to_json(),
                priority=QUESTION_PRIORITY,
            )
            await uow.commit()
            return True


def _int(value: object) -> int:
    if isinstance(value, int):
        return value
    raise NotFound
