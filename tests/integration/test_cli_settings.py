"""The command line's settings, run as an operator runs it: one-line errors, a usable key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.settings import Settings

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
MINIMAL = {"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_COORDINATORS": "11"}


def test_cli_reports_configuration_errors_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "example" in lines[0]


def test_keygen_prints_a_usable_key(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "keygen"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = result.stdout.strip()
    settings = Settings.from_env({**MINIMAL, "PEERBOT_SECRET_KEY": key})
    assert settings.secret_key == key
