"""A learned second stage behind the lexicon, which can only raise a level.

The lexicon (`bot.core.screening`) finds what people who know crisis work wrote down; messages
phrased in ways nobody wrote down ("keep hoping i won't wake up") slip past it. This stage is a
small linear model (logistic regression) over the same normalised words — so case, look-alikes,
leetspeak and repeated letters are already undone — and pairs of them, trained on the labelled
messages in the project's data and shipped as a data file (`screening_model.json`): nothing is
downloaded, and scoring is two dictionary look-ups per word.

Two scores: "urgent" (page a human) and "crisis" (urgent or concern: a coordinator should look).
Their thresholds are chosen when training, on messages each model did not see, so that ordinary
messages rarely page (see `training.model.train`, outside the bot). It never lowers what the
lexicon found and never silences it: the screener takes the higher of the two. An organisation's
sensitivity moves the thresholds (`SENSITIVITIES`, `LearnedStage.at`).

Training is not part of the bot: `python -m training` (the top-level `training` package).

Pure Python, no I/O except loading and saving the weights when asked to.
"""

from __future__ import annotations

import copy
import hashlib
import heapq
import itertools
import json
import math
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

MODEL_PATH = Path(__file__).resolve().parent.parent / "locales" / "lexicon" / "screening_model.json"
FEATURES_VERSION = 1


def features(clauses: Sequence[Sequence[str]]) -> set[str]:
    """The features of a message, from its clauses' normalised words (`normalise_words`): each
    word and each pair of neighbours, with "^" for a clause's start. (Pairs one word apart and
    pieces of words, for typos, were tried: no better on files the model had not seen, and
    slower.)"""
    found: set[str] = set()
    join = " ".join
    for words in clauses:  # (whole lists at a time, the pairs joined in C: no Python step per word)
        found.update(words)
        found.update(map(join, zip(("^", *words), words, strict=False)))  # (the first is longer)
    return found


_NOTHING = itertools.repeat(0j)  # what a feature with no weight adds
_ZERO = itertools.repeat(0.0)  # (the same, for one score)


def _evidence_text(feature: str) -> str:
    """A feature as a coordinator can read it: "^ kms" is "kms"."""
    return feature.removeprefix("^ ")


class Judgement(NamedTuple):  # (a tuple: made for nearly every message, and cheap to make)
    urgent: float  # the scores (log-odds) and whether they pass their thresholds
    crisis: float
    is_urgent: bool
    is_crisis: bool
    found: set[str]  # the message's features, for `LearnedStage.explain`


@dataclass
class LinearScore:
    bias: float
    weights: dict[str, float]
    threshold: float  # on the log-odds
    # (The urgent score only.) A message the model alone raises, with no lexicon match and no
    # risk cue word, pages only from this higher threshold (else it goes to review): chosen
    # when training so that ordinary text of every kind almost never gets there. (A model file
    # made before it existed pages from `threshold`, as it always did.)
    alone: float = math.inf


