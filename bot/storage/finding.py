"""Everything kept about one person, found and read for their export (see privacy.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import (
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.statuses import (
    OutboxStatus,
)
from bot.storage.crypto import CryptoError, pseudonym, pseudonyms
from bot.storage.models import (
    AskMute,
    Checkin,
    CheckinPlan,
    Escalation,
    Meeting,
    Membership,
    Outbox,
    PeerGroup,
    Question,
    QuestionAsker,
    ReminderMute,
    Rsvp,
)


class PersonRecords:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------------ finding
    async def asked_question_ids(self, telegram_id: int) -> list[int]:
        """The questions (and follow-ups) this person asked, oldest first."""
        refs = pseudonyms(telegram_id)
        stmt = select(col(QuestionAsker.question_id)).where(col(QuestionAsker.asker_ref).in_(refs))
        found = {int(q) for q in (await self.session.execute(stmt)).scalars()}
        legacy = select(QuestionAsker).where(col(QuestionAsker.asker_ref).is_(None))
        for link in (await self.session.execute(legacy)).scalars():
            if _is(link.asker, telegram_id):
                link.asker_ref = pseudonym(telegram_id)
                found.add(link.question_id)
        return sorted(found)

    async def ask_mutes(self, telegram_id: int) -> list[AskMute]:
        refs = pseudonyms(telegram_id)
        stmt = select(AskMute).where(
            or_(col(AskMute.asker_ref).in_(refs), col(AskMute.asker_ref).is_(None))
        )
        rows = list((await self.session.execute(stmt)).scalars())
        return [m for m in rows if m.asker_ref in refs or _is(m.asker, telegram_id)]

    async def escalations_about(self, telegram_id: int) -> list[Escalation]:
        stmt = (
            select(Escalation)
            .where(col(Escalation.author_telegram_id) == telegram_id)
            .order_by(col(Escalation.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    # ------------------------------------------------------------------------ export
    async def memberships_of(self, member_id: int) -> list[tuple[PeerGroup, Membership]]:
        stmt = (
            select(PeerGroup, Membership)
            .join(Membership, col(Membership.group_id) == col(PeerGroup.id))
            .where(col(Membership.member_id) == member_id)
            .order_by(col(Membership.joined_at), col(PeerGroup.id))
        )
        return [(g, m) for g, m in (await self.session.execute(stmt)).all()]

    async def reminder_mutes_of(self, member_id: int) -> set[int]:
        stmt = select(col(ReminderMute.group_id)).where(col(ReminderMute.member_id) == member_id)
        return {int(g) for g in (await self.session.execute(stmt)).scalars()}

    async def rsvps_of(self, member_id: int) -> list[tuple[Rsvp, Meeting, PeerGroup]]:
        stmt = (
            select(Rsvp, Meeting, PeerGroup)
            .join(Meeting, col(Meeting.id) == col(Rsvp.meeting_id))
            .join(PeerGroup, col(PeerGroup.id) == col(Meeting.group_id))
            .where(col(Rsvp.member_id) == member_id)
            .order_by(col(Rsvp.occurrence), col(Rsvp.id))
        )
        return [(r, m, g) for r, m, g in (await self.session.execute(stmt)).all()]

    async def checkin_plan_of(self, member_id: int) -> CheckinPlan | None:
        return await self.session.get(CheckinPlan, member_id)

    async def checkins_of(self, member_id: int) -> list[Checkin]:
        stmt = (
            select(Checkin)
            .where(col(Checkin.member_id) == member_id)
            .order_by(col(Checkin.answered_at), col(Checkin.id))
        )
        return list((await self.session.execute(stmt)).scalars())

    async def questions(self, ids: Sequence[int]) -> list[tuple[Question, PeerGroup | None]]:
        if not ids:
            return []
        stmt = (
            select(Question, PeerGroup)
            .outerjoin(PeerGroup, col(PeerGroup.id) == col(Question.group_id))
            .where(col(Question.id).in_(list(ids)))
            .order_by(col(Question.id))
        )
        return [(q, g) for q, g in (await self.session.execute(stmt)).all()]

    async def numbers_of(self, ids: Sequence[int]) -> dict[int, int | None]:
        if not ids:
            return {}
        stmt = select(col(Question.id), col(Question.number)).where(col(Question.id).in_(ids))
        return {int(q or 0): n for q, n in (await self.session.execute(stmt)).all()}

    async def replies_waiting_for(self, telegram_id: int) -> list[str]:
        """Replies to this person's questions still on their way to them (once delivered, a
        reply is not kept: see bot/services/questions.py)."""
        stmt = (
            select(col(Outbox.payload))
            .where(
                col(Outbox.chat_id) == telegram_id,
                col(Outbox.kind) == "asker",
                col(Outbox.status).in_((OutboxStatus.PENDING, OutboxStatus.SENDING)),
            )
            .order_by(col(Outbox.id))
        )
        texts: list[str] = []
        for payload in (await self.session.execute(stmt)).scalars():
            text = json.loads(payload).get("text")
            if isinstance(text, str):
                texts.append(text)
        return texts

    async def group_names(self, ids: Sequence[int]) -> dict[int, str]:
        if not ids:
            return {}
        stmt = select(PeerGroup).where(col(PeerGroup.id).in_(list(ids)))
        return {g.id or 0: g.name for g in (await self.session.execute(stmt)).scalars()}


def _is(encrypted_id: str, telegram_id: int) -> bool:
    """A decrypted id column (already decrypted by its type) names this person."""
    try:
        return int(encrypted_id) == telegram_id
    except (ValueError, CryptoError):
        return False
