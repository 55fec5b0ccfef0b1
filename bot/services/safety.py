"""The escalation path: flagged text is stored, then coordinators are alerted (through the
outbox, most urgent first) and alerted again until one of them acknowledges it.

Only coordinators may see or act on an escalation; anyone else gets `NotFound`, which tells
them nothing about whether it exists.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlmodel import col

from bot.core import callbacks
from bot.core.handling import current_ticket
from bot.core.outgoing import OutgoingMessage
from bot.core.safety_figures import EscalationFacts, SafetyFigures, safety_figures
from bot.core.screening import Level, Match, Screener, Screening
from bot.locales import Catalogue, Markup
from bot.services.common import move_flow
from bot.services.errors import InvalidInput, NotFound
from bot.storage.models import Escalation, EscalationAction, Outbox, utcnow
from bot.storage.uow import Database, UnitOfWork

ALERT_PRIORITY = 0
# Several urgent messages from one person in this window join the open escalation.
JOIN_WINDOW = timedelta(minutes=30)
TEXT_MAX = 1500
NOTE_MAX = 1000


def alert_batch(escalation_id: int) -> str:
    """The outbox batch of an escalation's alerts (found again to mark them acknowledged)."""
    return f"esc:{escalation_id}"


@dataclass(frozen=True)
class Flagged:
    screening: Screening
    escalation_id: int | None
    new_page: bool  # a new urgent escalation (not joined to an open one)
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


