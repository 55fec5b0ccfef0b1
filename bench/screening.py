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

from bot.core.screening import default_screener

EVAL = ROOT / "tests" / "data" / "screening_eval.jsonl"


def main() -> None:
    rows = [json.loads(line) for line in EVAL.read_text(encoding="utf-8").splitlines()]
    screener = default_screener()
    got = [(r, screener.screen(r["text"], r["lang"]).level.label) for r in rows]
    urgent = [g for r, g in got if r["label"] == "urgent"]
    risky = [g for r, g in got if r["label"] != "none"]
    ordinary = [g for r, g in got if r["label"] == "none"]
    print(f"evaluation set: {len(rows)} messages")
    print(f"  recall on urgent:            {sum(g == 'urgent' for g in urgent) / len(urgent):.3f}")
    print(f"  recall on urgent+concern:    {sum(g != 'none' for g in risky) / len(risky):.3f}")
    print(
        f"  ordinary messages paging:    {sum(g == 'urgent' for g in ordinary) / len(ordinary):.3f}"
    )
    texts = [(r["text"], r["lang"]) for r in rows] * 60
    started = time.perf_counter()
    for text, lang in texts:
        screener.screen(text, lang)
    elapsed = time.perf_counter() - started
    print(f"throughput: {len(texts) / elapsed:,.0f} messages/s on one core ({len(texts)} screened)")


if __name__ == "__main__":
    main()
