"""Outbox delivery through the fake Telegram with its flood limits enforced.

    .venv/bin/python bench/delivery.py rate  [--members 10000] [--database URL]
    .venv/bin/python bench/delivery.py crash [--members 1000]  [--database URL] [--seed N]
    .venv/bin/python bench/delivery.py broadcast [--members 10000] [--database URL]

`rate`: one message to each member; prints the achieved rate as a fraction of Telegram's
30 messages per second (target >= 0.95) and how many 429s the fake server had to give (target 0).

`crash`: the same send, with the bot process killed (like `kill -9`) right after Telegram
confirmed a random message, then restarted. Prints resends to members who already had their
message (target 0), ambiguous in-flight sends (target <= 30, reported) and losses (target 0).

`broadcast`: a facilitator announces to a group of `members` through the whole bot, as a person
would (/broadcast, the text, Send), with the status message updating as it goes. Prints the
rate of the announcement's deliveries as a fraction of 30/s (target >= 0.95) and the 429s
(target 0), and what the status message said at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import scratch_database
from bot.core.outgoing import OutgoingMessage
from bot.runtime import BotRuntime
from bot.settings import Settings
from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.uow import Database
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

TOKEN = "123456789:AAFakeTokenForBenchmarks_abcdefghijk"
FIRST_ID = 8_000_000


async def _queue(db: Database, members: int) -> None:
    async with db.uow() as uow:
        for i in range(members):
            await uow.outbox.enqueue(
                key=f"bench:{i}",
                kind="announcement",
                chat_id=FIRST_ID + i,
                payload=OutgoingMessage(f"Hello member {i}").to_json(),
            )
            if i % 1000 == 999:
                await uow.session.flush()
        await uow.commit()


def _people(server: FakeBotApi, members: int) -> None:
    for i in range(members):
        server.mark_started(server.user(f"M{i}", user_id=FIRST_ID + i))


async def _settled(db: Database) -> dict[str, int]:
    while True:
        async with db.uow(read_only=True) as uow:
            counts = await uow.outbox.counts()
        if not counts.get("pending") and not counts.get("sending"):
            return counts
        await asyncio.sleep(0.5)


async def _prepare(
    server: FakeBotApi, url: str, members: int, *, queue: bool = True
) -> tuple[Database, str]:
    """Telegram's limits on, `members` people who opened the bot, (one message each queued)."""
    server.enforce_flood_limits(True)
    _people(server, members)
    key = generate_key()
    install_keyring(key)
    db = Database.connect(url)
    await upgrade_to_head(db.engine)
    if queue:
        await _queue(db, members)
    return db, key


def _runtime(server: FakeBotApi, url: str, key: str) -> BotRuntime:
    """The bot as production builds it, pointed at the fake Telegram."""
    return BotRuntime(
        Settings.from_env(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": server.root_url,
                "DATABASE_URL": url,
                "PEERBOT_SECRET_KEY": key,
                "PEERBOT_COORDINATORS": "900001",  # an alert route is required
            }
        )
    )


async def rate(members: int, database_url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(database_url, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as server,
        ):
            db, key = await _prepare(server, url, members)
            runtime = _runtime(server, url, key)
            started = time.perf_counter()
            await runtime.start()
            counts = await _settled(db)
            await runtime.stop()
            await db.dispose()
            sends = [r.at for r in server.requests if r.method == "sendMessage" and r.status == 200]
            span = sends[-1] - sends[0]
            achieved = (len(sends) - 1) / span if span > 0 else float("nan")
            print(f"members: {members}, sent: {counts.get('sent', 0)}, statuses: {counts}")
            print(f"wall time: {time.perf_counter() - started:.1f} s")
            print(f"achieved rate: {achieved:.2f} msg/s = {achieved / 30:.3f} of 30/s")
            print(f"429s from the fake Telegram: {len(server.flood_429s)}")


async def crash(members: int, database_url: str | None, seed: int | None) -> None:
    rng = random.Random(seed)
    kill_at = rng.randint(members // 4, 3 * members // 4)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(database_url, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as server,
        ):
            db, key = await _prepare(server, url, members)
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": server.root_url,
                "DATABASE_URL": url,
                "PEERBOT_SECRET_KEY": key,
                "PEERBOT_COORDINATORS": "900001",  # an alert route is required
            }

            async def run(failpoints: str) -> asyncio.subprocess.Process:
                return await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "bot", "run", cwd=tmp,
                    env={**env, "PEERBOT_FAILPOINTS": failpoints},
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                )  # fmt: skip

            first = await run(f"delivery.sent@{kill_at}")
            code = await first.wait()
            confirmed_before = {
                int(r.params["chat_id"])
                for r in server.requests
                if r.method == "sendMessage" and r.status == 200
            }
            second = await run("")
            counts = await _settled(db)
            second.terminate()
            await second.wait()
            await db.dispose()
            received: dict[int, int] = {}
            for r in server.requests:
                if r.method == "sendMessage" and r.status == 200:
                    chat = int(r.params["chat_id"])
                    received[chat] = received.get(chat, 0) + 1
            resent = sum(1 for chat in confirmed_before if received.get(chat, 0) > 1)
            ambiguous = counts.get("ambiguous", 0)
            missing = [FIRST_ID + i for i in range(members) if FIRST_ID + i not in received]
            lost = max(0, len(missing) - ambiguous)
            print(f"members: {members}; killed (exit {code}) after confirmed send #{kill_at}")
            print(f"statuses after restart: {counts}")
            print(f"resends to members Telegram had confirmed: {resent} (target 0)")
            print(f"ambiguous in-flight sends, recorded: {ambiguous} (target <= 30)")
            print(f"  of which never reached the member: {len(missing)}")
            print(f"lost (neither delivered nor recorded): {lost} (target 0)")
            print(f"429s from the fake Telegram: {len(server.flood_429s)}")


