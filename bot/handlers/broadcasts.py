"""Announcements: /broadcast, its preview, and the status message that follows the send."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.core.questions import MAX_BROADCAST_CHARS
from bot.handlers.common import (
    answer_query,
    button,
    buttons,
    edge,
    language,
    only_for,
    say,
    wake_delivery,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, Settle, TextStep, TextSteps, text_steps
from bot.services.broadcasts import StatusUpdate
from bot.services.errors import NotAllowed
from bot.services.members import Awaiting, Profile

log = logging.getLogger(__name__)


@edge
@only_for("broadcast")
async def broadcast(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    audiences = await context.services.broadcasts.audiences(user.id)
    if not audiences:
        raise NotAllowed("groups.no_groups_to_manage")
    if len(audiences) == 1:
        await _begin(update, context, audiences[0].key)
        return
    await say(
        update, context, "broadcasts.choose",
        reply_markup=buttons(
            [[button(a.name, callbacks.BROADCAST_AUDIENCE, a.key)] for a in audiences]
        ),
    )  # fmt: skip


async def _begin(update: Update, context: BotContext, key: str) -> None:
    user = update.effective_user
    assert user is not None
    audience = await context.services.broadcasts.begin(user.id, key)
    await say(update, context, "broadcasts.ask_text", audience=audience.name,
              max=MAX_BROADCAST_CHARS)  # fmt: skip


async def answer_text(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    """The announcement as typed (with Telegram's own formatting, safely escaped, so read from
    the message rather than `text`): preview it exactly as members will see it."""
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None and message.text is not None
    preview = await context.services.broadcasts.preview(
        user.id, profile.draft, message.text_html, len(message.text)
    )
    lang = profile.language
    t = context.texts.t
    await say(update, context, "broadcasts.preview_intro", audience=preview.audience,
              count=preview.recipients)  # fmt: skip
    await context.bot.send_message(
        user.id, preview.message, parse_mode=ParseMode.HTML,
        reply_markup=buttons([[
            button(t(lang, "broadcasts.send_button", count=preview.recipients),
                   callbacks.BROADCAST_SEND, preview.nonce),
            button(t(lang, "common.cancel_button"), callbacks.BROADCAST_DISCARD, preview.nonce),
        ]]),
    )  # fmt: skip


def _cancel_markup(context: BotContext, lang: str, broadcast_id: int) -> InlineKeyboardMarkup:
    label = context.texts.t(lang, "broadcasts.cancel_button")
    return buttons([[button(label, callbacks.BROADCAST_STOP, broadcast_id)]])


async def on_audience(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _begin(update, context, pressed.text("audience"))


async def on_send(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    service = context.services.broadcasts
    status = await service.send(user.id, pressed.text("nonce"))
    wake_delivery(context)
    lang = await language(update, context)
    try:
        sent = await context.bot.send_message(
            user.id, status.text, parse_mode=ParseMode.HTML,
            reply_markup=_cancel_markup(context, lang, status.broadcast_id),
        )  # fmt: skip
    except TelegramError as exc:  # the send is queued and goes on: never say otherwise
        log.warning("broadcast %s has no status message: %s", status.broadcast_id,
                    type(exc).__name__)  # fmt: skip
        return
    await service.attach_status(status.broadcast_id, sent.message_id, status.text)


async def on_discard(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.broadcasts.cancel_draft(user.id, pressed.text("nonce"))
    await say(update, context, "common.cancelled")


async def on_stop(update: Update, context: BotContext, pressed: Decoded) -> None:
    """Stop a send under way; its status message then says so (and loses the button)."""
    user = update.effective_user
    assert user is not None
    status = await context.services.broadcasts.cancel(user.id, pressed.number("broadcast"))
    await answer_query(update)
    await _show(context, status, markup=None)


async def _show(
    context: BotContext, status: StatusUpdate, markup: InlineKeyboardMarkup | None
) -> None:
    """Edit the author's status message to say where the send is."""
    if status.message_id is None:
        return
    try:
        await context.bot.edit_message_text(
            status.text, chat_id=status.chat_id, message_id=status.message_id,
            parse_mode=ParseMode.HTML, reply_markup=markup,
        )  # fmt: skip
    except BadRequest as exc:  # not modified (shown already), or deleted by its author
        log.info("broadcast status not edited: %s", type(exc).__name__)
    except TelegramError as exc:
        log.warning("broadcast status not edited: %s", type(exc).__name__)
        return
    await context.services.broadcasts.mark_shown(status.broadcast_id, status.text)


async def refresh_progress(context: BotContext) -> None:
    """Job: bring every running send's status message up to date."""
    for status in await context.services.broadcasts.refresh():
        author = await context.services.members.profile(status.chat_id)
        lang = context.texts.resolve(author.language if author else None)
        markup = None if status.final else _cancel_markup(context, lang, status.broadcast_id)
        await _show(context, status, markup)


TEXT_STEPS = TextSteps(TextStep(Awaiting.BROADCAST_TEXT, answer_text))
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.BROADCAST_AUDIENCE, on_audience),
    ButtonStep(callbacks.BROADCAST_SEND, on_send),
    ButtonStep(callbacks.BROADCAST_DISCARD, on_discard),
    ButtonStep(callbacks.BROADCAST_STOP, on_stop, Settle.BY_HANDLER),  # answered once stopped
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    application.add_handler(
        CommandHandler("broadcast", broadcast, filters=filters.ChatType.PRIVATE)
    )
    application.add_handler(BUTTON_STEPS)
    text_steps(application).include(TEXT_STEPS)
