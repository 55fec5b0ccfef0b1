"""Configuration: a missing or malformed value stops start-up with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
# The least a bot needs: a token, and someone to receive urgent crisis alerts.
MINIMAL = {"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_COORDINATORS": "11"}


def test_defaults() -> None:
    settings = Settings.from_env(MINIMAL)
    assert settings.api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///peerbot.db"
    assert settings.webhook is None
    assert settings.coordinators == frozenset({11})
    assert settings.alert_chat_id is None
    assert not settings.allow_no_crisis_alerts
    assert settings.default_language == "en"
    assert TOKEN not in repr(settings)


def test_the_default_language_is_a_shipped_one() -> None:
    assert Settings.from_env({**MINIMAL, "PEERBOT_DEFAULT_LANGUAGE": "ES"}).default_language == "es"
    with pytest.raises(ConfigError, match=r"^PEERBOT_DEFAULT_LANGUAGE: must be one of .*en, es"):
        Settings.from_env({**MINIMAL, "PEERBOT_DEFAULT_LANGUAGE": "de"})


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
        ({"WEBHOOK_URL": "http://bot.example.org/h", "WEBHOOK_SECRET": "ok"}, "WEBHOOK_URL"),
        ({"WEBHOOK_URL": "https://[bot/h", "WEBHOOK_SECRET": "ok"}, "WEBHOOK_URL"),
        ({"PEERBOT_ALLOW_NO_CRISIS_ALERTS": "maybe"}, "PEERBOT_ALLOW_NO_CRISIS_ALERTS"),
        ({"PEERBOT_DEFAULT_LANGUAGE": "fr"}, "PEERBOT_DEFAULT_LANGUAGE"),
        ({"PEERBOT_DEFAULT_LANGUAGE": "es-MX"}, "PEERBOT_DEFAULT_LANGUAGE"),
    ],
)
def test_bad_values_name_the_variable_and_an_example(env: dict[str, str], variable: str) -> None:
    full = {**MINIMAL, **env} if variable != "TELEGRAM_BOT_TOKEN" else env
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(full)
    assert caught.value.variable == variable
    message = str(caught.value)
    assert message.startswith(f"{variable}:")
    assert f"example: {variable}=" in message
    assert "\n" not in message


def test_reminder_offsets_are_configurable() -> None:
    from datetime import timedelta

    settings = Settings.from_env({**MINIMAL, "PEERBOT_REMINDER_OFFSETS": "30m, 2d,1h"})
    assert settings.reminder_offsets == (
        timedelta(days=2),
        timedelta(hours=1),
        timedelta(minutes=30),
    )
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, "PEERBOT_REMINDER_OFFSETS": "soon"})
    assert caught.value.variable == "PEERBOT_REMINDER_OFFSETS"


def test_question_delay_is_a_range_of_seconds() -> None:
    assert Settings.from_env(MINIMAL).question_delay == (60, 300)
    custom = Settings.from_env({**MINIMAL, "PEERBOT_QUESTION_DELAY": "30-90"})
    assert custom.question_delay == (30, 90)


@pytest.mark.parametrize(
    "token",
    [
        "set-me-from-BotFather",  # the placeholder .env.example ships
        "123456789:AAExampleTokenFromBotFather_abcdefg",  # the example error messages show
        "987654321",
        "123456789:AAFakeToken with spaces_abcdefghijk",
    ],
)
def test_a_placeholder_token_is_refused_without_echoing_it(token: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, "TELEGRAM_BOT_TOKEN": token})
    message = str(caught.value)
    assert caught.value.variable == "TELEGRAM_BOT_TOKEN"
    assert "set TELEGRAM_BOT_TOKEN" in message
    assert "\n" not in message
    if token != "123456789:AAExampleTokenFromBotFather_abcdefg":
        assert token not in message


def test_env_example_as_shipped_asks_for_the_token() -> None:
    from dotenv import dotenv_values

    env = {k: v for k, v in dotenv_values(ROOT / ".env.example").items() if v is not None}
    with pytest.raises(ConfigError, match="set TELEGRAM_BOT_TOKEN"):
        Settings.from_env(env)
    # With a real token filled in, the next thing it asks for is someone to alert.
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**env, "TELEGRAM_BOT_TOKEN": TOKEN})
    assert caught.value.variable == "PEERBOT_COORDINATORS"


def test_no_alert_route_refuses_to_start_unless_the_risk_is_accepted() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_COORDINATORS": " "})
    message = str(caught.value)
    assert "crisis alerts would reach no one" in message
    assert "PEERBOT_COORDINATORS" in message and "PEERBOT_ALERT_CHAT_ID" in message
    assert "PEERBOT_ALLOW_NO_CRISIS_ALERTS=true" in message
    assert "\n" not in message

    only_chat = Settings.from_env({"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_ALERT_CHAT_ID": "-100"})
    assert only_chat.has_alert_route
    accepted = Settings.from_env(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "PEERBOT_ALLOW_NO_CRISIS_ALERTS": "true"}
    )
    assert accepted.allow_no_crisis_alerts and not accepted.has_alert_route


def test_webhook_needs_https_except_on_this_machine() -> None:
    secret = {"WEBHOOK_SECRET": "s3cret"}
    public = Settings.from_env({**MINIMAL, **secret, "WEBHOOK_URL": "https://bot.example.org/h"})
    assert public.webhook is not None
    for local in ("http://127.0.0.1:8443/telegram", "http://localhost:8443/telegram"):
        settings = Settings.from_env({**MINIMAL, **secret, "WEBHOOK_URL": local})
        assert settings.webhook is not None and settings.webhook.url == local


def test_health_endpoints_are_off_unless_a_port_is_set() -> None:
    assert Settings.from_env(MINIMAL).http is None
    assert Settings.from_env({**MINIMAL, "PEERBOT_HTTP_PORT": "off"}).http is None
    http = Settings.from_env({**MINIMAL, "PEERBOT_HTTP_PORT": "8080"}).http
    assert http is not None and (http.port, http.listen) == (8080, "0.0.0.0")  # noqa: S104
    local = Settings.from_env(
        {**MINIMAL, "PEERBOT_HTTP_PORT": "9100", "PEERBOT_HTTP_LISTEN": "127.0.0.1"}
    ).http
    assert local is not None and (local.port, local.listen) == (9100, "127.0.0.1")
    with pytest.raises(ConfigError, match=r"^PEERBOT_HTTP_PORT: must be a port number, or off "):
        Settings.from_env({**MINIMAL, "PEERBOT_HTTP_PORT": "80a"})
    with pytest.raises(ConfigError, match=r"^PEERBOT_HTTP_PORT: .*\(example: PEERBOT_HTTP_PORT="):
        Settings.from_env({**MINIMAL, "PEERBOT_HTTP_PORT": "70000"})
    with pytest.raises(ConfigError, match=r"^PEERBOT_HTTP_LISTEN: must be an address"):
        Settings.from_env({**MINIMAL, "PEERBOT_HTTP_PORT": "8080", "PEERBOT_HTTP_LISTEN": "a b"})


def test_on_the_webhook_port_one_server_serves_both_where_the_webhook_listens() -> None:
    webhook = {
        **MINIMAL,
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "WEBHOOK_SECRET": "s3cret",
        "WEBHOOK_LISTEN": "10.0.0.5",
        "WEBHOOK_PORT": "8080",
    }
    settings = Settings.from_env({**webhook, "PEERBOT_HTTP_PORT": "8080"})
    assert settings.http is not None and settings.http.shared_with(settings.webhook)
    assert settings.http.listen == "10.0.0.5"
    with pytest.raises(ConfigError, match=r"^PEERBOT_HTTP_LISTEN: differs from WEBHOOK_LISTEN"):
        Settings.from_env({**webhook, "PEERBOT_HTTP_PORT": "8080", "PEERBOT_HTTP_LISTEN": "::1"})
    apart = Settings.from_env({**webhook, "PEERBOT_HTTP_PORT": "9100"})
    assert apart.http is not None and not apart.http.shared_with(apart.webhook)
    assert apart.http.listen == "0.0.0.0"  # noqa: S104


def test_retention_periods_are_whole_days_with_the_documented_defaults() -> None:
    base = MINIMAL
    defaults = Settings.from_env(base)
    assert (defaults.safety_record_days, defaults.keep_checkin_notes_days) == (365, 365)
    assert (defaults.keep_question_texts_days, defaults.keep_audit_days) == (90, 730)
    chosen = Settings.from_env({**base, "PEERBOT_SAFETY_RECORD_DAYS": "30"})
    assert chosen.safety_record_days == 30
    for bad in ("0", "-1", "1.5", "a year", "9999"):
        with pytest.raises(ConfigError, match="PEERBOT_KEEP_AUDIT_DAYS"):
            Settings.from_env({**base, "PEERBOT_KEEP_AUDIT_DAYS": bad})


def test_a_plain_http_webhook_is_refused_with_the_rule_that_allows_it_locally() -> None:
    env = {**MINIMAL, "WEBHOOK_URL": "http://bot.example.org/h", "WEBHOOK_SECRET": "ok"}
    with pytest.raises(ConfigError, match=r"http:// only for 127\.0\.0\.1, ::1 or localhost"):
        Settings.from_env(env)
    local = Settings.from_env({**env, "WEBHOOK_URL": "http://127.0.0.1:8443/h"})
    assert local.webhook is not None


def test_screen_sensitivity_is_one_of_three_and_balanced_by_default() -> None:
    assert Settings.from_env(MINIMAL).screen_sensitivity == "balanced"
    chosen = Settings.from_env({**MINIMAL, "PEERBOT_SCREEN_SENSITIVITY": " Cautious "})
    assert chosen.screen_sensitivity == "cautious"
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({**MINIMAL, "PEERBOT_SCREEN_SENSITIVITY": "loud"})
    assert str(caught.value) == (
        "PEERBOT_SCREEN_SENSITIVITY: must be cautious, balanced or quiet "
        "(example: PEERBOT_SCREEN_SENSITIVITY=balanced)"
    )


def test_dot_env_in_the_working_directory_is_read_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nPEERBOT_COORDINATORS=11\nPEERBOT_CONCURRENT_CHATS=5\n"
    )
    monkeypatch.chdir(tmp_path)
    for variable in ("TELEGRAM_BOT_TOKEN", "PEERBOT_COORDINATORS", "PEERBOT_ALERT_CHAT_ID"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("PEERBOT_CONCURRENT_CHATS", "7")
    settings = Settings.from_env()
    assert settings.coordinators == frozenset({11})
    assert settings.concurrent_chats == 7
    monkeypatch.setenv("PEERBOT_CONCURRENT_CHATS", "lots")
    with pytest.raises(ConfigError, match=r"^PEERBOT_CONCURRENT_CHATS: must be a number"):
        Settings.from_env()
