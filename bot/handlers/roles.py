"""/grant and /revoke: coordinators appoint facilitators."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler

from bot.context import BotContext
from bot.handlers.common import edge, only_for, say, wake_delivery
from bot.handlers.menus import publish_commands_for

log = logging.getLogger(__name__)


def _target(update: Update, context: BotContext) -> int | None:
    """The member meant: an id argument, or the author of the message replied to."""
    if context.args:
        raw = context.args[0].strip()
        return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 20 else None
    message = update.effective_message
    if message and message.reply_to_message and message.reply_to_message.from_user:
        replied = message.reply_to_message.from_user
        return None if replied.is_bot else replied.id
    return None


async def _change(update: Update, context: BotContext, *, allowed: bool) -> None:
    user = update.effective_user
    assert user is not None
    target = _target(update, context)
    if target is None:
        await say(update, context, "roles.grant_usage" if allowed else "roles.revoke_usage")
        return
    change = await context.services.roles.set_facilitator(user.id, target, allowed=allowed)
    if not change.changed:
        key = "roles.already_granted" if allowed else "roles.not_granted"
        await say(update, context, key, name=change.display_name)
        return
    await say(
        update, context, "roles.granted" if allowed else "roles.revoked", name=change.display_name
    )
    await publish_commands_for(context, change.telegram_id)
    wake_delivery(context)


@edge
@only_for("grant")
async def grant(update: Update, context: BotContext) -> None:
    await _change(update, context, allowed=True)


@edge
@only_for("revoke")
async def revoke(update: Update, context: BotContext) -> None:
    await _change(update, context, allowed=False)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("grant", grant))
    application.add_handler(CommandHandler("revoke", revoke))
