"""Each replica serves its own health and metrics, on its webhook port as the compose file
runs them: the leader and the standby are both ready, only one says it leads, and when the
leader dies the other says so."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.storage.migrate import upgrade_to_head
from tests.e2e.replica_story import Replica, Story
from tests.tgfake.server import FakeBotApi


class ObservedStory(Story):
    """The replica story's processes, with PEERBOT_HTTP_PORT on the webhook's port."""

    def environment(self, port: int) -> dict[str, str]:
        return {**super().environment(port), "PEERBOT_HTTP_PORT": str(port)}


async def _get(replica: Replica, path: str) -> tuple[int, str]:
    timeout = aiohttp.ClientTimeout(total=5)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"http://127.0.0.1:{replica.port}{path}") as response,
    ):
        return response.status, await response.text()


async def _ready(replica: Replica, *, leader: bool, timeout: float = 30.0) -> None:
    """Poll /readyz, as a load balancer does, until it is 200 with this leadership."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        status, body = await _get(replica, "/readyz")
        if status == 200 and json.loads(body) == {"ready": True, "leader": leader}:
            return
        assert asyncio.get_running_loop().time() < deadline, (status, body)
        await asyncio.sleep(0.2)


async def _gauge(replica: Replica, name: str, **labels: str) -> float:
    status, text = await _get(replica, "/metrics")
    assert status == 200
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    raise AssertionError(f"{name} not served")


@pytest.mark.slow
async def test_each_replica_serves_its_own_health_and_tells_whether_it_leads(
    tg: FakeBotApi, database_url: str, db_backend: str, tmp_path: Path
) -> None:
    if db_backend != "postgresql":
        pytest.skip("several replicas share PostgreSQL (SQLite is one process by design)")
    story = ObservedStory(tg, database_url, tmp_path)
    try:
        await story.proxy.start()
        await upgrade_to_head(story._db().engine)
        first = await story.spawn()
        await _ready(first, leader=True)
        second = await story.spawn()
        assert (await _get(second, "/healthz"))[0] == 200
        await _ready(second, leader=False)  # a standby that can store is ready
        assert await _gauge(first, "peerbot_leader") == 1
        assert await _gauge(second, "peerbot_leader") == 0

        ann = tg.person("Ann")
        await ann.says("/start")
        await ann.sees("Do you agree")
        await ann.says("/start")
        await ann.sees("Do you agree")
        received = [
            await _gauge(r, "peerbot_updates_received_total", kind="message")
            for r in (first, second)
        ]
        assert sum(received) == 2
        assert await _gauge(first, "peerbot_updates_handled_total") == 2
        assert await _gauge(second, "peerbot_updates_handled_total") == 0

        first.proc.send_signal(signal.SIGKILL)
        await first.proc.wait()
        await _ready(second, leader=True)
        assert await _gauge(second, "peerbot_leader") == 1
    finally:
        await story.close()
