"""Training the screener's learned second stage from labelled message files.

    peerbot train-screener            # the project's labelled sets -> screening_model.json

Each file is one writer's messages: thresholds are chosen on files a model did not see (see
`screening_model.train`), so the figures printed are for wording unlike its training data.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.core.screening import message_words
from bot.core.screening_model import Example, LearnedStage, features, file_digest, train

# The labelled sets the shipped model learns from (the sealed sets are never among them).
TRAINING_FILES = (
    "screening_eval.jsonl",
    "screening_dev.jsonl",
    "screening_train_a.jsonl",
    "screening_train_b.jsonl",
    "screening_train_c.jsonl",
    "screening_train_d.jsonl",
    "screening_train_e.jsonl",
    "screening_train_f.jsonl",
    "screening_train_g.jsonl",
    "screening_train_h.jsonl",
)


def examples_from(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        if row.get("label") not in ("urgent", "concern", "none"):
            raise ValueError(f"{path.name}:{number}: label must be urgent, concern or none")
        examples.append(
            example(str(row["text"]), row["label"], str(row.get("category", "")), path.name)
        )
    return examples


def example(text: str, label: str, category: str, group: str) -> Example:
    """A labelled message as the model learns from it: its features, as screening sees them."""
    return Example(frozenset(features(message_words(text))), label, category, group)


def train_from_files(paths: list[Path], version: str) -> tuple[LearnedStage, dict[str, float]]:
    examples = [e for path in paths for e in examples_from(path)]
    digests = {path.name: file_digest(path) for path in paths}
    return train(examples, version, trained_on=digests)
