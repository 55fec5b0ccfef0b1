"""Erasing one person: what goes, and what stays without naming them (see privacy.py)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    String,
    cast,
    delete,
    literal,
    or_,
    select,
    update,
)
from sqlmodel import col

from bot.core.statuses import (
    BroadcastStatus,
    InboundStatus,
    OutboxStatus,
    QuestionStatus,
)
from bot.storage.crypto import pseudonym
from bot.storage.db import rowcount
from bot.storage.finding import PersonRecords
from bot.storage.models import (
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


class Erasure(PersonRecords):
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
        done.checkins = rowcount(
            await s.execute(delete(Checkin).where(col(Checkin.member_id) == member_id))
        )
        done.rsvps = rowcount(await s.execute(delete(Rsvp).where(col(Rsvp.member_id) == member_id)))
        done.memberships = rowcount(
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
            q
            for q in rows
            if q.status == QuestionStatus.APPROVED and q.post_at is not None and q.post_at <= now
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
                .where(copies, col(Outbox.status) == OutboxStatus.PENDING)
                .values(status=OutboxStatus.CANCELLED)
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
        done.outbox = rowcount(
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
            .where(
                col(Outbox.key).startswith("erased:"), col(Outbox.status) == OutboxStatus.PENDING
            )
            .values(status=OutboxStatus.CANCELLED)
        )
        done.outbox += rowcount(await s.execute(delete(Outbox).where(mine)))
        # Notices about them to others (e.g. "X would like to talk", naming them) hang off
        # audit events with them as actor or subject.
        events = select(col(AuditEvent.id)).where(
            or_(col(AuditEvent.actor_id) == member_id, col(AuditEvent.subject_id) == member_id)
        )
        for event_id in (await s.execute(events)).scalars():
            done.outbox += rowcount(
                await s.execute(
                    delete(Outbox).where(col(Outbox.key).startswith(f"notice:{event_id}:"))
                )
            )

    async def _erase_inbound(self, tid: int, current_update: int | None, done: Erased) -> None:
        s = self.session
        kept = col(Inbound.status).in_((InboundStatus.DEAD, InboundStatus.REPLAY))
        done.inbound = rowcount(
            await s.execute(delete(Inbound).where(col(Inbound.chat_key) == tid, kept))
        )
        # Handled updates keep no payload; what remains is which chat they came from.
        settled = col(Inbound.status) == InboundStatus.DONE
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
                .where(col(Outbox.batch) == batch, col(Outbox.status) == OutboxStatus.PENDING)
                .values(status=OutboxStatus.CANCELLED)
            )
            await s.execute(update(Outbox).where(col(Outbox.batch) == batch).values(payload="{}"))
            broadcast.author_telegram_id = 0
            broadcast.text = ""
            broadcast.status_chat_id = None
            broadcast.status_message_id = None
            if broadcast.finished_at is None:
                broadcast.status = BroadcastStatus.CANCELLED
                broadcast.finished_at = now


def _chunks(ids: Sequence[int], size: int = 200) -> list[list[int]]:
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


def _copies_of(question_ids: Sequence[int]) -> Any:
    """The delivery records of these questions (posts, review cards): one scan of the outbox
    for many questions, rather than one each."""
    return or_(*(col(Outbox.key).startswith(f"question:{q}:") for q in question_ids))


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
