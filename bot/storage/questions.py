"""Repositories for anonymous questions and announcements.

Who asked is stored encrypted (Fernet, so two encryptions of one id differ): finding a person's
questions means decrypting the few candidate rows and comparing. The sets involved (questions
still waiting, a group's mutes, someone's recent questions) are small by construction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, cast, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.statuses import OutboxStatus, QuestionStatus
from bot.storage.models import (
    AskMute,
    Broadcast,
    Member,
    Outbox,
    Question,
    QuestionAsker,
)

# Outbox keys of a question's posts: one per chat it was posted to.
POST_KEY = "question:{question}:post:{chat}"
RECENT_SCAN = 300


def post_key(question_id: int, chat_id: int) -> str:
    return POST_KEY.format(question=question_id, chat=chat_id)


class QuestionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, question: Question, asker_telegram_id: int) -> Question:
        self.session.add(question)
        await self.session.flush()
        assert question.id is not None
        self.session.add(QuestionAsker(question_id=question.id, asker=str(asker_telegram_id)))
        return question

    async def by_id(self, question_id: int, *, for_update: bool = False) -> Question | None:
        return await self.session.get(Question, question_id, with_for_update=for_update)

    async def asker_of(self, question_id: int) -> int | None:
        link = await self.session.get(QuestionAsker, question_id)
        return int(link.asker) if link is not None else None

    async def waiting_count(
        self, asker_telegram_id: int, group_id: int, now: datetime, *, since: datetime
    ) -> int:
        """This person's questions to a group not yet out (waiting for a facilitator or for
        their time), asked since `since` (older ones stop counting)."""
        stmt = (
            select(col(QuestionAsker.asker))
            .join(Question, col(Question.id) == col(QuestionAsker.question_id))
            .where(
                col(Question.group_id) == group_id,
                col(Question.created_at) >= since,
                or_(
                    col(Question.status) == QuestionStatus.PENDING,
                    (col(Question.status) == QuestionStatus.APPROVED)
                    & (col(Question.post_at) > now),
                ),
            )
        )
        askers = (await self.session.execute(stmt)).scalars()
        return sum(1 for asker in askers if int(asker) == asker_telegram_id)

    async def latest_post_at(self, group_id: int) -> datetime | None:
        stmt = select(func.max(col(Question.post_at))).where(
            col(Question.group_id) == group_id, col(Question.status) == QuestionStatus.APPROVED
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def recent_posted(
        self, asker_telegram_id: int, now: datetime, limit: int
    ) -> list[Question]:
        """This person's most recent questions that are out in their group (not follow-ups)."""
        stmt = (
            select(Question, col(QuestionAsker.asker))
            .join(QuestionAsker, col(Question.id) == col(QuestionAsker.question_id))
            .where(
                col(Question.status) == QuestionStatus.APPROVED,
                col(Question.parent_id).is_(None),
                col(Question.post_at) <= now,
            )
            .order_by(col(Question.id).desc())
            .limit(RECENT_SCAN)
        )
        mine = [
            q for q, asker in (await self.session.execute(stmt)).all()
            if int(asker) == asker_telegram_id
        ]  # fmt: skip
        return mine[:limit]

    async def next_number(self, group_id: int) -> int:
        stmt = select(func.max(col(Question.number))).where(col(Question.group_id) == group_id)
        current = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(current or 0) + 1

    async def posted_as(self, chat_id: int, message_id: int) -> int | None:
        """The question a message we sent to this chat carries, if it is one."""
        stmt = select(col(Outbox.key)).where(
            col(Outbox.chat_id) == chat_id,
            col(Outbox.message_id) == message_id,
            col(Outbox.kind) == "question",
        )
        key = (await self.session.execute(stmt)).scalars().first()
        if key is None:
            return None
        _, question_id, *_ = key.split(":")
        return int(question_id)

    async def review_cards(self, question_id: int) -> tuple[tuple[int, int], ...]:
        """(chat, message) of each review card of this question that was delivered."""
        stmt = select(col(Outbox.chat_id), col(Outbox.message_id)).where(
            col(Outbox.key).startswith(f"question:{question_id}:review:"),
            col(Outbox.message_id).is_not(None),
        )
        rows = (await self.session.execute(stmt)).all()
        return tuple((int(c), int(m)) for c, m in rows if m is not None)

    async def post_message_id(self, question_id: int, chat_id: int) -> int | None:
        stmt = select(col(Outbox.message_id)).where(
            col(Outbox.key) == post_key(question_id, chat_id)
        )
        value = (await self.session.execute(stmt)).scalar_one_or_none()
        return int(value) if value is not None else None

    async def stop_for_leaver(self, group_id: int, telegram_id: int) -> int:
        """Someone left a group: its questions still waiting to reach them privately won't."""
        stmt = (
            select(col(Question.id))
            .where(
                col(Question.group_id) == group_id, col(Question.status) == QuestionStatus.APPROVED
            )
            .order_by(col(Question.id).desc())
            .limit(RECENT_SCAN)
        )
        ids = (await self.session.execute(stmt)).scalars()
        keys = [post_key(q, telegram_id) for q in ids if q is not None]
        if not keys:
            return 0
        result = await self.session.execute(
            update(Outbox)
            .where(col(Outbox.key).in_(keys), col(Outbox.status) == OutboxStatus.PENDING)
            .values(status=OutboxStatus.CANCELLED)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def is_muted(self, group_id: int, asker_telegram_id: int) -> bool:
        stmt = select(col(AskMute.asker)).where(col(AskMute.group_id) == group_id)
        return any(
            int(a) == asker_telegram_id for a in (await self.session.execute(stmt)).scalars()
        )

    async def mute(self, group_id: int, asker_telegram_id: int) -> None:
        # Always a new row, even for someone muted already: a count that did not move would
        # tell the facilitator that two questions came from the same person.
        self.session.add(AskMute(group_id=group_id, asker=str(asker_telegram_id)))

    async def mute_count(self, group_id: int) -> int:
        stmt = select(func.count()).where(col(AskMute.group_id) == group_id)
        return int((await self.session.execute(stmt)).scalar_one())

    async def unmute_all(self, group_id: int) -> int:
        result = await self.session.execute(
            delete(AskMute).where(col(AskMute.group_id) == group_id)
        )
        return int(getattr(result, "rowcount", 0) or 0)


class BroadcastRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, broadcast: Broadcast) -> Broadcast:
        self.session.add(broadcast)
        await self.session.flush()
        return broadcast

    async def by_id(self, broadcast_id: int, *, for_update: bool = False) -> Broadcast | None:
        return await self.session.get(Broadcast, broadcast_id, with_for_update=for_update)

    async def unfinished(self) -> list[Broadcast]:
        """Sends whose messages are not all settled yet (cancelled ones included)."""
        stmt = (
            select(Broadcast)
            .where(col(Broadcast.finished_at).is_(None))
            .order_by(col(Broadcast.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def everyone(self) -> list[Member]:
        """Every member the bot can reach (a coordinator's announcement to all)."""
        stmt = (
            select(Member)
            .where(col(Member.unreachable_at).is_(None), col(Member.step) == "done")
            .order_by(col(Member.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def stop_for_leaver(self, group_id: int, member: Member) -> int:
        """Someone left a group: its announcements still queued for them will not go."""
        batches = select(literal("bc:").concat(cast(col(Broadcast.id), String))).where(
            col(Broadcast.group_id) == group_id, col(Broadcast.finished_at).is_(None)
        )
        result = await self.session.execute(
            update(Outbox)
            .where(
                col(Outbox.chat_id) == member.telegram_id,
                col(Outbox.status) == OutboxStatus.PENDING,
                col(Outbox.batch).in_(batches),
            )
            .values(status=OutboxStatus.CANCELLED)
        )
        return int(getattr(result, "rowcount", 0) or 0)
