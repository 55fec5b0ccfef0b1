"""Three replicas on one PostgreSQL database, the leader killed mid-announcement.

    .venv/bin/python bench/replicas.py [--database postgresql://...] [--members 1000]
                                       [--repeat 3] [--death SIGKILL|SIGSTOP]

Runs the story of tests/e2e/test_replicas.py (replica_story.py) `--repeat` times and prints,
for each run and then as min/median/max: how long after the leader's death another replica
held the lease (target <= 15 s), duplicates to confirmed recipients (target 0), losses beyond
the ambiguous in-flight sends (target 0), 429s on bulk sends (target 0), chats whose updates
were handled out of order (target 0). SIGKILL: the dead process was on this machine, so it is
known dead at once. SIGSTOP: the leader is frozen, alive to the kernel — only its lease's
lapse tells, as when a whole host disappears.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import scratch_database
from bot.storage.crypto import install_keyring
from tests.conftest import POSTGRES_ADMIN_URL, TEST_SECRET_KEY
from tests.e2e.conftest import TOKEN
from tests.e2e.replica_story import Story, StoryResult
from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec


async def once(admin_url: str, members: int, freeze: bool) -> StoryResult:
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            scratch_database(admin_url, Path(tmp)) as url,
            FakeBotApi(TOKEN, load_spec()) as tg,
        ):
            story = Story(tg, url, Path(tmp))
            try:
                return await story.run(members=members, freeze=freeze)
            finally:
                await story.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=POSTGRES_ADMIN_URL)
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--death", choices=("SIGKILL", "SIGSTOP"), default="SIGKILL")
    args = parser.parse_args()
    install_keyring(TEST_SECRET_KEY)
    takeovers: list[float] = []
    for run in range(args.repeat):
        load = os.getloadavg()[0]
        result = await once(args.database, args.members, args.death == "SIGSTOP")
        takeovers.append(result.takeover_seconds)
        print(f"run {run + 1} ({args.death}, load {load:.2f}): {result.summary()}")
    print(
        f"takeover after {args.death}: min {min(takeovers):.1f} s, median "
        f"{statistics.median(takeovers):.1f} s, max {max(takeovers):.1f} s (target <= 15 s)"
    )


if __name__ == "__main__":
    asyncio.run(main())
