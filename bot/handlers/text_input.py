"""Free text in a private chat: the answer to whatever the bot last asked, if anything."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.context import BotContext
from bot.handlers.broadcasts import on_broadcast_text
from bot.handlers.checkins import on_checkin_note
from bot.handlers.common import MAX_INPUT_CHARS, edge, profile_at_start, say
from bot.handlers.groups import create_group_named
from bot.handlers.meetings import on_meeting_text
from bot.handlers.onboarding import apply_name, apply_timezone, reask_pending
from bot.handlers.questions import on_question_text, on_reject_reason, passed_on_as_reply
from bot.handlers.safety import on_resolution_note
from bot.services.members import Awaiting

MEETING_STEPS = (
    Awaiting.MEETING_TITLE,
    Awaiting.MEETING_WHEN,
    Awaiting.MEETING_PLACE,
    Awaiting.MEETING_EDIT_WHEN,
    Awaiting.MEETING_EDIT_PLACE,
)


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
    if profile.awaiting is Awaiting.NAME:
        await apply_name(update, context, text)
    elif profile.awaiting is Awaiting.TIMEZONE:
        await apply_timezone(update, context, text)
    elif profile.awaiting is Awaiting.GROUP_NAME:
        await create_group_named(update, context, text)
    elif profile.awaiting in MEETING_STEPS:
        await on_meeting_text(update, context, profile, text)
    elif profile.awaiting is Awaiting.RESOLUTION_NOTE:
        await on_resolution_note(update, context, profile.draft, text)
    elif profile.awaiting is Awaiting.CHECKIN_NOTE:
        await on_checkin_note(update, context, text)
    elif profile.awaiting is Awaiting.QUESTION_TEXT:
        await on_question_text(update, context, profile, text)
    elif profile.awaiting is Awaiting.REJECT_REASON:
        await on_reject_reason(update, context, profile, text)
    elif profile.awaiting is Awaiting.BROADCAST_TEXT:
        await on_broadcast_text(update, context, profile)


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
    application.add_handler(
        MessageHandler(
            private & filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, on_private_text
        )
    )
    application.add_handler(
        MessageHandler(private & filters.UpdateType.MESSAGE & ~filters.COMMAND, on_private_other)
    )
