"""End-to-end fixtures: the fake Bot API server and the real bot, built as production builds it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import datetime

import pytest

from bot.core import clock
from bot.runtime import BotRuntime
from bot.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
COORDINATOR_ID = 900_001


@pytest.fixture(autouse=True)
def no_errors_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """No handler may raise and nothing may fail quietly: any ERROR log fails the test."""
    caplog.set_level(logging.INFO)
    yield
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("bot", "telegram"))
    ]
    if not getattr(caplog, "errors_expected", False):
        assert errors == [], errors


@pytest.fixture
async def tg() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram. Any request that breaks the Bot API spec fails the test."""
    async with FakeBotApi(token=TOKEN, spec=load_spec()) as server:
        yield server
        assert server.violations == [], server.violations


def make_settings(tg: FakeBotApi, database_url: str, **overrides: object) -> Settings:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.root_url,
        "DATABASE_URL": database_url,
        "PEERBOT_COORDINATORS": str(COORDINATOR_ID),
        "PEERBOT_SECRET_KEY": TEST_SECRET_KEY,
        # Anonymous questions' random delays (review cards, posts) off: tests do not wait.
        "PEERBOT_QUESTION_DELAY": "0-0",
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return Settings.from_env(env)


BotStarter = Callable[..., Awaitable[BotRuntime]]


class MovableClock:
    """The bot's clock, moved by the test (the bot runs in the test's process)."""

    def __init__(self, start: datetime) -> None:
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment


ClockAt = Callable[[datetime], MovableClock]


@pytest.fixture
def clock_at() -> Iterator[ClockAt]:
    def install(start: datetime) -> MovableClock:
        fake = MovableClock(start)
        clock.set_clock(fake)
        return fake

    yield install
    clock.set_clock(None)


@pytest.fixture
async def start_bot(tg: FakeBotApi, database_url: str) -> AsyncIterator[BotStarter]:
    """Start (and later stop) the bot; call again after stopping to restart it."""
    running: list[BotRuntime] = []

    async def start(**overrides: object) -> BotRuntime:
        runtime = BotRuntime(make_settings(tg, database_url, **overrides))
        await runtime.start()
        running.append(runtime)
        return runtime

    yield start
    for runtime in running:
        if runtime.application.running:
            await runtime.stop()


@pytest.fixture
async def bot(start_bot: BotStarter) -> BotRuntime:
    return await start_bot()
