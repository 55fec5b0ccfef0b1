"""Who may make whom a facilitator, as a service: coordinators only, of onboarded members, and
the member is told (once)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.services import Services
from bot.services.errors import InvalidInput, NotAllowed
from bot.storage.models import Outbox
from bot.storage.uow import Database

CORA = 1
FAY, NEWBIE, OTHER = 10, 11, 12


async def _member(services: Services, telegram_id: int, name: str) -> None:
    await services.members.accept_consent(telegram_id, "en", None)
    await services.members.set_display_name(telegram_id, name)
    await services.members.set_timezone(telegram_id, "Europe/London")


async def _notices_to(db: Database, telegram_id: int) -> list[str]:
    async with db.uow(read_only=True) as uow:
        rows = (
            await uow.session.execute(select(Outbox).where(Outbox.chat_id == telegram_id))
        ).scalars()
        return [json.loads(r.payload)["text"] for r in rows]


@pytest.fixture
async def services(db: Database) -> Services:
    services = Services.build(db, frozenset({CORA}))
    await _member(services, CORA, "Cora")
    await _member(services, FAY, "Fay")
    await _member(services, OTHER, "Otto")
    await services.members.accept_consent(NEWBIE, "en", None)  # never finished onboarding
    return services


async def test_a_coordinator_grants_and_revokes_and_the_member_is_told_once(
    db: Database, services: Services
) -> None:
    change = await services.roles.set_facilitator(CORA, FAY, allowed=True)
    assert (change.display_name, change.changed) == ("Fay", True)
    assert await services.roles.facilitator_ids() == [FAY]
    again = await services.roles.set_facilitator(CORA, FAY, allowed=True)
    assert not again.changed
    assert len(await _notices_to(db, FAY)) == 1  # granting twice tells her once
    await services.roles.set_facilitator(CORA, FAY, allowed=False)
    assert await services.roles.facilitator_ids() == []
    assert len(await _notices_to(db, FAY)) == 2


async def test_members_and_facilitators_cannot_grant(db: Database, services: Services) -> None:
    await services.roles.set_facilitator(CORA, FAY, allowed=True)
    for actor in (FAY, OTHER):
        with pytest.raises(NotAllowed):
            await services.roles.set_facilitator(actor, OTHER, allowed=True)
    assert await services.roles.facilitator_ids() == [FAY]
    assert await _notices_to(db, OTHER) == []


async def test_only_onboarded_members_can_be_made_facilitators(services: Services) -> None:
    for target in (NEWBIE, 999):
        with pytest.raises(InvalidInput):
            await services.roles.set_facilitator(CORA, target, allowed=True)
    assert await services.roles.facilitator_ids() == []
