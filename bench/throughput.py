"""Update throughput of the full bot versus a bare python-telegram-bot echo bot.

Both run in this process against the project's fake Bot API server over real HTTP. Onboarded
members each send a few messages at once; we time from the moment the updates are queued at
the fake server until every reply has arrived, and print updates per second for both bots and
their ratio.

    .venv/bin/python bench/throughput.py [--members 200] [--messages 5] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.core.consent import CONSENT_VERSION
from bot.runtime import BotRuntime
from bot.settings import Settings
from bot.storage.crypto import generate_key
from bot.storage.models import Member
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

TOKEN = "123456789:AAFakeTokenForBenchmarks_abcdefghijk"


async def _replies_to(server: FakeBotApi, user_ids: set[int], expected: int) -> None:
    def done() -> bool:
        count = 0
        for request in server.requests:
            if request.method == "sendMessage" and request.status == 200:
                chat = request.params.get("chat_id")
                if chat in user_ids or str(chat) in {str(u) for u in user_ids}:
                    count += 1
        return count >= expected

    await server.wait_for(done, timeout=600)


async def _drive(server: FakeBotApi, members: int, messages: int) -> tuple[float, int]:
    """Queue `messages` texts from each member; return (seconds until all answered, count)."""
    users = [server.user(f"Member{i}", user_id=5_000_000 + i) for i in range(members)]
    ids = {u.id for u in users}
    start = time.perf_counter()
    for round_ in range(messages):
        for user in users:
            user.send(f"hello number {round_}")
    total = members * messages
    await _replies_to(server, ids, total)
    return time.perf_counter() - start, total


async def bench_echo(members: int, messages: int) -> float:
    async with FakeBotApi(token=TOKEN, spec=load_spec()) as server:
        app = ApplicationBuilder().token(TOKEN).base_url(f"{server.root_url}/bot").build()

        async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            assert update.effective_message is not None
            await update.effective_message.reply_text(update.effective_message.text or "")

        app.add_handler(MessageHandler(filters.TEXT, echo))
        await app.initialize()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0.0, timeout=1)
        await app.start()
        try:
            seconds, total = await _drive(server, members, messages)
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
        assert not server.violations, server.violations
        return total / seconds


async def bench_peerbot(
    members: int, messages: int, database_url: str | None, rate_limit: bool
) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(database_url, Path(tmp)) as url,
            FakeBotApi(token=TOKEN, spec=load_spec()) as server,
        ):
            settings = Settings.from_env(
                {
                    "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": server.root_url,
                    "DATABASE_URL": url,
                    "PEERBOT_SECRET_KEY": generate_key(),
                    "PEERBOT_COORDINATORS": "900001",  # an alert route is required
                    "PEERBOT_REPLY_RATE_LIMIT": "on" if rate_limit else "off",
                }
            )
            runtime = BotRuntime(settings)
            await runtime.start()
            try:
                db = runtime.application.bot_data.database
                assert db is not None
                async with db.uow() as uow:
                    for i in range(members):
                        await uow.members.add(
                            Member(
                                telegram_id=5_000_000 + i,
                                display_name=f"Member {i}",
                                timezone="Europe/London",
                                step="done",
                                consent_version=CONSENT_VERSION,
                            )
                        )
                    await uow.commit()
                seconds, total = await _drive(server, members, messages)
            finally:
                await runtime.stop()
            assert not server.violations, server.violations
            return total / seconds


@contextlib.asynccontextmanager
async def scratch_database(url: str | None, tmp: Path) -> AsyncIterator[str]:
    """A throw-away database: a SQLite file, or a new PostgreSQL database next to `url`."""
    if url is None or not url.startswith("postgres"):
        yield url or f"sqlite:///{tmp / 'bench.db'}"
        return
    import asyncpg

    name = f"peerbot_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{url.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument(
        "--database",
        default=None,
        help="default: a temporary SQLite file; a postgresql:// URL: a scratch database there",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)

    n = args.members * args.messages
    print(f"{args.members} members x {args.messages} messages = {n} updates per bot")
    echo = await bench_echo(args.members, args.messages)
    print(f"bare PTB echo bot (no rate limit):  {echo:8.1f} updates/s")
    db = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    full = await bench_peerbot(args.members, args.messages, args.database, rate_limit=False)
    print(f"peerbot, {db}, no reply rate limit: {full:8.1f} updates/s")
    print(f"ratio peerbot/echo:                 {full / echo:8.2f}")
    limited = await bench_peerbot(args.members, args.messages, args.database, rate_limit=True)
    print(
        f"peerbot, {db}, production settings (PTB rate limiter, ~30 replies/s): "
        f"{limited:8.1f} updates/s"
    )


if __name__ == "__main__":
    asyncio.run(main())
