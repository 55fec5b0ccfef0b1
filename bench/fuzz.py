"""Fuzz the whole bot with N updates generated from the Bot API description (a longer run of
tests/e2e/test_fuzz.py), against the fake Telegram over real HTTP, and print what went wrong.

    .venv/bin/python bench/fuzz.py [--updates 10000] [--seed N] [--batch 100] [--database URL]
                                   [--ci] [--rate-limit] [--webhook] [--no-prelude]
                                   [--unreadable] [--save FILE] [--replay FILE]
                                   [--isolate [--shrink]]

First a prelude onboards a few people and makes two of them facilitators with a group each
(so that fuzzing reaches further), then the generated updates follow in batches. The seed is
random unless given, and printed, so a run can be repeated. `--save` writes the
generated updates as JSON, `--replay` sends such a file instead of generating. `--isolate`
afterwards finds, for each kind of trouble, one update that causes it on its own: it bisects
the updates the bot stuck on, and sends each suspect (named in an error line, an unanswered
button press, an update from a chat the bot should not have spoken in) alone to a fresh bot.
`--shrink` then drops every field the trouble does not need (the update staying valid).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.throughput import scratch_database
from tests.fuzz.harness import START_WITHIN, Findings, FuzzHarness, fuzz_once
from tests.fuzz.updates import generate, prelude, unreadable
from tests.tgfake.spec import Validator, load_spec

Json = dict[str, Any]
MAX_SUSPECTS = 60


def signatures(findings: Findings) -> set[str]:
    """The distinct kinds of trouble in a run (error lines without their update ids)."""
    found = set()
    if findings.crashed:
        found.add(f"the bot raised when stopped: {findings.crashed.split(':', 1)[0]}")
    if findings.stuck:
        found.add("the bot stopped taking updates")
    elif findings.start_latency is None or findings.start_latency > START_WITHIN:
        found.add("/start answered late or never")
    if findings.unanswered:
        found.add("a callback query never answered")
    if findings.violations:
        found.add("a Bot API spec violation")
    if findings.forbidden:
        found.add("spoke in a chat nobody asked it to")
    for line in findings.errors:
        found.add(re.sub(r"\b(update|dead letter) \d+", r"\1 N", line))
    return found


def suspects(findings: Findings, harness: FuzzHarness, per_kind: int = 6) -> list[Json]:
    """Updates that may have caused a finding on their own, a few for each kind of trouble,
    each once, in the order sent."""
    by_kind: dict[str, list[int]] = {}
    for line in findings.errors:
        for match in re.finditer(r"update (\d+)", line):
            by_kind.setdefault(re.sub(r"\d+", "N", line), []).append(int(match.group(1)))
    by_kind["unanswered"] = [u["update_id"] for u in findings.unanswered if "update_id" in u]
    for chat_id in findings.forbidden:
        by_kind[f"chat {chat_id}"] = [u["update_id"] for u in harness.updates_in_chat(chat_id)]
    ids: dict[int, None] = {}
    for found in by_kind.values():
        for update_id in list(dict.fromkeys(found))[:per_kind]:
            ids.setdefault(update_id, None)
    return [_bare(findings.updates[i]) for i in sorted(ids) if i in findings.updates]


def _bare(update: Json) -> Json:
    return {k: v for k, v in update.items() if k != "update_id"}


class Reproducer:
    """Runs updates on a fresh bot and says which kinds of trouble they cause."""

    def __init__(self, database: str | None, *, webhook: bool = False, scene: bool = True) -> None:
        self.database = database
        self.webhook = webhook
        self.scene = prelude() if scene else []
        self.runs = 0

    async def __call__(self, updates: list[Json]) -> set[str]:
        self.runs += 1
        with tempfile.TemporaryDirectory() as tmp:
            async with scratch_database(self.database, Path(tmp)) as url:
                found, _ = await fuzz_once(updates, url, settle_timeout=6.0, webhook=self.webhook)
        return signatures(found)


async def bisect(updates: list[Json], signature: str, run: Reproducer) -> list[Json]:
    """A small part of `updates` that still causes `signature` (one update, if one does)."""
    while len(updates) > 1:
        half = len(updates) // 2
        for part in (updates[:half], updates[half:]):
            if signature in await run(part):
                updates = part
                break
        else:
            return updates
    return updates


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every dict key and list item below `value`, outermost first."""
    found: list[tuple[Any, ...]] = []
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found += [(*path, key) for key, _ in children]
    for key, child in children:
        found += _paths(child, (*path, key))
    return found


def _without(value: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(value))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    return copy


