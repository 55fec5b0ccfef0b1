"""Health and metrics end to end: an operator's monitoring scrapes the running bot.

/healthz, /readyz and /metrics on PEERBOT_HTTP_PORT: the counters move as members write and
the bot sends; no label or value ever holds a user id, a name or what anyone wrote; /readyz
says 503 with a reason while the database or Telegram is gone, and 200 again once it is back.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import sqlite3
import sys
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability import readiness, server
from bot.runtime import FatalError
from tests.conftest import POSTGRES_ADMIN_URL
from tests.e2e.conftest import COORDINATOR_ID, BotStarter
from tests.e2e.people import onboard
from tests.tgfake.server import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


def documented_metrics() -> set[str]:
    """Every metric README's Monitoring section names (tables and alerting rules)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Monitoring", 1)[1].split("\n### ", 1)[0]
    names = set(re.findall(r"\b(peerbot_[a-z_]+)", section))
    assert len(names) >= 15, names
    return names


# Every label a peerbot metric may have, and the values each may take.
LABEL_VALUES = {
    "kind": {"message", "edited_message", "callback_query", "my_chat_member", "other"},
    "source": {"outbox", "reply"},
    "result": {"sent", "429", "blocked", "timeout", "network_error", "refused", "chat_moved"},
    "level": {"none", "concern", "urgent"},
    "le": None,  # histogram bucket bounds: numbers
}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Probe:
    """What a monitoring system sees of the bot."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    async def get(self, path: str) -> tuple[int, str]:
        async with aiohttp.ClientSession() as session, session.get(self.base + path) as response:
            return response.status, await response.text()

    async def ready(self) -> tuple[int, dict[str, Any]]:
        status, text = await self.get("/readyz")
        return status, json.loads(text)

    async def scrape(self) -> tuple[str, Samples]:
        status, text = await self.get("/metrics")
        assert status == 200
        samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return text, samples

    async def until_ready(self, status: int, timeout: float = 20.0) -> dict[str, Any]:
        """/readyz as a blackbox probe polls it, until it answers `status`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            got, body = await self.ready()
            if got == status:
                return body
            assert asyncio.get_running_loop().time() < deadline, (got, body)
            await asyncio.sleep(0.1)


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)


@pytest.fixture
def port() -> int:
    return _free_port()


@pytest.fixture
def probe(port: int) -> Probe:
    return Probe(port)


