"""Announcements as a service: who may announce to whom, and a Send pressed twice sends once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.services import Services
from bot.services.errors import NotFound
from bot.storage.models import Outbox
from bot.storage.uow import Database

CORA = 1  # coordinator
FAY = 10  # a facilitator, who made Circle
MEMBERS = range(100, 104)


async def _person(services: Services, telegram_id: int, code: str | None) -> None:
    await services.members.accept_consent(telegram_id, "en", code)
    await services.members.set_display_name(telegram_id, f"P{telegram_id}")
    await services.members.set_timezone(telegram_id, "Europe/London")


async def _queued(db: Database) -> int:
    async with db.uow(read_only=True) as uow:
        stmt = select(func.count()).select_from(Outbox).where(Outbox.kind == "broadcast")
        return int((await uow.session.execute(stmt)).scalar_one())


@pytest.fixture
async def setup(db: Database) -> tuple[Services, int, int]:
    services = Services.build(db, frozenset({CORA}))
    await _person(services, CORA, None)
    await _person(services, FAY, None)
    await services.roles.set_facilitator(CORA, FAY, allowed=True)
    circle = await services.groups.create_group(FAY, "Circle")
    evening = await services.groups.create_group(CORA, "Evening")
    for telegram_id in MEMBERS:
        await _person(services, telegram_id, circle.invite_code)
    return services, circle.id, evening.id


async def test_a_facilitator_announces_only_to_the_groups_they_facilitate(
    setup: tuple[Services, int, int],
) -> None:
    services, circle, evening = setup
    assert [a.key for a in await services.broadcasts.audiences(FAY)] == [str(circle)]
    with pytest.raises(NotFound):
        await services.broadcasts.begin(FAY, str(evening))
    with pytest.raises(NotFound):
        await services.broadcasts.preview(FAY, {"audience": str(evening)}, "Hello", 5)
    assert await services.broadcasts.audiences(MEMBERS[0]) == []
    keys = {a.key for a in await services.broadcasts.audiences(CORA)}
    assert {str(circle), str(evening)} < keys  # and everyone


async def test_send_pressed_twice_sends_once_and_never_to_the_author(
    db: Database, setup: tuple[Services, int, int]
) -> None:
    services, circle, _ = setup
    preview = await services.broadcasts.preview(FAY, {"audience": str(circle)}, "Room 2", 6)
    assert preview.recipients == len(MEMBERS)
    await services.broadcasts.send(FAY, preview.nonce)
    with pytest.raises(NotFound):
        await services.broadcasts.send(FAY, preview.nonce)
    assert await _queued(db) == len(MEMBERS)
    async with db.uow(read_only=True) as uow:
        stmt = select(Outbox.chat_id).where(Outbox.kind == "broadcast")
        chats = (await uow.session.execute(stmt)).scalars()
        assert FAY not in set(chats)
