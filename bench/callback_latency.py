"""How long a member waits for a button press to be answered (the spinner to stop), with the
whole bot running against the fake Telegram and its flood limits on.

    .venv/bin/python bench/callback_latency.py [--burst 500] [--background none|broadcast]
                                               [--members 10000] [--repeat 3] [--database URL]

`--burst N`: N updates arrive at once, a fifth of them (`--press-share`) button presses, each
from its own member, the rest text messages from other members (each asks for a reply, so the
send budget of ~30 messages a second is saturated for a while). `--background broadcast`:
meanwhile the dispatcher is sending one message to each of `--members` people, as during a
large announcement. Prints p50 / p99 / max of press-to-answer time for each repeat, the runs'
min / median / max, and how many presses were never answered. Target: p99 <= 1 s.

The fake Telegram runs in the bot's own process and event loop, so its work is counted too;
for comparison each run also times the same number of presses answered by a bare PTB `Bot`
against the same fake with nothing else going on (the harness's floor).
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

from bench.delivery import TOKEN, _prepare, _runtime
from bench.throughput import scratch_database
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

FIRST_PRESSER = 7_000_000
FIRST_WRITER = 7_500_000


async def bare_floor(presses: int) -> float:
    """Seconds for a bare PTB Bot to answer `presses` presses at once against the fake."""
    from telegram import Bot
    from telegram.request import HTTPXRequest

    async with FakeBotApi(TOKEN, load_spec()) as server:
        bot = Bot(TOKEN, base_url=f"{server.root_url}/bot",
                  request=HTTPXRequest(connection_pool_size=64))  # fmt: skip
        await bot.initialize()
        ids = []
        for i in range(presses):
            person = server.user(f"B{i}")
            message = {"message_id": 1, "date": int(time.time()),
                       "chat": server.chats[person.id].as_dict(), "text": "x"}  # fmt: skip
            ids.append(server.user_press(person, message, "x")["callback_query"]["id"])
        started = time.monotonic()
        await asyncio.gather(*(bot.answer_callback_query(q) for q in ids))
        took = time.monotonic() - started
        await bot.shutdown()
        return took


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_run(
    burst: int,
    presses: int,
    order: str,
    background: str,
    members: int,
    database_url: str | None,
) -> Any:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(database_url, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as server,
        ):
            db, key = await _prepare(
                server, url, members if background == "broadcast" else 0,
                queue=background == "broadcast",
            )  # fmt: skip
            runtime = _runtime(server, url, key)
            await runtime.start()
            if background == "broadcast":
                # Let the announcement get going: the dispatcher is sending flat out.
                await server.wait_for(
                    lambda: sum(r.method == "sendMessage" for r in server.requests) > 60,
                    timeout=30,
                )
            pressed: dict[str, float] = {}
            writers = burst - presses
            # Presses spread through the burst (`mixed`), or all behind the messages (`last`).
            press_at = (
                {round(k * burst / presses) for k in range(presses)}
                if order == "mixed"
                else set(range(writers, burst))
            )
            w = p = 0
            for slot in range(burst):
                if slot not in press_at or p >= presses:
                    writer = server.user(f"W{w}", user_id=FIRST_WRITER + w)
                    writer.send("hello, is anyone there?")
                    w += 1
                    continue
                person = server.user(f"P{p}", user_id=FIRST_PRESSER + p)
                server.mark_started(person)
                # "Language" on an earlier /settings message: a real button, handled in the
                # presser's chat (who has not finished onboarding: told so in a message).
                message = {
                    "message_id": 1,
                    "date": int(time.time()) - 60,
                    "chat": server.chats[person.id].as_dict(),
                    "from": {"id": 1, "is_bot": True, "first_name": "peerbot"},
                    "text": "Your settings",
                }
                update = server.user_press(person, message, "set:lang")
                pressed[update["callback_query"]["id"]] = time.monotonic()
                p += 1
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                answered = {
                    str(r.params.get("callback_query_id"))
                    for r in server.requests
                    if r.method == "answerCallbackQuery"
                }
                if answered >= set(pressed):
                    break
                await asyncio.sleep(0.1)
            answers = {
                str(r.params.get("callback_query_id")): r.at
                for r in server.requests
                if r.method == "answerCallbackQuery" and r.status == 200
            }
            waits = [answers[q] - t for q, t in pressed.items() if q in answers]
            await runtime.stop()
            await db.dispose()
            return waits, len(pressed) - len(waits)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--press-share", type=float, default=0.2)
    parser.add_argument("--order", choices=("mixed", "last"), default="mixed")
    parser.add_argument("--background", choices=("none", "broadcast"), default="none")
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    db = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    presses = max(1, round(args.burst * args.press_share))
    print(
        f"{db}; burst of {args.burst} updates ({presses} presses, {args.order}); background: "
        f"{args.background}"
        + (f" to {args.members} members" if args.background == "broadcast" else "")
        + f"; load average {os.getloadavg()[0]:.2f}"
    )
    p50s, p99s, maxes = [], [], []
    for run in range(args.repeat):
        waits, unanswered = await one_run(
            args.burst, presses, args.order, args.background, args.members, args.database
        )
        floor = await bare_floor(presses)
        p50, p99, top = _quantile(waits, 0.5), _quantile(waits, 0.99), max(waits)
        p50s.append(p50)
        p99s.append(p99)
        maxes.append(top)
        print(
            f"  run {run + 1}: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, "
            f"max {top * 1000:.0f} ms, unanswered {unanswered}; bare PTB answering "
            f"{presses} presses at once, nothing else running: {floor * 1000:.0f} ms"
        )

    def spread(values: list[float]) -> str:
        ms = [v * 1000 for v in values]
        return f"min {min(ms):.0f} / median {statistics.median(ms):.0f} / max {max(ms):.0f} ms"

    print(f"  p50 over runs: {spread(p50s)}")
    print(f"  p99 over runs: {spread(p99s)}  (target: p99 <= 1000 ms)")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