@dataclass
class LearnedStage:
    version: str
    urgent: LinearScore
    crisis: LinearScore
    # Which crisis category a raised message most likely is: per category, bias and weights.
    categories: dict[str, tuple[float, dict[str, float]]] = field(default_factory=dict)
    trained_on: dict[str, str] = field(default_factory=dict)  # data file name -> sha256
    # The crisis score a lexicon match needs to page (a quiet sensitivity: `Shift.confirm`);
    # below it, it goes to review. -inf: every urgent lexicon match pages (as trained).
    confirm_urgent: float = -math.inf

    # Both scores' weights in one table, as `urgent + crisis·j`: one look-up per feature, and
    # one `sum` gives both scores (the real and imaginary parts), in C. This runs for nearly
    # every message.
    _both: dict[str, complex] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        u, c = self.urgent.weights, self.crisis.weights
        self._both = {f: complex(u.get(f, 0.0), c.get(f, 0.0)) for f in u.keys() | c.keys()}

    def judge(self, clauses: Sequence[Sequence[str]]) -> Judgement:
        found = features(clauses)
        total = sum(map(self._both.get, found, _NOTHING))  # both sums at once, in C
        scale = _scale(len(found))
        urgent = self.urgent.bias + scale * total.real
        crisis = self.crisis.bias + scale * total.imag
        is_urgent = urgent >= self.urgent.threshold
        is_crisis = is_urgent or crisis >= self.crisis.threshold
        return Judgement(urgent, crisis, is_urgent, is_crisis, found)

    def explain(self, judgement: Judgement) -> tuple[str, tuple[str, ...]]:
        """The most likely crisis category and the (up to three) features that weighed most:
        asked only for a message the model raises, so it may take its time."""
        found = judgement.found
        weights = (self.urgent if judgement.is_urgent else self.crisis).weights
        # Ties broken by the feature itself: a set's order changes from one process to the next.
        weighed = heapq.nlargest(8, found & weights.keys(), key=lambda f: (weights[f], f))
        evidence = tuple(dict.fromkeys(_evidence_text(f) for f in weighed if weights[f] > 0.0))
        categories = self.categories
        category = max(sorted(categories), key=lambda n: _linear(categories[n], found), default="")
        return category, evidence[:3]

    # ------------------------------------------------------------------------- the file
    def to_json(self) -> dict[str, object]:
        """Compact: one row per feature, `[urgent, crisis]`, and one per category feature."""
        u, c = self.urgent.weights, self.crisis.weights
        names = sorted(self.categories)
        tables = [self.categories[name][1] for name in names]
        return {
            "version": self.version,
            "features": FEATURES_VERSION,
            "trained_on": self.trained_on,
            "urgent": _head(self.urgent),
            "crisis": _head(self.crisis),
            "weights": {f: [_round(u.get(f, 0.0)), _round(c.get(f, 0.0))]
                        for f in sorted(u.keys() | c.keys())},
            "categories": {
                "names": names,
                "biases": [_round(self.categories[name][0]) for name in names],
                "weights": {f: [_round(t.get(f, 0.0)) for t in tables]
                            for f in sorted(set().union(*tables))},
            },
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LearnedStage:
        if data.get("features") != FEATURES_VERSION:
            raise ValueError(
                f"screening model was made for features v{data.get('features')}, "
                f"this code makes v{FEATURES_VERSION}: retrain it (python -m training)"
            )
        rows: dict[str, list[float]] = data["weights"]
        urgent = {f: w[0] for f, w in rows.items() if w[0]}
        crisis = {f: w[1] for f, w in rows.items() if w[1]}
        listed = data["categories"]
        names: list[str] = listed["names"]
        categories = {
            name: (float(listed["biases"][i]),
                   {f: w[i] for f, w in listed["weights"].items() if w[i]})
            for i, name in enumerate(names)
        }  # fmt: skip
        return cls(
            str(data["version"]),
            LinearScore(
                float(data["urgent"]["bias"]),
                urgent,
                float(data["urgent"]["threshold"]),
                float(data["urgent"].get("alone", data["urgent"]["threshold"])),
            ),
            LinearScore(float(data["crisis"]["bias"]), crisis, float(data["crisis"]["threshold"])),
            categories,
            {str(k): str(v) for k, v in data.get("trained_on", {}).items()},
        )

    def save(self, path: Path) -> None:
        text = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        path.write_text(text + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> LearnedStage:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))

    def at(self, sensitivity: str) -> LearnedStage:
        """This stage at a sensitivity (`SENSITIVITIES`): the same weights (shared, not copied),
        other thresholds. At "balanced", this very stage."""
        shift = SENSITIVITIES[sensitivity]
        if shift == Shift():
            return self
        made = copy.copy(self)  # (shares the weights and `_both`)
        threshold = self.urgent.threshold + shift.urgent
        alone = max(threshold, self.urgent.alone + shift.urgent) if shift.uncued_pages else math.inf
        made.urgent = replace(self.urgent, threshold=threshold, alone=alone)
        made.crisis = replace(self.crisis, threshold=self.crisis.threshold + shift.crisis)
        if shift.confirm is not None:
            made.confirm_urgent = self.crisis.threshold + shift.confirm
        return made


@dataclass(frozen=True)
class Shift:
    """How a sensitivity moves the thresholds chosen when training (on the log-odds)."""

    urgent: float = 0.0
    crisis: float = 0.0
    # Whether a learned score alone, on a message with no lexicon match and no risk cue word, may
    # page (from `LinearScore.alone`); if not, it goes to review.
    uncued_pages: bool = True
    # If set, a lexicon match pages only when the crisis score is at least its (trained)
    # threshold plus this: both stages agree. Else it goes to review.
    confirm: float | None = None


