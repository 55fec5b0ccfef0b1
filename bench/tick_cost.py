"""Cost of one reminder tick: 10,000 meetings of which 10 are due, against 10 of which 10 are
due. The tick reads an indexed `next_reminder_at`, so its cost should follow what is due, not
what exists (target: within 2x).

    .venv/bin/python bench/tick_cost.py [--meetings 10000] [--due 10] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, update

from bench.throughput import scratch_database
from bot.core import clock
from bot.core.consent import CONSENT_VERSION
from bot.locales import catalogue
from bot.services.reminders import ReminderService
from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Meeting, Member, Membership, Outbox, PeerGroup
from bot.storage.uow import Database

NOW = datetime.fromisoformat("2026-06-01T12:00:00+00:00")
REPEATS = 7


async def _populate(db: Database, meetings: int, due: int) -> list[int]:
    """`meetings` weekly meetings in one small group; `due` of them have a reminder due now."""
    async with db.uow() as uow:
        member = await uow.members.add(
            Member(
                telegram_id=1,
                display_name="M",
                timezone="UTC",
                step="done",
                consent_version=CONSENT_VERSION,
            )
        )
        group = await uow.groups.add(PeerGroup(name="G", invite_code="benchbenchbench1"))
        assert group.id is not None and member.id is not None
        await uow.memberships.add(Membership(group_id=group.id, member_id=member.id))
        due_ids: list[int] = []
        for i in range(meetings):
            is_due = i < due
            start = NOW + (timedelta(hours=1) if is_due else timedelta(days=3, minutes=i % 1000))
            meeting = Meeting(
                group_id=group.id,
                title=f"Meeting {i}",
                first_local=(start.replace(tzinfo=None)).isoformat(timespec="minutes"),
                timezone="UTC",
                repeat="weekly",
                next_reminder_at=start - timedelta(hours=1),
                next_reminder_occurrence=start,
                next_reminder_offset_minutes=60,
            )
            uow.session.add(meeting)
            if i % 1000 == 999:
                await uow.session.flush()
        await uow.session.flush()
        await uow.commit()
    async with db.uow() as uow:
        rows = await uow.meetings.reminders_due(NOW, 1000)
        due_ids = [m.id for m in rows if m.id is not None]
    return due_ids


async def _reset(db: Database, due_ids: list[int]) -> None:
    async with db.uow() as uow:
        await uow.session.execute(delete(Outbox))
        await uow.session.execute(
            update(Meeting)
            .where(Meeting.id.in_(due_ids))  # type: ignore[union-attr]
            .values(
                next_reminder_at=NOW,
                next_reminder_occurrence=NOW + timedelta(hours=1),
                next_reminder_offset_minutes=60,
            )
        )
        await uow.commit()


async def measure(database_url: str | None, meetings: int, due: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(database_url, Path(tmp)) as url:
            db = Database.connect(url)
            await upgrade_to_head(db.engine)
            due_ids = await _populate(db, meetings, due)
            service = ReminderService(db, catalogue())
            timings = []
            for _ in range(REPEATS):
                await _reset(db, due_ids)
                started = time.perf_counter()
                result = await service.tick(NOW)
                timings.append(time.perf_counter() - started)
                assert result.meetings == due, result
            await db.dispose()
            return statistics.median(timings)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--due", type=int, default=10)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    install_keyring(generate_key())
    clock.set_clock(lambda: NOW)
    small = await measure(args.database, args.due, args.due)
    large = await measure(args.database, args.meetings, args.due)
    db = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    print(f"{db}: median of {REPEATS} ticks, {args.due} meetings due")
    print(f"  {args.due:>6} meetings in all: {small * 1000:8.2f} ms")
    print(f"  {args.meetings:>6} meetings in all: {large * 1000:8.2f} ms")
    print(f"  ratio: {large / small:.2f} (target <= 2)")


if __name__ == "__main__":
    asyncio.run(main())
