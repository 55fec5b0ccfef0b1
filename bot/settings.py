"""Configuration, read once from the environment (and `.env`) into a typed object.

A missing or malformed value stops start-up with a `ConfigError` naming the variable and
showing an example, so an operator never has to read a traceback to fix a typo.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from bot.core.profile import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

DEFAULT_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_FILE = "peerbot.db"

# Shown in error messages and refused as a value: it only looks like a token.
EXAMPLE_TOKEN = "123456789:AAExampleTokenFromBotFather_abcdefg"  # noqa: S105 - a placeholder
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})

_TOKEN_RE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{20,100}$")
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class ConfigError(Exception):
    """A configuration value is missing or malformed; the message is one line for the operator."""

    def __init__(self, variable: str, problem: str, example: str) -> None:
        super().__init__(f"{variable}: {problem} (example: {variable}={example})")
        self.variable = variable

    @classmethod
    def plain(cls, line: str) -> ConfigError:
        """A finding about a file the configuration names (it says which, and where)."""
        error = cls.__new__(cls)
        Exception.__init__(error, line)
        error.variable = line.split(":", 1)[0]
        return error


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    secret: str
    listen: str = "0.0.0.0"  # noqa: S104 - a webhook server must accept connections from Telegram
    port: int = 8443
    path: str = "/telegram"


@dataclass(frozen=True)
class HttpSettings:
    """Where /healthz, /readyz and /metrics are served (bot/observability). On the webhook's
    port, the webhook's server serves them too (and `listen` is the webhook's)."""

    port: int
    listen: str = "0.0.0.0"  # noqa: S104 - a container's published port must reach it

    def shared_with(self, webhook: WebhookSettings | None) -> bool:
        return webhook is not None and webhook.port == self.port


@dataclass(frozen=True)
class Settings:
    bot_token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    database_url: str = f"sqlite:///{DEFAULT_DATABASE_FILE}"
    coordinators: frozenset[int] = frozenset()
    alert_chat_id: int | None = None
    secret_key: str | None = field(default=None, repr=False)
    webhook: WebhookSettings | None = None
    # Health and metrics endpoints; None: not served.
    http: HttpSettings | None = None
    # How many chats are handled at the same time; each chat's own updates stay in order.
    concurrent_chats: int = 64
    # How often the schedule ticks (reminders, check-ins) look for due work.
    tick_seconds: float = 20.0
    # Replies go through PTB's rate limiter (Telegram's ~30 messages/s overall). Off only for
    # measuring the bot's own processing capacity.
    reply_rate_limit: bool = True
    # Meeting reminders go out this long before each meeting.
    reminder_offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=1))
    # Safety: the organisation's own on-call contact, shown with the national crisis lines,
    # and how long an urgent escalation may go unacknowledged before everyone is paged again.
    oncall_contact: str | None = None
    realert_after: timedelta = timedelta(minutes=5)
    # Delivery records (what was sent to whom, and when) are kept this long once settled.
    keep_deliveries: timedelta = timedelta(days=30)
    # Retention periods in days (README, "Your data"; bot/services/privacy.py): safety records,
    # check-in notes, resolved escalations' notes, anonymous questions' words, the audit trail.
    safety_record_days: int = 365
    keep_checkin_notes_days: int = 365
    keep_escalation_notes_days: int = 90
    keep_question_texts_days: int = 90
    keep_audit_days: int = 730
    # Anonymous questions posted without moderation wait a random time in this range (seconds),
    # so their timing does not point at whoever was just typing.
    question_delay: tuple[int, int] = (60, 300)
    log_level: str = "INFO"
    # The organisation's own texts and crisis lines (bot/locales/overrides.py), if any.
    config_dir: Path | None = None
    # The organisation's language: for anyone whose own (chosen, or their Telegram app's) the
    # catalogue does not have, and for the alert chat.
    default_language: str = DEFAULT_LANGUAGE
    # Run with no coordinators and no alert chat: urgent crisis alerts then reach no one.
    allow_no_crisis_alerts: bool = False

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

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token = get("TELEGRAM_BOT_TOKEN")
        if token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN",
                "is not set; set TELEGRAM_BOT_TOKEN to the token @BotFather gave you",
                EXAMPLE_TOKEN,
            )
        # Never echo the value: a mistyped real token is still a secret.
        if not _TOKEN_RE.match(token) or token == EXAMPLE_TOKEN:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN",
                "is not a token from @BotFather; set TELEGRAM_BOT_TOKEN to the token it gave you",
                EXAMPLE_TOKEN,
            )

        api_url = (get("TELEGRAM_API_URL") or DEFAULT_API_URL).rstrip("/")
        if not re.match(r"^https?://[^\s/]+", api_url):
            raise ConfigError("TELEGRAM_API_URL", "must be an http(s) URL", DEFAULT_API_URL)

        database_url = get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_FILE}"
        if not re.match(r"^(sqlite(\+aiosqlite)?|postgres(ql)?(\+asyncpg)?)://", database_url):
            raise ConfigError(
                "DATABASE_URL",
                "must be a sqlite:/// or postgresql:// URL",
                "postgresql://peerbot@localhost/peerbot",
            )

        coordinators = _parse_ids(get("PEERBOT_COORDINATORS"))

        alert_chat_raw = get("PEERBOT_ALERT_CHAT_ID")
        alert_chat_id: int | None = None
        if alert_chat_raw is not None:
            try:
                alert_chat_id = int(alert_chat_raw)
            except ValueError:
                raise ConfigError(
                    "PEERBOT_ALERT_CHAT_ID", "must be a chat id (a whole number)", "-1001234567890"
                ) from None

        secret_key = get("PEERBOT_SECRET_KEY")
        if secret_key is not None:
            from bot.storage.crypto import validate_key_list

            problem = validate_key_list(secret_key)
            if problem:
                raise ConfigError(
                    "PEERBOT_SECRET_KEY",
                    f"{problem}; run `peerbot keygen` for a new key",
                    "<44-character key from peerbot keygen>",
                )

        webhook = _parse_webhook(get)
        http = _parse_http(get, webhook)

        concurrent = get("PEERBOT_CONCURRENT_CHATS") or "64"
        if not concurrent.isdigit() or not 1 <= int(concurrent) <= 10_000:
            raise ConfigError("PEERBOT_CONCURRENT_CHATS", "must be a number from 1 to 10000", "64")

        tick_raw = get("PEERBOT_TICK_SECONDS") or "20"
        try:
            tick_seconds = float(tick_raw)
        except ValueError:
            tick_seconds = -1.0
        if not 0.05 <= tick_seconds <= 3600:
            raise ConfigError("PEERBOT_TICK_SECONDS", "must be a number of seconds", "20")

        rate_limit = (get("PEERBOT_REPLY_RATE_LIMIT") or "on").lower()
        if rate_limit not in ("on", "off"):
            raise ConfigError("PEERBOT_REPLY_RATE_LIMIT", "must be on or off", "on")

        offsets = _parse_offsets(get("PEERBOT_REMINDER_OFFSETS") or "24h,1h")
        realert_raw = get("PEERBOT_REALERT_MINUTES") or "5"
        if not realert_raw.isdigit() or not 1 <= int(realert_raw) <= 240:
            raise ConfigError("PEERBOT_REALERT_MINUTES", "must be 1 to 240 minutes", "5")

        keep_deliveries = _days(get, "PEERBOT_KEEP_DELIVERIES_DAYS", 30)

        retention = {
            name: _days(get, variable, default)
            for name, variable, default in (
                ("safety_record_days", "PEERBOT_SAFETY_RECORD_DAYS", 365),
                ("keep_checkin_notes_days", "PEERBOT_KEEP_CHECKIN_NOTES_DAYS", 365),
                ("keep_escalation_notes_days", "PEERBOT_KEEP_ESCALATION_NOTES_DAYS", 90),
                ("keep_question_texts_days", "PEERBOT_KEEP_QUESTION_TEXTS_DAYS", 90),
                ("keep_audit_days", "PEERBOT_KEEP_AUDIT_DAYS", 730),
            )
        }

        delay_raw = get("PEERBOT_QUESTION_DELAY") or "60-300"
        delay_match = re.fullmatch(r"(\d{1,5})\s*-\s*(\d{1,5})", delay_raw)
        if delay_match is None or int(delay_match[1]) > int(delay_match[2]):
            raise ConfigError(
                "PEERBOT_QUESTION_DELAY", "must be a range of seconds, low-high", "60-300"
            )
        question_delay = (int(delay_match[1]), int(delay_match[2]))

        log_level = (get("PEERBOT_LOG_LEVEL") or "INFO").upper()
        if log_level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError("PEERBOT_LOG_LEVEL", "must be DEBUG, INFO, WARNING or ERROR", "INFO")

        default_language = (get("PEERBOT_DEFAULT_LANGUAGE") or DEFAULT_LANGUAGE).lower()
        if default_language not in SUPPORTED_LANGUAGES:
            raise ConfigError(
                "PEERBOT_DEFAULT_LANGUAGE",
                f"must be one of the shipped languages: {', '.join(SUPPORTED_LANGUAGES)}",
                "es",
            )

        allow_no_alerts = _parse_bool(
            "PEERBOT_ALLOW_NO_CRISIS_ALERTS", get("PEERBOT_ALLOW_NO_CRISIS_ALERTS")
        )
        if not coordinators and alert_chat_id is None and not allow_no_alerts:
            raise ConfigError(
                "PEERBOT_COORDINATORS",
                "is empty and PEERBOT_ALERT_CHAT_ID is not set, so urgent crisis alerts would "
                "reach no one; set either one (or PEERBOT_ALLOW_NO_CRISIS_ALERTS=true to run "
                "without crisis alerts)",
                "123456789",
            )

        return cls(
            bot_token=token,
            api_url=api_url,
            database_url=database_url,
            coordinators=coordinators,
            alert_chat_id=alert_chat_id,
            secret_key=secret_key,
            webhook=webhook,
            http=http,
            concurrent_chats=int(concurrent),
            tick_seconds=tick_seconds,
            reply_rate_limit=rate_limit == "on",
            reminder_offsets=offsets,
            oncall_contact=get("PEERBOT_ONCALL_CONTACT"),
            realert_after=timedelta(minutes=int(realert_raw)),
            keep_deliveries=timedelta(days=keep_deliveries),
            **retention,
            question_delay=question_delay,
            log_level=log_level,
            config_dir=_config_dir(get("PEERBOT_CONFIG_DIR")),
            default_language=default_language,
            allow_no_crisis_alerts=allow_no_alerts,
        )


def _config_dir(raw: str | None) -> Path | None:
    if not raw:
        return None
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise ConfigError(
            "PEERBOT_CONFIG_DIR", "must be a directory that exists", "/etc/peerbot/config"
        )
    return path


def _days(get: Callable[[str], str | None], variable: str, default: int) -> int:
    """A keeping period: whole days, 1 to 3650."""
    raw = (get(variable) or str(default)).strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 3650:
        raise ConfigError(variable, "must be 1 to 3650 days", str(default))
    return int(raw)


def _parse_offsets(raw: str) -> tuple[timedelta, ...]:
    offsets: list[timedelta] = []
    for part in raw.split(","):
        match = re.fullmatch(r"\s*(\d{1,4})\s*([mhd])\s*", part)
        if match is None:
            raise ConfigError(
                "PEERBOT_REMINDER_OFFSETS", "must be durations like 24h, 1h or 30m", "24h,1h"
            )
        unit = {"m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
        offsets.append(timedelta(**{unit: int(match.group(1))}))
    if not offsets or any(o <= timedelta(0) or o > timedelta(days=14) for o in offsets):
        raise ConfigError("PEERBOT_REMINDER_OFFSETS", "must be between 1m and 14d", "24h,1h")
    return tuple(sorted(set(offsets), reverse=True))


def _parse_bool(variable: str, raw: str | None) -> bool:
    value = (raw or "false").lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise ConfigError(variable, "must be true or false", "false")


def _parse_ids(raw: str | None) -> frozenset[int]:
    if raw is None:
        return frozenset()
    ids: set[int] = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ConfigError(
                "PEERBOT_COORDINATORS",
                "must be comma-separated Telegram user ids",
                "11111111,22222222",
            )
        ids.add(int(part))
    return frozenset(ids)


def _parse_webhook(get: Callable[[str], str | None]) -> WebhookSettings | None:
    url = get("WEBHOOK_URL")
    if url is None:
        return None
    try:
        parts = urlsplit(url) if re.match(r"^https?://[^\s/]+", url) else None
    except ValueError:  # e.g. an unclosed [ in an IPv6 host
        parts = None
    # Telegram delivers webhooks over HTTPS only; plain http is for a local Bot API server.
    if parts is None or (parts.scheme != "https" and parts.hostname not in _LOOPBACK_HOSTS):
        raise ConfigError(
            "WEBHOOK_URL",
            "must be an https URL (http:// only for 127.0.0.1, ::1 or localhost)",
            "https://bot.example.org/telegram",
        )
    secret = get("WEBHOOK_SECRET")
    if secret is None or not _SECRET_TOKEN_RE.match(secret):
        raise ConfigError(
            "WEBHOOK_SECRET",
            "is required with WEBHOOK_URL: 1-256 characters A-Z, a-z, 0-9, _ and -",
            "a-long-random-string_0123456789",
        )
    listen = get("WEBHOOK_LISTEN") or "0.0.0.0"  # noqa: S104 - Telegram must reach it
    port_raw = get("WEBHOOK_PORT") or "8443"
    if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
        raise ConfigError("WEBHOOK_PORT", "must be a port number", "8443")
    path = get("WEBHOOK_PATH")
    if path is None:
        path = urlsplit(url).path or "/"
    if not path.startswith("/"):
        raise ConfigError("WEBHOOK_PATH", "must start with /", "/telegram")
    return WebhookSettings(url=url, secret=secret, listen=listen, port=int(port_raw), path=path)


def _parse_http(
    get: Callable[[str], str | None], webhook: WebhookSettings | None
) -> HttpSettings | None:
    port_raw = get("PEERBOT_HTTP_PORT")
    listen = get("PEERBOT_HTTP_LISTEN")
    if port_raw is None or port_raw.lower() == "off":
        return None
    if not port_raw.isdigit() or not 1 <= int(port_raw) <= 65535:
        raise ConfigError("PEERBOT_HTTP_PORT", "must be a port number, or off", "8080")
    port = int(port_raw)
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
        raise ConfigError("PEERBOT_HTTP_LISTEN", "must be an address to listen on", "127.0.0.1")
    return HttpSettings(port=port, listen=listen or "0.0.0.0")  # noqa: S104 - see HttpSettings
