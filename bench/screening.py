"""Screener throughput on one core, and its figures on the labelled evaluation set.

.venv/bin/python bench/screening.py
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.screening import Screener, default_screener

EVAL = ROOT / "tests" / "data" / "screening_eval.jsonl"
DEV = ROOT / "tests" / "data" / "screening_dev.jsonl"
HOLDOUT = ROOT / "tests" / "data" / "screening_holdout.jsonl"


SAMPLE = [
    ("I want to just die", "en"), ("this homework is killing me", "en"),
    ("new meds are making me sleepy", "en"), ("missing my mum today, it's her birthday", "en"),
    ("i have the pills saved up, tonight is the night", "en"), ("me quiero morir", "es"),
    ("30 days sober today! thank you all for the support", "en"),
    ("anyone else find mornings hardest? I can barely get out of bed", "en"),
]  # fmt: skip


def report(name: str, path: Path, screener: Screener) -> list[tuple[str, str]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    got = [(r, screener.screen(r["text"], r["lang"]).level.label) for r in rows]
    urgent = [g for r, g in got if r["label"] == "urgent"]
    risky = [g for r, g in got if r["label"] != "none"]
    ordinary = [g for r, g in got if r["label"] == "none"]
    print(f"{name}: {len(rows)} messages")
    print(f"  recall on urgent:         {sum(g == 'urgent' for g in urgent) / len(urgent):.3f}")
    print(f"  recall on urgent+concern: {sum(g != 'none' for g in risky) / len(risky):.3f}")
    paging = sum(g == "urgent" for g in ordinary) / len(ordinary)
    print(f"  ordinary messages paging: {paging:.3f}")
    return [(r["text"], r["lang"]) for r in rows]


def main() -> None:
    screener = default_screener()
    texts = SAMPLE * 2000
    if EVAL.exists():
        texts = report("evaluation set (the lexicon is tuned on it)", EVAL, screener) * 40
    else:
        print(f"no evaluation set at {EVAL}: throughput on a built-in sample only")
    if DEV.exists():
        report("development set (written apart; its misses have been looked at)", DEV, screener)
    if HOLDOUT.exists():
        report("held-out set (written apart, never read while tuning)", HOLDOUT, screener)
    started = time.perf_counter()
    for text, lang in texts:
        screener.screen(text, lang)
    elapsed = time.perf_counter() - started
    print(f"throughput: {len(texts) / elapsed:,.0f} messages/s on one core ({len(texts)} screened)")


if __name__ == "__main__":
    main()