async def test_monitoring_sees_a_healthy_bot_and_its_counters_move_without_revealing_anyone(
    tg: FakeBotApi, start_bot: BotStarter, port: int, probe: Probe
) -> None:
    await start_bot(PEERBOT_HTTP_PORT=port, PEERBOT_HTTP_LISTEN="127.0.0.1")
    assert await probe.get("/healthz") == (200, '{"status":"ok"}')
    status, body = await probe.ready()
    assert (status, body) == (200, {"ready": True, "leader": True})
    text, before = await probe.scrape()
    names = {name for name, _ in before}
    names |= {name.removesuffix(suffix) for name in names for suffix in ("_bucket", "_count")}
    assert names >= documented_metrics(), documented_metrics() - names
    assert value(before, "peerbot_leader") == 1
    assert value(before, "peerbot_database_up") == 1
    assert "process_resident_memory_bytes" in text

    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    await onboard(cora, "Cora")
    ann = tg.person("Annabel")
    await onboard(ann, "Annabel Quist", city="London")
    written = ["zebra marmalade on a tuesday", "i'm not ok. i want to just die tonight"]
    await ann.says(written[0])
    await ann.says(written[1])
    await ann.sees("glad you told us")
    await cora.sees("Urgent — someone may be in danger")  # an alert: sent from the outbox

    async def moved() -> bool:
        nonlocal text, after
        text, after = await probe.scrape()
        # The alert went out, and every update stored has been handled (a handler may still
        # be running when its reply arrives).
        received = sum(v for (n, _), v in after.items() if n == "peerbot_updates_received_total")
        return (
            value(after, "peerbot_sends_total", source="outbox", result="sent") >= 1
            and value(after, "peerbot_updates_handled_total") == received
        )

    after: Samples = {}
    await until(moved)
    grew = {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if key[0].startswith("peerbot_") and after[key] != before.get(key, 0.0)
    }
    assert value(after, "peerbot_updates_received_total", kind="message") > value(
        before, "peerbot_updates_received_total", kind="message"
    ), grew
    assert value(after, "peerbot_updates_handled_total") >= 2 + value(
        before, "peerbot_updates_handled_total"
    )
    assert value(after, "peerbot_update_handling_seconds_count") >= 2
    assert value(after, "peerbot_sends_total", source="reply", result="sent") > 0
    assert value(after, "peerbot_screener_decisions_total", level="urgent") == 1
    assert value(after, "peerbot_screener_decisions_total", level="none") >= 1
    assert value(after, "peerbot_escalations_open", level="urgent") == 1
    assert value(after, "peerbot_updates_parked_total") == 0

    # Nothing in any label or value points at a person or repeats what they wrote.
    for (name, labels), _ in after.items():
        for label, label_value in labels:
            if name.startswith("peerbot_"):
                assert label in LABEL_VALUES, (name, label)
                allowed = LABEL_VALUES[label]
                assert allowed is None or label_value in allowed, (name, label, label_value)
    _, ready_body = await probe.get("/readyz")
    for secret in (
        str(ann.user.id),
        str(COORDINATOR_ID),
        "Annabel",
        "Quist",
        "zebra",
        "marmalade",
        "die tonight",
    ):
        assert secret not in text and secret not in ready_body, secret

    # Acknowledged: no urgent escalation waits any more.
    await cora.presses("Acknowledge")
    await cora.sees("You have acknowledged escalation")
    _, acknowledged = await probe.scrape()
    assert value(acknowledged, "peerbot_escalations_unacknowledged_oldest_seconds") == 0


