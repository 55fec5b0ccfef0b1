"""Fitting the screener's learned second stage (`bot.core.screening_model`): logistic
regression on the features screening sees, thresholds chosen on files a model did not see.

Not part of the bot: nothing in `bot/` imports this package, and it is not installed.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from bot.core.screening_model import (
    NORM,
    LearnedStage,
    LinearScore,
    _linear,
    _scale,
    screening_figures,
)

__all__ = ["NORM", "Example", "Limits", "train", "train_keeping_apart"]


@dataclass(frozen=True)
class Example:
    found: frozenset[str]
    label: str  # "urgent", "concern" or "none"
    category: str
    group: str  # which data file: thresholds are chosen on files a model did not see
    weight: float = 1.0  # how much it counts in training (many plain chat lines count less each)


@dataclass(frozen=True)
class Limits:
    """How often messages unlike the training data may be raised, on data a model did not see."""

    ordinary_paging: float = 0.01  # ordinary messages the model alone would page for
    ordinary_review: float = 0.04  # ordinary messages it would put in the review queue
    # Ordinary messages it would page for with no risk cue in them (`LinearScore.alone`).
    uncued_paging: float = 0.002


# Chosen by scoring each of the training files D, E, F (the lexicon was never tuned on them)
# with models trained on the other files; the differences between nearby settings were within
# a message or two. Pruning keeps the file small (~0.6 MB) and the look-ups fast.
EPOCHS = 20
L2 = 1e-4
RATE = 0.3
MIN_COUNT = 2  # a feature must be in this many training messages to get a weight
PRUNE = 0.5
# (PRUNE = 1.0 was tried for speed, model 2026.12-2: 31.5k features instead of 51k, but the
# thresholds chosen again moved the figures: Spanish non-suicidal tweets paged 6.6% -> 8.0%,
# C-SSRS Attempt+Behavior urgent recall 1.000 -> 0.900, gate urgent recall 0.875 -> 0.869; and a
# look-up costs about the same whether it finds a weight or not, so it was barely faster.)
CATEGORY_PRUNE = 1.5


def _fit(
    examples: Sequence[Example], positive: Callable[[Example], bool], seed: int = 7
) -> tuple[float, dict[str, float]]:
    """Logistic regression by AdaGrad, classes weighted to balance; deterministic."""
    counts: dict[str, int] = {}
    for example in examples:
        for feature in example.found:
            counts[feature] = counts.get(feature, 0) + 1
    kept = {f for f, n in counts.items() if n >= MIN_COUNT}
    rows = [([f for f in sorted(e.found) if f in kept], positive(e), _scale(len(e.found)), e.weight)
            for e in examples]  # fmt: skip
    n_positive = sum(w for _, y, _, w in rows if y) or 1.0
    n_negative = sum(w for _, y, _, w in rows if not y) or 1.0
    total = n_positive + n_negative
    class_weight = {True: total / (2 * n_positive), False: total / (2 * n_negative)}
    weights: dict[str, float] = dict.fromkeys(kept, 0.0)
    squares: dict[str, float] = dict.fromkeys(kept, 1e-8)
    bias, bias_square = 0.0, 1e-8
    order = list(range(len(rows)))
    shuffle = random.Random(seed).shuffle  # noqa: S311 - an order to learn in, not a secret
    for _ in range(EPOCHS):
        shuffle(order)
        for index in order:
            found, y, scale, weight = rows[index]
            z = bias + scale * sum(weights[f] for f in found)
            p = 1.0 / (1.0 + math.exp(-z)) if z > -30 else 0.0
            gradient = (p - (1.0 if y else 0.0)) * class_weight[y] * weight
            for feature in found:
                g = gradient * scale + L2 * weights[feature]
                squares[feature] += g * g
                weights[feature] -= RATE * g / math.sqrt(squares[feature])
            bias_square += gradient * gradient
            bias -= RATE * gradient / math.sqrt(bias_square)
    # Features that barely move a score are left out: a smaller file, the same judgements.
    return bias, {f: w for f, w in weights.items() if abs(w) >= PRUNE}


def _threshold(scores: list[float], allowed: float) -> float:
    """The lowest threshold that lets at most `allowed` of these (ordinary) scores pass."""
    ranked = sorted(scores, reverse=True)
    may_pass = math.floor(allowed * len(ranked))
    if may_pass >= len(ranked):
        return -math.inf
    return ranked[may_pass] + 1e-6  # strictly above the first one that must not pass


def train(
    examples: Sequence[Example],
    version: str,
    limits: Limits = Limits(),
    trained_on: dict[str, str] | None = None,
) -> tuple[LearnedStage, dict[str, float]]:
    """Train on every example; choose thresholds on out-of-group scores (each data file is
    scored by models trained on the others). Returns the stage and its out-of-group figures."""
    stage, figures, _ = train_keeping_apart(examples, version, limits, trained_on)
    return stage, figures


def train_keeping_apart(
    examples: Sequence[Example],
    version: str,
    limits: Limits = Limits(),
    trained_on: dict[str, str] | None = None,
    apart: Collection[str] = (),
    families: Callable[[str], str] = lambda group: "",
) -> tuple[LearnedStage, dict[str, float], dict[str, LearnedStage]]:
    """`train`, and for each group named in `apart` the stage made without that group (the same
    thresholds and categories): what the shipped screener would do on that group's text had it
    never seen it. Each threshold holds for every family of groups (`families`: e.g. the
    project's written sets, real chat): the highest of the thresholds each family needs."""
    groups = sorted({e.group for e in examples})
    urgent_scores: list[tuple[float, Example]] = []
    crisis_scores: list[tuple[float, Example]] = []
    kept: dict[str, tuple[tuple[float, dict[str, float]], tuple[float, dict[str, float]]]] = {}
    for group in groups:
        inside = [e for e in examples if e.group != group]
        outside = [e for e in examples if e.group == group]
        if not inside or not outside:
            continue
        u_bias, u_weights = _fit(inside, _is_urgent)
        c_bias, c_weights = _fit(inside, _is_crisis)
        if group in apart:
            kept[group] = ((u_bias, u_weights), (c_bias, c_weights))
        for example in outside:
            urgent_scores.append((_linear((u_bias, u_weights), example.found), example))
            crisis_scores.append((_linear((c_bias, c_weights), example.found), example))

    def threshold(scores: list[tuple[float, Example]], allowed: float) -> float:
        by_family: dict[str, list[float]] = {}
        for score, example in scores:
            if example.label == "none":
                by_family.setdefault(families(example.group), []).append(score)
        return max((_threshold(s, allowed) for s in by_family.values()), default=0.0)

    urgent_threshold = threshold(urgent_scores, limits.ordinary_paging)
    crisis_threshold = threshold(crisis_scores, limits.ordinary_review)
    alone_threshold = max(urgent_threshold, threshold(urgent_scores, limits.uncued_paging))

    u_bias, u_weights = _fit(examples, _is_urgent)
    c_bias, c_weights = _fit(examples, _is_crisis)
    categories: dict[str, tuple[float, dict[str, float]]] = {}
    risky = [e for e in examples if e.label != "none"]
    for name in sorted({e.category for e in risky}):
        bias, weights = _fit(risky, _in_category(name))
        # Only for naming a raised message's category: the strong weights are enough.
        categories[name] = (bias, {f: w for f, w in weights.items() if abs(w) >= CATEGORY_PRUNE})

    def stage(urgent: tuple[float, dict[str, float]], crisis: tuple[float, dict[str, float]],
              name: str) -> LearnedStage:  # fmt: skip
        return LearnedStage(
            name,
            LinearScore(urgent[0], urgent[1], urgent_threshold, alone_threshold),
            LinearScore(crisis[0], crisis[1], crisis_threshold),
            categories,
            trained_on or {},
        )

    shipped = stage((u_bias, u_weights), (c_bias, c_weights), version)
    without = {group: stage(*fits, f"{version} without {group}") for group, fits in kept.items()}
    figures = _figures(urgent_scores, crisis_scores, urgent_threshold, crisis_threshold)
    return shipped, figures, without


def _in_category(name: str) -> Callable[[Example], bool]:
    return lambda example: example.category == name


def _is_urgent(example: Example) -> bool:
    return example.label == "urgent"


def _is_crisis(example: Example) -> bool:
    return example.label != "none"


def _figures(
    urgent_scores: list[tuple[float, Example]],
    crisis_scores: list[tuple[float, Example]],
    urgent_threshold: float,
    crisis_threshold: float,
) -> dict[str, float]:
    results = []
    for (urgent, example), (crisis, _) in zip(urgent_scores, crisis_scores, strict=True):
        got = "urgent" if urgent >= urgent_threshold else "none"
        if got == "none" and crisis >= crisis_threshold:
            got = "concern"
        results.append((example.label, got))
    return screening_figures(results)
