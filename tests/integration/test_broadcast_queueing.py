"""An announcement is recorded first and queued in bounded transactions; one whose queueing
was interrupted (the process stopped) is finished later, without sending anything twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.core.statuses import BroadcastStatus
from bot.services import Services
from bot.storage.models import Broadcast, Outbox, utcnow
from bot.storage.uow import Database, OutboxRepository

COORDINATOR = 1


async def _group_of(services: Services, members: int) -> int:
    await services.members.accept_consent(COORDINATOR, "en", None)
    await services.members.set_display_name(COORDINATOR, "Cora")
    await services.members.set_timezone(COORDINATOR, "Europe/London")
    group = await services.groups.create_group(COORDINATOR, "Circle")
    for telegram_id in range(100, 100 + members):
        await services.members.accept_consent(telegram_id, "en", group.invite_code)
        await services.members.set_display_name(telegram_id, f"M{telegram_id}")
        await services.members.set_timezone(telegram_id, "Europe/London")
    return group.id


async def _audience_of(broadcasts: Any, group_id: int) -> tuple[Any, list[tuple[int, str]]]:
    from bot.services.broadcasts import Audience

    async with broadcasts.db.uow(read_only=True) as uow:
        author = await uow.members.by_telegram_id(COORDINATOR)
        audience = Audience(str(group_id), "Circle")
        return audience, await broadcasts._recipients(uow, author, audience)


async def _outbox_chats(db: Database) -> list[int]:
    async with db.uow() as uow:
        rows = (await uow.session.execute(select(Outbox).where(Outbox.kind == "broadcast"))).all()
        return sorted(row[0].chat_id for row in rows)


async def test_an_interrupted_queueing_is_finished_once(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.build(db, frozenset({COORDINATOR}))
    group_id = await _group_of(services, 7)
    broadcasts = services.broadcasts
    preview = await broadcasts.preview(
        COORDINATOR, {"audience": str(group_id)}, "<b>Room change</b>", 11
    )
    monkeypatch.setattr("bot.services.broadcasts.ENQUEUE_CHUNK", 3)

    # The process stops after the first chunk of three was queued.
    real = OutboxRepository.enqueue_keyed
    calls = 0

    async def stopping(self: OutboxRepository, *args: Any, **kwargs: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise KeyboardInterrupt
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(OutboxRepository, "enqueue_keyed", stopping)
    with pytest.raises(KeyboardInterrupt):
        await broadcasts.send(COORDINATOR, preview.nonce)
    monkeypatch.setattr(OutboxRepository, "enqueue_keyed", real)
    assert len(await _outbox_chats(db)) == 3

    # Not yet considered stalled: the progress job leaves it to whoever is queueing it.
    await broadcasts.refresh()
    assert len(await _outbox_chats(db)) == 3
    async with db.uow() as uow:
        await uow.session.execute(
            update(Broadcast).values(created_at=utcnow() - timedelta(minutes=5))
        )
        await uow.commit()
    await broadcasts.refresh()
    assert await _outbox_chats(db) == list(range(100, 107))
    async with db.uow(read_only=True) as uow:
        [sent] = (await uow.session.execute(select(Broadcast))).scalars().all()
    assert (sent.status, sent.total) == ("sending", 7)
    # Finishing it again changes nothing.
    sent.status = BroadcastStatus.QUEUEING
    await broadcasts._queue(sent, *(await _audience_of(broadcasts, group_id)))
    assert await _outbox_chats(db) == list(range(100, 107))


async def test_a_send_cancelled_while_it_is_queued_offers_no_cancel(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelled between two chunks: queueing stops, and the author's status shows it."""
    services = Services.build(db, frozenset({COORDINATOR}))
    group_id = await _group_of(services, 7)
    broadcasts = services.broadcasts
    preview = await broadcasts.preview(
        COORDINATOR, {"audience": str(group_id)}, "<b>Room change</b>", 11
    )
    monkeypatch.setattr("bot.services.broadcasts.ENQUEUE_CHUNK", 3)
    real_uow = Database.uow
    writes = 0

    class CancelFirst:
        """The author presses Cancel just before the second chunk's transaction begins."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        async def __aenter__(self) -> Any:
            async with db.uow(read_only=True) as uow:
                [sent] = (await uow.session.execute(select(Broadcast))).scalars().all()
            await broadcasts.cancel(COORDINATOR, sent.id)
            return await self.inner.__aenter__()

        async def __aexit__(self, *exc: object) -> None:
            await self.inner.__aexit__(*exc)

    def uow(self: Database, **kwargs: bool) -> Any:
        nonlocal writes
        if kwargs.get("read_only"):
            return real_uow(self, **kwargs)
        writes += 1  # 1: the send is recorded, 2: first chunk, 3: second chunk
        return CancelFirst(real_uow(self, **kwargs)) if writes == 3 else real_uow(self, **kwargs)

    monkeypatch.setattr(Database, "uow", uow)
    status = await broadcasts.send(COORDINATOR, preview.nonce)
    assert status.final  # no Cancel button on what is already cancelled
    monkeypatch.setattr(Database, "uow", real_uow)
    assert len(await _outbox_chats(db)) == 3
    async with db.uow(read_only=True) as uow:
        assert await uow.outbox.counts(batch="bc:1") == {"cancelled": 3}
