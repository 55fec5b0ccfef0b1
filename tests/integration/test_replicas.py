"""Replicas on one database: one leader at a time, and rows a live replica holds are its own.

Runs on SQLite and PostgreSQL (the lease and the claims are plain compare-and-set updates)."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime, timedelta

from bot.delivery.dispatcher import Dispatcher
from bot.leadership import Identity, Leadership
from bot.storage.models import utcnow
from bot.storage.uow import Database


class Wall:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _elsewhere(leadership: Leadership) -> None:
    """Pretend the replica runs on another machine (the test's replicas share a process)."""
    leadership.me = Identity(leadership.me.id, "another-host", "another-boot", 1)


async def test_one_leader_and_a_standby_takes_over_only_once_the_lease_lapses(
    db: Database,
) -> None:
    wall = Wall()
    first = Leadership(db, shared=True, clock=wall)
    second = Leadership(db, shared=True, clock=wall)
    _elsewhere(first)
    assert await first.check()
    assert not await second.check()  # the lease is held
    assert set(second.live) == {first.me.id, second.me.id}
    wall.now += timedelta(seconds=5)
    assert await first.check()  # renewed
    assert not await second.check()
    # The leader dies: no more heartbeats. Before its lease lapses, nobody takes it ...
    wall.now += timedelta(seconds=9)
    assert not await second.check()
    # ... after, the standby does, and counts the old leader as gone.
    wall.now += timedelta(seconds=2)
    assert await second.check()
    assert second.live == (second.me.id,)
    # A leader that comes back finds the lease taken (compare-and-set, never overwritten).
    assert not await first.check()


async def test_a_leader_that_hands_over_is_replaced_at_once(db: Database) -> None:
    wall = Wall()
    first = Leadership(db, shared=True, clock=wall)
    second = Leadership(db, shared=True, clock=wall)
    _elsewhere(first)
    assert await first.check()
    await first.hand_over()
    assert await second.check()


async def test_a_dead_process_on_this_machine_is_known_dead_at_once(db: Database) -> None:
    """A restart after a crash does not wait for the lease to lapse: the old process ran on
    this machine and no longer exists."""
    wall = Wall()
    crashed = Leadership(db, shared=True, clock=wall)
    assert await crashed.check()
    gone_pid = 2**22 + 12345  # beyond the default pid range: no such process
    crashed.me = Identity(crashed.me.id, crashed.me.host, crashed.me.boot_id, gone_pid)
    assert await crashed.check()
    restarted = Leadership(db, shared=True, clock=wall)
    if not restarted.me.boot_id:  # no boot id on this system: only the lease's lapse counts
        return
    assert await restarted.check()
    assert crashed.me.id not in restarted.live
    assert os.getpid() == restarted.me.pid


async def test_updates_are_claimed_once_and_never_from_a_live_replica(db: Database) -> None:
    async with db.uow() as uow:
        await uow.inbound.store([(1, 5, "{}"), (2, 5, "{}")])  # stored by a standby
        await uow.inbound.store([(3, 6, "{}")], owner="alive")  # being handled by "alive"
        await uow.inbound.store([(4, 7, "{}")], owner="dead")  # left by a leader that died
        await uow.commit()
    async with db.uow() as uow:
        taken = await uow.inbound.claim("me", ["me", "alive"])
        await uow.commit()
    assert [r.update_id for r in taken] == [1, 2, 4]
    async with db.uow() as uow:
        assert await uow.inbound.claim("other", ["me", "other", "alive"]) == []


async def test_recovery_leaves_a_live_replicas_sends_alone(db: Database) -> None:
    async with db.uow() as uow:
        for key in ("a", "b"):
            await uow.outbox.enqueue(key=key, kind="notice", chat_id=1, payload="{}")
        await uow.outbox.enqueue(key="c", kind="alert", chat_id=2, payload="{}", priority=0)
        await uow.commit()
    async with db.uow() as uow:
        [alert] = await uow.outbox.claim(1, utcnow(), "dead")
        [a] = await uow.outbox.claim(1, utcnow(), "alive")
        [b] = await uow.outbox.claim(1, utcnow(), "dead")
        await uow.commit()
    dispatcher = Dispatcher(db, bot=None, owner="me", live=lambda: ("me", "alive"))  # type: ignore[arg-type]
    assert await dispatcher.recover() == (1, 1)  # the dead one's alert again, its notice ambiguous
    async with db.uow() as uow:
        assert (await uow.outbox.get(a.id or 0)).status == "sending"  # type: ignore[union-attr]
        assert (await uow.outbox.get(b.id or 0)).status == "ambiguous"  # type: ignore[union-attr]
        assert (await uow.outbox.get(alert.id or 0)).status == "pending"  # type: ignore[union-attr]
    # The live replica's late settle still lands; the dead one's is refused (compare-and-set).
    await Dispatcher(db, bot=None, owner="alive")._settle(a, "sent", message_id=1)  # type: ignore[arg-type]
    await Dispatcher(db, bot=None, owner="dead")._settle(b, "sent", message_id=2)  # type: ignore[arg-type]
    async with db.uow() as uow:
        assert await uow.outbox.counts() == {"sent": 1, "ambiguous": 1, "pending": 1}


async def test_a_standby_takes_up_the_work_when_the_leader_hands_over(db: Database) -> None:
    leader = Leadership(db, shared=True, renew_seconds=0.05)
    standby = Leadership(db, shared=True, renew_seconds=0.05)
    _elsewhere(leader)
    assert await leader.check()
    assert not await standby.check()
    elected = asyncio.Event()

    async def take_up() -> None:
        elected.set()

    standby.watch(take_up, on_lost=lambda: None)
    try:
        await asyncio.sleep(0.2)
        assert not elected.is_set()
        await leader.hand_over()
        await asyncio.wait_for(elected.wait(), 5)
        assert standby.sure()
    finally:
        await standby.hand_over()


async def test_a_leader_that_cannot_take_up_its_work_lets_go(db: Database) -> None:
    leader = Leadership(db, shared=True, renew_seconds=0.05)
    lost = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("no Telegram")

    leader.watch(fails, on_lost=lost.set)
    try:
        await asyncio.wait_for(lost.wait(), 5)
    finally:
        await leader.hand_over()
