"""The release gate: the screener on sets written apart and never read while tuning.

These sets are sealed: this test reports figures only, never a message, so that a failure
cannot turn them into tuning data. To see why a figure fell, compare lexicon and model versions
(`bench/screening.py`), not the messages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.screening import default_screener
from bot.core.screening_model import screening_figures

DATA = Path(__file__).parents[1] / "data"
GATE = DATA / "screening_gate.jsonl"
ORDINARY = DATA / "screening_ordinary.jsonl"

# Measured when the gate was introduced (lexicons en/es-2026.11-8 with model 2026.11-2: urgent
# recall 0.881, urgent+concern 0.907, ordinary paging 0.017), less about two messages: a change
# may trade a little, not fall back. Raise them as the screener improves.
GATE_URGENT_RECALL_MIN = 0.865
GATE_ANY_RECALL_MIN = 0.895
GATE_PAGING_MAX = 0.03
# The target for ordinary peer-support messages paging a human (measured 0.015); and the
# review queue (measured 0.040) must not fill with ordinary talk.
ORDINARY_PAGING_MAX = 0.03
ORDINARY_REVIEW_MAX = 0.05


def _figures(path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    screener = default_screener()
    return screening_figures(
        (r["label"], screener.screen(r["text"], r["lang"]).level.label) for r in rows
    )


@pytest.mark.skipif(not GATE.exists(), reason="no gate set")
def test_the_gate_set_does_not_fall() -> None:
    figures = _figures(GATE)
    assert figures["urgent_recall"] >= GATE_URGENT_RECALL_MIN, figures
    assert figures["crisis_recall"] >= GATE_ANY_RECALL_MIN, figures
    assert figures["ordinary_paging"] <= GATE_PAGING_MAX, figures


@pytest.mark.skipif(not ORDINARY.exists(), reason="no set of ordinary messages")
def test_ordinary_traffic_rarely_pages() -> None:
    figures = _figures(ORDINARY)
    assert figures["ordinary_paging"] <= ORDINARY_PAGING_MAX, figures
    assert figures["ordinary_review"] <= ORDINARY_REVIEW_MAX, figures
