"""The labelled messages the screener's learned second stage is trained on.

    .venv/bin/python -m training --version V    # the project's sets and the real text in ../shared

Each file is one writer's messages (or one public data set): thresholds are chosen on files a
model did not see (see `training.model.train`), so the figures printed are for wording unlike
its training data.

Besides the project's own written sets, the model learns from real human-written text read from
the shared folder at training time (nothing is copied into the project, see the model card
`bot/locales/lexicon/MODEL_CARD.md`):

- ordinary conversation turns (label `none`): Topical-Chat (CDLA-Sharing-1.0), Taskmaster-4
  (CC BY 4.0) and the stress set's "stress=0" texts (Apache-2.0). Schema-Guided Dialogue (CC
  BY-SA 4.0) is left out, so that no ShareAlike terms can reach the weights; the distress texts
  with no risk level (`unlabelled-distress`) are left out too, never promoted to a label;
- Reddit C-SSRS users (Gaur et al. 2019, CC BY 4.0): Attempt and Behavior -> urgent, Ideation
  and Indicator -> concern, Supportive (people supporting someone at risk) -> none. No other
  file of the real evaluation sets is ever read here.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bot.core.screening import message_words
from bot.core.screening_model import LearnedStage, features, file_digest
from training.model import Example, train_keeping_apart

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

# Real text in the shared folder (`../shared` beside the repository): path -> how many of its
# first lines to read (the files are shuffled when built, so the first lines are a fair
# sample; fewer keep training to minutes in pure Python). Only these are ever read.
SHARED_FILES = {
    "datasets/topical_chat_turns.jsonl": 5000,
    "datasets/taskmaster4_turns.jsonl": 3000,
    "datasets/stress_reddit_twitter.jsonl": 7434,  # (only its `none` lines are used)
    "eval/real/cssrs_reddit_users.jsonl": 100_000,
}
# C-SSRS levels as the screener's: a past attempt is concern by the project's own rules, but the
# data does not say when; these users wrote about attempts and behaviour, so urgent.
CSSRS_LEVELS = {
    "Attempt": ("urgent", "intent"),
    "Behavior": ("urgent", "intent"),
    "Ideation": ("concern", "passive_ideation"),
    "Indicator": ("concern", "hopelessness"),
    "Supportive": ("none", "ordinary"),
}
DEFAULT_SHARED = Path(__file__).resolve().parents[2] / "shared"


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


def shared_examples(shared: Path, name: str, limit: int) -> list[Example]:
    """The usable lines of one shared file (see `SHARED_FILES`), each file its own group."""
    examples = []
    lines = (shared / name).read_text(encoding="utf-8").splitlines()[:limit]
    for line in lines:
        row = json.loads(line)
        if row.get("source") == "cssrs":
            label, category = CSSRS_LEVELS[str(row["orig_label"])]
        elif row.get("label") == "none":
            label, category = "none", "ordinary"
        else:
            continue  # unlabelled distress: its level is unknown, so it teaches nothing here
        examples.append(example(str(row["text"]), label, category, Path(name).name))
    return examples


def example(text: str, label: str, category: str, group: str) -> Example:
    """A labelled message as the model learns from it: its features, as screening sees them."""
    return Example(frozenset(features(message_words(text))), label, category, group)


# The real file also used to judge the screener: a stage trained without it is kept apart, so
# its figures on that file can be measured honestly (`python -m training --apart DIR`).
APART = ("cssrs_reddit_users.jsonl",)


def train_from_files(
    paths: list[Path], version: str, shared: Path | None = None
) -> tuple[LearnedStage, dict[str, float]]:
    stage, figures, _ = train_from_files_keeping_apart(paths, version, shared)
    return stage, figures


def train_from_files_keeping_apart(
    paths: list[Path], version: str, shared: Path | None = None
) -> tuple[LearnedStage, dict[str, float], dict[str, LearnedStage]]:
    """Train on the project's labelled files and, with `shared`, the real text listed in
    `SHARED_FILES` (which must all be there: a model trained on less is not the shipped one).
    Thresholds hold for the project's sets and for the real text alike; also returns the
    stages made without each file of `APART`."""
    examples = [e for path in paths for e in examples_from(path)]
    digests = {path.name: file_digest(path) for path in paths}
    own_groups = {path.name for path in paths}
    if shared is not None:
        missing = [name for name in SHARED_FILES if not (shared / name).is_file()]
        if missing:
            raise FileNotFoundError(f"not in {shared}: {', '.join(missing)}")
        chat: list[Example] = []
        for name, limit in SHARED_FILES.items():
            found = shared_examples(shared, name, limit)
            if name.startswith("datasets/"):
                chat += found
            else:
                examples += found
            digests[f"shared/{name}"] = file_digest(shared / name)
        # The real chat lines, together, count as much as the project's own ordinary messages:
        # they teach that everyday talk is not risk without drowning out the peer-support
        # register (emotional, but ordinary) the project's sets were written in.
        own = sum(1 for e in examples if e.label == "none" and e.group in own_groups)
        weight = own / len(chat) if chat else 1.0
        examples += [replace(e, weight=weight) for e in chat]
    real = {Path(name).name for name in SHARED_FILES}
    return train_keeping_apart(
        examples, version, trained_on=digests, apart=APART,
        families=lambda group: "real" if group in real else "project",
    )  # fmt: skip
