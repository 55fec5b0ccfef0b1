"""Screener throughput on one core, and its figures on every labelled set, for the lexicon
alone and with the learned second stage behind it.

.venv/bin/python bench/screening.py

Only figures are printed, never a message: the sealed sets (held-out, gate, ordinary) must stay
unread by anyone who tunes the screener.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.screening import Screener, default_screener, load_lexicons
from bot.core.screening_model import screening_figures

DATA = ROOT / "tests" / "data"
EVAL = DATA / "screening_eval.jsonl"
SETS = [
    ("evaluation set (the lexicon is tuned on it; the model learns from it)", EVAL),
    ("development set (looked at; the model learns from it)", DATA / "screening_dev.jsonl"),
    (
        "training set A (the model learns from it; the lexicon was tuned on it)",
        DATA / "screening_train_a.jsonl",
    ),
    (
        "training set B (the model learns from it; the lexicon was tuned on it)",
        DATA / "screening_train_b.jsonl",
    ),
    (
        "training set C (the model learns from it; the lexicon was tuned on it)",
        DATA / "screening_train_c.jsonl",
    ),
    ("training set D (the model learns from it)", DATA / "screening_train_d.jsonl"),
    ("training set E (the model learns from it)", DATA / "screening_train_e.jsonl"),
    ("training set F, minimal pairs (the model learns from it)", DATA / "screening_train_f.jsonl"),
    ("training set G, long messages (the model learns from it)", DATA / "screening_train_g.jsonl"),
    ("training set H, borderline (the model learns from it)", DATA / "screening_train_h.jsonl"),
    ("held-out set (sealed; its figures seen often)", DATA / "screening_holdout.jsonl"),
    ("gate set (sealed; the release gate)", DATA / "screening_gate.jsonl"),
    ("ordinary messages (sealed)", DATA / "screening_ordinary.jsonl"),
]


SAMPLE = [
    ("I want to just die", "en"), ("this homework is killing me", "en"),
    ("new meds are making me sleepy", "en"), ("missing my mum today, it's her birthday", "en"),
    ("i have the pills saved up, tonight is the night", "en"), ("me quiero morir", "es"),
    ("30 days sober today! thank you all for the support", "en"),
    ("anyone else find mornings hardest? I can barely get out of bed", "en"),
]  # fmt: skip


def report(name: str, path: Path, screeners: dict[str, Screener]) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    print(f"{name}: {len(rows)} messages")
    print("  " + " " * 28 + "urgent recall  urgent+concern recall  ordinary paging  to review")
    for label, screener in screeners.items():
        figures = screening_figures(
            (r["label"], screener.screen(r["text"], r["lang"]).level.label) for r in rows
        )
        shown = {k: f"{v:.3f}" for k, v in figures.items()}
        print(f"  {label:<28}" + "".join(
            f"{shown.get(key, '  -  '):>{width}}"
            for key, width in (("urgent_recall", 13), ("crisis_recall", 23),
                               ("ordinary_paging", 17), ("ordinary_review", 11))
        ))  # fmt: skip


def _timed(screener: Screener, texts: list[tuple[str, str]]) -> float:
    started = time.perf_counter()
    for text, lang in texts:
        screener.screen(text, lang)
    return time.perf_counter() - started


def main() -> None:
    screener = default_screener()
    screeners = {"lexicon alone": Screener(load_lexicons()), "lexicon + learned": screener}
    for name, path in SETS:
        if path.exists():
            report(name, path, screeners)
    mixes = {"built-in sample": SAMPLE * 2000}
    ordinary = DATA / "screening_ordinary.jsonl"
    for name, path in (
        ("evaluation set, half of it crises", EVAL),
        ("ordinary messages, as most traffic is", ordinary),
    ):
        if path.exists():
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
            mixes[name] = [(r["text"], r["lang"]) for r in rows] * (20000 // len(rows) + 1)
    for mix, texts in mixes.items():
        print(f"throughput on the {mix} (messages/s, one core, best of 3):")
        for label, measured in screeners.items():
            elapsed = min(_timed(measured, texts) for _ in range(3))  # the least disturbed run
            print(f"  {label:<28}{len(texts) / elapsed:>10,.0f}  ({len(texts)} screened)")


if __name__ == "__main__":
    main()
