"""Groups: /newgroup, /groups, /invite, /leave, and /link in a Telegram group chat."""

from __future__ import annotations

import logging

from telegram import ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.ext import Application, ChatMemberHandler, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.core.invites import invite_link
from bot.core.profile import GROUP_NAME_MAX, GROUP_NAME_MIN
from bot.core.roles import GroupRole
from bot.handlers.common import (
    button,
    buttons,
    edge,
    for_a_managed_group,
    language,
    only_for,
    say,
    settle_query,
    wake_delivery,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, Settle, TextStep, TextSteps, text_steps
from bot.services.errors import NeedsOnboarding
from bot.services.groups import GroupInfo
from bot.services.members import Awaiting, Profile, Step

log = logging.getLogger(__name__)


def _link(context: BotContext, group: GroupInfo) -> str:
    return invite_link(context.bot.username, group.invite_code)


@edge
@only_for("newgroup")
async def new_group(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    name = " ".join(context.args or [])
    if name:
        await create_group_named(update, context, name)
        return
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != Step.DONE:
        raise NeedsOnboarding
    await context.services.members.expect(user.id, Awaiting.GROUP_NAME)
    await say(update, context, "groups.ask_name", min=GROUP_NAME_MIN, max=GROUP_NAME_MAX)


async def create_group_named(update: Update, context: BotContext, name: str) -> None:
    user = update.effective_user
    assert user is not None
    group = await context.services.groups.create_group(user.id, name)
    await say(update, context, "groups.created", group=group.name, link=_link(context, group))


@edge
async def list_groups(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    groups = await context.services.groups.my_groups(user.id)
    if not groups:
        await say(update, context, "groups.none")
        return
    lang = await language(update, context)
    t = context.texts.t
    lines = [t(lang, "groups.list_header")]
    for group in groups:
        key = (
            "groups.list_item_facilitator"
            if group.role == GroupRole.FACILITATOR
            else "groups.list_item"
        )
        lines.append(t(lang, key, group=group.name))
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_message(chat.id, "\n".join(lines), parse_mode="HTML")


@edge
@only_for("invite")
async def invite(update: Update, context: BotContext) -> None:
    await for_a_managed_group(
        update, context, _show_invite, prompt="groups.invite_choose", kind=callbacks.GROUP_INVITE
    )


async def _show_invite(update: Update, context: BotContext, group_id: int) -> None:
    user = update.effective_user
    assert user is not None
    group = await context.services.groups.invite(user.id, group_id)
    lang = await language(update, context)
    await say(
        update,
        context,
        "groups.invite",
        group=group.name,
        link=_link(context, group),
        reply_markup=buttons(
            [
                [
                    button(
                        context.texts.t(lang, "groups.rotate_button"),
                        callbacks.GROUP_ROTATE,
                        group.id,
                    )
                ]
            ]
        ),
    )


@edge
async def leave(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    groups = await context.services.groups.my_groups(user.id)
    if not groups:
        await say(update, context, "groups.none")
        return
    await say(
        update,
        context,
        "groups.leave_choose",
        reply_markup=buttons([[button(g.name, callbacks.GROUP_LEAVE, g.id)] for g in groups]),
    )


@edge
@only_for("link")
async def link(update: Update, context: BotContext) -> None:
    """/link in a group chat: tie the chat to the facilitator's group."""
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    already = await context.services.groups.linked_group_name(chat.id)
    if already is not None:
        await say(update, context, "groups.already_linked", group=already)
        return
    await for_a_managed_group(
        update,
        context,
        _link_chat,
        prompt="groups.link_choose",
        kind=callbacks.GROUP_LINK,
    )


async def _link_chat(update: Update, context: BotContext, group_id: int) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    result = await context.services.groups.link_chat(user.id, chat.id, group_id)
    key = "groups.already_linked" if result.already_linked else "groups.linked"
    await say(update, context, key, group=result.group_name)


async def on_link(update: Update, context: BotContext, pressed: Decoded) -> None:
    """In the group chat: anyone there can press; only the group's facilitator's press counts
    (anyone else's is answered in the press's notice, nothing is said in the chat)."""
    await _link_chat(update, context, pressed.number("group"))
    await settle_query(update)


async def on_invite(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _show_invite(update, context, pressed.number("group"))


async def on_rotate(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    group = await context.services.groups.rotate_invite(user.id, pressed.number("group"))
    await say(update, context, "groups.rotated", group=group.name, link=_link(context, group))


async def on_leave(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    name = await context.services.groups.leave(user.id, pressed.number("group"))
    await say(update, context, "groups.left", group=name)


async def on_bot_membership(update: Update, context: BotContext) -> None:
    """Notice when the bot is removed from a linked chat, and tell its facilitators."""
    change: ChatMemberUpdated | None = update.my_chat_member
    if change is None or change.chat.type == "private":
        return
    status = change.new_chat_member.status
    if status not in (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED):
        return
    unlinked = await context.services.groups.chat_removed(change.chat.id)
    if unlinked is not None:
        log.info("bot removed from a linked chat; group unlinked")
        wake_delivery(context)


async def answer_group_name(
    update: Update, context: BotContext, profile: Profile, text: str
) -> None:
    await create_group_named(update, context, text)


TEXT_STEPS = TextSteps(TextStep(Awaiting.GROUP_NAME, answer_group_name))
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.GROUP_INVITE, on_invite, Settle.KEEP_BUTTONS),
    ButtonStep(callbacks.GROUP_ROTATE, on_rotate),
    ButtonStep(callbacks.GROUP_LEAVE, on_leave),
    ButtonStep(callbacks.GROUP_LINK, on_link, Settle.BY_HANDLER),  # answered once it is linked
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    groups_only = filters.ChatType.GROUPS
    application.add_handler(CommandHandler("newgroup", new_group, filters=private))
    application.add_handler(CommandHandler("groups", list_groups, filters=private))
    application.add_handler(CommandHandler("invite", invite, filters=private))
    application.add_handler(CommandHandler("leave", leave, filters=private))
    application.add_handler(CommandHandler("link", link, filters=groups_only))
    application.add_handler(BUTTON_STEPS)
    application.add_handler(ChatMemberHandler(on_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    text_steps(application).include(TEXT_STEPS)
