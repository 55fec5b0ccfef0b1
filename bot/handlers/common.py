"""What every handler needs: the person's language, replying in catalogue text, reading
button presses through the codec, and the edge where service errors become kind words."""

from __future__ import annotations

import contextlib
import functools
import html
import logging
import re
from collections.abc import Callable, Coroutine, Iterable, Sequence
from typing import Any, Concatenate, ParamSpec

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden
from telegram.ext import BaseHandler

from bot.context import BotContext
from bot.core.callbacks import Decoded, Kind, Place, accepted, encode, place_of
from bot.core.handling import answered_queries
from bot.core.profile import language_from_telegram
from bot.core.roles import Role
from bot.handlers.commands import may_use
from bot.services.errors import NeedsOnboarding, NotAllowed, ServiceError
from bot.services.members import Profile, Step

log = logging.getLogger(__name__)

Handler = Callable[[Update, BotContext], Coroutine[Any, Any, None]]
ButtonCallback = Callable[[Update, BotContext, Decoded], Coroutine[Any, Any, None]]
P = ParamSpec("P")

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


async def onboarded_profile(update: Update, context: BotContext) -> Profile:
    """The person's profile as it is now; refused kindly until they have finished onboarding."""
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != Step.DONE:
        raise NeedsOnboarding
    return profile


async def language(update: Update, context: BotContext) -> str:
    """The person's language: their setting, else what their Telegram app says, else the
    organisation's (PEERBOT_DEFAULT_LANGUAGE)."""
    profile = await profile_at_start(update, context)
    if profile is not None:
        return context.texts.resolve(profile.language)
    return app_language(update, context)


def app_language(update: Update, context: BotContext) -> str:
    """The language of the person's Telegram app if the catalogue has it, else the
    organisation's: for someone the bot has no settings of (yet)."""
    user = update.effective_user
    return language_from_telegram(
        user.language_code if user else None, context.texts.default_language
    )


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


def edge(
    handler: Callable[Concatenate[Update, BotContext, P], Coroutine[Any, Any, None]],
) -> Callable[Concatenate[Update, BotContext, P], Coroutine[Any, Any, None]]:
    """Translate service errors into catalogue text; everything else goes to the error handler."""

    @functools.wraps(handler)
    async def wrapper(update: Update, context: BotContext, /, *args: P.args,
                      **kwargs: P.kwargs) -> None:  # fmt: skip
        try:
            await handler(update, context, *args, **kwargs)
        except ServiceError as error:
            log.info("refused: %s (%s)", type(error).__name__, error.key)
            await refuse(update, context, error.key, **error.params)

    return wrapper


async def refuse(update: Update, context: BotContext, key: str, /, **params: object) -> None:
    """Say no kindly. A button pressed anywhere but the presser's own chat with the bot is
    answered in the press's notice only: nothing is said in a group."""
    if update.callback_query is None:
        await say(update, context, key, reply_markup=None, **params)
    elif press_place(update) is Place.PRIVATE:
        await answer_query(update)
        await say(update, context, key, reply_markup=None, **params)
    else:
        text = context.texts.t(await language(update, context), key, **params)
        await answer_query(update, notice_text(text))


def notice_text(text: str) -> str:
    """Catalogue HTML as the plain text of a press's notice (Telegram shows at most 200)."""
    plain = html.unescape(re.sub(r"<[^>]*>", "", text)).strip()
    return plain if len(plain) <= 200 else plain[:199] + "…"


# ------------------------------------------------------------------------- button presses
def press_place(update: Update) -> Place:
    """Where a press came from: the presser's own chat, a group, or elsewhere (no message)."""
    chat = update.effective_chat
    user = update.effective_user
    return place_of(
        chat.type if chat else None, chat.id if chat else None, user.id if user else None
    )


def pressed(update: object) -> Decoded | None:
    """The press's data, decoded, when it is a kind of button the bot makes and it was pressed
    where that kind of button lives; None for anything else."""
    if not isinstance(update, Update) or update.callback_query is None:
        return None
    return accepted(update.callback_query.data, press_place(update))


class Buttons(BaseHandler[Update, BotContext, None]):
    """Handles presses of these kinds (decoded, and pressed where they may be). Anything else
    is left for the one refusal handler registered last (see fallbacks)."""

    def __init__(self, kinds: Iterable[Kind], callback: ButtonCallback) -> None:
        self.kinds = frozenset(kinds)
        self.on_press = callback
        super().__init__(self._run)

    def check_update(self, update: object) -> bool:
        decoded = pressed(update)
        return decoded is not None and decoded.kind in self.kinds

    async def _run(self, update: Update, context: BotContext) -> None:
        decoded = pressed(update)
        assert decoded is not None  # check_update said so
        await self.on_press(update, context, decoded)


async def tell_presser(update: Update, context: BotContext, text: str) -> None:
    """Say `text` (catalogue HTML) to whoever pressed a button, in their private chat; when the
    bot may not write to them there (they never started it), in the press's notice instead."""
    user = update.effective_user
    assert user is not None
    try:
        await context.bot.send_message(user.id, text, parse_mode=ParseMode.HTML)
    except (Forbidden, BadRequest) as exc:
        log.info("presser not reachable privately: %s", type(exc).__name__)
        await answer_query(update, notice_text(text))


def button(label: str, kind: Kind, *values: int | str | None) -> tuple[str, str]:
    """A (label, callback data) pair for `buttons`, its data made by the codec."""
    return label, encode(kind, *values)


# ------------------------------------------------------------------------- who may
async def role_of(update: Update, context: BotContext) -> Role:
    profile = await profile_at_start(update, context)
    if profile is not None:
        return profile.role
    user = update.effective_user
    if user is not None and context.services.roles.is_coordinator(user.id):
        return Role.COORDINATOR
    return Role.MEMBER


def only_for(command: str) -> Callable[[Handler], Handler]:
    """Refuse a command, saying what it is and who may use it (catalogue `refused.<name>`),
    to anyone whose role does not have it. The services still check every action."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapper(update: Update, context: BotContext) -> None:
            if not may_use(await role_of(update, context), command):
                raise NotAllowed(f"refused.{command}")
            await handler(update, context)

        return wrapper

    return decorate


GroupAction = Callable[[Update, BotContext, int], Coroutine[Any, Any, None]]


async def for_a_managed_group(
    update: Update,
    context: BotContext,
    act: GroupAction,
    *,
    prompt: str,
    kind: Kind,
    none_key: str = "groups.no_groups_to_manage",
) -> None:
    """Run `act` for the group this person facilitates — asking which one when there are
    several (buttons of `kind`, carrying the group's id)."""
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
        reply_markup=buttons([[button(g.name, kind, g.id)] for g in groups]),
    )


def wake_delivery(context: BotContext) -> None:
    """A service queued messages: have the dispatcher look now rather than at its next poll."""
    if context.bot_data.delivery is not None:
        context.bot_data.delivery.notify()


def private_text(update: Update) -> str | None:
    message = update.effective_message
    return message.text if message is not None else None
