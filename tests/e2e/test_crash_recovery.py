"""Kill the bot process at the worst moments: nothing a member wrote is lost, nothing is done
twice. The bot runs as a real separate process (`python -m bot run`), killed by a failpoint
that exits like `kill -9`."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.storage.db import create_engine
from tests.conftest import TEST_SECRET_KEY
from tests.e2e.conftest import COORDINATOR_ID, TOKEN
from tests.tgfake.server import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]

Spawn = Callable[[str], Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def spawn(tg: FakeBotApi, database_url: str, tmp_path: Path) -> AsyncIterator[Spawn]:
    procs: list[asyncio.subprocess.Process] = []

    async def start(failpoints: str = "") -> asyncio.subprocess.Process:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": tg.root_url,
            "DATABASE_URL": database_url,
            "PEERBOT_COORDINATORS": str(COORDINATOR_ID),
            "PEERBOT_SECRET_KEY": TEST_SECRET_KEY,
            "PEERBOT_FAILPOINTS": failpoints,
        }
        polls_before = tg.arrivals.count("getUpdates")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        procs.append(proc)
        await tg.wait_for(
            lambda: tg.arrivals.count("getUpdates") > polls_before,
            timeout=30,
        )
        return proc

    yield start
    for proc in procs:
        if proc.returncode is None:
            proc.terminate()
            await proc.wait()


async def _died(proc: asyncio.subprocess.Process) -> None:
    code = await asyncio.wait_for(proc.wait(), timeout=15)
    assert code == 137, f"expected the failpoint to kill the bot, exit code {code}"


async def _count(database_url: str, sql: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["intake.received", "intake.stored"])
async def test_crash_before_handling_loses_nothing(
    tg: FakeBotApi, spawn: Spawn, database_url: str, moment: str
) -> None:
    """Killed after Telegram handed over the update but before it was handled."""
    ann = tg.person("Ann")
    crashing = await spawn(moment)
    await ann.says("/start")
    await _died(crashing)
    assert ann.inbox() == []

    await spawn("")
    await ann.sees("Do you agree", timeout=20)
    await ann.presses("I agree")
    await ann.sees("What name")
    await asyncio.sleep(0.5)  # let any duplicate arrive before counting
    assert sum("Do you agree" in m for m in ann.inbox()) == 1


@pytest.mark.slow
async def test_crash_after_handling_does_not_apply_it_twice(
    tg: FakeBotApi, spawn: Spawn, database_url: str
) -> None:
    """Killed after the consent was committed and answered, before anything else."""
    ann = tg.person("Ann")
    crashing = await spawn("handle.processed@2")  # 1: /start, 2: pressing "I agree"
    await ann.says("/start")
    await ann.sees("Do you agree", timeout=20)
    await ann.presses("I agree")
    await ann.sees("What name")
    await _died(crashing)

    await spawn("")
    await ann.says("Ann")
    await ann.sees("Which timezone", timeout=20)
    assert sum("What name" in m for m in ann.inbox()) == 1
    assert await _count(database_url, "SELECT count(*) FROM member") == 1
    assert await _count(database_url, "SELECT count(*) FROM inbound WHERE status <> 'done'") == 0


@pytest.mark.slow
async def test_a_crash_right_after_a_crisis_message_arrives_still_alerts(
    tg: FakeBotApi, spawn: Spawn
) -> None:
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    tg.mark_started(cora.user)
    ann = tg.person("Ann")
    crashing = await spawn("intake.stored")
    await ann.says("i want to kill myself tonight")
    await _died(crashing)
    assert cora.inbox() == []
    await spawn("")
    await cora.sees("Urgent", timeout=20)
    await ann.sees("glad you told us")
