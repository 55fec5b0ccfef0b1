"""What every handler needs: the person's language, replying in catalogue text, and the edge
where service errors become kind words."""

from __future__ import annotations

import contextlib
import functools
import logging
import re
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.context import BotContext
from bot.core.handling import answered_queries
from bot.core.profile import language_from_telegram
from bot.services.errors import NotAllowed, ServiceError
from bot.services.members import Profile

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]

# Longest text a member may send where the bot reads it; anything longer is refused kindly.
MAX_INPUT_CHARS = 4000


async def profile_at_start(update: Update, context: BotContext) -> Profile | None:
    """The person's profile as it was when this update arrived (one read per update)."""
    if not context.profile_read:
        user = update.effective_user
        context.profile_at_start = (
            await context.services.members.profile(user.id) if user is not None else None
        )
        context.profile_read = True
        if context.profile_at_start is not None and context.profile_at_start.unreachable:
            assert user is not None
            await context.services.members.mark_reachable(user.id)
    return context.profile_at_start


async def language(update: Update, context: BotContext) -> str:
    """The person's language: their setting, else what their Telegram app says."""
    profile = await profile_at_start(update, context)
    if profile is not None:
        return profile.language
    user = update.effective_user
    return language_from_telegram(user.language_code if user else None)


async def say(
    update: Update,
    context: BotContext,
    key: str,
    /,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
    **params: object,
) -> Message | None:
    """Send catalogue text `key` to the chat the update came from."""
    chat = update.effective_chat
    if chat is None:
        return None
    text = context.texts.t(await language(update, context), key, **params)
    return await context.bot.send_message(
        chat.id,
        text,
        parse_mode=ParseMode.HTML,
        reply_markup=reply_markup,
    )


def buttons(rows: Sequence[Sequence[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """An inline keyboard from rows of (label, callback data)."""
    for row in rows:
        for _, data in row:
            assert 0 < len(data.encode()) <= 64, "callback data must be 1-64 bytes"
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def answer_query(update: Update, text: str | None = None) -> None:
    """Answer a button press once (Telegram refuses a second answer to the same press; the
    intake answers any press still unanswered shortly before Telegram's deadline)."""
    query = update.callback_query
    if query is None or not answered_queries.claim(query.id):
        return
    await query.answer(text)


async def settle_query(update: Update, *, keep_buttons: bool = False) -> None:
    """Acknowledge a button press and (usually) remove its buttons so it can't be pressed twice."""
    query = update.callback_query
    if query is None:
        return
    await answer_query(update)
    if not keep_buttons and query.message is not None and isinstance(query.message, Message):
        # BadRequest: already without buttons (a double press), nothing to do.
        with contextlib.suppress(BadRequest):
            await query.edit_message_reply_markup(reply_markup=None)


def edge(handler: Handler) -> Handler:
    """Translate service errors into catalogue text; everything else goes to the error handler."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext) -> None:
        try:
            await handler(update, context)
        except ServiceError as error:
            log.info("refused: %s (%s)", type(error).__name__, error.key)
            await answer_query(update)
            await say(update, context, error.key, reply_markup=None, **error.params)

    return wrapper


GroupAction = Callable[[Update, BotContext, int], Coroutine[Any, Any, None]]


async def for_a_managed_group(
    update: Update,
    context: BotContext,
    act: GroupAction,
    *,
    prompt: str,
    callback_prefix: str,
    none_key: str = "groups.no_groups_to_manage",
) -> None:
    """Run `act` for the group this person facilitates — asking which one when there are
    several (the buttons carry `{callback_prefix}{group id}`)."""
    user = update.effective_user
    assert user is not None
    groups = await context.services.groups.managed_groups(user.id)
    if not groups:
        raise NotAllowed(none_key)
    if len(groups) == 1:
        await act(update, context, groups[0].id)
        return
    await say(
        update,
        context,
        prompt,
        reply_markup=buttons([[(g.name, f"{callback_prefix}{g.id}")] for g in groups]),
    )


_DIGITS = re.compile(r"[0-9]+")


def is_id(raw: str, max_digits: int = 9) -> bool:
    """ASCII digits of a sane length (str.isdigit accepts "²", which int() refuses; a row id
    over 9 digits would overflow a database integer)."""
    return len(raw) <= max_digits and _DIGITS.fullmatch(raw) is not None


def parse_id(raw: str) -> int | None:
    """A row id from callback data; None for anything else (forged data must not crash)."""
    return int(raw) if is_id(raw) else None


def wake_delivery(context: BotContext) -> None:
    """A service queued messages: have the dispatcher look now rather than at its next poll."""
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.notify()


def private_text(update: Update) -> str | None:
    message = update.effective_message
    return message.text if message is not None else None
