"""The crisis screener on real people's words (issue 12's table, today against its targets), on
every labelled set of the project's own (lexicon alone, and with the learned second stage), and
its throughput on one core.

.venv/bin/python bench/screening.py [--real DIR] [--repeats 5] [--skip-own] [--model FILE]
                                   [--sensitivity cautious|balanced|quiet|all] [--no-throughput]

`DIR` (default `../shared/eval/real` beside the repository) holds the real evaluation sets: one
half of each; the other half is held apart and releases are judged on it. Only figures are
printed, never a message: the sealed sets (held-out, gate, ordinary) must stay unread by anyone
who tunes the screener, and the real sets' texts must not travel.

Throughput is messages per second on one core on a realistic mix of message lengths: the
project's ordinary messages and the real sets' chat lines and tweets (not the whole Reddit post
histories, which the bot would see as many messages); min, median and max over the repeats.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.screening import Screener, Sensitivity, default_screener, load_lexicons
from bot.core.screening_model import LearnedStage, Tally, screening_figures, tally_by_group

DATA = ROOT / "tests" / "data"
REAL = ROOT.parent / "shared" / "eval" / "real"


@dataclass(frozen=True)
class Row:
    """One row of the issue's table: a figure on some items of the real sets, and its target."""

    name: str
    figure: str  # "paged", "review", "crisis_recall" or "urgent_recall" (`Tally.rates`)
    target: float
    at_most: bool  # the target is a ceiling (rates on ordinary items), else a floor (recall)
    files: tuple[str, ...]  # the items of these files...
    labels: tuple[str, ...] = ()  # ...with these original labels (all if empty)


TABLE = (
    Row("everyday chat (DailyDialog, EmpatheticDialogues): paged", "paged", 0.002, True,
        ("chat_none.jsonl",)),
    Row("same: sent to review (concern)", "review", 0.03, True, ("chat_none.jsonl",)),
    Row("tweets that are not suicidal (much hyperbole): paged", "paged", 0.03, True,
        ("twitter_suicidal_intent.jsonl",)),
    Row("Spanish tweets that are not suicidal: paged", "paged", 0.02, True,
        ("es_suicide_tweets.jsonl",)),
    Row('C-SSRS "Supportive" users: paged', "paged", 0.10, True,
        ("cssrs_reddit_users.jsonl",), ("Supportive",)),
    Row("C-SSRS Attempt + Behavior: urgent recall", "urgent_recall", 0.92, False,
        ("cssrs_reddit_users.jsonl",), ("Attempt", "Behavior")),
    Row("all real positives (C-SSRS, SDCNL, tweets, Spanish): crisis recall", "crisis_recall",
        0.93, False, ("cssrs_reddit_users.jsonl", "sdcnl_reddit_posts.jsonl",
                      "twitter_suicidal_intent.jsonl", "es_suicide_tweets.jsonl")),
    Row("Spanish suicidal tweets: crisis recall", "crisis_recall", 0.90, False,
        ("es_suicide_tweets.jsonl",)),
)  # fmt: skip
# Realistic traffic: real everyday chat lines and the project's ordinary messages (most of
# what a group says). The tweets, nearly all found by their risk words, are timed apart: the
# slow case, where most messages reach the phrase search. (Reddit post histories are many
# messages each, and not timed.)
MESSAGE_LENGTH_FILES = ("chat_none.jsonl",)
RISKY_FILES = ("twitter_suicidal_intent.jsonl", "es_suicide_tweets.jsonl")
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
    """CPU seconds this process spent screening `texts` (one core; other processes on a shared
    machine take wall time, not this)."""
    started = time.process_time()
    for text, lang in texts:
        screener.screen(text, lang)
    return time.process_time() - started


