"""Last resort for anything no feature handled: unknown commands and stale buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.handlers.common import answer_query, say


async def unknown_command(update: Update, context: BotContext) -> None:
    await say(update, context, "common.unknown_command")


async def stale_button(update: Update, context: BotContext) -> None:
    await answer_query(update)
    await say(update, context, "common.stale_button")


def register(application: Application) -> None:  # type: ignore[type-arg]
    # Registered last in the default group: PTB runs the first matching handler of a group,
    # so these answer only what no feature handled. (In a later group they would run *as
    # well*, and every known command would also get "I don't know that command".)
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command)
    )
    application.add_handler(CallbackQueryHandler(stale_button))
