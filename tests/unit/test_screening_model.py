"""The screener's learned second stage: it only raises, it says why, and it is what the data
in the repository trains (see bot/core/screening_model.py)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.screening import Level, Lexicon, Screener, default_screener, load_lexicons
from bot.core.screening_model import FEATURES_VERSION, MODEL_PATH, LearnedStage, file_digest
from training.data import DEFAULT_SHARED, SHARED_FILES, TRAINING_FILES, example
from training.model import Example, train

DATA = Path(__file__).parents[1] / "data"


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_the_shipped_model_was_trained_on_the_data_as_it_is_now() -> None:
    """Editing a labelled set without retraining (`python -m training`) fails here."""
    stage = LearnedStage.load()
    own = {name: digest for name, digest in stage.trained_on.items() if "/" not in name}
    assert own == {name: file_digest(DATA / name) for name in TRAINING_FILES}
    # The real text read from the shared folder: only files it may learn from, as they are now
    # (checked where this machine has the shared folder).
    shared = {name.removeprefix("shared/") for name in stage.trained_on if "/" in name}
    assert shared <= set(SHARED_FILES)
    if DEFAULT_SHARED.is_dir():
        for name in shared:
            assert stage.trained_on[f"shared/{name}"] == file_digest(DEFAULT_SHARED / name)
    # The sealed sets measure it; learning from them would make those figures meaningless.
    assert not any(name in stage.trained_on for name in (
        "screening_holdout.jsonl", "screening_gate.jsonl", "screening_ordinary.jsonl"))  # fmt: skip


def test_it_only_ever_raises_what_the_lexicon_found() -> None:
    lexicon_only = Screener(load_lexicons())
    both = default_screener()
    assert both.learned is not None
    raised = 0
    for name in TRAINING_FILES:
        for row in _rows(name):
            alone = lexicon_only.screen(row["text"], row["lang"])
            combined = both.screen(row["text"], row["lang"])
            assert combined.level >= alone.level, row["text"]
            # Everything the lexicon found is still reported.
            assert {(m.category, m.phrase) for m in alone.matches} <= {
                (m.category, m.phrase) for m in combined.matches
            }
            raised += combined.level > alone.level
    assert raised > 0  # (it does something)


@pytest.mark.parametrize(
    "text",
    [
        "my friend said she wants to die",  # someone else: the lexicon lowers it on purpose
        "i tried to kill myself years ago, doing much better now",  # the past
    ],
)
def test_what_the_lexicon_lowered_on_purpose_is_not_raised_to_urgent(text: str) -> None:
    assert default_screener().screen(text, "en").level is Level.CONCERN


def _toy_data() -> list[Example]:
    urgent = [
        "the rope is ready in the garage",
        "i have the rope ready tonight",
        "rope tied, this is goodbye",
        "goodbye everyone the rope is up",
    ]
    concern = [
        "i keep hoping i wont wake up",
        "hoping i just dont wake up tomorrow",
        "sometimes i hope i dont wake up",
        "wish i wouldnt wake up",
    ]
    ordinary = [
        "bought new climbing shoes",
        "great climbing session today",
        "the gym was busy",
        "made soup for dinner",
        "see you all on thursday",
        "my cat woke me up early",
        "woke up tired but ok",
        "coffee first then work",
    ]
    examples = []
    for index in range(2):  # two writers, so each can be scored by a model of the other
        group = f"writer{index}"
        examples += [example(t, "urgent", "plan_or_means", group) for t in urgent[index::2]]
        examples += [example(t, "concern", "passive_ideation", group) for t in concern[index::2]]
        examples += [example(t, "none", "ordinary", group) for t in ordinary[index::2]]
    return examples  # fmt: skip


def test_training_is_deterministic_and_learns_wording_no_lexicon_has() -> None:
    first, figures = train(_toy_data(), "toy")
    second, _ = train(_toy_data(), "toy")
    assert first.to_json() == second.to_json()
    assert set(figures) == {"urgent_recall", "crisis_recall", "ordinary_paging", "ordinary_review"}
    # No lexicon phrase at all, only what it learned; "rope" is a risk cue a person can see.
    screener = Screener({"en": Lexicon.from_toml({"cues": ["rope"]}, "en")}, learned=first)
    urgent = screener.screen("the rope is ready, goodbye", "en")
    assert urgent.level is Level.URGENT
    assert urgent.matches[0].learned
    assert urgent.matches[0].category == "plan_or_means"
    assert "rope" in urgent.matches[0].phrase  # the words that weighed most
    assert screener.screen("i hope i dont wake up", "en").level is Level.CONCERN
    # The same score with no risk cue in the message: review, not a page, unless the score is
    # above what any ordinary message scored (`alone`; in this toy data, it is).
    assert Screener({}, learned=first).screen("the rope is ready, goodbye").level is Level.URGENT
    strict = LearnedStage(first.version, replace(first.urgent, alone=math.inf), first.crisis,
                          first.categories)  # fmt: skip
    uncued = Screener({}, learned=strict).screen("the rope is ready, goodbye", "en")
    assert uncued.level is Level.CONCERN
    assert uncued.matches[0].reason == "no_cue"
    assert screener.screen("made soup, see you thursday", "en").level is Level.NONE


def test_a_model_made_for_other_features_is_refused(tmp_path: Path) -> None:
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["features"] = FEATURES_VERSION + 1
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="retrain"):
        LearnedStage.load(path)


def test_of_the_real_evaluation_sets_only_c_ssrs_is_learned_from() -> None:
    """The other real sets are for judging the screener only (their README says so)."""
    assert [n for n in SHARED_FILES if n.startswith("eval/")] == [
        "eval/real/cssrs_reddit_users.jsonl"
    ]
    # Schema-Guided Dialogue (CC BY-SA) is left out: no ShareAlike term reaches the weights.
    assert not any("sgd" in name for name in SHARED_FILES)


def test_the_bot_never_imports_the_training_tools() -> None:
    """Training is not installed with the bot (`training/`, outside `bot/`): nothing in the bot
    may need it."""
    root = Path(__file__).resolve().parents[2]
    offenders = [
        str(path.relative_to(root))
        for path in sorted((root / "bot").rglob("*.py"))
        if any(
            line.lstrip().startswith(("import training", "from training"))
            for line in path.read_text(encoding="utf-8").splitlines()
        )
    ]
    assert offenders == []


# ----------------------------------------------------------------------------- sensitivity
def test_each_sensitivity_is_the_default_screener_with_other_thresholds() -> None:
    """Nothing is built again: the same lexicons and weights, asked for by name or value."""
    from bot.core.screening import Sensitivity

    balanced = default_screener()
    assert default_screener(sensitivity="balanced") is balanced
    assert balanced.at(Sensitivity.BALANCED) is balanced
    for setting in (Sensitivity.CAUTIOUS, Sensitivity.QUIET):
        other = default_screener(sensitivity=setting)
        assert other is balanced.at(setting.value), "made once, then kept"
        assert other.sensitivity is setting and other.at(Sensitivity.BALANCED) is balanced
        assert other.lexicons is balanced.lexicons
        assert other.learned is not None and balanced.learned is not None
        assert other.learned._both is balanced.learned._both
        assert other.learned.urgent.weights is balanced.learned.urgent.weights
    with pytest.raises(ValueError, match="loud"):
        balanced.at("loud")


def test_cautious_pages_at_least_what_balanced_does_and_quiet_at_most() -> None:
    balanced = default_screener()
    cautious, quiet = balanced.at("cautious"), balanced.at("quiet")
    more = fewer = 0
    for name in ("screening_eval.jsonl", "screening_dev.jsonl", "screening_train_f.jsonl"):
        for row in _rows(name):
            levels = [s.screen(row["text"], row["lang"]).level for s in (quiet, balanced, cautious)]
            assert levels == sorted(levels), row["text"]
            more += levels[2] > levels[1]
            fewer += levels[0] < levels[1]
    assert more and fewer, "each setting changes something"


def test_quiet_pages_only_when_both_stages_agree() -> None:
    quiet = default_screener().at("quiet")
    # Hyperbole the lexicon finds but the model scores as ordinary: review, not a page.
    said = quiet.screen("ugh i want to die, monday again", "en")
    assert said.level is Level.CONCERN
    assert {m.reason for m in said.matches} == {"unconfirmed"}
    assert default_screener().screen("ugh i want to die, monday again", "en").level is Level.URGENT
    for text in ("i have the pills saved up, tonight is the night", "i want to die",
                 "i will end it all tonight"):  # fmt: skip
        assert quiet.screen(text, "en").level is Level.URGENT, text