def _read(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def real_sets(directory: Path) -> dict[str, list[dict[str, str]]]:
    """Every labelled file in the real evaluation folder; exits with a clear message without it."""
    paths = sorted(directory.glob("*.jsonl")) if directory.is_dir() else []
    if not paths:
        sys.exit(
            f"bench/screening.py: no real evaluation sets in {directory}: this benchmark needs "
            "the shared folder (shared/eval/real/*.jsonl) beside the repository, or --real DIR"
        )
    return {path.name: _read(path) for path in paths}


def table(screeners: dict[str, Screener], sets: dict[str, list[dict[str, str]]]) -> None:
    """The issue's table rows at each sensitivity, side by side, against the target; then each
    file and source at the first sensitivity given."""
    screened = {
        setting: [
            (name, row, screener.screen(row["text"], row["lang"]).level.label)
            for name, rows in sets.items()
            for row in rows
        ]
        for setting, screener in screeners.items()
    }
    width = max(len(line.name) for line in TABLE)
    print(f"{'real set (open half)':<{width}}  {'items':>5}  "
          + "".join(f"{setting:>14}" for setting in screeners) + f"  {'target':>9}")  # fmt: skip
    for line in TABLE:
        cells, size = [], 0
        for results in screened.values():
            tally = Tally()
            for name, row, got in results:
                if name in line.files and (not line.labels or row.get("orig_label") in line.labels):
                    tally.add(row["label"], got)
            size, value = tally.size, tally.rates().get(line.figure)
            if value is None:
                cells.append(f"{'-':>14}")
                continue
            shown = f"{value:.1%}" if line.at_most else f"{value:.3f}"
            met = value <= line.target if line.at_most else value >= line.target
            cells.append(f"{shown + ('' if met else ' NO'):>14}")
        target = f"<= {line.target:.1%}" if line.at_most else f">= {line.target:.2f}"
        print(f"{line.name:<{width}}  {size:>5}  {''.join(cells)}  {target:>9}")
    # Each file, then per original label where there are few (C-SSRS levels), else per source.
    first, results = next(iter(screened.items()))
    keys = {name: "orig_label" if len({r.get("orig_label") for r in rows}) <= 8 else "source"
            for name, rows in sets.items()}  # fmt: skip
    tallies = tally_by_group(
        ([name, f"{name} / {row.get(keys[name], '-')}"], row["label"], got)
        for name, row, got in results
    )
    print(f"\n(at {first})")
    from bot.cli import evaluation_table

    print(evaluation_table(tallies))


def throughput(screener: Screener, texts: list[tuple[str, str]], repeats: int) -> list[float]:
    return [len(texts) / _timed(screener, texts) for _ in range(repeats)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, default=REAL, help="the real evaluation sets")
    parser.add_argument("--repeats", type=int, default=5, help="throughput runs (min/median/max)")
    parser.add_argument("--skip-own", action="store_true", help="not the project's own sets")
    parser.add_argument(
        "--model", type=Path, default=None,
        help="another learned stage, e.g. one made without C-SSRS by `peerbot train-screener "
        "--apart DIR`: the shipped one learns from C-SSRS, so its C-SSRS rows are in-sample",
    )  # fmt: skip
    parser.add_argument("--no-throughput", action="store_true", help="figures only")
    parser.add_argument(
        "--sensitivity", choices=[*(s.value for s in Sensitivity), "all"], default="all",
        help="the setting(s) the real sets' table is printed at (default: all, side by side; "
        "the project's own sets and throughput are at the first)",
    )  # fmt: skip
    args = parser.parse_args()
    sets = real_sets(args.real)
    screener = default_screener()
    if args.model is not None:
        screener = Screener(load_lexicons(), learned=LearnedStage.load(args.model))
        print(f"(learned stage: {args.model})")
    settings = (
        [Sensitivity.BALANCED, Sensitivity.CAUTIOUS, Sensitivity.QUIET]
        if args.sensitivity == "all"
        else [Sensitivity(args.sensitivity)]
    )
    screener = screener.at(settings[0])
    screeners = {"lexicon alone": Screener(load_lexicons()), "lexicon + learned": screener}
    print(f"== issue 12: the screener on real people's words ({args.real})")
    table({str(setting): screener.at(setting) for setting in settings}, sets)
    if not args.skip_own:
        print("\n== the project's own labelled sets")
        for name, path in SETS:
            if path.exists():
                report(name, path, screeners)
    mixes = {}
    realistic = [
        (r["text"], r["lang"]) for name in MESSAGE_LENGTH_FILES for r in sets.get(name, [])
    ]
    ordinary = DATA / "screening_ordinary.jsonl"
    if ordinary.exists():
        realistic += [(r["text"], r["lang"]) for r in _read(ordinary)]
    if realistic:
        median = statistics.median(len(t) for t, _ in realistic)
        name = (
            "realistic mix (real everyday chat lines and the project's ordinary messages; "
            f"median {median:.0f} characters)"
        )
        mixes[name] = realistic * (20000 // len(realistic) + 1)
    risky = [(r["text"], r["lang"]) for name in RISKY_FILES for r in sets.get(name, [])]
    if risky:
        median = statistics.median(len(t) for t, _ in risky)
        name = f"real tweets found by risk words (median {median:.0f} characters)"
        mixes[name] = risky * (5000 // len(risky) + 1)
    mixes["built-in sample"] = SAMPLE * 2000
    if EVAL.exists():
        rows = _read(EVAL)
        mixes["evaluation set, half of it crises"] = [(r["text"], r["lang"]) for r in rows] * (
            20000 // len(rows) + 1
        )
    if args.no_throughput:
        return
    for mix, texts in mixes.items():
        print(f"\nthroughput on the {mix}: messages/s, one core, min / median / max of "
              f"{args.repeats}")  # fmt: skip
        for label, measured in screeners.items():
            rates = throughput(measured, texts, args.repeats)
            print(f"  {label:<28}{min(rates):>10,.0f} {statistics.median(rates):>10,.0f} "
                  f"{max(rates):>10,.0f}  ({len(texts)} screened)")  # fmt: skip


if __name__ == "__main__":
    main()
