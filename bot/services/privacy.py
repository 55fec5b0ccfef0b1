"""Members' data rights: a copy of everything kept about them (/mydata), erasure on their
request (/forget) or a coordinator's (/erase), and retention limits on everyone's records.

What erasure keeps, and why:
- a safety record (an escalation about them), pseudonymised: no Telegram id, name, chat or
  words, only a keyed pseudonym, its level, status and times; it is deleted once older than
  `PrivacyPolicy.safety_record_days`. Coordinators may need to show that a crisis was handled.
- the group's history: a question they posted stays in the group under its number (its words
  and its link to them are gone), and announcements they received still count in their
  author's totals (without saying to whom).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.consent import CONSENT_VERSION
from bot.core.handling import current_ticket
from bot.core.outgoing import OutgoingMessage
from bot.locales import Catalogue
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.storage.crypto import pseudonym
from bot.storage.models import Member, utcnow
from bot.storage.privacy import Erased
from bot.storage.uow import Database, UnitOfWork

EXPORT_FORMAT = "peerbot-member-data"
EXPORT_VERSION = 1


@dataclass(frozen=True)
class PrivacyPolicy:
    """How long records are kept, in days, and how often a member may download their data.

    The defaults are what the README and the privacy notice state. The operator's values come
    from the environment through `bot.settings` (PEERBOT_SAFETY_RECORD_DAYS and the
    PEERBOT_KEEP_* variables)."""

    # An escalation (a safety record), from when it was made; only once resolved or once its
    # author's data was erased (open ones are never deleted).
    safety_record_days: int = 365
    # A check-in's note (the mood itself stays for the member's chart until they erase it).
    checkin_note_days: int = 365
    # A resolved escalation's coordinator note and the words it quoted, from its resolution.
    escalation_note_days: int = 90
    # An anonymous question's words, from when it was asked (its number and thread stay).
    question_text_days: int = 90
    # The audit trail (who granted whom, who acknowledged an alert, erasures).
    audit_days: int = 730
    export_interval: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class ErasureTarget:
    telegram_id: int
    display_name: str


@dataclass(frozen=True)
class Export:
    """The member's data as a JSON-ready document, and the counts for the summary."""

    document: dict[str, Any]
    counts: dict[str, int]

    def to_bytes(self) -> bytes:
        return json.dumps(self.document, ensure_ascii=False, indent=2).encode("utf-8")


