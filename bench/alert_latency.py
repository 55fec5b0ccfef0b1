"""Time from a member's crisis message reaching Telegram to the coordinators' alert being sent,
and from an ordinary message to its reply, with the full bot running against the fake Telegram
(its flood limits on) — alone, or while bulk work runs in the background.

    .venv/bin/python bench/alert_latency.py [--messages 20] [--database URL]
        [--background none|reminder|broadcast] [--members 10000]

`--background reminder`: a meeting of a `--members` group has its reminder due as the bot
starts (the tick queues one reminder per member). `--background broadcast`: its facilitator
sends an announcement to the whole group just before the messages start. Messages go one at a
time, 1.1 s apart (Telegram lets the bot write about once a second into the coordinator's
chat). Prints p50 / p95 / max of both latencies. Targets: alert p95 <= 1 s, reply p95 <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.delivery import FIRST_ID, TOKEN, _prepare, _seed_group
from bench.throughput import scratch_database
from bot.runtime import BotRuntime
from bot.settings import Settings
from bot.storage.models import PeerGroup
from bot.storage.uow import Database
from tests.seeding import weekly_meeting_due_now
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

COORDINATOR = 900_001
FACILITATOR = 7_000_001
CRISIS_FROM = 6_000_000
CHATTER_FROM = 6_500_000


def _sent_to(server: FakeBotApi, chat_id: int, start: int, marker: str | None = None) -> Any:
    for r in server.requests[start:]:
        if (
            r.method == "sendMessage"
            and r.status == 200
            and r.params.get("chat_id") == chat_id
            and (marker is None or marker in str(r.params.get("text")))
        ):
            return r
    return None


async def _due_meeting(db: Database) -> None:
    """A weekly meeting of the group, starting in an hour: its 1-hour reminder is due now."""
    async with db.uow() as uow:
        group = (await uow.groups.all())[0]
        assert isinstance(group, PeerGroup) and group.id is not None
        uow.session.add(weekly_meeting_due_now(group.id, "Thursday circle"))
        await uow.commit()


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[max(0, int(len(ordered) * 0.95 + 0.5) - 1)]
    return statistics.median(ordered), p95, ordered[-1]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--database", default=None)
    parser.add_argument("--background", choices=("none", "reminder", "broadcast"), default="none")
    parser.add_argument("--members", type=int, default=10_000)
    args = parser.parse_args()
    members = args.members if args.background != "none" else 0
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(args.database, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as server,
        ):
            db, key = await _prepare(server, url, members, queue=False)
            server.mark_started(server.user("Cora", user_id=COORDINATOR))
            if members:
                await _seed_group(db, FACILITATOR, members)
            if args.background == "reminder":
                await _due_meeting(db)
            runtime = BotRuntime(
                Settings.from_env({
                    "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": server.root_url,
                    "DATABASE_URL": url, "PEERBOT_SECRET_KEY": key,
                    "PEERBOT_COORDINATORS": str(COORDINATOR),
                })
            )  # fmt: skip
            await runtime.start()
            # The dispatcher waits out the previous process's rate window (1 s) at start.
            await asyncio.sleep(1.5)
            if args.background == "broadcast":
                fay = Person(server, server.user("Fay", user_id=FACILITATOR))
                await fay.says("/broadcast")
                await fay.sees("Write the announcement")
                await fay.says("The Thursday meeting moves to the library, room 2.")
                await fay.presses(f"Send to {members}")
            alerts: list[float] = []
            replies: list[float] = []
            for i in range(args.messages):
                sent_before = len(server.requests)
                chatter = server.user(f"C{i}", user_id=CHATTER_FROM + i)
                member = server.user(f"M{i}", user_id=CRISIS_FROM + i)
                chatter.send("hello, is this the group bot?")
                chatted = time.monotonic()
                member.send(f"i want to kill myself tonight ({i})")
                wrote = time.monotonic()
                marker = f"({i})"
                alert = await server.wait_for(
                    lambda start=sent_before, m=marker: _sent_to(server, COORDINATOR, start, m),
                    timeout=120,
                )
                reply = await server.wait_for(
                    lambda start=sent_before, c=chatter.id: _sent_to(server, c, start),
                    timeout=120,
                )
                alerts.append(alert.at - wrote)
                replies.append(reply.at - chatted)
                # Telegram takes about one message a second into the coordinator's chat.
                await asyncio.sleep(max(0.0, 1.1 - (time.monotonic() - alert.at)))
            background_sent = sum(
                1 for r in server.requests
                if r.method == "sendMessage" and r.status == 200
                and FIRST_ID <= int(r.params["chat_id"]) < FIRST_ID + max(members, 1)
            )  # fmt: skip
            await runtime.stop()
            await db.dispose()
    name = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    print(
        f"{name}, {args.messages} crisis messages and {args.messages} ordinary ones, one at a "
        f"time; background: {args.background}"
        + (
            f" ({members} members; {background_sent} of its messages sent meanwhile)"
            if members
            else ""
        )
        + f"; load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}"
    )
    for label, values, target in (
        ("coordinator alert sent after the member wrote", alerts, 1000),
        ("reply to an ordinary message sent after it was written", replies, 2000),
    ):
        p50, p95, top = _quantiles(values)
        print(f"  {label}:")
        print(
            f"    p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {top * 1000:.0f} ms "
            f"(target: p95 <= {target} ms)"
        )


if __name__ == "__main__":
    asyncio.run(main())
