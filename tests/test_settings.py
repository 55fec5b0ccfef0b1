"""Configuration: a missing or malformed value stops start-up with one clear line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"


def test_defaults() -> None:
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///peerbot.db"
    assert settings.webhook is None
    assert settings.coordinators == frozenset()
    assert TOKEN not in repr(settings)


def test_full_configuration() -> None:
    settings = Settings.from_env(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": "http://127.0.0.1:8081/",
            "DATABASE_URL": "postgresql://peerbot@db/peerbot",
            "PEERBOT_COORDINATORS": "11, 22,",
            "PEERBOT_ALERT_CHAT_ID": "-1001234",
            "WEBHOOK_URL": "https://bot.example.org/hook",
            "WEBHOOK_SECRET": "abc_DEF-123",
        }
    )
    assert settings.api_url == "http://127.0.0.1:8081"
    assert settings.coordinators == frozenset({11, 22})
    assert settings.alert_chat_id == -1001234
    assert settings.webhook is not None
    assert settings.webhook.path == "/hook"
    assert settings.webhook.port == 8443


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "TELEGRAM_BOT_TOKEN"),
        ({"TELEGRAM_BOT_TOKEN": "nope"}, "TELEGRAM_BOT_TOKEN"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
        ({"PEERBOT_COORDINATORS": "alice"}, "PEERBOT_COORDINATORS"),
        ({"PEERBOT_ALERT_CHAT_ID": "general"}, "PEERBOT_ALERT_CHAT_ID"),
        ({"PEERBOT_SECRET_KEY": "short"}, "PEERBOT_SECRET_KEY"),
        ({"WEBHOOK_URL": "https://x.org/h"}, "WEBHOOK_SECRET"),
        (
            {"WEBHOOK_URL": "https://x.org/h", "WEBHOOK_SECRET": "ok", "WEBHOOK_PORT": "99999"},
            "WEBHOOK_PORT",
        ),
        ({"TELEGRAM_API_URL": "ftp://x"}, "TELEGRAM_API_URL"),
        ({"PEERBOT_QUESTION_DELAY": "5 minutes"}, "PEERBOT_QUESTION_DELAY"),
        ({"PEERBOT_QUESTION_DELAY": "300-60"}, "PEERBOT_QUESTION_DELAY"),
    ],
)
def test_bad_values_name_the_variable_and_an_example(env: dict[str, str], variable: str) -> None:
    full = {"TELEGRAM_BOT_TOKEN": TOKEN, **env} if variable != "TELEGRAM_BOT_TOKEN" else env
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(full)
    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert f"example: {variable}=" in message
    assert "\n" not in message


def test_cli_reports_configuration_errors_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
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
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_SECRET_KEY": key})
    assert settings.secret_key == key


def test_reminder_offsets_are_configurable() -> None:
    from datetime import timedelta

    settings = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_REMINDER_OFFSETS": "30m, 2d,1h"}
    )
    assert settings.reminder_offsets == (
        timedelta(days=2),
        timedelta(hours=1),
        timedelta(minutes=30),
    )
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_REMINDER_OFFSETS": "soon"})
    assert caught.value.variable == "PEERBOT_REMINDER_OFFSETS"


def test_question_delay_is_a_range_of_seconds() -> None:
    assert Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN}).question_delay == (60, 300)
    custom = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_QUESTION_DELAY": "30-90"})
    assert custom.question_delay == (30, 90)
