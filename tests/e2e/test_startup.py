"""Start-up and shutdown as an operator sees them: Telegram unreachable at start is waited out
with one log line per try, a refused token stops the bot with one line that never shows it,
and SIGTERM or SIGINT stops the bot within 2 s whatever it is doing, start-up included."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

import tasks
from bot import runtime as runtime_module
from bot.runtime import TOKEN_REFUSED, BotRuntime, FatalError
from tests.conftest import TEST_SECRET_KEY
from tests.e2e.conftest import COORDINATOR_ID, TOKEN, BotStarter, make_settings
from tests.tgfake.server import FakeBotApi

RETRY_LINE = re.compile(r"^Telegram not reachable at 127\.0\.0\.1; retrying in ([\d.]+) s$")
STOP_WITHIN = 2.0


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_module, "RETRY_FIRST_SECONDS", 0.05)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


def _retry_delays(caplog: pytest.LogCaptureFixture) -> list[float]:
    delays = []
    for record in caplog.records:
        match = RETRY_LINE.match(record.getMessage())
        if match:
            assert record.levelno == logging.WARNING
            delays.append(float(match[1]))
    return delays


async def test_telegram_unreachable_at_start_is_waited_out_one_line_per_try(
    tg: FakeBotApi,
    start_bot: BotStarter,
    caplog: pytest.LogCaptureFixture,
    quick_retries: None,
) -> None:
    tg.inject("500", method="getMe")
    tg.inject("drop", method="getMe")  # the connection breaks: a network error
    tg.inject("502", method="getMe")
    tg.inject("503", method="setMyCommands")
    tg.inject("drop", method="deleteWebhook")
    await start_bot()

    assert _retry_delays(caplog) == [0.05, 0.1, 0.2, 0.05, 0.05]
    ours = [r for r in caplog.records if r.name.startswith(("bot", "telegram"))]
    assert not any(r.exc_info or r.exc_text for r in ours), "no traceback in the log"
    assert TOKEN.split(":", 1)[1] not in _logged(caplog)
    # And the bot works.
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Do you agree")


async def test_webhook_registration_is_retried(
    tg: FakeBotApi,
    start_bot: BotStarter,
    caplog: pytest.LogCaptureFixture,
    quick_retries: None,
) -> None:
    port = _free_port()
    tg.inject("502", method="setWebhook", times=2)
    await start_bot(
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET="s3cret-token_for-tests",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=port,
    )
    assert _retry_delays(caplog) == [0.05, 0.1]
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Do you agree")


async def test_a_refused_token_stops_start_up_with_one_line_that_hides_it(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # This Telegram knows another bot: ours gets 401 Unauthorized, as with a revoked token.
    async with FakeBotApi(token="999:AAAnotherBotsTokenEntirely_xyzxyzxyz", spec=None) as other:
        runtime = BotRuntime(make_settings(other, database_url))
        with pytest.raises(FatalError) as caught:
            await runtime.start()
        await runtime.stop()
    assert str(caught.value) == TOKEN_REFUSED
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert TOKEN.split(":", 1)[1] not in _logged(caplog)
    assert _retry_delays(caplog) == []


async def test_stop_is_safe_after_a_start_cancelled_with_the_database_open(
    tg: FakeBotApi, database_url: str, quick_retries: None
) -> None:
    tg.inject("500", method="setMyCommands", times=1000)
    runtime = BotRuntime(make_settings(tg, database_url))
    starting = asyncio.create_task(runtime.start())
    await tg.wait_for(lambda: tg.arrivals.count("setMyCommands") >= 2)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    began = time.monotonic()
    await runtime.stop(hurry=True)
    assert time.monotonic() - began < STOP_WITHIN
    assert runtime.application.bot_data.database is None  # closed, not leaked
    assert not runtime.application.running


async def test_running_without_an_alert_route_needs_the_risk_named_and_warns(
    start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    await start_bot(PEERBOT_COORDINATORS="", PEERBOT_ALLOW_NO_CRISIS_ALERTS="true")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("crisis alerts reach no one" in w for w in warnings), warnings


def test_tasks_run_becomes_the_bot_so_signals_reach_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`python3 tasks.py run` execs the bot (no wrapper left to swallow SIGTERM)."""
    if os.name != "posix":
        pytest.skip("exec is POSIX only")
    calls: list[tuple[str, list[str]]] = []

    def fake_execv(path: str, argv: list[str]) -> None:
        calls.append((path, argv))
        raise SystemExit(0)

    monkeypatch.setattr(tasks, "ensure_env", lambda dev: None)
    monkeypatch.setattr(tasks.os, "execv", fake_execv)
    monkeypatch.setattr(tasks.os, "chdir", lambda path: None)
    monkeypatch.setattr(
        tasks.subprocess, "run", lambda *a, **k: pytest.fail("ran the bot as a child")
    )
    with pytest.raises(SystemExit):
        tasks.main(["run", "--flag"])
    peerbot = str(tasks.BIN / "peerbot")
    assert calls == [(peerbot, [peerbot, "run", "--flag"])]


