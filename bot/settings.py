"""Configuration, read once from the environment (and `.env`) into a typed object.

Every variable is declared once below, with its default as an operator would write it; a
missing or malformed value stops start-up with a `ConfigError` naming the variable and showing
an example, so an operator never has to read a traceback to fix a typo.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import config_values as parse
from bot.config_values import VARIABLES, ConfigError, Variable, env
from bot.core.profile import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from bot.core.screening.results import Sensitivity

__all__ = ["ConfigError", "HttpSettings", "Settings", "WebhookSettings"]

# Shown in error messages and refused as a value: it only looks like a token.
EXAMPLE_TOKEN = "123456789:AAExampleTokenFromBotFather_abcdefg"  # noqa: S105 - a placeholder
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_HTTP_URL_RE = re.compile(r"^https?://[^\s/]+")


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str
    listen: str
    port: int
    path: str


@dataclass(frozen=True)
class HttpSettings:
    """Where /healthz, /readyz and /metrics are served (bot/observability). On the webhook's
    port, the webhook's server serves them too (and `listen` is the webhook's)."""

    port: int
    listen: str

    def shared_with(self, webhook: WebhookSettings | None) -> bool:
        return webhook is not None and webhook.port == self.port


def _token(value: str, variable: Variable) -> str:
    if not value:
        raise variable.error("is not set; set TELEGRAM_BOT_TOKEN to the token @BotFather gave you")
    # Never echo the value: a mistyped real token is still a secret.
    if not _TOKEN_RE.match(value) or value == EXAMPLE_TOKEN:
        raise variable.error(
            "is not a token from @BotFather; set TELEGRAM_BOT_TOKEN to the token it gave you"
        )
    return value


def _api_url(value: str, variable: Variable) -> str:
    value = value.rstrip("/")
    if not _HTTP_URL_RE.match(value):
        raise variable.error("must be an http(s) URL")
    return value


def _database_url(value: str, variable: Variable) -> str:
    if not re.match(r"^(sqlite(\+aiosqlite)?|postgres(ql)?(\+asyncpg)?)://", value):
        raise variable.error("must be a sqlite:/// or postgresql:// URL")
    return value


def _secret_key(value: str, variable: Variable) -> str | None:
    if not value:
        return None
    from bot.storage.crypto import validate_key_list

    problem = validate_key_list(value)
    if problem:
        raise variable.error(f"{problem}; run `peerbot keygen` for a new key")
    return value


def _webhook(values: Mapping[str, Any]) -> WebhookSettings | None:
    url = values["WEBHOOK_URL"]
    if url is None:
        return None
    try:
        parts = urlsplit(url) if _HTTP_URL_RE.match(url) else None
    except ValueError:  # e.g. an unclosed [ in an IPv6 host
        parts = None
    # Telegram delivers webhooks over HTTPS only; plain http is for a local Bot API server.
    if parts is None or (parts.scheme != "https" and parts.hostname not in _LOOPBACK_HOSTS):
        raise VARIABLES["WEBHOOK_URL"].error(
            "must be an https URL (http:// only for 127.0.0.1, ::1 or localhost)"
        )
    secret = values["WEBHOOK_SECRET"]
    if secret is None or not _SECRET_TOKEN_RE.match(secret):
        raise VARIABLES["WEBHOOK_SECRET"].error(
            "is required with WEBHOOK_URL: 1-256 characters A-Z, a-z, 0-9, _ and -"
        )
    port = parse.whole(1, 65535, "must be a port number")(
        values["WEBHOOK_PORT"], VARIABLES["WEBHOOK_PORT"]
    )
    path = values["WEBHOOK_PATH"] or parts.path or "/"
    if not path.startswith("/"):
        raise VARIABLES["WEBHOOK_PATH"].error("must start with /")
    return WebhookSettings(
        url=url, secret=secret, listen=values["WEBHOOK_LISTEN"], port=port, path=path
    )


def _http(values: Mapping[str, Any], webhook: WebhookSettings | None) -> HttpSettings | None:
    port_text, listen = values["PEERBOT_HTTP_PORT"], values["PEERBOT_HTTP_LISTEN"]
    if port_text is None or port_text.lower() == "off":
        return None
    variable = VARIABLES["PEERBOT_HTTP_PORT"]
    port = parse.whole(1, 65535, "must be a port number, or off")(port_text, variable)
    if webhook is not None and webhook.port == port:
        # One server serves both, so it listens where the webhook does.
        if listen is not None and listen != webhook.listen:
            raise ConfigError(
                "PEERBOT_HTTP_LISTEN",
                "differs from WEBHOOK_LISTEN while PEERBOT_HTTP_PORT is the webhook's port "
                "(one server serves both); leave it unset",
                webhook.listen,
            )
        return HttpSettings(port=port, listen=webhook.listen)
    if listen is not None and not re.fullmatch(r"[0-9A-Za-z.:_-]{1,255}", listen):
        raise VARIABLES["PEERBOT_HTTP_LISTEN"].error("must be an address to listen on")
    return HttpSettings(port=port, listen=listen or "0.0.0.0")  # noqa: S104 - a container's published port must reach it


class Settings(BaseSettings):
    """What the bot runs with. `Settings.from_env()` reads the environment and `.env`."""

    # Variables are matched exactly (an environment is case-sensitive); others are ignored;
    # values are text, never decoded as JSON.
    model_config = SettingsConfigDict(
        env_file=".env", case_sensitive=True, extra="ignore", frozen=True, enable_decoding=False
    )

    bot_token: str = env("TELEGRAM_BOT_TOKEN", "", _token, example=EXAMPLE_TOKEN, secret=True)
    api_url: str = env("TELEGRAM_API_URL", "https://api.telegram.org", _api_url)
    database_url: str = env(
        "DATABASE_URL",
        "sqlite:///peerbot.db",
        _database_url,
        example="postgresql://peerbot@localhost/peerbot",
    )
    coordinators: frozenset[int] = env(
        "PEERBOT_COORDINATORS", "", parse.ids, example="11111111,22222222"
    )
    alert_chat_id: int | None = env(
        "PEERBOT_ALERT_CHAT_ID", "", parse.chat_id, example="-1001234567890"
    )
    # Run with no coordinators and no alert chat: urgent crisis alerts then reach no one.
    allow_no_crisis_alerts: bool = env("PEERBOT_ALLOW_NO_CRISIS_ALERTS", "false", parse.yes)
    secret_key: str | None = env(
        "PEERBOT_SECRET_KEY",
        "",
        _secret_key,
        example="<44-character key from peerbot keygen>",
        secret=True,
    )
    # The webhook (`webhook`, None: long polling), from these five.
    webhook_url: str | None = env("WEBHOOK_URL", "", example="https://bot.example.org/telegram")
    webhook_secret: str | None = env(
        "WEBHOOK_SECRET", "", example="a-long-random-string_0123456789", secret=True
    )
    webhook_listen: str | None = env("WEBHOOK_LISTEN", "0.0.0.0")  # noqa: S104 - Telegram must reach it
    webhook_port: str | None = env("WEBHOOK_PORT", "8443")
    webhook_path: str | None = env("WEBHOOK_PATH", "", example="/telegram")
    webhook: WebhookSettings | None = None
    # Health and metrics endpoints (`http`; None: not served), from these two.
    http_port: str | None = env("PEERBOT_HTTP_PORT", "", example="8080")
    http_listen: str | None = env("PEERBOT_HTTP_LISTEN", "", example="127.0.0.1")
    http: HttpSettings | None = None
    # How many chats are handled at the same time; each chat's own updates stay in order.
    concurrent_chats: int = env(
        "PEERBOT_CONCURRENT_CHATS", "64", parse.whole(1, 10_000, "must be a number from 1 to 10000")
    )
    # How often the schedule ticks (reminders, check-ins) look for due work.
    tick_seconds: float = env("PEERBOT_TICK_SECONDS", "20", parse.seconds)
    # Replies go through PTB's rate limiter (Telegram's ~30 messages/s overall). Off only for
    # measuring the bot's own processing capacity.
    reply_rate_limit: bool = env("PEERBOT_REPLY_RATE_LIMIT", "on", parse.flag("on", "off"))
    # Meeting reminders go out this long before each meeting.
    reminder_offsets: tuple[timedelta, ...] = env(
        "PEERBOT_REMINDER_OFFSETS", "24h,1h", parse.offsets
    )
    # Safety: the organisation's own on-call contact, shown with the national crisis lines,
    # and how long an urgent escalation may go unacknowledged before everyone is paged again.
    oncall_contact: str | None = env("PEERBOT_ONCALL_CONTACT", "")
    realert_after: timedelta = env(
        "PEERBOT_REALERT_MINUTES",
        "5",
        lambda v, n: timedelta(minutes=parse.whole(1, 240, "must be 1 to 240 minutes")(v, n)),
    )
    # How readily the crisis screener pages a coordinator (bot.core.screening.Sensitivity).
    screen_sensitivity: Sensitivity = env(
        "PEERBOT_SCREEN_SENSITIVITY",
        Sensitivity.BALANCED.value,
        parse.one_of(*Sensitivity, problem="must be cautious, balanced or quiet"),
    )
    # Delivery records (what was sent to whom, and when) are kept this long once settled.
    keep_deliveries: timedelta = env(
        "PEERBOT_KEEP_DELIVERIES_DAYS", "30", lambda v, n: timedelta(days=parse.days(v, n))
    )
    # Retention periods in days (README, "Your data"; bot/services/privacy.py): safety records,
    # check-in notes, resolved escalations' notes, anonymous questions' words, the audit trail.
    safety_record_days: int = env("PEERBOT_SAFETY_RECORD_DAYS", "365", parse.days)
    keep_checkin_notes_days: int = env("PEERBOT_KEEP_CHECKIN_NOTES_DAYS", "365", parse.days)
    keep_escalation_notes_days: int = env("PEERBOT_KEEP_ESCALATION_NOTES_DAYS", "90", parse.days)
    keep_question_texts_days: int = env("PEERBOT_KEEP_QUESTION_TEXTS_DAYS", "90", parse.days)
    keep_audit_days: int = env("PEERBOT_KEEP_AUDIT_DAYS", "730", parse.days)
    # Anonymous questions posted without moderation wait a random time in this range (seconds),
    # so their timing does not point at whoever was just typing.
    question_delay: tuple[int, int] = env("PEERBOT_QUESTION_DELAY", "60-300", parse.delay)
    log_level: str = env(
        "PEERBOT_LOG_LEVEL",
        "INFO",
        parse.one_of(
            "DEBUG",
            "INFO",
            "WARNING",
            "ERROR",
            problem="must be DEBUG, INFO, WARNING or ERROR",
            case=str.upper,
        ),
    )
    # The organisation's own texts and crisis lines (bot/locales/overrides.py), if any.
    config_dir: Path | None = env(
        "PEERBOT_CONFIG_DIR", "", parse.config_dir, example="/etc/peerbot/config"
    )
    # The organisation's language: for anyone whose own (chosen, or their Telegram app's) the
    # catalogue does not have, and for the alert chat.
    default_language: str = env(
        "PEERBOT_DEFAULT_LANGUAGE",
        DEFAULT_LANGUAGE,
        parse.one_of(
            *SUPPORTED_LANGUAGES,
            problem=f"must be one of the shipped languages: {', '.join(SUPPORTED_LANGUAGES)}",
        ),
        example="es",
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings from `environ`, or from the process's environment and `.env`."""
        try:
            return cls() if environ is None else cls.model_validate(dict(environ))
        except ValidationError as exc:  # not expected: every value is parsed before
            first = exc.errors()[0]
            variable = VARIABLES[str(first["loc"][0])]
            raise variable.error(first["msg"].lower()) from None

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, given: Any) -> dict[str, Any]:
        """Each variable's text (blank: unset) through its parser, in declaration order; then
        the webhook and the health endpoints, and whether a crisis alert reaches anyone."""
        values: dict[str, Any] = {}
        for field in cls.model_fields.values():
            variable = VARIABLES.get(str(field.validation_alias))
            if variable is not None:
                raw = given.get(variable.name)
                text = raw.strip() if isinstance(raw, str) else ""
                values[variable.name] = variable.parse(text or variable.default, variable)
        values["webhook"] = webhook = _webhook(values)
        values["http"] = _http(values, webhook)
        if not (
            values["PEERBOT_COORDINATORS"]
            or values["PEERBOT_ALERT_CHAT_ID"] is not None
            or values["PEERBOT_ALLOW_NO_CRISIS_ALERTS"]
        ):
            raise ConfigError(
                "PEERBOT_COORDINATORS",
                "is empty and PEERBOT_ALERT_CHAT_ID is not set, so urgent crisis alerts would "
                "reach no one; set either one (or PEERBOT_ALLOW_NO_CRISIS_ALERTS=true to run "
                "without crisis alerts)",
                "123456789",
            )
        return values

    @property
    def has_alert_route(self) -> bool:
        """Whether an urgent crisis alert reaches anyone (a coordinator or the alert chat)."""
        return bool(self.coordinators) or self.alert_chat_id is not None

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, when the database is SQLite (where the generated key is kept)."""
        if not self.database_url.startswith("sqlite"):
            return None
        raw = self.database_url.split(":///", 1)[1] if ":///" in self.database_url else ""
        return Path(raw.split("?", 1)[0]) if raw and raw != ":memory:" else None