# How many matched phrases an alert shows (the strongest reasons come first).
EVIDENCE_SHOWN = 3


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
        """Screen what someone wrote; store and alert when it needs a human."""
        result = self.screener.screen(text, language)
        if result.level is Level.NONE:
            return Flagged(result, None, new_page=False)
        now = utcnow()
        # Stored on its own, before any feature handler runs, and at most once per update: a
        # retried update finds its escalation instead of making (or joining) another.
        ticket = current_ticket()
        update_id = ticket.update_id if ticket is not None else None
        async with self.db.uow(urgent=True) as uow:
            if update_id is not None:
                earlier = await self._escalated_by(uow, update_id)
                if earlier is not None:
                    return Flagged(result, earlier, new_page=False, repeat=True)
            open_one = (
                await self._open_for(uow, author_id, now) if result.level is Level.URGENT else None
            )
            if open_one is not None:
                open_one.text = (open_one.text + "\n---\n" + text)[-TEXT_MAX:]
                open_one.updated_at = now
                uow.session.add(
                    EscalationAction(
                        escalation_id=open_one.id or 0, action="joined", update_id=update_id
                    )
                )
                await uow.commit_independent()
                return Flagged(result, open_one.id, new_page=False)
            member = await uow.members.by_telegram_id(author_id)
            escalation = Escalation(
                level=result.level.label,
                author_telegram_id=author_id,
                author_name=(member.display_name if member else None) or author_name,
                chat_id=chat_id,
                chat_title=chat_title,
                text=text[:TEXT_MAX],
                categories=",".join(result.categories),
                next_alert_at=now + self.realert_after if result.level is Level.URGENT else None,
            )
            uow.session.add(escalation)
            await uow.session.flush()
            assert escalation.id is not None
            uow.session.add(
                EscalationAction(escalation_id=escalation.id, action="created", update_id=update_id)
            )
            if result.level is Level.URGENT:
                await self._queue_alerts(uow, escalation, first=True)
            await uow.commit_independent()
            return Flagged(result, escalation.id, new_page=result.level is Level.URGENT)

    async def _escalated_by(self, uow: UnitOfWork, update_id: int) -> int | None:
        stmt = select(col(EscalationAction.escalation_id)).where(
            col(EscalationAction.update_id) == update_id
        )
        found = (await uow.session.execute(stmt)).scalar_one_or_none()
        return int(found) if found is not None else None

    async def _open_for(self, uow: UnitOfWork, author_id: int, now: datetime) -> Escalation | None:
        stmt = (
            select(Escalation)
            .where(
                col(Escalation.author_telegram_id) == author_id,
                col(Escalation.level) == "urgent",
                col(Escalation.status) != "resolved",
                col(Escalation.created_at) >= now - JOIN_WINDOW,
            )
            .order_by(col(Escalation.id).desc())
            .limit(1)
        )
        return (await uow.session.execute(stmt)).scalar_one_or_none()

    def _alert_targets(self, first: bool) -> list[int]:
        """The alert chat if there is one; on a repeat, every coordinator privately as well."""
        if self.alert_chat_id is not None and first:
            return [self.alert_chat_id]
        targets = sorted(self.coordinators)
        if self.alert_chat_id is not None:
            targets.insert(0, self.alert_chat_id)
        return targets

    async def _queue_alerts(self, uow: UnitOfWork, escalation: Escalation, first: bool) -> None:
        assert escalation.id is not None
        rendered: dict[str, OutgoingMessage] = {}
        evidence = self._evidence(escalation)
        for chat in self._alert_targets(first):
            # A coordinator reads it in their own language; the alert chat in the default.
            member = await uow.members.by_telegram_id(chat) if chat > 0 else None
            lang = self.texts.resolve(member.language if member else None)
            if lang not in rendered:
                rendered[lang] = self._alert(escalation, first, lang, evidence)
            await uow.outbox.enqueue(
                key=f"esc:{escalation.id}:alert:{escalation.alerts}:{chat}",
                kind="alert",
                chat_id=chat,
                payload=rendered[lang].to_json(),
                priority=ALERT_PRIORITY,
                batch=alert_batch(escalation.id),
            )
        escalation.alerts += 1

    def _alert(
        self, escalation: Escalation, first: bool, lang: str, evidence: list[Match]
    ) -> OutgoingMessage:
        assert escalation.id is not None
        t = self.texts.t
        who = Markup(
            f'<a href="tg://user?id={escalation.author_telegram_id}">'
            f"{html.escape(escalation.author_name or '?')}</a>"
        )
        where = escalation.chat_title or t(lang, "safety.private_chat")
        text = t(
            lang, "safety.alert", who=who, where=where, text=escalation.text[:800],
            id=escalation.id, time=f"{escalation.created_at:%Y-%m-%d %H:%M}",
        )  # fmt: skip
        if evidence:
            text = f"{text}\n{self._why(evidence, lang)}"
        if not first:
            minutes = int(self.realert_after.total_seconds() // 60) * escalation.alerts
            text = self.texts.tn(lang, "safety.realert", minutes, minutes=minutes) + "\n" + text
        buttons = ((
            (t(lang, "safety.ack_button"),
             callbacks.encode(callbacks.ESCALATION_ACK, escalation.id)),
            (t(lang, "safety.resolve_button"),
             callbacks.encode(callbacks.ESCALATION_RESOLVE, escalation.id)),
        ),)  # fmt: skip
        return OutgoingMessage(text, buttons=buttons)

    def _evidence(self, escalation: Escalation) -> list[Match]:
        """Why it was flagged, in words a person can check: the phrases that matched, and for
        the learned stage the words that weighed most. Screened again from the stored words
        (the same words give the same matches), so a re-alert shows it too, and an erased
        member's escalation, whose words are gone, shows none."""
        if not escalation.text:
            return []
        shown: list[Match] = []
        for match in self.screener.screen(escalation.text).matches:
            if match.level is not Level.NONE and all(m.phrase != match.phrase for m in shown):
                shown.append(match)
        return shown[:EVIDENCE_SHOWN]

    def _why(self, evidence: list[Match], lang: str) -> str:
        t = self.texts.t
        phrases = [
            t(lang, "safety.evidence_learned" if m.learned else "safety.evidence_phrase",
              phrase=m.phrase)
            for m in evidence
        ]  # fmt: skip
        return t(lang, "safety.evidence", phrases=Markup("; ".join(phrases)))

    async def tick(self, now: datetime) -> int:
        """Alert again about urgent escalations nobody has acknowledged in time."""
        async with self.db.uow() as uow:
            stmt = select(Escalation).where(
                col(Escalation.status) == "open", col(Escalation.next_alert_at) <= now
            )
            due = list((await uow.session.execute(stmt)).scalars())
            for escalation in due:
                await self._queue_alerts(uow, escalation, first=False)
                escalation.next_alert_at = now + self.realert_after
                uow.session.add(
                    EscalationAction(escalation_id=escalation.id or 0, action="realerted")
                )
            await uow.commit()
            return len(due)

    async def _get_for_coordinator(
        self, uow: UnitOfWork, actor: int, escalation_id: int
    ) -> Escalation:
        escalation = await uow.session.get(Escalation, escalation_id, with_for_update=True)
        if not self.is_coordinator(actor) or escalation is None:
            raise NotFound  # reveals nothing: not even whether it exists
        return escalation

    async def _alerts_sent(self, uow: UnitOfWork, escalation_id: int) -> list[AlertRef]:
        stmt = select(Outbox).where(
            col(Outbox.batch) == alert_batch(escalation_id),  # indexed, unlike a key prefix
            col(Outbox.status) == "sent",
        )
        rows = (await uow.session.execute(stmt)).scalars()
        return [
            AlertRef(r.chat_id, r.message_id, OutgoingMessage.from_json(r.payload).text)
            for r in rows
            if r.message_id is not None
        ]

    async def acknowledge(self, actor: int, escalation_id: int) -> EscalationView:
        async with self.db.uow() as uow:
            escalation = await self._get_for_coordinator(uow, actor, escalation_id)
            if escalation.status == "open":
                escalation.status = "acknowledged"
                escalation.acknowledged_by = actor
                escalation.acknowledged_at = utcnow()
                escalation.next_alert_at = None
                uow.session.add(EscalationAction(
                    escalation_id=escalation_id, actor_telegram_id=actor, action="acknowledged"
                ))  # fmt: skip
            view = await self._view(uow, escalation)
            await uow.commit()
            return view

    async def resolve(self, actor: int, escalation_id: int, note: str) -> EscalationView:
        note = note.strip()
        if not note or len(note) > NOTE_MAX:
            raise InvalidInput("checkins.note_too_long", max=NOTE_MAX)
        async with self.db.uow() as uow:
            escalation = await self._get_for_coordinator(uow, actor, escalation_id)
            if escalation.status != "resolved":
                if escalation.acknowledged_by is None:
                    escalation.acknowledged_by = actor
                    escalation.acknowledged_at = utcnow()
                escalation.status = "resolved"
                escalation.resolved_by = actor
                escalation.resolved_at = utcnow()
                escalation.next_alert_at = None
                escalation.note = note
                uow.session.add(EscalationAction(
                    escalation_id=escalation_id, actor_telegram_id=actor, action="resolved"
                ))  # fmt: skip
            view = await self._view(uow, escalation)
            coordinator = await uow.members.by_telegram_id(actor, for_update=True)
            if coordinator is not None:
                move_flow(coordinator, None, None)  # the note was what the flow waited for
            await uow.commit()
            return view

    async def check_coordinator(self, actor: int, escalation_id: int) -> None:
        async with self.db.uow(read_only=True) as uow:
            escalation = await uow.session.get(Escalation, escalation_id)
            if not self.is_coordinator(actor) or escalation is None:
                raise NotFound

    async def open_escalations(self, actor: int) -> list[EscalationView]:
        """Urgent first, oldest first."""
        if not self.is_coordinator(actor):
            raise NotFound
        async with self.db.uow(read_only=True) as uow:
            stmt = select(Escalation).where(col(Escalation.status) != "resolved")
            rows = list((await uow.session.execute(stmt)).scalars())
            rows.sort(key=lambda e: (e.level != "urgent", e.created_at))
            return [await self._view(uow, e) for e in rows]

    async def figures(self, actor: int, days: int) -> SafetyFigures:
        """How the safety path did over the last `days` days, and what is open now."""
        if not self.is_coordinator(actor):
            raise NotFound
        now = utcnow()
        since = now - timedelta(days=days)
        async with self.db.uow(read_only=True) as uow:
            stmt = select(Escalation).where(
                or_(col(Escalation.created_at) >= since, col(Escalation.status) != "resolved")
            )
            rows = list((await uow.session.execute(stmt)).scalars())
            realerts = dict(
                (
                    await uow.session.execute(
                        select(col(EscalationAction.escalation_id), func.count())
                        .where(
                            col(EscalationAction.action) == "realerted",
                            col(EscalationAction.escalation_id).in_([r.id for r in rows]),
                        )
                        .group_by(col(EscalationAction.escalation_id))
                    )
                ).all()
            )
        facts = [
            EscalationFacts(r.level, r.status, r.created_at, r.acknowledged_at,
                            int(realerts.get(r.id or 0, 0)))
            for r in rows
        ]  # fmt: skip
        return safety_figures(facts, now, days)

    async def trail(self, escalation_id: int) -> list[tuple[str, int | None]]:
        async with self.db.uow(read_only=True) as uow:
            stmt = (
                select(EscalationAction)
                .where(col(EscalationAction.escalation_id) == escalation_id)
                .order_by(col(EscalationAction.id))
            )
            return [
                (a.action, a.actor_telegram_id) for a in (await uow.session.execute(stmt)).scalars()
            ]

    async def _view(self, uow: UnitOfWork, escalation: Escalation) -> EscalationView:
        assert escalation.id is not None
        return EscalationView(
            escalation.id,
            escalation.level,
            escalation.status,
            escalation.author_name or "?",
            escalation.created_at,
            await self._alerts_sent(uow, escalation.id),
        )
