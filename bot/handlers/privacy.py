"""/mydata, /forget and /erase: a member's copy of their data, erasing it (theirs, after two
confirmations; or a coordinator's /erase for a member who asked by other means)."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.handlers.common import (
    button,
    buttons,
    edge,
    language,
    only_for,
    say,
)
from bot.handlers.menus import publish_commands_for
from bot.handlers.steps import ButtonStep, ButtonSteps
from bot.services.privacy import PrivacyService

EXPORT_FILENAME = "my-peerbot-data.json"


def _user_id(update: Update) -> int:
    user = update.effective_user
    assert user is not None
    return user.id


# ---------------------------------------------------------------------------- /mydata
@edge
async def my_data(update: Update, context: BotContext) -> None:
    await _send_export(update, context)


async def _send_export(update: Update, context: BotContext) -> None:
    export = await context.services.privacy.export(_user_id(update))
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id, InputFile(export.to_bytes(), filename=EXPORT_FILENAME, attach=True)
    )
    counts = export.counts
    await say(
        update,
        context,
        "privacy.export_summary",
        groups=counts["groups"],
        rsvps=counts["rsvps"],
        checkins=counts["checkins"],
        questions=counts["questions"],
        escalations=counts["escalations"],
    )


# ---------------------------------------------------------------------------- /forget
@edge
async def forget(update: Update, context: BotContext) -> None:
    await _explain_forget(update, context)


async def _explain_forget(update: Update, context: BotContext) -> None:
    if not await context.services.privacy.has_data(_user_id(update)):
        await say(update, context, "privacy.nothing_stored")
        return
    t = context.texts.t
    lang = await language(update, context)
    days = context.services.privacy.policy.safety_record_days
    await say(
        update,
        context,
        "privacy.forget_explain",
        days=days,
        reply_markup=buttons(
            [
                [button(t(lang, "privacy.forget_continue_button"), callbacks.FORGET_CONTINUE)],
                [button(t(lang, "privacy.keep_button"), callbacks.FORGET_KEEP)],
            ]
        ),
    )


async def on_keep(update: Update, context: BotContext, pressed: Decoded) -> None:
    await say(update, context, "privacy.kept")


async def on_forget_continue(update: Update, context: BotContext, pressed: Decoded) -> None:
    t = context.texts.t
    lang = await language(update, context)
    await say(
        update,
        context,
        "privacy.forget_confirm",
        reply_markup=buttons(
            [
                [button(t(lang, "privacy.forget_button"), callbacks.FORGET_CONFIRM)],
                [button(t(lang, "privacy.keep_button"), callbacks.FORGET_KEEP)],
            ]
        ),
    )


async def on_forget_confirm(update: Update, context: BotContext, pressed: Decoded) -> None:
    user_id = _user_id(update)
    await context.services.privacy.forget(user_id)
    await say(update, context, "privacy.forgotten")
    await publish_commands_for(context, user_id)  # a facilitator's menu goes too


# ---------------------------------------------------------------------------- /settings
async def on_export(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _send_export(update, context)


async def on_forget(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _explain_forget(update, context)


# ---------------------------------------------------------------------------- /erase
def _erase_argument(context: BotContext) -> int | None:
    if not context.args or len(context.args) != 1:
        return None
    raw = context.args[0].strip()
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 16 else None


@edge
@only_for("erase")
async def erase(update: Update, context: BotContext) -> None:
    target = _erase_argument(context)
    if target is None or target < 1:
        await say(update, context, "privacy.erase_usage")
        return
    privacy: PrivacyService = context.services.privacy
    found = await privacy.erase_target(_user_id(update), target)
    t = context.texts.t
    lang = await language(update, context)
    await say(
        update,
        context,
        "privacy.erase_confirm",
        name=found.display_name,
        id=str(found.telegram_id),  # the count is `days`
        days=privacy.policy.safety_record_days,
        reply_markup=buttons(
            [
                [button(t(lang, "privacy.erase_button"), callbacks.ERASE_CONFIRM, target)],
                [button(t(lang, "privacy.erase_cancel_button"), callbacks.ERASE_CANCEL)],
            ]
        ),
    )


async def on_erase_cancel(update: Update, context: BotContext, pressed: Decoded) -> None:
    await say(update, context, "privacy.erase_cancelled")


async def on_erase_confirm(update: Update, context: BotContext, pressed: Decoded) -> None:
    target = pressed.number("member")
    await context.services.privacy.erase(_user_id(update), target)
    await say(update, context, "privacy.erased", id=target)
    await publish_commands_for(context, target)


BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.FORGET_CONTINUE, on_forget_continue),
    ButtonStep(callbacks.FORGET_CONFIRM, on_forget_confirm),
    ButtonStep(callbacks.FORGET_KEEP, on_keep),
    ButtonStep(callbacks.SETTINGS_EXPORT, on_export),
    ButtonStep(callbacks.SETTINGS_FORGET, on_forget),
    ButtonStep(callbacks.ERASE_CONFIRM, on_erase_confirm),
    ButtonStep(callbacks.ERASE_CANCEL, on_erase_cancel),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("mydata", my_data, filters=private))
    application.add_handler(CommandHandler("forget", forget, filters=private))
    application.add_handler(CommandHandler("erase", erase, filters=private))
    application.add_handler(BUTTON_STEPS)
