"""The encryption key: generated once beside the SQLite database, owner-only, and reused."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from bot.app import resolve_secret_key
from bot.settings import Settings

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"


def test_key_is_generated_beside_the_database_with_owner_only_permissions(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    db = tmp_path / "data" / "peerbot.db"
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "PEERBOT_COORDINATORS": "11",
            "DATABASE_URL": f"sqlite:///{db}",
        }
    )
    key = resolve_secret_key(settings)
    key_file = tmp_path / "data" / "peerbot.key"
    assert key_file.read_text().strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "generated a new key" in caplog.text
    assert key not in caplog.text
    # The next start reuses it, silently.
    caplog.clear()
    assert resolve_secret_key(settings) == key
    assert "generated" not in caplog.text


def test_postgres_without_a_key_refuses_to_start() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "PEERBOT_COORDINATORS": "11",
            "DATABASE_URL": "postgresql://x@localhost/db",
        }
    )
    with pytest.raises(RuntimeError, match="PEERBOT_SECRET_KEY"):
        resolve_secret_key(settings)
