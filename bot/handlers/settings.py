"""/settings: change display name, timezone and language."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.core.profile import NAME_MAX, NAME_MIN
from bot.handlers.common import buttons, edge, language, say, settle_query
from bot.handlers.onboarding import region_keyboard
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
                [(t(lang, "settings.name_button"), "set:name")],
                [(t(lang, "settings.timezone_button"), "set:tz")],
                [(t(lang, "settings.language_button"), "set:lang")],
            ]
        ),
    )


@edge
async def on_settings_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.data is not None
    await settle_query(update)
    members = context.services.members
    choice = query.data.split(":", 1)[1]
    lang = await language(update, context)
    if choice == "name":
        await members.expect(user.id, Awaiting.NAME)
        await say(update, context, "settings.ask_name", min=NAME_MIN, max=NAME_MAX)
    elif choice == "tz":
        await members.expect(user.id, Awaiting.TIMEZONE)
        await say(
            update, context, "onboarding.choose_zone", reply_markup=region_keyboard(context, lang)
        )
    elif choice == "lang":
        labels = [
            (context.texts.t(lang, f"language.{code}"), f"lang:{code}")
            for code in context.texts.languages
        ]
        await say(update, context, "settings.choose_language", reply_markup=buttons([labels]))
    else:
        await say(update, context, "common.stale_button")


@edge
async def on_language_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.data is not None
    await settle_query(update)
    await context.services.members.set_language(user.id, query.data.split(":", 1)[1])
    await say(update, context, "settings.language_changed")


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CommandHandler("settings", settings_menu, filters=filters.ChatType.PRIVATE)
    )
    application.add_handler(CallbackQueryHandler(on_settings_button, pattern=r"^set:"))
    application.add_handler(CallbackQueryHandler(on_language_button, pattern=r"^lang:[a-z]{2}$"))
