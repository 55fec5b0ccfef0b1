"""Start-up time and idle memory of `peerbot run` against a bare python-telegram-bot bot, side by
side on the same machine, both polling the fake Telegram Bot API started here.

    .venv/bin/python bench/startup.py [--runs 5] [--idle 3]

A third bot, "stack", is the bare one plus SQLModel on SQLAlchemy's async engine with one
table: the floor the project's fixed choices set. Each run starts a process and measures the
time from starting it (this process's clock) to its first `getUpdates` request arriving at the
fake, then its resident memory (VmRSS) `--idle` seconds later. Runs alternate between the
bots. peerbot's first run is on an empty SQLite file (it applies the migrations; with `--cold`
it also builds the crisis screener it keeps on disk); it is shown on its own, and the figures
that count are the restarts on the migrated database after it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web

from bot.core import screening_cache
from bot.storage.crypto import generate_key
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

TOKEN = "123456789:AAFakeTokenForBenchmarks_abcdefghijk"
COORDINATOR = 900_001

# The smallest useful python-telegram-bot bot: one command handler, long polling.
BARE_BOT = """
import os
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text("hello")

root = os.environ["TELEGRAM_API_URL"]
app = (
    Application.builder()
    .token(os.environ["TELEGRAM_BOT_TOKEN"])
    .base_url(f"{root}/bot")
    .base_file_url(f"{root}/file/bot")
    .build()
)
app.add_handler(CommandHandler("start", start))
app.run_polling()
"""

# The floor the project's fixed choices set: the same bot, plus SQLModel on SQLAlchemy's async
# engine (aiosqlite) with one table opened before polling. What peerbot adds beyond this is its
# own doing; what this adds to the bare bot comes with the stack.
STACK_BOT = BARE_BOT.replace(
    "app.add_handler(",
    """
import asyncio
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel

class Note(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    text: str

async def open_database() -> None:
    engine = create_async_engine(os.environ["DATABASE_URL"].replace("sqlite:", "sqlite+aiosqlite:"))
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all)
    await engine.dispose()

asyncio.run(open_database())
app.add_handler(""",
    1,
)


class TimedFake(FakeBotApi):
    """The fake, noting when each request arrives (not when it is answered: a `getUpdates`
    is answered only when its long poll ends)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived: list[tuple[str, float]] = []
        self.polled = asyncio.Event()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        self.arrived.append((method, time.monotonic()))
        if method == "getUpdates":
            self.polled.set()
        return await super()._handle(request)

    def first(self, method: str, since: float) -> float | None:
        return next((at for m, at in self.arrived if m == method and at >= since), None)


@dataclass
class Run:
    bot: str
    started: float  # seconds from the process's start to its first getUpdates
    rss_mib: float  # resident memory, `--idle` seconds after that


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


async def measure(
    name: str, command: list[str], env: dict[str, str], fake: TimedFake, idle: float, cwd: Path
) -> Run:
    log = cwd / f"{name.replace(' ', '-')}.log"
    fake.polled.clear()
    with log.open("wb") as errors:
        began = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=errors
        )
    try:
        async with asyncio.timeout(120):
            await fake.polled.wait()
        polled = fake.first("getUpdates", began)
        assert polled is not None
        await asyncio.sleep(idle)
        memory = rss_mib(proc.pid)  # (raises if it is gone)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            code = await proc.wait()
    except BaseException:
        proc.kill()
        await proc.wait()
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise
    if code not in (0, -signal.SIGTERM):
        print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
        raise RuntimeError(f"{name} exited with {code}")
    return Run(name, polled - began, memory)


def spread(values: list[float], unit: str, digits: int) -> str:
    low, middle, high = min(values), statistics.median(values), max(values)
    return f"min {low:.{digits}f} / median {middle:.{digits}f} / max {high:.{digits}f} {unit}"


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each bot (alternating)")
    parser.add_argument("--idle", type=float, default=3.0, help="seconds before reading RSS")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="delete the kept screener first: the first start builds it",
    )
    args = parser.parse_args()
    print(f"load average before: {load()}  ({os.cpu_count()} CPUs)")
    python = sys.executable
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        fake = TimedFake(TOKEN, load_spec())
        async with fake:
            fake.mark_started(fake.user("Cora", user_id=COORDINATOR))
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": fake.root_url,
                "DATABASE_URL": f"sqlite:///{work / 'peerbot.db'}",
                "PEERBOT_SECRET_KEY": generate_key(),
                "PEERBOT_COORDINATORS": str(COORDINATOR),
            }
            bare = [python, "-c", BARE_BOT]
            stack = [python, "-c", STACK_BOT]
            peerbot = [python, "-m", "bot", "run"]
            kept = [
                path
                for directory in screening_cache.cache_dirs()
                for path in directory.glob(f"{screening_cache.PREFIX}*{screening_cache.SUFFIX}")
            ]
            if args.cold:
                for path in kept:
                    path.unlink()
            screener = "kept screener loaded" if kept and not args.cold else "screener built"
            first = await measure("peerbot", peerbot, env, fake, args.idle, work)
            print(
                f"peerbot, empty database (migrations, first start; {screener}): start-up "
                f"{first.started:.3f} s, idle RSS {first.rss_mib:.1f} MiB"
            )
            for i in range(args.runs):
                for name, command in (("bare PTB", bare), ("stack", stack), ("peerbot", peerbot)):
                    run = await measure(name, command, env, fake, args.idle, work)
                    runs.append(run)
                    print(
                        f"run {i + 1} {name:<8} start-up {run.started:.3f} s, "
                        f"idle RSS {run.rss_mib:.1f} MiB"
                    )
    print("\nto first getUpdates (peerbot on the migrated database):")
    figures: dict[str, tuple[float, float]] = {}
    for name in ("bare PTB", "stack", "peerbot"):
        times = [r.started for r in runs if r.bot == name]
        memory = [r.rss_mib for r in runs if r.bot == name]
        figures[name] = (statistics.median(times), statistics.median(memory))
        print(f"  {name:<8} start-up {spread(times, 's', 3)}")
        print(f"  {name:<8} idle RSS {spread(memory, 'MiB', 1)}")
    (bare_time, bare_rss), (bot_time, bot_rss) = figures["bare PTB"], figures["peerbot"]
    print(f"start-up ratio (medians): {bot_time / bare_time:.2f}x  (target <= 1.5x)")
    print(f"idle RSS ratio (medians): {bot_rss / bare_rss:.2f}x  (target <= 1.6x)")
    stack_time, stack_rss = figures["stack"]
    print(
        f"the stack alone (PTB + SQLModel/SQLAlchemy async, one table): start-up "
        f"{stack_time / bare_time:.2f}x, idle RSS {stack_rss / bare_rss:.2f}x of bare PTB; "
        f"peerbot is {bot_time / stack_time:.2f}x and {bot_rss / stack_rss:.2f}x of that"
    )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    asyncio.run(main())