# Per `bot.core.screening.Sensitivity`: "balanced" is the thresholds as trained. Chosen on the
# open half of the real sets and the project's evaluation, development and D/E sets (never the
# sealed ones): `cautious` catches about 4 more crises in 100 on real text for about 1 more
# ordinary message in 100 paged; `quiet` pages only when both stages agree (the lexicon's
# urgent matches that the model scores below its crisis threshold less 0.5 go to review, as does
# a score alone with no risk cue), which keeps the own sets' urgent recall.
SENSITIVITIES: dict[str, Shift] = {
    "cautious": Shift(urgent=-1.0, crisis=-0.8),
    "balanced": Shift(),
    "quiet": Shift(uncued_pages=False, confirm=-0.5),
}


def _linear(part: tuple[float, dict[str, float]], found: AbstractSet[str]) -> float:
    bias, weights = part
    return bias + _scale(len(found)) * sum(map(weights.get, found, _ZERO))  # (in C)


def _scale(count: int) -> float:
    """Each feature's value: long messages have many features, and their sum should not
    outweigh a short message's by length alone."""
    return count**-NORM if count else 1.0


def _head(score: LinearScore) -> dict[str, float]:
    head = {"bias": _round(score.bias), "threshold": _round(score.threshold)}
    if math.isfinite(score.alone):
        head["alone"] = _round(score.alone)
    return head


def _round(value: float) -> float:
    return round(value, 3)


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Each feature's value is 1 / (its message's feature count) ** NORM (`_scale`): chosen with the
# training settings (`training.model`).
NORM = 0.5


def screening_figures(results: Iterable[tuple[str, str]]) -> dict[str, float]:
    """The figures every evaluation reports, from (wanted, got) level labels: recall on urgent,
    recall on urgent or concern ("crisis"), and the share of ordinary messages paging a human
    or reaching the review queue. A figure with no message to count is left out."""
    urgent, crisis, paging, review = [], [], [], []
    for wanted, got in results:
        if wanted == "urgent":
            urgent.append(got == "urgent")
        if wanted != "none":
            crisis.append(got != "none")
        else:
            paging.append(got == "urgent")
            review.append(got != "none")
    shares = {"urgent_recall": urgent, "crisis_recall": crisis, "ordinary_paging": paging,
              "ordinary_review": review}  # fmt: skip
    return {name: sum(hits) / len(hits) for name, hits in shares.items() if hits}


# ----------------------------------------------------------------------------- evaluation
@dataclass
class Tally:
    """One group's counts: what was wanted and what the screener said."""

    none: int = 0  # ordinary items
    paged: int = 0  # ordinary items sent to urgent (a coordinator paged for nothing)
    reviewed: int = 0  # ordinary items sent to concern (the review queue)
    crises: int = 0  # urgent or concern items
    caught: int = 0  # crises found at urgent or concern
    urgent: int = 0  # urgent items
    urgent_caught: int = 0  # urgent items found at urgent

    def add(self, wanted: str, got: str) -> None:
        if wanted == "none":
            self.none += 1
            self.paged += got == "urgent"
            self.reviewed += got == "concern"
            return
        self.crises += 1
        self.caught += got != "none"
        if wanted == "urgent":
            self.urgent += 1
            self.urgent_caught += got == "urgent"

    @property
    def size(self) -> int:
        return self.none + self.crises

    def rates(self) -> dict[str, float]:
        """Paged and review rates on ordinary items, crisis and urgent recall; a figure with
        nothing to count is left out."""
        shares = {
            "paged": (self.paged, self.none),
            "review": (self.reviewed, self.none),
            "crisis_recall": (self.caught, self.crises),
            "urgent_recall": (self.urgent_caught, self.urgent),
        }
        return {name: hits / total for name, (hits, total) in shares.items() if total}


def tally_by_group(results: Iterable[tuple[Sequence[str], str, str]]) -> dict[str, Tally]:
    """(groups, wanted, got) -> each group's tally, in the order groups are first seen."""
    tallies: dict[str, Tally] = {}
    for groups, wanted, got in results:
        for group in groups:
            tallies.setdefault(group, Tally()).add(wanted, got)
    return tallies