async def test_ready_turns_503_while_telegram_is_unreachable_and_back_when_it_returns(
    tg: FakeBotApi,
    start_bot: BotStarter,
    port: int,
    probe: Probe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Telegram counts as gone after a second of silence here, not a minute.
    monkeypatch.setattr(readiness, "TELEGRAM_SECONDS", 1.0)
    monkeypatch.setattr(server, "ASK_TELEGRAM_EVERY", 0.2)
    await start_bot(PEERBOT_HTTP_PORT=port, PEERBOT_HTTP_LISTEN="127.0.0.1")
    await probe.until_ready(200)
    tg.inject("502", times=1_000_000)  # every request: Bad Gateway
    body = await probe.until_ready(503)
    assert body["reason"].startswith("telegram: no answer for"), body
    assert (await probe.get("/healthz"))[0] == 200  # alive all the same

    tg._faults.clear()  # Telegram is back
    assert await probe.until_ready(200) == {"ready": True, "leader": True}


async def test_health_answers_while_the_bot_waits_for_telegram_at_start(
    tg: FakeBotApi, start_bot: BotStarter, port: int, probe: Probe
) -> None:
    tg.inject("502", method="getMe", times=1_000_000)
    starting = asyncio.create_task(
        start_bot(PEERBOT_HTTP_PORT=port, PEERBOT_HTTP_LISTEN="127.0.0.1")
    )
    try:
        await until(lambda: _answers(probe))
        assert await probe.get("/healthz") == (200, '{"status":"ok"}')
        assert await probe.ready() == (503, {"ready": False, "leader": False, "reason": "starting"})
        tg._faults.clear()
        await starting
    finally:
        starting.cancel()
    assert await probe.until_ready(200) == {"ready": True, "leader": True}


async def _answers(probe: Probe) -> bool:
    try:
        return (await probe.get("/healthz"))[0] == 200
    except aiohttp.ClientConnectionError:
        return False


class SqliteLock:
    """Another program holding the SQLite database's write lock: the bot's database stops
    answering (as on a hung disk), until it lets go."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.taken = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _hold(self) -> None:
        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            self.taken.set()
            self.release.wait(60)
            connection.execute("ROLLBACK")
        finally:
            connection.close()

    async def __aenter__(self) -> SqliteLock:
        self.thread.start()
        assert await asyncio.to_thread(self.taken.wait, 30)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.release.set()
        await asyncio.to_thread(self.thread.join, 30)


async def _refuse_connections(database: str, refuse: bool) -> None:
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(
            f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS {"false" if refuse else "true"}'
        )
        if refuse:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                database,
            )
    finally:
        await admin.close()


async def test_ready_turns_503_while_the_database_is_gone_and_back_when_it_returns(
    tg: FakeBotApi,
    start_bot: BotStarter,
    database_url: str,
    port: int,
    probe: Probe,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.errors_expected = True  # type: ignore[attr-defined] # the dispatcher says it failed
    await start_bot(PEERBOT_HTTP_PORT=port, PEERBOT_HTTP_LISTEN="127.0.0.1")
    await probe.until_ready(200)
    if database_url.startswith("sqlite"):
        async with SqliteLock(database_url.removeprefix("sqlite:///")):
            body = await probe.until_ready(503)
            assert body["reason"] == "database: no answer within 3 s", body
            assert (await probe.get("/healthz"))[0] == 200
    else:
        name = database_url.rsplit("/", 1)[1]
        await _refuse_connections(name, True)
        try:
            body = await probe.until_ready(503)
            assert body["reason"].startswith("database: unreachable"), body
            assert (await probe.get("/healthz"))[0] == 200
            _, samples = await probe.scrape()
            assert value(samples, "peerbot_database_up") == 0
        finally:
            await _refuse_connections(name, False)
    assert await probe.until_ready(200) == {"ready": True, "leader": True}


async def test_one_server_serves_the_webhook_and_the_endpoints_on_a_shared_port(
    tg: FakeBotApi, start_bot: BotStarter, port: int, probe: Probe
) -> None:
    await start_bot(
        WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
        WEBHOOK_SECRET="s3cret-token_for-tests",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=port,
        PEERBOT_HTTP_PORT=port,
    )
    assert (await probe.get("/healthz"))[0] == 200
    assert await probe.until_ready(200) == {"ready": True, "leader": True}
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Do you agree")
    _, samples = await probe.scrape()
    assert value(samples, "peerbot_updates_received_total", kind="message") == 1


def _image_healthcheck() -> list[str]:
    """The HEALTHCHECK command of deploy/Dockerfile, as Docker runs it (exec form)."""
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    found = re.search(r"^HEALTHCHECK .*?CMD (\[.*?\])$", dockerfile, re.MULTILINE | re.DOTALL)
    assert found is not None
    command: list[str] = json.loads(found.group(1))
    assert command[0] == "python"
    return [sys.executable, *command[1:]]


async def test_the_images_healthcheck_passes_while_the_bot_runs_and_fails_once_it_stopped(
    tg: FakeBotApi, start_bot: BotStarter, port: int
) -> None:
    async def healthcheck() -> int:
        env = {**os.environ, "PEERBOT_HTTP_PORT": str(port)}
        process = await asyncio.create_subprocess_exec(
            *_image_healthcheck(),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        return await process.wait()

    runtime = await start_bot(PEERBOT_HTTP_PORT=port)  # listening on 0.0.0.0, as in the image
    assert await healthcheck() == 0
    await runtime.stop()
    assert await healthcheck() != 0


async def test_a_port_in_use_stops_the_bot_with_one_line_naming_the_variable(
    tg: FakeBotApi, start_bot: BotStarter, port: int
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(FatalError) as stopped:
            await start_bot(PEERBOT_HTTP_PORT=port, PEERBOT_HTTP_LISTEN="127.0.0.1")
    assert str(stopped.value) == (
        f"PEERBOT_HTTP_PORT: cannot listen on 127.0.0.1:{port} (address already in use)"
    )


async def test_without_a_port_nothing_is_served_and_aiohttp_server_is_not_needed(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    runtime = await start_bot()
    assert runtime.health is None
