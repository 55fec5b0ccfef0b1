"""Says loudly when the Bot API spec is missing (spec checks off), and fails CI over it."""

from __future__ import annotations

import os

import pytest

from tests.tgfake.spec import load_spec, spec_dir

IN_CI = os.environ.get("CI", "").lower() == "true"


def _missing() -> bool:
    return load_spec() is None


def _warning() -> str:
    return (
        f"BOT API SPEC NOT FOUND at {spec_dir()} (set TELEGRAM_BOT_API_SPEC_DIR): "
        "requests to the fake Telegram are NOT checked against the spec"
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _missing():
        return ["!" * 72, _warning(), "!" * 72]
    spec = load_spec()
    return [f"Bot API spec: {spec.version if spec else ''} from {spec_dir()} (checks on)"]


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and _missing():
        pytest.exit(f"CI requires the Bot API spec: {_warning()}", returncode=4)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _missing():
        terminalreporter.write_line(_warning(), red=True, bold=True)