class PrivacyService:
    def __init__(
        self,
        db: Database,
        texts: Catalogue,
        coordinators: frozenset[int],
        policy: PrivacyPolicy | None = None,
    ) -> None:
        self.db = db
        self.texts = texts
        self.coordinators = coordinators
        self.policy = policy or PrivacyPolicy()

    # ------------------------------------------------------------------------ erasure
    async def has_data(self, telegram_id: int) -> bool:
        async with self.db.uow(read_only=True) as uow:
            return await uow.members.by_telegram_id(telegram_id) is not None

    async def forget(self, telegram_id: int) -> Erased:
        """The member asked for everything about them to be erased (confirmed twice)."""
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is None:
                raise NotFound("privacy.nothing_stored")
            erased = await self._erase(uow, member)
            uow.audit.record("member.forgotten")
            await uow.commit()
            return erased

    async def erase_target(self, actor: int, telegram_id: int) -> ErasureTarget:
        """Who a coordinator's /erase would erase (for the confirmation)."""
        if actor not in self.coordinators:
            raise NotAllowed("refused.erase")
        async with self.db.uow(read_only=True) as uow:
            member = await uow.members.by_telegram_id(telegram_id)
            if member is None:
                raise NotFound("privacy.erase_unknown", id=telegram_id)
            return ErasureTarget(telegram_id, member.display_name or "?")

    async def erase(self, actor: int, telegram_id: int) -> Erased:
        """A coordinator erases a member who asked by other means; the audit trail says who
        did it and when, naming the member only by pseudonym."""
        if actor not in self.coordinators:
            raise NotAllowed("refused.erase")
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is None:
                raise NotFound("privacy.erase_unknown", id=telegram_id)
            coordinator = await uow.members.by_telegram_id(actor)
            erased = await self._erase(uow, member)
            uow.audit.record(
                "member.erased",
                actor_id=coordinator.id if coordinator and coordinator.id != member.id else None,
                subject_ref=pseudonym(telegram_id),
            )
            await uow.commit()
            return erased

    async def _erase(self, uow: UnitOfWork, member: Member) -> Erased:
        ticket = current_ticket()
        lang = self.texts.default_language
        note = OutgoingMessage(self.texts.t(lang, "privacy.alert_erased", id="{id}"))
        return await uow.privacy.erase(
            member,
            utcnow(),
            current_update=ticket.update_id if ticket is not None else None,
            alert_payload=note.to_json(),
        )

    # ------------------------------------------------------------------------ export
    async def export(self, telegram_id: int) -> Export:
        """Everything kept about the member (at most once per `export_interval`)."""
        now = utcnow()
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is None:
                raise NotFound("privacy.nothing_stored")
            if member.exported_at is not None:
                wait = member.exported_at + self.policy.export_interval - now
                if wait > timedelta(0):
                    minutes = max(1, -(-int(wait.total_seconds()) // 60))
                    raise InvalidInput("privacy.export_too_soon", minutes=minutes)
            document, counts = await self._document(uow, member, now)
            member.exported_at = now
            await uow.commit()
            return Export(document, counts)

    async def _document(
        self, uow: UnitOfWork, member: Member, now: datetime
    ) -> tuple[dict[str, Any], dict[str, int]]:
        assert member.id is not None
        tid = member.telegram_id
        repo = uow.privacy
        groups = await repo.memberships_of(member.id)
        muted = await repo.reminder_mutes_of(member.id)
        plan = await repo.checkin_plan_of(member.id)
        question_ids = await repo.asked_question_ids(tid)
        questions = await repo.questions(question_ids)
        parents = await repo.numbers_of(
            [q.parent_id for q, _ in questions if q.parent_id is not None]
        )
        ask_mutes = await repo.ask_mutes(tid)
        mute_groups = await repo.group_names([m.group_id for m in ask_mutes])
        draft: Any = None
        if member.draft:
            try:
                draft = json.loads(member.draft)
            except ValueError:
                draft = member.draft
        document: dict[str, Any] = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "exported_at": _iso(now),
            "profile": {
                "telegram_id": tid,
                "display_name": member.display_name,
                "timezone": member.timezone,
                "language": member.language,
                "member_since": _iso(member.created_at),
                "onboarding": member.step,
                "may_facilitate": member.can_facilitate,
                "coordinator": tid in self.coordinators,
                "blocked_the_bot_at": _iso(member.unreachable_at),
            },
            "consent": {
                "current_version": CONSENT_VERSION,
                "agreed_version": member.consent_version,
                "agreed_at": _iso(member.consent_at),
                "declined_version": member.declined_version,
                "declined_at": _iso(member.declined_at),
            },
            "groups": [
                {
                    "group": group.name,
                    "role": membership.role,
                    "joined_at": _iso(membership.joined_at),
                    "reminders_muted": group.id in muted,
                }
                for group, membership in groups
            ],
            "muted_from_asking_in": sorted(mute_groups.values()),
            "rsvps": [
                {
                    "group": group.name,
                    "meeting": meeting.title,
                    "occurrence": _iso(rsvp.occurrence),
                    "answer": rsvp.answer,  # going | maybe | no (RsvpAnswer)
                    "answered_at": _iso(rsvp.answered_at),
                }
                for rsvp, meeting, group in await repo.rsvps_of(member.id)
            ],
            "checkin_plan": None
            if plan is None
            else {
                "rhythm": plan.rhythm,
                "time": plan.at_local,
                "weekday": plan.weekday if plan.rhythm == "weekly" else None,
            },
            "checkins": [
                {
                    "prompt_at": _iso(c.prompt_at),
                    "answered_at": _iso(c.answered_at),
                    "mood": c.mood,
                    "note": c.note,
                }
                for c in await repo.checkins_of(member.id)
            ],
            "questions": [
                {
                    "group": group.name if group else None,
                    "number": q.number,
                    "follow_up_to": parents.get(q.parent_id) if q.parent_id else None,
                    "text": q.text or None,
                    "status": q.status,
                    "asked_at": _iso(q.created_at),
                    "posted_at": _iso(q.post_at) if q.post_at and q.post_at <= now else None,
                }
                for q, group in questions
            ],
            "replies_waiting": await repo.replies_waiting_for(tid),
            "escalations": [
                {"created_at": _iso(e.created_at), "level": e.level, "status": e.status}
                for e in await repo.escalations_about(tid)
            ],
            "unfinished_draft": draft,
        }
        counts = {
            "groups": len(document["groups"]),
            "rsvps": len(document["rsvps"]),
            "checkins": len(document["checkins"]),
            "questions": len(document["questions"]),
            "escalations": len(document["escalations"]),
        }
        return document, counts

    # ------------------------------------------------------------------------ retention
    async def tick(self, now: datetime) -> dict[str, int]:
        """Delete what is past its retention period, in bounded batches (each its own short
        transaction). Returns how many records each kind lost; safe to run on every replica
        and as often as wanted. Run it hourly."""
        policy = self.policy
        db = self.db
        return {
            "checkin_notes": await db.prune_in_batches(
                lambda uow: uow.privacy.expire_checkin_notes(
                    now - timedelta(days=policy.checkin_note_days)
                )
            ),
            "safety_records": await db.prune_in_batches(
                lambda uow: uow.privacy.expire_safety_records(
                    now - timedelta(days=policy.safety_record_days)
                )
            ),
            "escalation_notes": await db.prune_in_batches(
                lambda uow: uow.privacy.expire_escalation_notes(
                    now - timedelta(days=policy.escalation_note_days)
                )
            ),
            "question_texts": await db.prune_in_batches(
                lambda uow: uow.privacy.expire_question_texts(
                    now - timedelta(days=policy.question_text_days)
                )
            ),
            "audit": await db.prune_in_batches(
                lambda uow: uow.privacy.expire_audit(now - timedelta(days=policy.audit_days))
            ),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
