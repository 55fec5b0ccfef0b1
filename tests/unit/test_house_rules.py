"""Rules of the code base a reviewer would otherwise have to check by eye."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_MODULE_LINES = 400


def test_no_module_of_the_bot_is_over_400_lines() -> None:
    # Migrations are data (one per schema change, never edited once shipped).
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in (ROOT / "bot").rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these along their seams: {too_long}"
