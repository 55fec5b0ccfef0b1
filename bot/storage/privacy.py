"""Members' data rights in the database: everything kept about one person, found, exported
and erased; and the retention limits applied to everyone's records.

A person's rows are found by their member id (profile, memberships, RSVPs, check-ins), by
their Telegram id in plain columns (chats, escalations), or by their keyed pseudonym where a
row must point at them without naming them (who asked a question, who is muted from asking).
Rows stored before pseudonyms existed have none: they are few, matched by decrypting them,
and given their pseudonym when found.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    Text,
    and_,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.storage.crypto import CryptoError, pseudonym, pseudonyms
from bot.storage.models import (
    AskMute,
    AuditEvent,
    Broadcast,
    Checkin,
    CheckinPlan,
    Escalation,
    EscalationAction,
    Inbound,
    Meeting,
    Member,
    Membership,
    Outbox,
    PeerGroup,
    Question,
    QuestionAsker,
    ReminderMute,
    Rsvp,
)

# Rows changed per statement by the retention job (each batch its own short transaction).
RETENTION_BATCH = 1000


@dataclass
class Erased:
    """What erasing one person removed (counts only: nothing about them)."""

    checkins: int = 0
    rsvps: int = 0
    memberships: int = 0
    questions_unlinked: int = 0
    questions_deleted: int = 0
    escalations_pseudonymised: list[int] = field(default_factory=list)
    outbox: int = 0
    inbound: int = 0


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


class PrivacyRepository:
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
                col(Outbox.status).in_(("pending", "sending")),
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

    # ------------------------------------------------------------------------ erasure
    async def erase(
        self,
        member: Member,
        now: datetime,
        *,
        current_update: int | None,
        alert_payload: str,
    ) -> Erased:
        """Erase everything kept about this person, in the caller's transaction.

        Kept, without naming them: their escalations (pseudonymised: no Telegram id, name, chat
        or text; they expire with the safety-record period), the group's history (a question
        they posted stays numbered, its text and asker gone; delivery counts of announcements
        they received). `alert_payload` replaces the text of alerts about them that were sent
        to coordinators (it may hold `{id}`)."""
        assert member.id is not None
        tid = member.telegram_id
        member_id = member.id
        done = Erased()
        await self._erase_questions(tid, now, done)
        for mute in await self.ask_mutes(tid):
            await self.session.delete(mute)
        await self._pseudonymise_escalations(tid, now, alert_payload, done)
        await self._erase_deliveries(tid, member_id, done)
        await self._erase_inbound(tid, current_update, done)
        await self._erase_authored(tid, member_id, now)
        s = self.session
        done.checkins = _count(
            await s.execute(delete(Checkin).where(col(Checkin.member_id) == member_id))
        )
        done.rsvps = _count(await s.execute(delete(Rsvp).where(col(Rsvp.member_id) == member_id)))
        done.memberships = _count(
            await s.execute(delete(Membership).where(col(Membership.member_id) == member_id))
        )
        await s.execute(delete(ReminderMute).where(col(ReminderMute.member_id) == member_id))
        await s.execute(delete(CheckinPlan).where(col(CheckinPlan.member_id) == member_id))
        await s.execute(delete(Member).where(col(Member.id) == member_id))
        return done

    async def _erase_questions(self, tid: int, now: datetime, done: Erased) -> None:
        ids = await self.asked_question_ids(tid)
        if not ids:
            return
        rows = list(
            (
                await self.session.execute(select(Question).where(col(Question.id).in_(ids)))
            ).scalars()
        )
        out = [
            q for q in rows if q.status == "approved" and q.post_at is not None and q.post_at <= now
        ]
        posted = [q.id for q in out if q.id is not None]
        gone = [q.id for q in rows if q not in out and q.id is not None]
        # Posted: it stays in the group (its number, its thread), linked to no one, its words
        # no longer kept here. The copies' delivery records keep only their place.
        for chunk in _chunks(posted):
            await self.session.execute(
                update(Question).where(col(Question.id).in_(chunk)).values(text="")
            )
            copies = _copies_of(chunk)
            await self.session.execute(
                update(Outbox)
                .where(copies, col(Outbox.status) == "pending")
                .values(status="cancelled")
            )
            await self.session.execute(update(Outbox).where(copies).values(payload="{}"))
        for chunk in _chunks(gone):
            await self.session.execute(delete(Outbox).where(_copies_of(chunk)))
        await self.session.execute(
            delete(QuestionAsker).where(col(QuestionAsker.question_id).in_(ids))
        )
        if gone:
            # A follow-up to a question that never went out goes with it (ON DELETE CASCADE).
            await self.session.execute(delete(Question).where(col(Question.id).in_(gone)))
        done.questions_unlinked = len(out)
        done.questions_deleted = len(gone)

    async def _pseudonymise_escalations(
        self, tid: int, now: datetime, alert_payload: str, done: Erased
    ) -> None:
        for escalation in await self.escalations_about(tid):
            assert escalation.id is not None
            escalation.author_ref = escalation.author_ref or pseudonym(tid)
            escalation.author_telegram_id = 0
            escalation.author_name = None
            escalation.text = ""
            if escalation.chat_id == tid:
                escalation.chat_id = 0
                escalation.chat_title = None
            escalation.erased_at = now
            done.escalations_pseudonymised.append(escalation.id)
            # The alerts coordinators got named them and quoted them: those records keep only
            # a note that the person's data was erased (an acknowledgement still edits them).
            await self.session.execute(
                update(Outbox)
                .where(col(Outbox.batch) == f"esc:{escalation.id}")
                .values(payload=alert_payload.replace("{id}", str(escalation.id)))
            )

    async def _erase_deliveries(self, tid: int, member_id: int, done: Erased) -> None:
        s = self.session
        mine = col(Outbox.chat_id) == tid
        # An announcement's records stay as counts (its author sees them): who got it goes.
        counted = mine & col(Outbox.batch).startswith("bc:")
        done.outbox = _count(
            await s.execute(
                update(Outbox)
                .where(counted)
                .values(
                    chat_id=0,
                    payload="{}",
                    message_id=None,
                    key=literal("erased:").concat(cast(col(Outbox.id), String)),
                )
            )
        )
        await s.execute(
            update(Outbox)
            .where(col(Outbox.key).startswith("erased:"), col(Outbox.status) == "pending")
            .values(status="cancelled")
        )
        done.outbox += _count(await s.execute(delete(Outbox).where(mine)))
        # Notices about them to others (e.g. "X would like to talk", naming them) hang off
        # audit events with them as actor or subject.
        events = select(col(AuditEvent.id)).where(
            or_(col(AuditEvent.actor_id) == member_id, col(AuditEvent.subject_id) == member_id)
        )
        for event_id in (await s.execute(events)).scalars():
            done.outbox += _count(
                await s.execute(
                    delete(Outbox).where(col(Outbox.key).startswith(f"notice:{event_id}:"))
                )
            )

    async def _erase_inbound(self, tid: int, current_update: int | None, done: Erased) -> None:
        s = self.session
        kept = col(Inbound.status).in_(("dead", "replay"))
        done.inbound = _count(
            await s.execute(delete(Inbound).where(col(Inbound.chat_key) == tid, kept))
        )
        # Handled updates keep no payload; what remains is which chat they came from.
        settled = col(Inbound.status) == "done"
        if current_update is not None:
            settled = or_(settled, col(Inbound.update_id) == current_update)
        await s.execute(
            update(Inbound).where(col(Inbound.chat_key) == tid, settled).values(chat_key=None)
        )
        # Dead letters from group chats may carry what they wrote there.
        stmt = select(Inbound).where(kept, col(Inbound.payload).is_not(None))
        for row in (await s.execute(stmt)).scalars():
            if row.payload is not None and _mentions(row.payload, tid):
                await s.delete(row)
                done.inbound += 1

    async def _erase_authored(self, tid: int, member_id: int, now: datetime) -> None:
        """What points at them as the one who did something for others."""
        s = self.session
        await s.execute(
            update(PeerGroup).where(col(PeerGroup.created_by) == member_id).values(created_by=None)
        )
        await s.execute(
            update(Meeting).where(col(Meeting.created_by) == member_id).values(created_by=None)
        )
        await s.execute(
            update(AuditEvent).where(col(AuditEvent.actor_id) == member_id).values(actor_id=None)
        )
        await s.execute(
            update(AuditEvent)
            .where(col(AuditEvent.subject_id) == member_id)
            .values(subject_id=None)
        )
        await s.execute(
            update(Question).where(col(Question.decided_by) == tid).values(decided_by=None)
        )
        await s.execute(
            update(EscalationAction)
            .where(col(EscalationAction.actor_telegram_id) == tid)
            .values(actor_telegram_id=None)
        )
        await s.execute(
            update(Escalation)
            .where(col(Escalation.acknowledged_by) == tid)
            .values(acknowledged_by=None)
        )
        await s.execute(
            update(Escalation).where(col(Escalation.resolved_by) == tid).values(resolved_by=None)
        )
        # Their announcements: the words go; one still going out stops; the counts stay.
        for broadcast in (
            await s.execute(select(Broadcast).where(col(Broadcast.author_telegram_id) == tid))
        ).scalars():
            batch = f"bc:{broadcast.id}"
            await s.execute(
                update(Outbox)
                .where(col(Outbox.batch) == batch, col(Outbox.status) == "pending")
                .values(status="cancelled")
            )
            await s.execute(update(Outbox).where(col(Outbox.batch) == batch).values(payload="{}"))
            broadcast.author_telegram_id = 0
            broadcast.text = ""
            broadcast.status_chat_id = None
            broadcast.status_message_id = None
            if broadcast.finished_at is None:
                broadcast.status = "cancelled"
                broadcast.finished_at = now

    # ------------------------------------------------------------------------ retention
    async def expire_checkin_notes(self, before: datetime) -> int:
        ids = (
            select(col(Checkin.id))
            .where(col(Checkin.answered_at) < before, col(Checkin.note).is_not(None))
            .limit(RETENTION_BATCH)
        )
        return _count(
            await self.session.execute(
                update(Checkin).where(col(Checkin.id).in_(ids.scalar_subquery())).values(note=None)
            )
        )

    async def expire_escalation_notes(self, before: datetime) -> int:
        """Coordinators' notes (and the quoted words) of escalations resolved before `before`."""
        ids = (
            select(col(Escalation.id))
            .where(
                col(Escalation.status) == "resolved",
                col(Escalation.resolved_at) < before,
                or_(col(Escalation.note).is_not(None), _stored(col(Escalation.text)) != ""),
            )
            .limit(RETENTION_BATCH)
        )
        return _count(
            await self.session.execute(
                update(Escalation)
                .where(col(Escalation.id).in_(ids.scalar_subquery()))
                .values(note=None, text="")
            )
        )

    async def expire_safety_records(self, before: datetime) -> int:
        """Escalations made before `before` and closed (resolved, or their author erased)."""
        ids = (
            select(col(Escalation.id))
            .where(
                col(Escalation.created_at) < before,
                or_(col(Escalation.status) == "resolved", col(Escalation.erased_at).is_not(None)),
            )
            .limit(RETENTION_BATCH)
        )
        return _count(
            await self.session.execute(
                delete(Escalation).where(col(Escalation.id).in_(ids.scalar_subquery()))
            )
        )

    async def expire_question_texts(self, before: datetime) -> int:
        """Anonymous questions asked before `before`: their words (decided ones only)."""
        ids = (
            select(col(Question.id))
            .where(
                col(Question.created_at) < before,
                col(Question.status) != "pending",
                _stored(col(Question.text)) != "",
            )
            .limit(RETENTION_BATCH)
        )
        return _count(
            await self.session.execute(
                update(Question).where(col(Question.id).in_(ids.scalar_subquery())).values(text="")
            )
        )

    async def expire_audit(self, before: datetime) -> int:
        ids = select(col(AuditEvent.id)).where(col(AuditEvent.at) < before).limit(RETENTION_BATCH)
        removed = _count(
            await self.session.execute(
                delete(AuditEvent).where(col(AuditEvent.id).in_(ids.scalar_subquery()))
            )
        )
        actions = (
            select(col(EscalationAction.id))
            .where(col(EscalationAction.at) < before)
            .limit(RETENTION_BATCH)
        )
        removed += _count(
            await self.session.execute(
                delete(EscalationAction).where(
                    col(EscalationAction.id).in_(actions.scalar_subquery())
                )
            )
        )
        return removed

    async def count_rows(self, table: Any, *where: Any) -> int:
        stmt = select(func.count()).select_from(table)
        if where:
            stmt = stmt.where(and_(*where))
        return int((await self.session.execute(stmt)).scalar_one())


def _chunks(ids: Sequence[int], size: int = 200) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _copies_of(question_ids: Sequence[int]) -> Any:
    """The delivery records of these questions (posts, review cards): one scan of the outbox
    for many questions, rather than one each."""
    return or_(*(col(Outbox.key).startswith(f"question:{q}:") for q in question_ids))


def _stored(column: Any) -> Any:
    """An encrypted column as stored (no decryption): "" when its text was erased."""
    return type_coerce(column, Text)


def _is(encrypted_id: str, telegram_id: int) -> bool:
    """A decrypted id column (already decrypted by its type) names this person."""
    try:
        return int(encrypted_id) == telegram_id
    except (ValueError, CryptoError):
        return False


def _mentions(payload: str, telegram_id: int) -> bool:
    """A raw update (JSON) sent by, or naming, this person."""
    try:
        data = json.loads(payload)
    except ValueError:
        return str(telegram_id) in payload
    stack: list[Any] = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("id") == telegram_id:
                return True
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
