"""The escalation path: flagged text is stored, then coordinators are alerted (through the
outbox, most urgent first) and alerted again until one of them acknowledges it.

Only coordinators may see or act on an escalation; anyone else gets `NotFound`, which tells
them nothing about whether it exists. The member who wrote it may say "That's not what I
meant": coordinators are told, and nothing else changes (only a person closes an escalation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.handling import current_ticket
from bot.core.outgoing import OutgoingMessage
from bot.core.safety_context import CONTEXT_WINDOW, is_short_reply, screen_with_context
from bot.core.safety_figures import (
    FALSE_ALARM_DAYS,
    EscalationFacts,
    SafetyFigures,
    safety_figures,
)
from bot.core.screening import Level, Screener, Screening
from bot.core.statuses import EscalationLevel, EscalationStatus
from bot.locales import Catalogue
from bot.services.common import move_flow
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.safety_alerts import JOINED, AlertWriter, alert_batch, note_batch
from bot.storage.models import Escalation, utcnow
from bot.storage.uow import Database, UnitOfWork

ALERT_PRIORITY = 0
# Several urgent messages from one person in this window join the open escalation.
JOIN_WINDOW = timedelta(minutes=30)
TEXT_MAX = 1500
NOTE_MAX = 1000


@dataclass(frozen=True)
class Flagged:
    screening: Screening
    escalation_id: int | None
    new_page: bool  # a new urgent escalation (not joined to an open one), or one just raised
    repeat: bool = False  # this update was screened and stored before (it is being retried)


@dataclass(frozen=True)
class AlertRef:
    chat_id: int
    message_id: int
    text: str  # as sent (HTML), so an edit can add who acknowledged it


@dataclass(frozen=True)
class EscalationView:
    id: int
    level: str
    status: str
    who: str
    created_at: datetime
    alerts: list[AlertRef]
    acknowledged_by_name: str | None = None
    # When the member said it was not what they meant, if they did.
    not_meant_at: datetime | None = None


class SafetyService:
    def __init__(
        self,
        db: Database,
        texts: Catalogue,
        screener: Screener,
        coordinators: frozenset[int],
        alert_chat_id: int | None,
        realert_after: timedelta = timedelta(minutes=5),
    ) -> None:
        self.db = db
        self.texts = texts
        self.screener = screener
        self.coordinators = coordinators
        self.alert_chat_id = alert_chat_id
        self.realert_after = realert_after
        self.writer = AlertWriter(texts, screener, realert_after)

    def is_coordinator(self, telegram_id: int) -> bool:
        return telegram_id in self.coordinators

    async def screen(
        self,
        *,
        author_id: int,
        author_name: str,
        chat_id: int,
        chat_title: str | None,
        text: str,
        language: str | None,
    ) -> Flagged:
        """Screen what someone wrote; store and alert when it needs a human. A short reply
        right after the same member's concern-level message in the same chat is screened
        together with it; if that is urgent, the earlier escalation is raised."""
        result = self.screener.screen(text, language)
        now = utcnow()
        earlier = await self._context(author_id, chat_id, text, now)
        if earlier is not None:
            together = screen_with_context(self.screener, earlier.text, text, language)
            if together.level is Level.URGENT:
                result = together
            else:
                earlier = None  # read together it is no more than alone: screened alone
        if result.level is Level.NONE:
            return Flagged(result, None, new_page=False)
        # Stored on its own, before any feature handler runs, and at most once per update: a
        # retried update finds its escalation instead of making (or joining) another.
        ticket = current_ticket()
        update_id = ticket.update_id if ticket is not None else None
        async with self.db.uow(urgent=True) as uow:
            escalations = uow.escalations
            if update_id is not None:
                before = await escalations.escalated_by(update_id)
                if before is not None:
                    return Flagged(result, before, new_page=False, repeat=True)
            urgent = result.level is Level.URGENT
            open_one = (
                await escalations.open_urgent_for(author_id, now - JOIN_WINDOW) if urgent else None
            )
            if open_one is not None:
                self._append(open_one, text, now)
                await escalations.record(open_one.id or 0, "joined", update_id=update_id)
                await uow.commit_independent()
                return Flagged(result, open_one.id, new_page=False)
            raised = await escalations.get(earlier.id or 0, for_update=True) if earlier else None
            if raised is not None and raised.status != EscalationStatus.RESOLVED:
                self._raise(raised, result, text, now)
                await escalations.record(raised.id or 0, "raised", update_id=update_id)
                await self._queue_alerts(uow, raised, first=True)
                await uow.commit_independent()
                return Flagged(result, raised.id, new_page=True)
            member = await uow.members.by_telegram_id(author_id)
            # A resolved earlier message read together with the reply: a new escalation, whose
            # stored words show both (so the alert shows why).
            words = earlier.text + JOINED + text if earlier is not None else text
            escalation = Escalation(
                level=EscalationLevel.URGENT if urgent else EscalationLevel.CONCERN,
                author_telegram_id=author_id,
                author_name=(member.display_name if member else None) or author_name,
                chat_id=chat_id,
                chat_title=chat_title,
                text=words[-TEXT_MAX:],
                categories=",".join(result.categories),
                next_alert_at=now + self.realert_after if urgent else None,
            )
            escalation_id = await escalations.add(escalation, update_id)
            if urgent:
                await self._queue_alerts(uow, escalation, first=True)
            await uow.commit_independent()
            return Flagged(result, escalation_id, new_page=urgent)

    async def _context(
        self, author_id: int, chat_id: int, text: str, now: datetime
    ) -> Escalation | None:
        """The member's concern-level escalation from this chat in the last CONTEXT_WINDOW, if
        `text` is a short reply (one read, only for short messages)."""
        if not is_short_reply(text):
            return None
        async with self.db.uow(read_only=True) as uow:
            found = await uow.escalations.recent_concern(author_id, chat_id, now - CONTEXT_WINDOW)
        return found if found is not None and found.text else None

    @staticmethod
    def _append(escalation: Escalation, text: str, now: datetime) -> None:
        escalation.text = (escalation.text + JOINED + text)[-TEXT_MAX:]
        escalation.updated_at = now

    def _raise(self, escalation: Escalation, result: Screening, text: str, now: datetime) -> None:
        """A concern read again with the member's reply is urgent: page as for a new one (an
        acknowledgement of the concern does not cover it)."""
        self._append(escalation, text, now)
        escalation.level = EscalationLevel.URGENT
        escalation.status = EscalationStatus.OPEN
        escalation.acknowledged_by = None
        escalation.acknowledged_at = None
        escalation.categories = ",".join(result.categories)
        escalation.next_alert_at = now + self.realert_after

    def _alert_targets(self, first: bool) -> list[int]:
        """The alert chat if there is one; on a repeat, every coordinator privately as well."""
        if self.alert_chat_id is not None and first:
            return [self.alert_chat_id]
        targets = sorted(self.coordinators)
        if self.alert_chat_id is not None:
            targets.insert(0, self.alert_chat_id)
        return targets

    async def _reader_language(self, uow: UnitOfWork, chat: int) -> str:
        """A coordinator reads in their own language; the alert chat in the default."""
        member = await uow.members.by_telegram_id(chat) if chat > 0 else None
        return self.texts.resolve(member.language if member else None)

    async def _queue_alerts(
        self,
        uow: UnitOfWork,
        escalation: Escalation,
        first: bool,
        not_meant_at: datetime | None = None,
    ) -> None:
        assert escalation.id is not None
        rendered: dict[str, OutgoingMessage] = {}
        evidence = self.writer.evidence(escalation)
        for chat in self._alert_targets(first):
            lang = await self._reader_language(uow, chat)
            if lang not in rendered:
                rendered[lang] = self.writer.alert(
                    escalation, first=first, lang=lang, evidence=evidence,
                    not_meant_at=not_meant_at,
                )  # fmt: skip
            await uow.outbox.enqueue(
                key=f"esc:{escalation.id}:alert:{escalation.alerts}:{chat}",
                kind="alert",
                chat_id=chat,
                payload=rendered[lang].to_json(),
                priority=ALERT_PRIORITY,
                batch=alert_batch(escalation.id),
            )
        escalation.alerts += 1

    async def tick(self, now: datetime) -> int:
        """Alert again about urgent escalations nobody has acknowledged in time (whatever the
        member said about it since: only a coordinator's acknowledgement stops this)."""
        async with self.db.uow() as uow:
            due = await uow.escalations.due_for_realert(now)
            not_meant = await uow.escalations.not_meant(e.id or 0 for e in due)
            for escalation in due:
                await self._queue_alerts(
                    uow, escalation, first=False, not_meant_at=not_meant.get(escalation.id or 0)
                )
                escalation.next_alert_at = now + self.realert_after
                await uow.escalations.record(escalation.id or 0, "realerted")
            await uow.commit()
            return len(due)

    async def not_meant(self, actor: int, escalation_id: int) -> bool:
        """The member pressed "That's not what I meant" under the crisis reply. Recorded once
        (True the first time), and everyone who got the alert is told in their language. The
        escalation stays as it was: open, and re-alerted until a coordinator acknowledges it.
        Only its author may say so; anyone else (or an id that is not theirs) is refused."""
        now = utcnow()
        async with self.db.uow() as uow:
            escalation = await uow.escalations.get(escalation_id, for_update=True)
            if escalation is None or escalation.author_telegram_id != actor:
                raise NotAllowed("safety.not_meant_not_yours")
            first = await uow.escalations.mark_not_meant(escalation_id, now)
            if first:
                await uow.escalations.record(escalation_id, "not_meant", actor=actor)
                await self._queue_notes(uow, escalation_id, now)
            await uow.commit()
            return first

    async def _queue_notes(self, uow: UnitOfWork, escalation_id: int, at: datetime) -> None:
        """A note to every chat the alert went to, as a reply to the alert once it is sent."""
        replied: dict[int, int | None] = {}
        for row in await uow.escalations.alerts(alert_batch(escalation_id), sent_only=False):
            replied[row.chat_id] = row.message_id or replied.get(row.chat_id)
        for chat, message_id in replied.items():
            lang = await self._reader_language(uow, chat)
            note = OutgoingMessage(
                self.writer.not_meant(lang, escalation_id, at), reply_to_message_id=message_id
            )
            await uow.outbox.enqueue(
                key=f"esc:{escalation_id}:not_meant:{chat}", kind="alert", chat_id=chat,
                payload=note.to_json(), priority=ALERT_PRIORITY, batch=note_batch(escalation_id),
            )  # fmt: skip

    async def _get_for_coordinator(
        self, uow: UnitOfWork, actor: int, escalation_id: int
    ) -> Escalation:
        escalation = await uow.escalations.get(escalation_id, for_update=True)
        if not self.is_coordinator(actor) or escalation is None:
            raise NotFound  # reveals nothing: not even whether it exists
        return escalation

    async def acknowledge(self, actor: int, escalation_id: int) -> EscalationView:
        async with self.db.uow() as uow:
            escalation = await self._get_for_coordinator(uow, actor, escalation_id)
            if escalation.status == EscalationStatus.OPEN:
                escalation.status = EscalationStatus.ACKNOWLEDGED
                escalation.acknowledged_by = actor
                escalation.acknowledged_at = utcnow()
                escalation.next_alert_at = None
                await uow.escalations.record(escalation_id, "acknowledged", actor=actor)
            view = await self._view(uow, escalation)
            await uow.commit()
            return view

    async def resolve(self, actor: int, escalation_id: int, note: str) -> EscalationView:
        note = note.strip()
        if not note or len(note) > NOTE_MAX:
            raise InvalidInput("checkins.note_too_long", max=NOTE_MAX)
        async with self.db.uow() as uow:
            escalation = await self._get_for_coordinator(uow, actor, escalation_id)
            if escalation.status != EscalationStatus.RESOLVED:
                if escalation.acknowledged_by is None:
                    escalation.acknowledged_by = actor
                    escalation.acknowledged_at = utcnow()
                escalation.status = EscalationStatus.RESOLVED
                escalation.resolved_by = actor
                escalation.resolved_at = utcnow()
                escalation.next_alert_at = None
                escalation.note = note
                await uow.escalations.record(escalation_id, "resolved", actor=actor)
            view = await self._view(uow, escalation)
            coordinator = await uow.members.by_telegram_id(actor, for_update=True)
            if coordinator is not None:
                move_flow(coordinator, None, None)  # the note was what the flow waited for
            await uow.commit()
            return view

    async def check_coordinator(self, actor: int, escalation_id: int) -> None:
        async with self.db.uow(read_only=True) as uow:
            escalation = await uow.escalations.get(escalation_id)
            if not self.is_coordinator(actor) or escalation is None:
                raise NotFound

    async def open_escalations(self, actor: int) -> list[EscalationView]:
        """Urgent first, oldest first."""
        if not self.is_coordinator(actor):
            raise NotFound
        async with self.db.uow(read_only=True) as uow:
            rows = await uow.escalations.unresolved()
            rows.sort(key=lambda e: (e.level != EscalationLevel.URGENT, e.created_at))
            not_meant = await uow.escalations.not_meant(e.id or 0 for e in rows)
            return [await self._view(uow, e, not_meant.get(e.id or 0)) for e in rows]

    async def figures(self, actor: int, days: int) -> SafetyFigures:
        """How the safety path did over the last `days` days (and the false alarms, by the
        member's word, over the last month), and what is open now."""
        if not self.is_coordinator(actor):
            raise NotFound
        now = utcnow()
        since = now - timedelta(days=max(days, FALSE_ALARM_DAYS))
        async with self.db.uow(read_only=True) as uow:
            rows = await uow.escalations.made_since_or_unresolved(since)
            ids = [r.id or 0 for r in rows]
            realerts = await uow.escalations.realert_counts(ids)
            not_meant = await uow.escalations.not_meant(ids)
        facts = [
            EscalationFacts(r.level, r.status, r.created_at, r.acknowledged_at,
                            realerts.get(r.id or 0, 0), not_meant.get(r.id or 0))
            for r in rows
        ]  # fmt: skip
        return safety_figures(facts, now, days)

    async def trail(self, escalation_id: int) -> list[tuple[str, int | None]]:
        async with self.db.uow(read_only=True) as uow:
            actions = await uow.escalations.trail(escalation_id)
            return [(a.action, a.actor_telegram_id) for a in actions]

    async def _view(
        self, uow: UnitOfWork, escalation: Escalation, not_meant_at: datetime | None = None
    ) -> EscalationView:
        assert escalation.id is not None
        sent = await uow.escalations.alerts(alert_batch(escalation.id), sent_only=True)
        return EscalationView(
            escalation.id,
            escalation.level,
            escalation.status,
            escalation.author_name or "?",
            escalation.created_at,
            [
                AlertRef(r.chat_id, r.message_id, OutgoingMessage.from_json(r.payload).text)
                for r in sent
                if r.message_id is not None
            ],
            not_meant_at=not_meant_at,
        )
