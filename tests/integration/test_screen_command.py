"""`peerbot screen`, run as an operator runs it: a process of its own reading standard input or a
labelled file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from training.data import TRAINING_FILES

DATA = Path(__file__).parents[1] / "data"


def _rows(name: str) -> list[dict[str, str]]:
    return [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines()]


def test_screen_command_answers_every_line_in_order() -> None:
    import subprocess
    import sys

    lines = '{"text": "I want to die", "lang": "en"}\n\nnot json\n{"text": "hola", "lang": "es"}\n'
    result = subprocess.run(
        [sys.executable, "-m", "bot", "screen", "--jsonl"], input=lines, capture_output=True,
        text=True, timeout=60, check=True,
    )  # fmt: skip
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o.get("level", "error") for o in out] == ["urgent", "error", "error", "none"]
    assert out[0]["categories"] == ["intent"]
    assert out[0]["matches"][0]["text"] == "want to die"


def test_screen_command_prints_figures_for_a_labelled_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    rows = [
        ("I want to die", "urgent", "a"),
        ("see you on tuesday", "none", "a"),
        ("I wish I could just disappear", "concern", "b"),
        ("lovely weather", "none", "b"),
    ]
    labelled = tmp_path / "ours.jsonl"
    labelled.write_text("".join(json.dumps({"text": t, "lang": "en", "label": label,
                                            "source": "ours", "orig_label": o}) + "\n"
                                for t, label, o in rows), encoding="utf-8")  # fmt: skip
    result = subprocess.run(  # noqa: S603 - this interpreter, a file the test wrote
        [sys.executable, "-m", "bot", "screen", "--eval", str(labelled)], capture_output=True,
        text=True, timeout=60, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["set", "items", "paged", "review", "crisis", "recall", "urgent",
                                "recall"]  # fmt: skip
    assert lines[2].split() == ["ours.jsonl", "4", "0.0%", "0.0%", "1.000", "1.000"]
    assert [line.split(" / ")[-1].split()[0] for line in lines[4:]] == ["a", "b"]
    assert "want to die" not in result.stdout  # figures only, never a text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hello"}\n', encoding="utf-8")
    refused = subprocess.run(  # noqa: S603 - the same
        [sys.executable, "-m", "bot", "screen", "--eval", str(bad)], capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "bad.jsonl:1" in refused.stderr


def test_screen_command_prints_figures_at_each_sensitivity(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    labelled = tmp_path / "ours.jsonl"
    labelled.write_text(json.dumps({"text": "ugh i want to die, monday again", "lang": "en",
                                    "label": "none"}) + "\n", encoding="utf-8")  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PEERBOT_SCREEN_SENSITIVITY"}
    result = subprocess.run(  # noqa: S603 - this interpreter, a file the test wrote
        [sys.executable, "-m", "bot", "screen", "--eval", str(labelled), "--sensitivity", "all"],
        capture_output=True, text=True, timeout=60, check=True, env=env,
    )  # fmt: skip
    sections = result.stdout.split("sensitivity: ")[1:]
    paged = {s.split()[0]: next(line.split()[2] for line in s.splitlines()
                                if line.startswith("ours.jsonl ")) for s in sections}  # fmt: skip
    # Hyperbole the lexicon finds: paged unless both stages must agree (quiet).
    assert paged == {"cautious": "100.0%", "balanced": "100.0%", "quiet": "0.0%"}
    refused = subprocess.run(  # noqa: S603 - the same
        [sys.executable, "-m", "bot", "screen", "--eval", str(labelled)], capture_output=True,
        text=True, timeout=60, env={**env, "PEERBOT_SCREEN_SENSITIVITY": "loud"},
    )  # fmt: skip
    assert refused.returncode == 2 and "loud" in refused.stderr


def test_the_screen_command_says_what_the_model_found() -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "bot", "screen"], input="i want to die\nhello there\n",
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["level"] for o in out] == ["urgent", "none"]
    assert out[0]["matches"][0]["learned"] is False


def test_the_words_shown_for_a_learned_match_are_the_same_in_every_process() -> None:
    """Python orders a set differently in each process; what a coordinator sees must not."""
    import subprocess
    import sys

    lines = "".join(json.dumps({"text": r["text"], "lang": r["lang"]}) + "\n"
                    for name in TRAINING_FILES for r in _rows(name))  # fmt: skip
    outputs = {
        subprocess.run(
            [sys.executable, "-m", "bot", "screen", "--jsonl"], input=lines, capture_output=True,
            text=True, timeout=120, check=True, env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }  # fmt: skip
    assert len(outputs) == 1
