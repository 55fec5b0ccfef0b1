"""Last resort for anything no feature handled: unknown commands, and button presses that are
not the bot's (forged, stale, or pressed where that kind of button does not belong)."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.core.callbacks import Place, Where, decode
from bot.handlers.common import answer_query, app_language, press_place, say

log = logging.getLogger(__name__)


async def unknown_command(update: Update, context: BotContext) -> None:
    await say(update, context, "common.unknown_command")


async def refuse_button(update: Update, context: BotContext) -> None:
    """Every press no feature took: answer it kindly and change nothing. Said in the press's
    notice, and (in the presser's own chat with the bot) as a message too; never in a group."""
    query = update.callback_query
    assert query is not None
    decoded = decode(query.data)
    place = press_place(update)
    if decoded is None or decoded.kind.pressable_in(place):
        key, message_key, why = "buttons.inactive", "common.stale_button", "not a button we make"
    elif decoded.kind.where is Where.PRIVATE:
        key, message_key, why = "buttons.private_only", "buttons.private_only", "private only"
    else:
        key, message_key, why = "buttons.group_only", "buttons.group_only", "group only"
    log.info("button press refused: %s", why)
    # Answered at once, in the language of the person's Telegram app (no database read first).
    lang = app_language(update, context)
    await answer_query(update, context.texts.t(lang, key))
    if place is Place.PRIVATE:
        await say(update, context, message_key)


def register(application: Application) -> None:  # type: ignore[type-arg]
    # Registered last in the default group: PTB runs the first matching handler of a group,
    # so these answer only what no feature handled. (In a later group they would run *as
    # well*, and every known command would also get "I don't know that command".)
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command)
    )
    application.add_handler(CallbackQueryHandler(refuse_button))
