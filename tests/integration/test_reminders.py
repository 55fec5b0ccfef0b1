"""The reminder tick against a real database: right members, right moments, never twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.core.schedule import Repeat
from bot.locales import catalogue
from bot.services import Services
from bot.services.meetings import MeetingDraft
from bot.services.reminders import ReminderService
from bot.storage.models import Outbox, PeerGroup, utcnow
from bot.storage.uow import Database

COORDINATOR = 1


async def _member(
    services: Services, telegram_id: int, name: str, tz: str, code: str | None
) -> None:
    await services.members.accept_consent(telegram_id, "en", code)
    await services.members.set_display_name(telegram_id, name)
    await services.members.set_timezone(telegram_id, tz)


async def _setup(db: Database) -> tuple[Services, int, int]:
    """A facilitator in London, a group with two members (Berlin, New York); one meeting."""
    services = Services.build(db, frozenset({COORDINATOR}))
    await _member(services, COORDINATOR, "Cora", "Europe/London", None)
    group = await services.groups.create_group(COORDINATOR, "Circle")
    await _member(services, 2, "Ann", "Europe/Berlin", group.invite_code)
    await _member(services, 3, "Bo", "America/New_York", group.invite_code)
    start = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=3)).replace(
        hour=19, minute=0, second=0, microsecond=0, tzinfo=None
    )
    meeting_id = await services.meetings.create(
        COORDINATOR, MeetingDraft(group.id, "Tuesday talk", start, Repeat.WEEKLY, place="Room 4")
    )
    return services, group.id, meeting_id


async def _outbox(db: Database) -> list[Outbox]:
    async with db.uow() as uow:
        return list((await uow.session.execute(select(Outbox).order_by(Outbox.id))).scalars())


async def _next_slot(db: Database, meeting_id: int) -> tuple[datetime, datetime]:
    async with db.uow() as uow:
        meeting = await uow.meetings.by_id(meeting_id)
        assert meeting is not None
        assert meeting.next_reminder_at and meeting.next_reminder_occurrence
        return meeting.next_reminder_at, meeting.next_reminder_occurrence


async def test_reminders_go_to_each_member_in_their_own_time(db: Database) -> None:
    _, _, meeting_id = await _setup(db)
    ticks = ReminderService(db, catalogue())
    due, occurrence = await _next_slot(db, meeting_id)
    assert occurrence - due == timedelta(hours=24)
    assert (await ticks.tick(due - timedelta(seconds=1))).queued == 0
    result = await ticks.tick(due)
    assert result.queued == 3  # Cora, Ann and Bo
    rows = await _outbox(db)
    by_chat = {r.chat_id: json.loads(r.payload)["text"] for r in rows}
    berlin = occurrence.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
    new_york = occurrence.astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    assert f"{berlin} your time (Europe/Berlin)" in by_chat[2]
    assert f"{new_york} your time (America/New_York)" in by_chat[3]
    assert "Room 4" in by_chat[2]
    assert all(r.key.startswith(f"reminder:{meeting_id}:") for r in rows)


async def test_a_reminder_speaks_its_readers_language_dates_included(db: Database) -> None:
    services, group_id, meeting_id = await _setup(db)
    async with db.uow() as uow:
        group = await uow.session.get(PeerGroup, group_id)
        assert group is not None
        code = group.invite_code
    await _member(services, 4, "Eva", "Europe/Madrid", code)
    await services.members.set_language(4, "es")
    due, occurrence = await _next_slot(db, meeting_id)
    await ReminderService(db, catalogue()).tick(due)
    by_chat = {r.chat_id: json.loads(r.payload)["text"] for r in await _outbox(db)}
    local = occurrence.astimezone(ZoneInfo("Europe/Madrid"))
    spanish_days = ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")
    assert f"{spanish_days[local.weekday()]} {local.day} de " in by_chat[4]
    assert local.strftime("%a %d %b") not in by_chat[4]  # not the English date
    assert occurrence.astimezone(ZoneInfo("Europe/Berlin")).strftime("%a %d %b") in by_chat[2]


async def test_ticks_are_idempotent(db: Database) -> None:
    _, _, meeting_id = await _setup(db)
    ticks = ReminderService(db, catalogue())
    due, _ = await _next_slot(db, meeting_id)
    await ticks.tick(due)
    # A second tick, a late tick, and a tick from "another process" change nothing.
    assert (await ticks.tick(due)).queued == 0
    assert (await ticks.tick(due + timedelta(minutes=5))).queued == 0
    assert (await ReminderService(db, catalogue()).tick(due)).queued == 0
    assert len(await _outbox(db)) == 3


async def test_members_who_cannot_go_or_muted_get_no_reminder(db: Database) -> None:
    services, group_id, meeting_id = await _setup(db)
    _, occurrence = await _next_slot(db, meeting_id)
    await services.meetings.rsvp(2, meeting_id, occurrence, "n")
    await services.meetings.set_reminders_muted(3, group_id, True)
    due, _ = await _next_slot(db, meeting_id)
    await ReminderService(db, catalogue()).tick(due)
    assert [r.chat_id for r in await _outbox(db)] == [COORDINATOR]


async def test_after_downtime_late_reminders_go_and_past_ones_are_skipped(db: Database) -> None:
    _, _, meeting_id = await _setup(db)
    ticks = ReminderService(db, catalogue())
    _, occurrence = await _next_slot(db, meeting_id)
    # Down from before the 24 h reminder until 30 minutes before the meeting:
    # one late reminder per member (not two), and none for the meeting itself afterwards.
    result = await ticks.tick(occurrence - timedelta(minutes=30))
    assert result.queued == 3
    assert result.skipped_slots == 1  # the 24-hour reminder, superseded by the 1-hour one
    rows = await _outbox(db)
    assert {r.key.rsplit(":", 1)[0] for r in rows} == {
        f"reminder:{meeting_id}:{occurrence:%Y%m%dT%H%MZ}:60"
    }
    assert all("in 30 minutes" in json.loads(r.payload)["text"] for r in rows)
    # Down for a whole week: the missed meeting's reminders are skipped, not flooded.
    before = len(await _outbox(db))
    week_later = occurrence + timedelta(days=6, hours=23, minutes=30)
    result = await ticks.tick(week_later)
    new_keys = {r.key for r in (await _outbox(db))[before:]}
    assert all(f"{occurrence:%Y%m%dT%H%MZ}" not in k for k in new_keys)
    assert len(new_keys) == 3  # only the next meeting's 1-hour reminder, which is due now
    next_due, next_occurrence = await _next_slot(db, meeting_id)
    assert next_occurrence > week_later
    assert next_due > week_later


async def test_only_facilitators_schedule_meetings(db: Database) -> None:
    services, group_id, _ = await _setup(db)
    from bot.services.errors import NotAllowed

    start = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=2)
    with pytest.raises(NotAllowed):
        await services.meetings.create(2, MeetingDraft(group_id, "Mine", start, Repeat.ONCE))


async def test_a_member_who_blocked_the_bot_gets_nothing_until_they_come_back(
    db: Database,
) -> None:
    services, _, meeting_id = await _setup(db)
    async with db.uow() as uow:
        await uow.members.mark_unreachable(2, utcnow())
        await uow.commit()
    due, _ = await _next_slot(db, meeting_id)
    await ReminderService(db, catalogue()).tick(due)
    assert 2 not in {r.chat_id for r in await _outbox(db)}
    await services.members.mark_reachable(2)
    due, _ = await _next_slot(db, meeting_id)
    await ReminderService(db, catalogue()).tick(due)
    assert 2 in {r.chat_id for r in await _outbox(db)}
