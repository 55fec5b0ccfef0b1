"""What one reminder tick costs per recipient: a meeting of a group of N members has its
reminder due; the tick queues one message per member (bounded transactions of 500 rows).

    .venv/bin/python bench/enqueue_cost.py [--members 10000] [--repeat 3] [--database URL]

Prints, for a group of N/10 and of N members side by side, the tick's wall time and the time
per recipient (min / median / max over the repeats). Target: <= 0.3 ms per recipient.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, update

from bench.throughput import scratch_database
from bot.core.consent import CONSENT_VERSION
from bot.locales import catalogue
from bot.services.reminders import ReminderService
from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Meeting, Member, Membership, Outbox, PeerGroup
from bot.storage.uow import Database

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
START = NOW + timedelta(hours=1)


async def _group_with_meeting(db: Database, members: int) -> int:
    async with db.uow() as uow:
        group = await uow.groups.add(PeerGroup(name="Circle", invite_code="bench-enqueue-code"))
        assert group.id is not None
        crowd = [
            Member(telegram_id=5_000_000 + i, display_name=f"M{i}", step="done",
                   consent_version=CONSENT_VERSION, consent_at=NOW,
                   timezone=("Europe/London", "America/New_York", "Europe/Madrid")[i % 3],
                   language=("en", "es")[i % 2])
            for i in range(members)
        ]  # fmt: skip
        uow.session.add_all(crowd)
        await uow.session.flush()
        uow.session.add_all(Membership(group_id=group.id, member_id=m.id or 0) for m in crowd)
        meeting = Meeting(
            group_id=group.id, title="Thursday circle",
            first_local=START.replace(tzinfo=None).isoformat(timespec="minutes"),
            timezone="UTC", repeat="weekly", duration_minutes=60, place="Library, room 2",
        )  # fmt: skip
        uow.session.add(meeting)
        await uow.session.flush()
        assert meeting.id is not None
        await uow.commit()
        return meeting.id


async def _reset(db: Database, meeting_id: int) -> None:
    async with db.uow() as uow:
        await uow.session.execute(delete(Outbox))
        await uow.session.execute(
            update(Meeting)
            .where(Meeting.id == meeting_id)  # type: ignore[arg-type]
            .values(
                next_reminder_at=NOW,
                next_reminder_occurrence=START,
                next_reminder_offset_minutes=60,
            )
        )
        await uow.commit()


async def measure(database_url: str | None, members: int, repeat: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(database_url, Path(tmp)) as url:
            db = Database.connect(url)
            await upgrade_to_head(db.engine)
            meeting_id = await _group_with_meeting(db, members)
            service = ReminderService(db, catalogue())
            timings = []
            for _ in range(repeat):
                await _reset(db, meeting_id)
                started = time.perf_counter()
                result = await service.tick(NOW)
                timings.append(time.perf_counter() - started)
                assert result.queued == members, result
            await db.dispose()
            return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    install_keyring(generate_key())
    name = "PostgreSQL" if args.database and "postgres" in args.database else "SQLite"
    print(f"{name}; load average {os.getloadavg()[0]:.2f}")
    for members in (args.members // 10, args.members):
        timings = await measure(args.database, members, args.repeat)
        per = [t / members * 1000 for t in timings]
        print(
            f"  {members:>6} members: tick {statistics.median(timings):.2f} s (median); per "
            f"recipient min {min(per):.3f} / median {statistics.median(per):.3f} / "
            f"max {max(per):.3f} ms (target <= 0.3 ms)"
        )
    print(f"  load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
