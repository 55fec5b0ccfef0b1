"""Command menus per role, published with setMyCommands (scoped), and /help."""

from __future__ import annotations

import logging

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.context import BotContext
from bot.core.roles import Role
from bot.handlers.commands import GROUP_CHAT_MENU, help_sections, private_menu
from bot.handlers.common import edge, language, role_of
from bot.locales import Catalogue

log = logging.getLogger(__name__)

MEMBER_COMMANDS = private_menu(Role.MEMBER)
FACILITATOR_COMMANDS = private_menu(Role.FACILITATOR)
COORDINATOR_COMMANDS = private_menu(Role.COORDINATOR)
GROUP_CHAT_COMMANDS = GROUP_CHAT_MENU

_FOR_ROLE = {
    Role.MEMBER: MEMBER_COMMANDS,
    Role.FACILITATOR: FACILITATOR_COMMANDS,
    Role.COORDINATOR: COORDINATOR_COMMANDS,
}


def _commands(texts: Catalogue, names: tuple[str, ...], lang: str) -> list[BotCommand]:
    return [BotCommand(name, texts.t(lang, f"commands.{name}")) for name in names]


async def publish_default_commands(
    bot: Bot, texts: Catalogue, coordinators: frozenset[int], facilitators: list[int]
) -> None:
    """Each scope's menu in the organisation's language, and in every other shipped language
    for people whose Telegram app is in it (Telegram picks by the app's language)."""
    for lang in (None, *(code for code in texts.languages if code != texts.default_language)):
        shown = lang or texts.default_language
        await bot.set_my_commands(
            _commands(texts, MEMBER_COMMANDS, shown),
            scope=BotCommandScopeAllPrivateChats(),
            language_code=lang,
        )
        await bot.set_my_commands(
            _commands(texts, GROUP_CHAT_COMMANDS, shown),
            scope=BotCommandScopeAllGroupChats(),
            language_code=lang,
        )
    for telegram_id in facilitators:
        if telegram_id not in coordinators:
            await _set_for_chat(bot, texts, telegram_id, Role.FACILITATOR, texts.default_language)
    for telegram_id in coordinators:
        await _set_for_chat(bot, texts, telegram_id, Role.COORDINATOR, texts.default_language)


async def _set_for_chat(
    bot: Bot, texts: Catalogue, telegram_id: int, role: Role, lang: str
) -> None:
    try:
        await bot.set_my_commands(
            _commands(texts, _FOR_ROLE[role], lang), scope=BotCommandScopeChat(telegram_id)
        )
    except TelegramError as exc:
        # e.g. a coordinator who has not opened a chat with the bot yet
        log.info("command menu not set for one chat: %s", type(exc).__name__)


async def publish_commands_for(context: BotContext, telegram_id: int) -> None:
    profile = await context.services.members.profile(telegram_id)
    role = profile.role if profile else Role.MEMBER
    if role is Role.MEMBER:
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChat(telegram_id))
        except TelegramError as exc:
            log.info("command menu not reset for one chat: %s", type(exc).__name__)
        return
    lang = context.texts.resolve(profile.language if profile else None)
    await _set_for_chat(context.bot, context.texts, telegram_id, role, lang)


def help_text(texts: Catalogue, lang: str, role: Role) -> str:
    """The commands this role has, a section per role, and where to find help in a crisis."""
    t = texts.t
    parts = [
        "\n".join([t(lang, f"help.title_{level.value}"),
                   *(t(lang, f"help.lines.{name}") for name in names)])
        for level, names in help_sections(role)
    ]  # fmt: skip
    parts.append(t(lang, "help.crisis"))
    return "\n\n".join(parts)


@edge
async def help_command(update: Update, context: BotContext) -> None:
    chat = update.effective_chat
    assert chat is not None
    text = help_text(context.texts, await language(update, context), await role_of(update, context))
    await context.bot.send_message(chat.id, text, parse_mode="HTML")


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(CommandHandler("help", help_command))
