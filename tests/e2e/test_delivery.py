"""The outbox dispatcher against the fake Telegram with its flood limits and faults on."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.core.consent import CONSENT_VERSION
from bot.core.outgoing import OutgoingMessage
from bot.runtime import BotRuntime
from bot.storage.crypto import install_keyring
from bot.storage.db import create_engine
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Member, Outbox
from bot.storage.uow import Database
from tests.conftest import TEST_SECRET_KEY
from tests.e2e.conftest import TOKEN, BotStarter
from tests.tgfake.server import FakeBotApi


async def _queue(
    db: Database, user_ids: list[int], kind: str = "notice", prefix: str = "t"
) -> None:
    async with db.uow() as uow:
        for i, user_id in enumerate(user_ids):
            await uow.outbox.enqueue(
                key=f"{prefix}:{i}:{user_id}",
                kind=kind,
                chat_id=user_id,
                payload=OutgoingMessage(f"Hello number {i}").to_json(),
                priority=0 if kind == "alert" else 5,
            )
        await uow.commit()


async def _statuses(db: Database) -> dict[str, int]:
    async with db.uow() as uow:
        return await uow.outbox.counts()


async def _settled(db: Database, timeout: float = 10.0) -> dict[str, int]:
    """Wait until no row is pending or in flight; return the counts by status."""
    for _ in range(int(timeout / 0.05)):
        counts = await _statuses(db)
        if not counts.get("pending") and not counts.get("sending"):
            return counts
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox did not settle: {await _statuses(db)}")


def _people(tg: FakeBotApi, n: int) -> list[int]:
    users = [tg.user(f"P{i}", user_id=7_000_000 + i) for i in range(n)]
    for user in users:
        tg.mark_started(user)
    return [u.id for u in users]


async def test_flood_limits_are_kept_and_everything_arrives(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    tg.enforce_flood_limits(True)
    ids = _people(tg, 60)
    db = bot.application.bot_data.database
    assert db is not None
    await _queue(db, ids)
    bot.dispatcher.notify()  # type: ignore[union-attr]
    await tg.wait_for(lambda: _statuses_done(tg, ids), timeout=20)
    assert tg.flood_429s == []
    assert (await _settled(db)).get("sent") == 60


def _statuses_done(tg: FakeBotApi, ids: list[int]) -> bool:
    return all(tg.sent_messages(i) for i in ids)


async def test_429_pauses_and_5xx_is_retried_and_nothing_is_lost_or_doubled(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    ids = _people(tg, 10)
    tg.inject("429", method="sendMessage", retry_after=1, times=1)
    tg.inject("502", method="sendMessage", times=2)
    db = bot.application.bot_data.database
    assert db is not None
    await _queue(db, ids)
    bot.dispatcher.notify()  # type: ignore[union-attr]
    await tg.wait_for(lambda: _statuses_done(tg, ids), timeout=20)
    for user_id in ids:
        assert len(tg.sent_messages(user_id)) == 1
    assert (await _settled(db)).get("sent") == 10


async def test_a_member_who_blocked_the_bot_is_marked_unreachable(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    ids = _people(tg, 3)
    db = bot.application.bot_data.database
    assert db is not None
    async with db.uow() as uow:
        for user_id in ids:
            await uow.members.add(
                Member(
                    telegram_id=user_id,
                    display_name="x",
                    step="done",
                    consent_version=CONSENT_VERSION,
                    timezone="UTC",
                )
            )
        await uow.commit()
    tg.users[ids[1]].block()
    await _queue(db, ids)
    await _queue(db, [ids[1]], prefix="later")
    bot.dispatcher.notify()  # type: ignore[union-attr]
    await tg.wait_for(lambda: tg.sent_messages(ids[0]) and tg.sent_messages(ids[2]), timeout=10)
    await _settled(db)
    async with db.uow() as uow:
        member = await uow.members.by_telegram_id(ids[1])
        assert member is not None and member.unreachable_at is not None
        rows = (
            (await uow.session.execute(select(Outbox).where(Outbox.chat_id == ids[1])))
            .scalars()
            .all()
        )
        assert {r.status for r in rows} == {"unreachable"}


@pytest.mark.slow
async def test_a_crash_mid_send_resends_nothing_confirmed_and_loses_nothing(
    tg: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    """Kill the bot (like kill -9) right after Telegram confirmed the 40th message."""
    install_keyring(TEST_SECRET_KEY)
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    db = Database(engine)
    ids = _people(tg, 120)
    await _queue(db, ids)
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.root_url,
        "DATABASE_URL": database_url,
        "PEERBOT_SECRET_KEY": TEST_SECRET_KEY,
        "PEERBOT_COORDINATORS": "900001",
    }

    async def run(failpoints: str) -> asyncio.subprocess.Process:
        log = (tmp_path / f"bot{failpoints or 'ok'}.log").open("wb")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env={**env, "PEERBOT_FAILPOINTS": failpoints},
            stdout=log,
            stderr=log,
        )
        log.close()
        return proc

    crashing = await run("delivery.sent@40")
    assert await asyncio.wait_for(crashing.wait(), timeout=60) == 137
    survivor = await run("")
    try:
        counts = await _settled(db, timeout=60)
        received = {i: len(tg.sent_messages(i)) for i in ids}
        resent = sum(1 for n in received.values() if n > 1)
        lost = [i for i, n in received.items() if n == 0]
        ambiguous = counts.get("ambiguous", 0)
        assert resent == 0
        assert ambiguous <= 10  # bounded by the dispatcher's in-flight limit
        # Every member either got the message, or is recorded as ambiguous (sent or not).
        assert len(lost) <= ambiguous
        assert counts.get("sent", 0) + ambiguous == 120
    finally:
        survivor.terminate()
        await survivor.wait()
        await engine.dispose()


async def test_alerts_go_first(tg: FakeBotApi, start_bot: BotStarter) -> None:
    ids = _people(tg, 40)
    runtime = await start_bot()
    db = runtime.application.bot_data.database
    assert db is not None
    # Queued in one transaction, so the dispatcher sees both at once.
    async with db.uow() as uow:
        for i, user_id in enumerate(ids):
            urgent = i >= 30
            await uow.outbox.enqueue(
                key=f"mixed:{user_id}",
                kind="alert" if urgent else "notice",
                chat_id=user_id,
                payload=OutgoingMessage("!" if urgent else ".").to_json(),
                priority=0 if urgent else 5,
            )
        await uow.commit()
    runtime.dispatcher.notify()  # type: ignore[union-attr]
    await tg.wait_for(lambda: _statuses_done(tg, ids), timeout=20)
    order = [r.params["chat_id"] for r in tg.requests if r.method == "sendMessage"]
    first_ten = {int(c) for c in order[:10]}
    assert first_ten == set(ids[30:])
