"""Issue 13's figures: erasing a member with 1,000 check-ins and 100 anonymous questions
(among other members' questions), and rotate-key's rate in re-encrypted values per second.

    .venv/bin/python bench/privacy.py [--values 20000] [--database URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import scratch_database
from bot.locales import catalogue
from bot.services.privacy import PrivacyService
from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Checkin, Member, PeerGroup, Question, utcnow
from bot.storage.rotation import rotate_keys, stale_values
from bot.storage.uow import Database

ERASED = 42
OTHERS = 200


async def _fill(db: Database, values: int) -> int:
    """Her 1,000 check-ins and 100 posted questions; 2,000 questions of others; `values`
    more check-in notes of others (what rotate-key has to re-encrypt)."""
    now = utcnow()
    async with db.uow() as uow:
        group = await uow.groups.add(PeerGroup(name="Circle", invite_code=uuid.uuid4().hex[:16]))
        assert group.id is not None
        other = None
        for n in range(OTHERS):
            other = await uow.members.add(
                Member(telegram_id=10_000 + n, display_name=f"other {n}", step="done")
            )
        her = await uow.members.add(Member(telegram_id=ERASED, display_name="Zed", step="done"))
        assert her.id is not None and other is not None and other.id is not None
        for n in range(1000):
            uow.session.add(
                Checkin(member_id=her.id, prompt_at=now - timedelta(hours=n), mood=3, note="n")
            )
        for n in range(2100):
            asker = ERASED if n < 100 else 10_000 + n % OTHERS
            question = Question(
                group_id=group.id, text=f"question {n}", status="approved",
                post_at=now - timedelta(days=1), number=n + 1,
            )  # fmt: skip
            await uow.questions.add(question, asker)
        for n in range(values):
            uow.session.add(
                Checkin(member_id=other.id, prompt_at=now - timedelta(minutes=n), mood=2, note="x")
            )
        await uow.commit()
    return values


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=int, default=20_000)
    parser.add_argument(
        "--database",
        default=None,
        help="default: a temporary SQLite file; a postgresql:// URL: a scratch database there",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    old = generate_key()
    install_keyring(old)
    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database, Path(tmp)) as url:
            db = Database.connect(url)
            try:
                await upgrade_to_head(db.engine)
                await _fill(db, args.values)
                service = PrivacyService(db, catalogue(), frozenset())
                start = time.perf_counter()
                erased = await service.forget(ERASED)
                took = time.perf_counter() - start
                print(f"database: {db.engine.dialect.name}")
                print(
                    f"erase a member ({erased.checkins} check-ins, "
                    f"{erased.questions_unlinked} questions among 2,100): {took * 1000:.0f} ms"
                )
                install_keyring(f"{generate_key()},{old}")
                start = time.perf_counter()
                report = await rotate_keys(db)
                took = time.perf_counter() - start
                print(
                    f"rotate-key: {report.total} values in {took:.1f} s = "
                    f"{report.total / took:.0f} values/s; still under the old key: "
                    f"{await stale_values(db)}"
                )
            finally:
                await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
