"""Check-ins against a real database: prompts on the member's rhythm, answers, aggregates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta

import pytest
from sqlalchemy import select, text

from bot.core.schedule import Rhythm
from bot.services import Services
from bot.services.errors import InvalidInput, NotAllowed
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Outbox, utcnow
from bot.storage.uow import Database


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    db = Database.connect(database_url)
    await upgrade_to_head(db.engine)
    yield Services.build(db, frozenset({1}))
    await db.dispose()


async def _member(services: Services, telegram_id: int, code: str | None = None) -> None:
    await services.members.accept_consent(telegram_id, "en", code)
    await services.members.set_display_name(telegram_id, f"Member {telegram_id}")
    await services.members.set_timezone(telegram_id, "Europe/London")


async def test_daily_prompt_is_queued_once_and_missed_ones_are_skipped(
    services: Services,
) -> None:
    await _member(services, 2)
    plan = await services.checkins.set_plan(2, Rhythm.DAILY, time(20, 0))
    assert plan.next_at is not None
    first = plan.next_at
    assert await services.checkins.tick(first - timedelta(seconds=1)) == 0
    assert await services.checkins.tick(first) == 1
    assert await services.checkins.tick(first) == 0  # idempotent
    # Down for three days: no flood of old prompts, only today's if it is (nearly) due.
    assert await services.checkins.tick(first + timedelta(days=3, minutes=30)) == 1
    db = services.members.db
    async with db.uow() as uow:
        keys = [r.key for r in (await uow.session.execute(select(Outbox))).scalars()]
    assert len(keys) == 2 and len(set(keys)) == 2


async def test_answers_and_notes_are_stored_encrypted(services: Services) -> None:
    await _member(services, 2)
    stamp = int((utcnow() - timedelta(hours=1)).timestamp())
    answer = await services.checkins.answer(2, stamp, 4)
    assert answer.mood == 4 and not answer.offer_support
    await services.checkins.answer(2, stamp, 3)  # changing one's answer
    await services.checkins.add_note(2, "slept badly, feeling flat")
    history = await services.checkins.history(2, 30)
    assert [m for _, m in history] == [3]
    async with services.members.db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT note FROM checkin"))).scalar_one()
    assert "slept" not in raw
    with pytest.raises(InvalidInput):
        await services.checkins.answer(2, stamp - 10 * 86400, 3)


async def test_a_run_of_lowest_moods_offers_support(services: Services) -> None:
    await _member(services, 2)
    now = utcnow()
    results = [
        await services.checkins.answer(2, int((now - timedelta(hours=h)).timestamp()), 1)
        for h in (30, 20, 10)
    ]
    assert [r.offer_support for r in results] == [False, False, True]


async def test_group_trend_only_in_aggregate_and_with_five_contributors(
    services: Services,
) -> None:
    await _member(services, 1)
    group = await services.groups.create_group(1, "Circle")
    stamp = int((utcnow() - timedelta(hours=2)).timestamp())
    for telegram_id in range(2, 6):
        await _member(services, telegram_id, group.invite_code)
        await services.checkins.answer(telegram_id, stamp, 2)
    assert await services.checkins.group_trend(1, group.id, 30) is None  # only four
    await _member(services, 6, group.invite_code)
    await services.checkins.answer(6, stamp, 5)
    average, contributors = await services.checkins.group_trend(1, group.id, 30) or (0, 0)
    assert contributors == 5 and average == pytest.approx(2.6)
    with pytest.raises(NotAllowed):
        await services.checkins.group_trend(2, group.id, 30)
