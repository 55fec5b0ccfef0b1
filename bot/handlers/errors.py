"""The one error handler: log the class and the update id, never the update's content."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application

from bot.context import BotContext

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(update, Update) and error is not None:
        context.bot_data.failures[update.update_id] = error
    if getattr(error, "expected_replay", False):
        log.info("update %s was already handled; skipped", update_id)
        return
    log.error(
        "handler failed for update %s: %s",
        update_id,
        type(error).__name__,
        exc_info=(type(error), error, error.__traceback__) if error else None,
    )


async def apologise(application: Application, update_payload: Update) -> None:  # type: ignore[type-arg]
    """Tell the member, in a private chat, that their last action did not go through."""
    chat = update_payload.effective_chat
    if chat is None or chat.type != "private":
        return
    texts = application.bot_data.catalogue
    try:
        await application.bot.send_message(
            chat.id, texts.t("en", "common.error"), parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        log.warning("could not send an apology: %s", type(exc).__name__)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_error_handler(on_error)
