"""What anonymous questions put in the outbox: the post, the facilitators' review cards, and
the messages to the asker.

The anonymity seam runs through this module: `schedule`, `queue_post` and `queue_review` take
a `Question` row, which has no asker column, and never read `question_asker`; only
`tell_asker` and `relay_reply` do, and what they queue carries an opaque key (scrubbed once
settled, see `bot/delivery/dispatcher.py`) so the outbox does not keep "question N went to
person X".
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from bot.core import callbacks
from bot.core.outgoing import OutgoingMessage
from bot.core.questions import posting_delay
from bot.core.statuses import QuestionStatus
from bot.locales import Catalogue
from bot.storage.models import Member, PeerGroup, Question, utcnow
from bot.storage.questions import post_key
from bot.storage.uow import UnitOfWork

QUESTION_PRIORITY = 4
REVIEW_PRIORITY = 3
# A relayed reply, with its header, stays under Telegram's 4096 (UTF-16 units, so <= 2 per char).
REPLY_MAX = 1900
# Kind of outbox row that goes to an asker: scrubbed once settled.
ASKER_KIND = "asker"


class QuestionDelivery:
    def __init__(
        self, texts: Catalogue, coordinators: frozenset[int], delay_bounds: tuple[int, int]
    ) -> None:
        self.texts = texts
        self.coordinators = coordinators
        self.delay_bounds = delay_bounds

    # ------------------------------------------------------------------------ the group
    async def schedule(
        self, uow: UnitOfWork, question: Question, group: PeerGroup, post_at: datetime
    ) -> None:
        """Approve and queue the post. Numbers follow posting order: a post is never due
        before one approved earlier, so #2 cannot appear before #1. Sees no asker."""
        await uow.groups.lock(group)  # one approval at a time
        assert group.id is not None
        latest = await uow.questions.latest_post_at(group.id)
        if latest is not None and latest >= post_at:
            post_at = latest + timedelta(seconds=1)
        question.status = QuestionStatus.APPROVED
        question.post_at = post_at
        if question.parent_id is None:
            question.number = await uow.questions.next_number(group.id)
        await uow.flush()
        await self._queue_post(uow, question, group)

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

    # ------------------------------------------------------------------------ reviewers
    async def queue_review(self, uow: UnitOfWork, question: Question, group: PeerGroup) -> None:
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
    async def tell_posted(self, uow: UnitOfWork, question: Question, group: PeerGroup) -> None:
        """The asker hears once the post is out (shortly after, at a random moment)."""
        assert question.post_at is not None
        key = "questions.follow_up_posted" if question.parent_id else "questions.posted"
        # After the post, at a moment that does not line up with it in the outbox table.
        after = timedelta(seconds=1) + posting_delay((0, self.delay_bounds[1] // 5))
        await self.tell_asker(
            uow, question, key, group=group.name, number=question.number or "",
            not_before=question.post_at + after,
        )  # fmt: skip

    async def tell_asker(
        self,
        uow: UnitOfWork,
        question: Question,
        key: str,
        *,
        not_before: datetime | None = None,
        **params: object,
    ) -> None:
        asker = await self.asker_of(uow, question)
        reader = await self._reachable(uow, asker)
        if asker is None or reader is None:
            return
        # (Queued once: only a state change that happens once queues it.)
        await self._to_asker(
            uow, asker, OutgoingMessage(self.texts.t(reader.language, key, **params)), not_before
        )

    async def relay_reply(
        self,
        uow: UnitOfWork,
        question: Question,
        *,
        replier_id: int,
        replier_first_name: str,
        text: str,
    ) -> bool:
        """Carry a reply to a posted question (or follow-up) to its asker, with the replier's
        name and a button to follow up on the first question. False when nothing was sent
        (the asker replied to themselves, left, or blocked the bot)."""
        root = await uow.questions.by_id(question.parent_id) if question.parent_id else question
        asker = await self.asker_of(uow, question)
        if root is None or root.id is None or asker is None or asker == replier_id:
            return False
        reader = await self._reachable(uow, asker)
        if reader is None:
            return False
        replier = await uow.members.by_telegram_id(replier_id)
        name = (replier.display_name if replier else None) or replier_first_name
        t = self.texts.t
        body = t(reader.language, "questions.reply_relayed", number=root.number or "",
                 name=name, text=text[:REPLY_MAX])  # fmt: skip
        button = ((t(reader.language, "questions.follow_up_button"),
                   callbacks.encode(callbacks.QUESTION_FOLLOW_UP, root.id)),)  # fmt: skip
        # The update is handled once, so this is queued once.
        await self._to_asker(
            uow, asker, OutgoingMessage(body, buttons=(button,), link_preview=False), None
        )
        return True

    async def asker_of(self, uow: UnitOfWork, question: Question) -> int | None:
        assert question.id is not None
        return await uow.questions.asker_of(question.id)

    async def _reachable(self, uow: UnitOfWork, telegram_id: int | None) -> Member | None:
        member = await uow.members.by_telegram_id(telegram_id) if telegram_id is not None else None
        return member if member is not None and member.unreachable_at is None else None

    async def _to_asker(
        self,
        uow: UnitOfWork,
        asker: int,
        message: OutgoingMessage,
        not_before: datetime | None,
    ) -> None:
        # An opaque key, not the question's: the row must not say whose question it was.
        await uow.outbox.enqueue(
            key=f"{ASKER_KIND}:{secrets.token_hex(12)}",
            kind=ASKER_KIND,
            chat_id=asker,
            payload=message.to_json(),
            priority=QUESTION_PRIORITY,
            not_before=not_before,
        )
