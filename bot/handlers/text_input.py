"""Free text in a private chat: the answer to whatever the bot last asked, if anything, handed
to the step each feature declared for it (bot.handlers.steps); and /skip, for a step that may
be skipped."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import Application, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.handlers.common import MAX_INPUT_CHARS, edge, profile_at_start, say
from bot.handlers.onboarding import reask_pending
from bot.handlers.questions import passed_on_as_reply
from bot.handlers.steps import text_steps
from bot.services.errors import NeedsOnboarding
from bot.services.members import Step

log = logging.getLogger(__name__)


@edge
async def on_private_text(update: Update, context: BotContext) -> None:
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None and message.text is not None
    if await passed_on_as_reply(update, context):
        return
    profile = await profile_at_start(update, context)
    if profile is None or profile.awaiting is None:
        if await reask_pending(update, context, profile):
            return
        if profile is None or not profile.consent_current:
            await say(update, context, "common.start_first")
        else:
            await say(update, context, "common.no_text_expected")
        return
    text = message.text
    if len(text) > MAX_INPUT_CHARS:
        await say(update, context, "common.too_long", max=MAX_INPUT_CHARS)
        return
    step = text_steps(context.application).get(profile.awaiting)
    if step is None:  # a feature forgot to register its steps: a bug, not the member's doing
        log.warning("no step answers %s", profile.awaiting.value)
        return
    await step.answer(update, context, profile, text)


@edge
async def skip(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != Step.DONE:
        raise NeedsOnboarding
    step = text_steps(context.application).get(profile.awaiting)
    if step is None or step.skip is None:
        await say(update, context, "common.unknown_command")
        return
    await step.skip(update, context, profile)


@edge
async def on_private_other(update: Update, context: BotContext) -> None:
    """Stickers, photos, voice notes: kindly say what the bot understands (a captioned reply
    to an anonymous question is passed on like a text one)."""
    if await passed_on_as_reply(update, context):
        return
    if await reask_pending(update, context, await profile_at_start(update, context)):
        return
    await say(update, context, "common.no_text_expected")


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("skip", skip, filters=private))
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, on_private_text
        )
    )
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_private_other)
    )
