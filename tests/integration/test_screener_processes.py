"""The shipped screener across processes: built and loaded from its cache screen alike, and
starting the bot stays light."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.core.screening import (
    build_default_screener,
)
from bot.core.screening_cache import cached_screener

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
TEXTS = [
    "i want to just die",
    "this homework is killing me",
    "my friend said she wants to die",
    "no point living lol",
    "going to kind of kill myself",
    "nothing here",
]


def test_the_shipped_screener_screens_the_same_loaded_as_built(tmp_path: Path) -> None:
    """The real lexicons and model, kept and loaded: every labelled message gets the same
    result as from a screener built from the files, and every pattern is the same."""
    cached_screener([tmp_path])
    loaded = cached_screener([tmp_path])
    built = build_default_screener()
    texts = list(TEXTS)
    for path in sorted(DATA.glob("screening_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines()[:400]:
            texts.append(json.loads(line)["text"])
    assert len(texts) > 1000
    for text in texts:
        assert loaded.screen(text, "en").as_dict() == built.screen(text, "en").as_dict()
        assert loaded.screen(text, "es").as_dict() == built.screen(text, "es").as_dict()
    assert loaded.learned is not None and built.learned is not None
    assert loaded.learned.version == built.learned.version
    for language, lexicon in built.lexicons.items():
        kept = loaded.lexicons[language]
        assert [r.phrases.scan for r in kept.rules] == [r.phrases.scan for r in lexicon.rules]
        assert kept.idiom_phrases.anchored == lexicon.idiom_phrases.anchored
        assert [r.regex for r in kept.rules] == [r.regex for r in lexicon.rules]


def test_starting_the_bot_does_not_import_matplotlib() -> None:
    """The mood chart imports it when it draws one: not at start (tens of MiB)."""
    code = "import sys, bot.runtime; print(sorted(m for m in sys.modules if 'matplotlib' in m))"
    out = subprocess.run(  # noqa: S603 - this Python, fixed arguments
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"