async def shrink(update: Json, signature: str, run: Reproducer, validator: Validator) -> Json:
    """Drop every field (and list item) the trouble does not need, keeping the update valid."""
    changed = True
    while changed:
        changed = False
        for path in _paths(update):
            if len(path) == 1:
                continue  # the update's kind
            candidate = _without(update, path)
            if validator._check_value("Update", {"update_id": 1, **candidate}, ["Update"], set()):
                continue
            if signature in await run([candidate]):
                update, changed = candidate, True
                break
    return update


async def isolate(findings: Findings, harness: FuzzHarness, database: str | None, *,
                  minimise: bool, webhook: bool, scene: bool) -> None:  # fmt: skip
    run = Reproducer(database, webhook=webhook, scene=scene)
    validator = Validator(harness.server.spec) if harness.server.spec else None
    examples: dict[str, Json] = {}
    wanted = signatures(findings)
    if findings.stuck:
        pending = [_bare(u) for u in harness.server.pending_updates()[:100]]
        print(f"\nbisecting the {len(pending)} updates the bot stuck on ...", flush=True)
        culprit = await bisect(pending, "the bot stopped taking updates", run)
        if len(culprit) == 1:
            examples["the bot stopped taking updates"] = culprit[0]
        else:
            print(f"  it takes {len(culprit)} updates together")
    candidates = suspects(findings, harness)[:MAX_SUSPECTS]
    print(f"\nsending {len(candidates)} suspect updates, each alone to a fresh bot ...", flush=True)
    for update in candidates:
        for signature in await run([update]) & wanted:
            best = examples.get(signature)
            if best is None or len(json.dumps(update)) < len(json.dumps(best)):
                examples[signature] = update
    for signature, update in examples.items():
        if minimise and validator is not None:
            update = await shrink(update, signature, run, validator)
        print(f"\n* {signature[:400]}\n  {json.dumps(update, ensure_ascii=False)[:2000]}")
    unexplained = wanted - set(examples)
    if unexplained:
        print("\nnot caused by any single update:")
        for signature in sorted(unexplained):
            print(f"  {signature[:300]}")
    print(f"\n({run.runs} fresh bots)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--ci", action="store_true", help="the CI test's fixed updates (with --updates 1000)"
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--rate-limit", action="store_true", help="keep PTB's reply limiter on")
    parser.add_argument("--webhook", action="store_true", help="deliver by webhook, not polling")
    parser.add_argument(
        "--no-prelude", action="store_true", help="skip onboarding a few people and groups first"
    )
    parser.add_argument(
        "--unreadable",
        action="store_true",
        help="mix in spec-valid updates the library cannot read (one every 1,000)",
    )
    parser.add_argument("--save", type=Path, default=None)
    parser.add_argument("--replay", type=Path, default=None)
    parser.add_argument("--isolate", action="store_true")
    parser.add_argument("--shrink", action="store_true", help="with --isolate: minimise fields")
    args = parser.parse_args()
    logging.getLogger().addHandler(logging.NullHandler())  # findings are printed, not logged

    spec = load_spec()
    if spec is None:
        raise SystemExit("the Bot API spec is missing (set TELEGRAM_BOT_API_SPEC_DIR)")
    if args.replay is not None:
        updates: list[Json] = json.loads(args.replay.read_text(encoding="utf-8"))
        print(f"replaying {len(updates)} updates from {args.replay}")
    else:
        seed = args.seed if args.seed is not None else random.randrange(2**32)
        shown = "derandomized, as in CI" if args.ci else f"seed {seed}"
        print(f"{shown}: generating {args.updates} updates ...", flush=True)
        began = time.perf_counter()
        updates = generate(spec, args.updates, seed=None if args.ci else seed)
        print(f"  generated {len(updates)} in {time.perf_counter() - began:.1f} s", flush=True)
    if args.unreadable:
        odd = unreadable()
        for i, position in enumerate(range(500, len(updates) + 1, 1000)):
            updates.insert(position + i, odd[i % len(odd)])
    if args.save is not None:
        args.save.write_text(json.dumps(updates, ensure_ascii=False), encoding="utf-8")

    with tempfile.TemporaryDirectory() as tmp:
        async with scratch_database(args.database, Path(tmp)) as url:
            findings, harness = await fuzz_once(
                updates,
                url,
                batch=args.batch,
                rate_limit=args.rate_limit,
                webhook=args.webhook,
                prelude=[] if args.no_prelude else prelude(),
            )
    print(findings.summary())
    problems = findings.problems()
    print("\n".join(["", "problems:", *problems] if problems else ["", "no problems"]))
    if problems:
        print("\nkinds of trouble:")
        for signature in sorted(signatures(findings)):
            print(f"  {signature[:300]}")
    if args.isolate and problems:
        await isolate(
            findings,
            harness,
            args.database,
            minimise=args.shrink,
            webhook=args.webhook,
            scene=not args.no_prelude,
        )
    sys.stdout.flush()
    raise SystemExit(1 if problems else 0)


if __name__ == "__main__":
    asyncio.run(main())