async def _seed_group(db: Database, facilitator_id: int, members: int) -> None:
    """A group with its facilitator and `members` members who joined earlier."""
    from datetime import UTC, datetime

    from bot.core.consent import CONSENT_VERSION
    from bot.storage.models import Member, Membership, PeerGroup

    def person(telegram_id: int, name: str, facilitates: bool = False) -> Member:
        return Member(telegram_id=telegram_id, display_name=name, timezone="UTC", step="done",
                      consent_version=CONSENT_VERSION, consent_at=datetime.now(UTC),
                      can_facilitate=facilitates)  # fmt: skip

    async with db.uow() as uow:
        group = await uow.groups.add(PeerGroup(name="Circle", invite_code="bench-circle-code"))
        fay = await uow.members.add(person(facilitator_id, "Fay", facilitates=True))
        assert group.id is not None and fay.id is not None
        uow.session.add(Membership(group_id=group.id, member_id=fay.id, role="facilitator"))
        crowd = [person(FIRST_ID + i, f"M{i}") for i in range(members)]
        uow.session.add_all(crowd)
        await uow.session.flush()
        uow.session.add_all(Membership(group_id=group.id, member_id=m.id or 0) for m in crowd)
        await uow.commit()


async def broadcast(members: int, database_url: str | None) -> None:
    from tests.tgfake.people import Person

    facilitator_id = 7_000_001
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(database_url, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as server,
        ):
            db, key = await _prepare(server, url, members, queue=False)
            await _seed_group(db, facilitator_id, members)
            fay = Person(server, server.user("Fay", user_id=facilitator_id))
            runtime = _runtime(server, url, key)
            await runtime.start()
            await fay.says("/broadcast")
            await fay.sees("Write the announcement")
            await fay.says("The Thursday meeting moves to the library, room 2, from next week.")
            await fay.presses(f"Send to {members}")
            started = time.perf_counter()
            done = await fay.sees("has been sent", timeout=members / 20 + 60)
            wall = time.perf_counter() - started
            await runtime.stop()
            await db.dispose()
            sends = [
                r.at for r in server.requests
                if r.method == "sendMessage" and r.status == 200
                and int(r.params["chat_id"]) >= FIRST_ID
            ]  # fmt: skip
            span = sends[-1] - sends[0]
            achieved = (len(sends) - 1) / span if span > 0 else float("nan")
            edits = sum(1 for r in server.requests if r.method == "editMessageText")
            print(f"members: {members}, delivered: {len(sends)}, wall time: {wall:.1f} s")
            print(f"achieved rate: {achieved:.2f} msg/s = {achieved / 30:.3f} of 30/s")
            to_members = [r for r in server.flood_429s if int(r.params["chat_id"]) >= FIRST_ID]
            print(f"429s on the announcement's deliveries: {len(to_members)}")
            print(
                f"429s on replies to the facilitator (retried by the limiter): "
                f"{len(server.flood_429s) - len(to_members)} "
                f"({', '.join(sorted({r.method for r in server.flood_429s})) or '-'})"
            )
            print(f"status message edits: {edits}; it said at the end:")
            print("  " + done.replace("\n", "\n  "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["rate", "crash", "broadcast"])
    parser.add_argument("--members", type=int, default=None)
    parser.add_argument("--database", default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.mode == "rate":
        asyncio.run(rate(args.members or 10_000, args.database))
    elif args.mode == "broadcast":
        asyncio.run(broadcast(args.members or 10_000, args.database))
    else:
        asyncio.run(crash(args.members or 1_000, args.database, args.seed))


if __name__ == "__main__":
    main()
