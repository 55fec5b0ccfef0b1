"""/settings: change display name, timezone and language; download or erase your data
(the last two are handled in bot/handlers/privacy.py)."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.core.profile import NAME_MAX, NAME_MIN, SUPPORTED_LANGUAGES
from bot.handlers.common import button, buttons, edge, language, say
from bot.handlers.onboarding import region_keyboard
from bot.handlers.steps import ButtonStep, ButtonSteps
from bot.services.errors import NeedsOnboarding
from bot.services.members import Awaiting, Step


@edge
async def settings_menu(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != Step.DONE:
        raise NeedsOnboarding
    lang = profile.language
    t = context.texts.t
    await say(
        update,
        context,
        "settings.menu",
        name=profile.display_name,
        timezone=profile.timezone,
        language=t(lang, f"language.{lang}"),
        reply_markup=buttons(
            [
                [button(t(lang, "settings.name_button"), callbacks.SETTINGS_NAME)],
                [button(t(lang, "settings.timezone_button"), callbacks.SETTINGS_TIMEZONE)],
                [button(t(lang, "settings.language_button"), callbacks.SETTINGS_LANGUAGE)],
                [button(t(lang, "settings.export_button"), callbacks.SETTINGS_EXPORT)],
                [button(t(lang, "settings.forget_button"), callbacks.SETTINGS_FORGET)],
            ]
        ),
    )


async def on_change_name(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.members.expect(user.id, Awaiting.NAME)
    await say(update, context, "settings.ask_name", min=NAME_MIN, max=NAME_MAX)


async def on_change_timezone(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    lang = await language(update, context)
    await context.services.members.expect(user.id, Awaiting.TIMEZONE)
    await say(
        update, context, "onboarding.choose_zone", reply_markup=region_keyboard(context, lang)
    )


async def on_change_language(update: Update, context: BotContext, pressed: Decoded) -> None:
    lang = await language(update, context)
    labels = [
        button(context.texts.t(lang, f"language.{code}"), callbacks.LANGUAGE, code)
        for code in context.texts.languages
        if code in SUPPORTED_LANGUAGES
    ]
    await say(update, context, "settings.choose_language", reply_markup=buttons([labels]))


async def on_language(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.set_language(user.id, pressed.text("language"))
    # Said in the language just chosen (this update began in the old one).
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(
        chat.id,
        context.texts.t(profile.language, "settings.language_changed"),
        parse_mode=ParseMode.HTML,
    )


# /settings' last two buttons (your data, erase it) are bot/handlers/privacy.py's.
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.SETTINGS_NAME, on_change_name),
    ButtonStep(callbacks.SETTINGS_TIMEZONE, on_change_timezone),
    ButtonStep(callbacks.SETTINGS_LANGUAGE, on_change_language),
    ButtonStep(callbacks.LANGUAGE, on_language),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CommandHandler("settings", settings_menu, filters=filters.ChatType.PRIVATE)
    )
    application.add_handler(BUTTON_STEPS)
