"""Storage against a real database (both SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bot.storage.db import create_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Member
from bot.storage.uow import AlreadyHandled, Database, handling_update


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database.connect(database_url)
    await upgrade_to_head(database.engine)
    yield database
    await database.dispose()


async def test_unit_of_work_rolls_back_unless_committed(db: Database) -> None:
    """Work that is not committed leaves no trace."""
    async with db.uow() as uow:
        await uow.members.add(Member(telegram_id=1, display_name="Ann"))
    async with db.uow() as uow:
        assert await uow.members.by_telegram_id(1) is None


async def test_unit_of_work_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=2, display_name="Bo"))
            raise RuntimeError("boom")
    async with db.uow() as uow:
        assert await uow.members.by_telegram_id(2) is None


async def test_free_text_is_encrypted_at_rest(db: Database) -> None:
    """The raw database holds no plaintext name; the model reads it back decrypted."""
    async with db.uow() as uow:
        await uow.members.add(Member(telegram_id=3, display_name="Zelda Quartermain"))
        await uow.commit()
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT display_name FROM member"))).scalar_one()
    assert "Zelda" not in raw
    async with db.uow() as uow:
        member = await uow.members.by_telegram_id(3)
        assert member is not None and member.display_name == "Zelda Quartermain"


async def test_inbound_store_is_idempotent_by_update_id(db: Database) -> None:
    async with db.uow() as uow:
        assert await uow.inbound.store([(10, 1, "{}"), (11, 1, "{}")]) == {10, 11}
        await uow.commit()
    async with db.uow() as uow:
        assert await uow.inbound.store([(11, 1, "{}"), (12, 2, "{}")]) == {12}
        await uow.commit()
    async with db.uow() as uow:
        assert [r.update_id for r in await uow.inbound.unfinished()] == [10, 11, 12]


async def test_commit_marks_the_update_done_in_the_same_transaction(db: Database) -> None:
    """Work done for an update commits exactly once; a replay of the update is refused."""
    async with db.uow() as uow:
        await uow.inbound.store([(20, 1, '{"secret": "text"}')])
        await uow.commit()
    with handling_update(20):
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=4, display_name="Cy"))
            await uow.commit()
    async with db.uow() as uow:
        assert await uow.inbound.status_of(20) == "done"
        assert await uow.inbound.unfinished() == []
    # The same update handled again (e.g. after a crash before the reply) changes nothing.
    with handling_update(20), pytest.raises(AlreadyHandled):
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=5, display_name="Dee"))
            await uow.commit()
    async with db.uow() as uow:
        assert await uow.members.by_telegram_id(5) is None


async def test_handled_update_payload_is_dropped(db: Database) -> None:
    """Once handled, the stored copy of what the member wrote is deleted."""
    async with db.uow() as uow:
        await uow.inbound.store([(30, 1, '{"text": "private words"}')])
        await uow.commit()
    async with db.uow() as uow:
        await uow.inbound.mark_done(30)
        await uow.commit()
    async with db.engine.connect() as conn:
        payload = (
            await conn.execute(text("SELECT payload FROM inbound WHERE update_id = 30"))
        ).scalar_one()
    assert payload is None


async def test_migrations_match_the_models(database_url: str) -> None:
    """Every schema change ships as a migration: the migrated schema equals the models."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": True}),
                    SQLModel.metadata,
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def test_migrations_are_safe_to_apply_twice(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_to_head(engine)
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
