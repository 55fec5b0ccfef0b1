"""Do the hot paths slow down as delivery records and handled updates pile up? Each path is
timed on an empty database and on one holding `--rows` settled outbox rows and as many handled
inbound rows, side by side in one run.

    .venv/bin/python bench/outbox_size.py [--rows 100000] [--repeat 200] [--database URL]

Paths: the dispatcher's claim of due rows, the earliest due row, a broadcast's progress
count, finding an escalation's alert rows, one reminder tick (10 meetings due), and storing
then finishing one incoming update. Prints the median of each and the ratio (target <= 1.2).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, update

from bench.throughput import scratch_database
from bot.locales import catalogue
from bot.services.intake import IntakeService, StoredUpdate
from bot.services.reminders import ReminderService
from bot.services.safety import alert_batch
from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Inbound, Meeting, Outbox, PeerGroup
from bot.storage.uow import Database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def _fill(db: Database, rows: int) -> None:
    """`rows` settled deliveries (a few of them an escalation's alerts) and handled updates."""
    payload = '{"text": "Reminder: Thursday circle at 19:00"}'
    chunk = 5000
    for start in range(0, rows, chunk):
        keyed = [
            (f"old:{i}", 1_000_000 + i, payload) for i in range(start, min(rows, start + chunk))
        ]
        await db.enqueue_in_chunks(keyed, kind="reminder", priority=5, batch=None)
        async with db.uow() as uow:
            await uow.inbound.store(
                [(10_000_000 + i, i, "{}") for i in range(start, start + chunk)]
            )
            await uow.commit()
    async with db.uow() as uow:
        await uow.session.execute(
            update(Outbox).values(status="sent", created_at=NOW - timedelta(days=3))
        )
        await uow.session.execute(update(Inbound).values(status="done", payload=None))
        await uow.commit()
    if db.engine.dialect.name == "postgresql":
        # Rows settle one by one in real life and autovacuum keeps up; one bulk UPDATE leaves
        # 100,000 dead row versions and stale statistics that no running bot would have.
        async with db.engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.exec_driver_sql("VACUUM ANALYZE outbox")
            await conn.exec_driver_sql("VACUUM ANALYZE inbound")


async def _scene(db: Database) -> None:
    """What every timed path looks at: 20 due rows, a broadcast, alerts of escalation 7, and
    10 meetings with a reminder due."""
    await db.enqueue_in_chunks(
        [(f"due:{i}", 2_000_000 + i, "{}") for i in range(20)], kind="notice", priority=5
    )
    await db.enqueue_in_chunks(
        [(f"bc:9:{i}", 3_000_000 + i, "{}") for i in range(50)], kind="broadcast", priority=6,
        batch="bc:9",
    )  # fmt: skip
    await db.enqueue_in_chunks(
        [(f"esc:7:alert:0:{i}", 900_000 + i, "{}") for i in range(3)], kind="alert", priority=0,
        batch=alert_batch(7),
    )  # fmt: skip
    async with db.uow() as uow:
        group = await uow.groups.add(PeerGroup(name="G", invite_code="bench-size-code"))
        assert group.id is not None
        for i in range(10):
            start = NOW + timedelta(hours=1)
            uow.session.add(
                Meeting(
                    group_id=group.id, title=f"M{i}", timezone="UTC", repeat="weekly",
                    first_local=start.replace(tzinfo=None).isoformat(timespec="minutes"),
                    next_reminder_at=NOW, next_reminder_occurrence=start,
                    next_reminder_offset_minutes=60,
                )
            )  # fmt: skip
        await uow.commit()


Timed = Callable[[], Awaitable[object]]


async def _database(url: str, rows: int) -> Database:
    db = Database.connect(url)
    await upgrade_to_head(db.engine)
    if rows:
        await _fill(db, rows)
    await _scene(db)
    return db


async def _paths(db: Database) -> dict[str, Timed]:
    intake = IntakeService(db)
    reminders = ReminderService(db, catalogue())
    next_id = iter(range(50_000_000, 60_000_000))

    async def claim() -> None:
        async with db.uow() as uow:  # rolled back: the same rows every time
            await uow.outbox.claim(10, NOW + timedelta(days=1))

    async def next_due() -> None:
        async with db.uow(read_only=True) as uow:
            await uow.outbox.next_due()

    async def progress() -> None:
        async with db.uow(read_only=True) as uow:
            await uow.outbox.counts(batch="bc:9")

    async def alerts() -> None:
        async with db.uow(read_only=True) as uow:
            stmt = select(Outbox).where(Outbox.batch == alert_batch(7))  # type: ignore[arg-type]
            list((await uow.session.execute(stmt)).scalars())

    async def tick() -> None:
        async with db.uow() as uow:
            await uow.session.execute(
                update(Meeting).values(
                    next_reminder_at=NOW,
                    next_reminder_occurrence=NOW + timedelta(hours=1),
                    next_reminder_offset_minutes=60,
                )
            )
            await uow.commit()
        await reminders.tick(NOW)

    async def one_update() -> None:
        update_id = next(next_id)
        await intake.store([StoredUpdate(update_id, 5, '{"update_id": 1}', "message")])
        await intake.finish(update_id)

    return {
        "claim 10 due rows": claim,
        "earliest due row": next_due,
        "broadcast progress": progress,
        "an escalation's alerts": alerts,
        "reminder tick, 10 due": tick,
        "store + finish an update": one_update,
    }


async def _sample(fn: Timed) -> float:
    started = time.perf_counter()
    await fn()
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    install_keyring(generate_key())
    name = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    print(f"{name}; {args.rows} settled outbox rows and handled updates vs none; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_empty, tempfile.TemporaryDirectory() as tmp_full:
        async with (
            scratch_database(args.database, Path(tmp_empty)) as empty_url,
            scratch_database(args.database, Path(tmp_full)) as full_url,
        ):
            empty_db = await _database(empty_url, 0)
            full_db = await _database(full_url, args.rows)
            empty, full = await _paths(empty_db), await _paths(full_db)
            for path in empty:
                # Alternate the two databases sample by sample: the machine's load hits both.
                small: list[float] = []
                large: list[float] = []
                count = args.repeat if "tick" not in path else max(5, args.repeat // 20)
                for _ in range(count):
                    small.append(await _sample(empty[path]))
                    large.append(await _sample(full[path]))
                a, b = statistics.median(small), statistics.median(large)
                print(f"  {path:<26} {a * 1000:8.3f} ms  {b * 1000:8.3f} ms  ratio {b / a:5.2f}")
            await empty_db.dispose()
            await full_db.dispose()
    print(f"  (target: ratio <= 1.2); load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
