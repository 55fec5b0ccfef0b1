"""The one error handler: log the class and the update id, never the update's content."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot.context import BotContext
from bot.core.handling import current_ticket
from bot.core.profile import language_from_telegram

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(error, Forbidden):
        # The person blocked the bot, or it was removed from the group, since they wrote:
        # nobody is left to answer, and trying again would not change that. Not a failure.
        log.info("update %s: its chat is closed to the bot now", update_id)
        return
    ticket = current_ticket()
    if ticket is not None and error is not None:
        ticket.record_error(error)  # the intake runner decides: retry, or a dead letter
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
    """Tell the member, in a private chat and in their language, that their last action did
    not go through."""
    chat = update_payload.effective_chat
    user = update_payload.effective_user
    if chat is None or chat.type != "private" or user is None:
        return
    texts = application.bot_data.catalogue
    try:
        profile = await application.bot_data.services.members.profile(user.id)
    except Exception as exc:  # the database may be what failed: apologise all the same
        log.warning("apology without the member's settings: %s", type(exc).__name__)
        profile = None
    lang = texts.resolve(
        profile.language
        if profile
        else language_from_telegram(user.language_code, texts.default_language)
    )
    try:
        await application.bot.send_message(
            chat.id, texts.t(lang, "common.error"), parse_mode=ParseMode.HTML
        )
    except TelegramError as exc:
        log.warning("could not send an apology: %s", type(exc).__name__)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_error_handler(on_error)
