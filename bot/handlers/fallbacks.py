"""Last resort for anything no feature handled: unknown commands and stale buttons."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.handlers.common import say

FALLBACK_GROUP = 10


async def unknown_command(update: Update, context: BotContext) -> None:
    await say(update, context, "common.unknown_command")


async def stale_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer()
    await say(update, context, "common.stale_button")


def register(application: Application) -> None:  # type: ignore[type-arg]
    # Registered in a later group, so a feature's handler always wins.
    application.add_handler(
        MessageHandler(filters.ChatType.PRIVATE & filters.COMMAND, unknown_command),
        group=FALLBACK_GROUP,
    )
    application.add_handler(CallbackQueryHandler(stale_button), group=FALLBACK_GROUP)
