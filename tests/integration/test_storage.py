"""Storage against a real database (both SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot.core.handling import DoubleCommit, UpdateTicket, handling_update
from bot.storage.db import create_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Member
from bot.storage.uow import AlreadyHandled, Database


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
        assert [r.update_id for r in await uow.inbound.claim("me", ["me"])] == [10, 11, 12]


async def test_commit_marks_the_update_done_in_the_same_transaction(db: Database) -> None:
    """Work done for an update commits exactly once; a replay of the update is refused."""
    async with db.uow() as uow:
        await uow.inbound.store([(20, 1, '{"secret": "text"}')])
        await uow.commit()
    with handling_update(UpdateTicket(20)):
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=4, display_name="Cy"))
            await uow.commit()
    async with db.uow() as uow:
        assert await uow.inbound.status_of(20) == "done"
        assert await uow.inbound.claim("me", ["me"]) == []
    # The same update handled again (e.g. after a crash before the reply) changes nothing.
    with handling_update(UpdateTicket(20)), pytest.raises(AlreadyHandled):
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=5, display_name="Dee"))
            await uow.commit()
    async with db.uow() as uow:
        assert await uow.members.by_telegram_id(5) is None


async def test_independent_commits_do_not_finish_the_update(db: Database) -> None:
    """The safety gate's escalation (an independent commit) holds on its own, but the update
    is done only when its feature effects commit; a second feature commit fails in tests."""
    async with db.uow() as uow:
        await uow.inbound.store([(21, 1, "{}")])
        await uow.commit()
    ticket = UpdateTicket(21)
    with handling_update(ticket):
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=6, display_name="Ed"))
            await uow.commit_independent()
        async with db.uow() as uow:
            assert await uow.inbound.status_of(21) == "pending"
            assert await uow.members.by_telegram_id(6) is not None
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=7, display_name="Flo"))
            await uow.commit()
        assert ticket.marked
        with pytest.raises(DoubleCommit):
            async with db.uow() as uow:
                await uow.members.add(Member(telegram_id=8, display_name="Gus"))
                await uow.commit()
    async with db.uow() as uow:
        assert await uow.inbound.status_of(21) == "done"
        assert await uow.members.by_telegram_id(8) is None


async def test_dead_letters_are_kept_and_replayed_once(db: Database) -> None:
    """A dead letter keeps its raw form; a replay request turns it pending exactly once."""
    async with db.uow() as uow:
        await uow.inbound.store([(40, 1, '{"update_id": 40}')])
        await uow.commit()
    async with db.uow() as uow:
        assert await uow.inbound.make_dead_letter(40, "message", "TypeError")
        await uow.inbound.store_dead_letter(41, "callback_query", "ValueError", None)
        await uow.commit()
    async with db.uow() as uow:
        letters = await uow.inbound.dead_letters()
        assert [(r.update_id, r.kind, r.error) for r in letters] == [
            (40, "message", "TypeError"),
            (41, "callback_query", "ValueError"),
        ]
        assert letters[0].payload == '{"update_id": 40}'
        assert await uow.inbound.claim("me", ["me"]) == []
        assert not await uow.inbound.mark_done(40)
    async with db.uow() as uow:
        assert await uow.inbound.request_replay(40)
        assert not await uow.inbound.request_replay(999)
        await uow.commit()
    async with db.uow() as uow:
        assert [r.update_id for r in await uow.inbound.take_replays("me")] == [40]
        await uow.commit()
    async with db.uow() as uow:
        assert await uow.inbound.take_replays("me") == []
        assert await uow.inbound.status_of(40) == "pending"


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


async def test_pruning_forgets_only_old_settled_records_in_bounded_batches(db: Database) -> None:
    """Old settled deliveries and handled updates go; anything pending or recent stays."""
    from datetime import timedelta

    from sqlalchemy import update

    from bot.storage.models import Outbox, utcnow

    async with db.uow() as uow:
        for i, status in enumerate(["sent", "failed", "pending", "sending", "sent", "cancelled"]):
            await uow.outbox.enqueue(key=f"k{i}", kind="notice", chat_id=i, payload="{}")
            await uow.session.execute(
                update(Outbox).where(Outbox.key == f"k{i}").values(status=status)  # type: ignore[arg-type]
            )
        await uow.session.execute(
            update(Outbox)
            .where(Outbox.key != "k4")  # type: ignore[arg-type]
            .values(created_at=utcnow() - timedelta(days=40))
        )
        await uow.inbound.store([(50, 1, "{}"), (51, 1, "{}")])
        await uow.inbound.mark_done(50)
        await uow.commit()
    async with db.uow() as uow:
        assert await uow.outbox.prune_settled(utcnow() - timedelta(days=30), limit=2) == 2
        assert await uow.outbox.prune_settled(utcnow() - timedelta(days=30), limit=2) == 1
        assert await uow.outbox.prune_settled(utcnow() - timedelta(days=30), limit=2) == 0
        assert await uow.inbound.prune_done(utcnow() + timedelta(seconds=1)) == 1
        await uow.commit()
    async with db.uow() as uow:
        left = await uow.outbox.counts()
        assert left == {"pending": 1, "sending": 1, "sent": 1}  # the recent one stays
        assert [r.update_id for r in await uow.inbound.claim("me", ["me"])] == [51]


async def test_a_late_settle_never_overwrites_a_newer_state(db: Database) -> None:
    """A send that finishes after its row was recovered (a restart, another process) or
    re-claimed leaves the newer state alone: status changes are compare-and-set."""
    from bot.delivery.dispatcher import Dispatcher
    from bot.storage.models import utcnow

    dispatcher = Dispatcher(db, bot=None)  # type: ignore[arg-type]  # settling sends nothing
    async with db.uow() as uow:
        await uow.outbox.enqueue(key="a", kind="notice", chat_id=1, payload="{}")
        await uow.outbox.enqueue(key="b", kind="notice", chat_id=2, payload="{}")
        await uow.commit()
    async with db.uow() as uow:
        first, second = await uow.outbox.claim(2, utcnow())
        await uow.commit()
    await dispatcher.recover()  # as a restarting process would: both were in flight
    async with db.uow() as uow:
        [again] = await uow.outbox.claim(1, utcnow()) or [None]
        await uow.commit()
    assert again is None  # notices in flight at a crash are ambiguous, never resent
    await dispatcher._settle(first, "sent", message_id=7)
    await dispatcher._settle(second, "failed", error="late")
    async with db.uow() as uow:
        assert await uow.outbox.counts() == {"ambiguous": 2}
        # Settling under our own claim still works.
        await uow.outbox.enqueue(key="c", kind="notice", chat_id=3, payload="{}")
        await uow.commit()
    async with db.uow() as uow:
        [third] = await uow.outbox.claim(1, utcnow())
        await uow.commit()
    await dispatcher._settle(third, "sent", message_id=8)
    async with db.uow() as uow:
        assert await uow.outbox.counts() == {"ambiguous": 2, "sent": 1}


def test_the_schema_head_the_bot_checks_at_start_is_the_newest_migration() -> None:
    """At start an up-to-date database skips Alembic; that needs the newest revision here."""
    from alembic.script import ScriptDirectory

    from bot.storage.migrate import SCHEMA_HEAD, alembic_config

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == SCHEMA_HEAD


async def test_an_up_to_date_database_is_left_alone_and_an_older_one_upgraded(
    db: Database,
) -> None:
    from alembic import command

    from bot.storage.migrate import SCHEMA_HEAD, alembic_config, schema_revision

    assert await schema_revision(db.engine) == [SCHEMA_HEAD]
    await upgrade_to_head(db.engine)  # nothing to do

    def downgrade(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0008")

    async with db.engine.begin() as connection:
        await connection.run_sync(downgrade)
    assert await schema_revision(db.engine) == ["0008"]
    await upgrade_to_head(db.engine)
    assert await schema_revision(db.engine) == [SCHEMA_HEAD]


async def test_a_status_is_stored_as_its_plain_word_and_a_misspelt_one_never_is(
    db: Database,
) -> None:
    """Rows read back carry their status as the enum member (stored as the same word older
    versions wrote); a status the bot does not know is refused before it reaches the
    database, where it would leave the row stuck forever."""
    from sqlalchemy import update
    from sqlalchemy.exc import StatementError

    from bot.core.statuses import OutboxStatus
    from bot.storage.models import Outbox, utcnow

    async with db.uow() as uow:
        await uow.outbox.enqueue(key="k", kind="notice", chat_id=1, payload="{}")
        await uow.commit()
    async with db.uow() as uow:
        [claimed] = await uow.outbox.claim(10, utcnow())
        await uow.commit()
    async with db.uow(read_only=True) as uow:
        row = await uow.outbox.get(claimed.id or 0)
    assert row is not None and row.status is OutboxStatus.SENDING
    async with db.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT status FROM outbox"))).scalar_one()
    assert raw == "sending"
    with pytest.raises(StatementError):
        async with db.uow() as uow:
            await uow.session.execute(update(Outbox).values(status="snet"))
    async with db.uow(read_only=True) as uow:
        assert await uow.outbox.counts() == {"sending": 1}


async def test_a_chat_is_linked_to_one_group_only(db: Database) -> None:
    from bot.storage.errors import Conflict
    from bot.storage.models import PeerGroup

    async with db.uow() as uow:
        first = await uow.groups.add(PeerGroup(name="Tuesday", invite_code="a"))
        second = await uow.groups.add(PeerGroup(name="Friday", invite_code="b"))
        await uow.groups.link_chat(first, -100)
        await uow.commit()
    with pytest.raises(Conflict):
        async with db.uow() as uow:
            other = await uow.groups.by_id(second.id or 0)
            assert other is not None
            await uow.groups.link_chat(other, -100)
    async with db.uow(read_only=True) as uow:
        linked = await uow.groups.by_chat_id(-100)
        assert linked is not None and linked.name == "Tuesday"