# ---------------------------------------------------------------- the real process


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`peerbot run` as a separate process, its stderr read line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    async def logged(self, pattern: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(re.search(pattern, line) for line in self.lines):
            if self.proc.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"never logged {pattern!r}: {self.lines}")
            await asyncio.sleep(0.02)

    async def signalled(self, sig: signal.Signals) -> tuple[int, float]:
        """Send `sig`; the exit code and how long the bot took to exit."""
        began = time.monotonic()
        self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), timeout=30)
        took = time.monotonic() - began
        await self._reader
        return code, took


Spawn = Callable[..., Awaitable[BotProcess]]


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    started: list[BotProcess] = []
    console_script = Path(sys.executable).with_name("peerbot")
    command = [str(console_script)] if console_script.exists() else [sys.executable, "-m", "bot"]

    async def start(api_url: str, token: str = TOKEN) -> BotProcess:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": api_url,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'peerbot.db'}",
            "PEERBOT_COORDINATORS": str(COORDINATOR_ID),
            "PEERBOT_SECRET_KEY": TEST_SECRET_KEY,
        }
        proc = await asyncio.create_subprocess_exec(
            *command,
            "run",
            cwd=tmp_path,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        bot = BotProcess(proc)
        started.append(bot)
        return bot

    yield start
    for each in started:
        if each.proc.returncode is None:
            each.proc.kill()
            await each.proc.wait()


def _assert_quiet_exit(bot: BotProcess, code: int, took: float) -> None:
    assert took < STOP_WITHIN, f"took {took:.2f} s to stop"
    assert code == 0, bot.lines
    assert not any("Traceback" in line for line in bot.lines), bot.lines


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_the_bot_while_it_waits_for_telegram_at_start(
    spawn: Spawn, sig: signal.Signals
) -> None:
    nobody_listens = f"http://127.0.0.1:{_free_port()}"
    bot = await spawn(nobody_listens)
    await bot.logged(r"Telegram not reachable at 127\.0\.0\.1; retrying in 1 s")
    code, took = await bot.signalled(sig)
    _assert_quiet_exit(bot, code, took)


@pytest.mark.slow
async def test_sigterm_stops_the_bot_while_telegram_does_not_answer_at_start(
    tg: FakeBotApi, spawn: Spawn
) -> None:
    tg.inject("hang", method="getMe")
    bot = await spawn(tg.root_url)
    await tg.wait_for(lambda: "getMe" in tg.arrivals, timeout=30)
    code, took = await bot.signalled(signal.SIGTERM)
    _assert_quiet_exit(bot, code, took)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_stops_the_running_bot(
    tg: FakeBotApi, spawn: Spawn, sig: signal.Signals
) -> None:
    bot = await spawn(tg.root_url)
    await tg.wait_for(lambda: "getUpdates" in tg.arrivals, timeout=30)
    code, took = await bot.signalled(sig)
    _assert_quiet_exit(bot, code, took)
    assert any("bot stopped" in line for line in bot.lines)


@pytest.mark.slow
async def test_a_refused_token_stops_peerbot_run_with_one_line(spawn: Spawn) -> None:
    async with FakeBotApi(token="999:AAAnotherBotsTokenEntirely_xyzxyzxyz", spec=None) as other:
        bot = await spawn(other.root_url)
        code = await asyncio.wait_for(bot.proc.wait(), timeout=30)
        await bot._reader
    assert code != 0
    assert bot.lines == [f"peerbot: {TOKEN_REFUSED}"]
    assert TOKEN.split(":", 1)[1] not in "\n".join(bot.lines)


@pytest.mark.slow
async def test_sigterm_stops_the_bot_within_2_s_while_it_handles_an_update(
    tg: FakeBotApi, spawn: Spawn
) -> None:
    """Telegram stops answering while the bot replies: the update is left for the next
    start (it is stored), and the bot still exits in time."""
    bot = await spawn(tg.root_url)
    await tg.wait_for(lambda: "getUpdates" in tg.arrivals, timeout=30)
    tg.inject("hang", method="sendMessage")
    await tg.person("Ann").says("/start")
    await tg.wait_for(lambda: "sendMessage" in tg.arrivals, timeout=30)
    code, took = await bot.signalled(signal.SIGTERM)
    _assert_quiet_exit(bot, code, took)
    assert any("updates still being handled" in line for line in bot.lines), bot.lines
