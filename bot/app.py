"""The composition root: what the bot is made of, built from the settings (production and tests
alike). Opening and closing it, in order, is bot/runtime.py's."""

from __future__ import annotations

import functools
import logging
import ssl
from pathlib import Path
from typing import Any, TypedDict

from telegram import Bot
from telegram.ext import ApplicationBuilder, ContextTypes
from telegram.request import HTTPXRequest

from bot.context import BotContext, BotData, PeerbotApplication
from bot.core.helplines import install_helplines, shipped_helplines
from bot.core.ratelimit import SendBudget
from bot.delivery.limiter import SharedBudgetLimiter
from bot.handlers import register_all
from bot.locales import catalogue
from bot.logging_setup import quiet_noisy_loggers
from bot.services import Services
from bot.services.privacy import PrivacyPolicy
from bot.settings import ConfigError, Settings
from bot.storage.crypto import load_or_create_key_file
from bot.storage.uow import Database

log = logging.getLogger(__name__)

KEY_FILE_NAME = "peerbot.key"


def build_application(settings: Settings) -> PeerbotApplication:
    """PTB's application with every handler, job and the error handler registered; nothing
    is opened here (bot/runtime.py opens and closes, in order)."""
    quiet_noisy_loggers()  # httpx logs request URLs, and the URL carries the bot token
    apply_config_dir(settings)
    # Any: the builder's generic type changes with each option; the result is annotated below.
    builder: Any = ApplicationBuilder()
    # Replies and the dispatcher's sends draw on one budget: Telegram counts them together.
    budget = SendBudget()
    if settings.reply_rate_limit:
        builder = builder.rate_limiter(SharedBudgetLimiter(budget))
    endpoints = telegram_endpoints(settings)
    application: PeerbotApplication = (
        builder.token(endpoints["token"])
        .base_url(endpoints["base_url"])
        .base_file_url(endpoints["base_file_url"])
        .context_types(ContextTypes(context=BotContext, bot_data=BotData))
        .updater(None)  # intake is ours: updates are stored before they are confirmed
        .request(telegram_request(max(8, settings.concurrent_chats)))
        .get_updates_request(telegram_request(1))
        .build()
    )
    application.bot_data.send_budget = budget
    register_all(application)
    return application


class Endpoints(TypedDict):
    token: str
    base_url: str
    base_file_url: str


def telegram_endpoints(settings: Settings) -> Endpoints:
    """The token and URLs every Bot of this process talks to Telegram with."""
    return Endpoints(
        token=settings.bot_token,
        base_url=f"{settings.api_url}/bot",
        base_file_url=f"{settings.api_url}/file/bot",
    )


def delivery_bot(settings: Settings) -> Bot:
    """The dispatcher's Bot: without PTB's rate limiter, for it keeps Telegram's limits itself
    and must see each 429 to pause everything."""
    return Bot(**telegram_endpoints(settings), request=telegram_request(16))


def open_services(settings: Settings, db: Database) -> Services:
    """The services over an open database (the crisis screener is loaded, or built, here)."""
    return Services.build(
        db,
        settings.coordinators,
        settings.reminder_offsets,
        alert_chat_id=settings.alert_chat_id,
        realert_after=settings.realert_after,
        question_delay=settings.question_delay,
        sensitivity=settings.screen_sensitivity,
        privacy=PrivacyPolicy(
            safety_record_days=settings.safety_record_days,
            checkin_note_days=settings.keep_checkin_notes_days,
            escalation_note_days=settings.keep_escalation_notes_days,
            question_text_days=settings.keep_question_texts_days,
            audit_days=settings.keep_audit_days,
        ),
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every connection to Telegram: httpx otherwise builds one per client
    and loads the system's certificates each time (~40 ms apiece at start)."""
    return ssl.create_default_context()


def telegram_request(pool_size: int) -> HTTPXRequest:
    """An HTTP client for the Bot API (the bot's own, its long poll's, the dispatcher's)."""
    return HTTPXRequest(
        connection_pool_size=pool_size,
        connect_timeout=10,
        read_timeout=15,
        write_timeout=15,
        pool_timeout=10,
        httpx_kwargs={"verify": _tls_context()},
    )


def apply_config_dir(settings: Settings) -> None:
    """The organisation's own texts and crisis lines, checked and merged over the shipped
    ones before anything is said (one line naming the file and key if one is wrong)."""
    # A fresh catalogue for each application (another, built earlier in this process, may
    # have had other overrides); loading it reads two small files.
    catalogue.cache_clear()
    install_helplines(None)
    if settings.config_dir is None:
        return
    from bot.locales.overrides import OverrideError, apply_overrides

    try:
        lines = apply_overrides(settings.config_dir, catalogue(), shipped_helplines())
    except OverrideError as exc:
        raise ConfigError.plain(str(exc)) from None
    install_helplines(lines)


def resolve_secret_key(settings: Settings) -> str:
    """The configured key, or one generated into a 0600 file beside the SQLite database."""
    if settings.secret_key:
        return settings.secret_key
    db_path = settings.sqlite_path
    if db_path is None:
        raise RuntimeError(
            "PEERBOT_SECRET_KEY: is required with PostgreSQL "
            "(example: PEERBOT_SECRET_KEY=<output of peerbot keygen>)"
        )
    key_path = Path(db_path).resolve().parent / KEY_FILE_NAME
    key, created = load_or_create_key_file(key_path)
    if created:
        log.warning(
            "PEERBOT_SECRET_KEY is not set: generated a new key in %s (owner-only). "
            "Back it up: without it the stored names and messages cannot be read.",
            key_path,
        )
    return key
