"""Time from a member's crisis message reaching the bot to the coordinators' alert being sent,
with the full bot running against the fake Telegram. Prints p50, p95 and the maximum.

    .venv/bin/python bench/alert_latency.py [--messages 40] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import scratch_database
from bot.runtime import BotRuntime
from bot.settings import Settings
from bot.storage.crypto import generate_key
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

TOKEN = "123456789:AAFakeTokenForBenchmarks_abcdefghijk"
COORDINATOR = 900_001


def _fetches(server: FakeBotApi) -> list[float]:
    return [r.at for r in server.requests if r.method == "getUpdates" and r.response.get("result")]


def _alert(server: FakeBotApi, start: int, marker: str) -> Any:
    for r in server.requests[start:]:
        if (
            r.method == "sendMessage"
            and r.params.get("chat_id") == COORDINATOR
            and marker in str(r.params.get("text"))
        ):
            return r
    return None


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=30)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(args.database, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as server,
        ):
            server.mark_started(server.user("Cora", user_id=COORDINATOR))
            runtime = BotRuntime(
                Settings.from_env(
                    {
                        "TELEGRAM_BOT_TOKEN": TOKEN,
                        "TELEGRAM_API_URL": server.root_url,
                        "DATABASE_URL": url,
                        "PEERBOT_SECRET_KEY": generate_key(),
                        "PEERBOT_COORDINATORS": str(COORDINATOR),
                    }
                )
            )
            await runtime.start()
            # The dispatcher waits out the previous process's rate window (1 s) at start.
            await asyncio.sleep(1.5)
            latencies: list[float] = []
            for i in range(args.messages):
                member = server.user(f"M{i}")
                fetched_before = len(_fetches(server))
                sent_before = len(server.requests)
                member.send(f"i want to kill myself tonight ({i})")
                # The moment the bot fetched it: the getUpdates answer that carried it.
                await server.wait_for(lambda n=fetched_before: len(_fetches(server)) > n)
                received = _fetches(server)[fetched_before]
                marker = f"({i})"
                alert = await server.wait_for(
                    lambda start=sent_before, marker=marker: _alert(server, start, marker)
                )
                latencies.append(alert.at - received)
                # Telegram allows about one message a second into one chat (the coordinator's).
                await asyncio.sleep(1.1)
            await runtime.stop()
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    db = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    print(f"{db}, {len(latencies)} crisis messages, one at a time (different members)")
    p50 = statistics.median(latencies)
    print("  alert sent after the bot received the message:")
    print(f"  p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms")
    print("  (target: p95 <= 1000 ms)")


if __name__ == "__main__":
    asyncio.run(main())
