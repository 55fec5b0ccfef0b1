"""Retention: the scheduler's job deletes exactly what is past its period, and nothing else,
in bounded batches (bot/services/privacy.py `PrivacyService.tick`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.locales import catalogue
from bot.services.privacy import PrivacyPolicy, PrivacyService
from bot.storage.models import (
    AuditEvent,
    Checkin,
    Escalation,
    EscalationAction,
    Member,
    PeerGroup,
    Question,
    utcnow,
)
from bot.storage.privacy import RETENTION_BATCH
from bot.storage.uow import Database

POLICY = PrivacyPolicy(
    safety_record_days=365,
    checkin_note_days=180,
    escalation_note_days=90,
    question_text_days=60,
    audit_days=730,
)
OLD_NOTES = RETENTION_BATCH + 5  # more than one batch


def ago(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


async def seed(db: Database, now: datetime) -> dict[str, int]:
    ids: dict[str, int] = {}
    async with db.uow() as uow:
        member = await uow.members.add(Member(telegram_id=4242, display_name="Ana", step="done"))
        assert member.id is not None
        group = await uow.groups.add(PeerGroup(name="Circle", invite_code="c" * 16))
        assert group.id is not None
        for n in range(OLD_NOTES):
            at = ago(now, 181 + n / 1000)
            uow.session.add(
                Checkin(member_id=member.id, prompt_at=at, mood=3, note=f"old {n}", answered_at=at)
            )
        fresh = ago(now, 179)
        uow.session.add(
            Checkin(member_id=member.id, prompt_at=fresh, mood=4, note="fresh", answered_at=fresh)
        )

        def escalation(name: str, created: float, **extra: object) -> Escalation:
            row = Escalation(
                level="urgent",
                author_telegram_id=4242,
                author_name="Ana",
                chat_id=4242,
                text=f"words of {name}",
                created_at=ago(now, created),
                updated_at=ago(now, created),
                **extra,
            )
            uow.session.add(row)
            return row

        rows = {
            "resolved_long_ago": escalation(
                "a", 100, status="resolved", resolved_at=ago(now, 91), note="called her"
            ),
            "resolved_lately": escalation(
                "b", 100, status="resolved", resolved_at=ago(now, 89), note="called again"
            ),
            "resolved_expired": escalation(
                "c", 366, status="resolved", resolved_at=ago(now, 366), note="old"
            ),
            "open_old": escalation("d", 400, status="open"),
            "erased_expired": escalation("e", 366, status="open", erased_at=ago(now, 10)),
            "erased_recent": escalation("f", 364, status="acknowledged", erased_at=ago(now, 10)),
        }
        await uow.session.flush()
        ids.update({name: row.id or 0 for name, row in rows.items()})
        uow.session.add(
            EscalationAction(escalation_id=ids["open_old"], action="created", at=ago(now, 731))
        )
        uow.session.add(
            EscalationAction(escalation_id=ids["open_old"], action="realerted", at=ago(now, 729))
        )

        def question(name: str, created: float, status: str) -> None:
            row = Question(
                group_id=group.id or 0,
                text=f"question {name}",
                status=status,
                created_at=ago(now, created),
            )
            uow.session.add(row)

        question("old_answered", 61, "approved")
        question("old_rejected", 61, "rejected")
        question("recent", 59, "approved")
        question("old_pending", 61, "pending")
        uow.session.add(AuditEvent(action="role.granted", at=ago(now, 731)))
        uow.session.add(AuditEvent(action="role.revoked", at=ago(now, 729)))
        await uow.commit()
    return ids


async def test_retention_deletes_exactly_what_is_past_its_period(db: Database) -> None:
    now = utcnow()
    ids = await seed(db, now)
    service = PrivacyService(db, catalogue(), frozenset(), POLICY)

    removed = await service.tick(now)
    assert removed == {
        "checkin_notes": OLD_NOTES,
        "escalation_notes": 1,  # resolved 91 days ago; 'c' is deleted whole instead
        "safety_records": 2,  # resolved 366 days ago, and erased 366 days ago
        "question_texts": 2,  # decided and asked 61 days ago (a pending one waits)
        "audit": 2,  # an audit event and an escalation action 731 days old
    }
    async with db.uow(read_only=True) as uow:
        checkins = list((await uow.session.execute(select(Checkin))).scalars())
        assert len(checkins) == OLD_NOTES + 1  # moods stay for the member's chart
        assert [c.note for c in checkins if c.note is not None] == ["fresh"]

        escalations = {e.id: e for e in (await uow.session.execute(select(Escalation))).scalars()}
        assert set(escalations) == {
            ids["resolved_long_ago"], ids["resolved_lately"], ids["open_old"],
            ids["erased_recent"],
        }  # fmt: skip
        cleared = escalations[ids["resolved_long_ago"]]
        assert cleared.note is None and cleared.text == "" and cleared.level == "urgent"
        kept = escalations[ids["resolved_lately"]]
        assert kept.note == "called again" and kept.text == "words of b"
        assert escalations[ids["open_old"]].text == "words of d"  # open: nothing goes

        questions = {
            q.text or f"<erased {q.status}>"
            for q in (await uow.session.execute(select(Question))).scalars()
        }
        assert questions == {
            "<erased approved>", "<erased rejected>", "question recent", "question old_pending"
        }  # fmt: skip

        audit = [e.action for e in (await uow.session.execute(select(AuditEvent))).scalars()]
        assert audit == ["role.revoked"]
        actions = [
            a.action for a in (await uow.session.execute(select(EscalationAction))).scalars()
        ]
        assert actions == ["realerted"]

    # Nothing left to do: the next run changes nothing.
    assert set((await service.tick(now)).values()) == {0}


async def test_the_defaults_are_what_the_privacy_notice_says() -> None:
    policy = PrivacyPolicy()
    assert policy.safety_record_days == 365
    assert policy.checkin_note_days == 365
    assert policy.question_text_days == 90
    assert policy.export_interval == timedelta(hours=1)
