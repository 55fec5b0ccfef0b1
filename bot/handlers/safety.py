"""The safety gate and the coordinators' side of escalations.

The gate runs in group -1, before every other handler, on every piece of text a person writes
where the bot can read it: private messages, group messages (even from people who never
started the bot), edits and captions. The normal flow still runs afterwards.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.core.handling import current_ticket
from bot.core.helplines import helplines
from bot.core.screening import Level
from bot.handlers.common import (
    answer_query,
    button,
    buttons,
    edge,
    language,
    notice_text,
    only_for,
    profile_at_start,
    say,
    settle_query,
    tell_presser,
    wake_delivery,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, Settle, TextStep, TextSteps, text_steps
from bot.services.errors import NotFound
from bot.services.members import Awaiting, Profile
from bot.services.safety import EscalationView

log = logging.getLogger(__name__)
SAFETY_GROUP = -1
HELP_SENT = "safety.help_sent"


async def gate(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    chat = update.effective_chat
    if message is None or user is None or chat is None or user.is_bot:
        return
    text = message.text or message.caption
    if not text:
        return
    ticket = current_ticket()
    try:
        flagged = await context.services.safety.screen(
            author_id=user.id,
            author_name=user.first_name,
            chat_id=chat.id,
            chat_title=chat.title if chat.type != "private" else None,
            text=text,
            language=user.language_code,
        )
    except Exception as exc:
        # Fail loud, and let nothing else handle this update: the whole update is tried
        # again (and finally kept as a dead letter, with an apology) rather than marked done
        # by a feature handler while its screening never happened.
        log.error("safety screening failed for update %s: %s", update.update_id, type(exc).__name__)
        if ticket is None:
            raise
        ticket.record_error(exc)
        raise ApplicationHandlerStop from exc
    context.bot_data.metrics.screening(flagged.screening.level.label)
    if flagged.screening.level is Level.NONE:
        return
    if not flagged.repeat:
        log.warning(
            "screened %s: escalation %s (%s)",
            flagged.screening.level.label,
            flagged.escalation_id,
            ",".join(flagged.screening.categories),
        )
    wake_delivery(context)
    # The help lines go out once per try of this process; after a crash they go out again
    # (better twice than never).
    if flagged.screening.level is Level.URGENT and not (
        ticket is not None and HELP_SENT in ticket.steps_done
    ):
        await _reply_with_help(update, context, flagged.escalation_id)
        if ticket is not None:
            ticket.steps_done.add(HELP_SENT)


async def _reply_with_help(update: Update, context: BotContext, escalation_id: int | None) -> None:
    """A warm private reply with the crisis lines for where the member is, in their language,
    and a "That's not what I meant" button under it. Never in public."""
    user = update.effective_user
    assert user is not None
    profile = await profile_at_start(update, context)
    lang = await language(update, context)
    t = context.texts.t
    known = helplines()
    country = known.country_for(profile.timezone if profile else None, user.language_code)
    # A country's own lines are written in its language; the general advice in the member's.
    lines = known.lines[country] if country != "default" else t(lang, "safety.default_lines")
    settings = context.bot_data.settings
    oncall = (
        t(lang, "safety.oncall", contact=settings.oncall_contact) if settings.oncall_contact else ""
    )
    text = t(lang, "safety.member_reply", lines=lines, oncall=_markup(oncall))
    not_meant = (
        buttons([[button(t(lang, "safety.not_meant_button"), callbacks.ESCALATION_NOT_MEANT,
                         escalation_id)]])
        if escalation_id is not None
        else None
    )  # fmt: skip
    try:
        await context.bot.send_message(
            user.id, text, parse_mode=ParseMode.HTML, reply_markup=not_meant
        )
    except TelegramError as exc:  # e.g. a group member who never opened a chat with the bot
        log.warning("could not reach the member privately: %s", type(exc).__name__)


def _markup(html: str) -> object:
    from bot.locales import Markup

    return Markup(html)


async def on_not_meant(update: Update, context: BotContext, pressed: Decoded) -> None:
    """The member's "That's not what I meant": thanked once, kindly; the crisis reply and its
    help lines stay where they are (only the button goes). A second press changes nothing."""
    user = update.effective_user
    assert user is not None
    first = await context.services.safety.not_meant(user.id, pressed.number("escalation"))
    wake_delivery(context)  # the notes to the coordinators
    if first:
        await settle_query(update)
        await say(update, context, "safety.not_meant_thanks")
    else:
        lang = await language(update, context)
        await answer_query(update, notice_text(context.texts.t(lang, "safety.not_meant_thanks")))


async def on_acknowledge(update: Update, context: BotContext, pressed: Decoded) -> None:
    """Acknowledge on an alert (in a coordinator's private chat, or the alert chat): whatever
    needs saying goes to the presser privately."""
    user = update.effective_user
    assert user is not None
    escalation_id = pressed.number("escalation")
    view = await context.services.safety.acknowledge(user.id, escalation_id)
    lang = await language(update, context)
    await tell_presser(update, context, context.texts.t(lang, "safety.ack_done",
                                                        id=escalation_id))  # fmt: skip
    await answer_query(update)
    await _mark_alerts(context, view, "safety.acknowledged", user.first_name, keep_resolve=True)


async def on_resolve(update: Update, context: BotContext, pressed: Decoded) -> None:
    """Resolve on an alert: the presser is asked privately for a note (the next thing they
    type, `on_resolution_note`)."""
    user = update.effective_user
    assert user is not None
    escalation_id = pressed.number("escalation")
    await context.services.safety.check_coordinator(user.id, escalation_id)
    await context.services.members.set_flow(
        user.id, Awaiting.RESOLUTION_NOTE, {"escalation": escalation_id}
    )
    lang = await language(update, context)
    await tell_presser(update, context, context.texts.t(lang, "safety.ask_note", id=escalation_id))
    await settle_query(update, keep_buttons=True)


async def on_resolution_note(
    update: Update, context: BotContext, profile: Profile, text: str
) -> None:
    user = update.effective_user
    assert user is not None
    escalation_id = profile.draft.get("escalation")
    if not isinstance(escalation_id, int):
        raise NotFound
    view = await context.services.safety.resolve(user.id, escalation_id, text)
    await context.services.members.set_flow(user.id, None, None)
    await _mark_alerts(context, view, "safety.resolved", user.first_name, keep_resolve=False)
    await say(update, context, "safety.resolve_done", id=escalation_id)


async def _mark_alerts(
    context: BotContext, view: EscalationView, key: str, name: str, *, keep_resolve: bool
) -> None:
    """Show every coordinator's copy of the alert who took it, each in its reader's language."""
    from bot.core import clock

    t = context.texts.t
    time = f"{clock.now().astimezone(UTC):%H:%M}"
    for alert in view.alerts:
        lang = await _reader_language(context, alert.chat_id)
        markup = (
            buttons([[button(t(lang, "safety.resolve_button"), callbacks.ESCALATION_RESOLVE,
                             view.id)]])
            if keep_resolve
            else None
        )  # fmt: skip
        try:
            await context.bot.edit_message_text(
                f"{alert.text}\n\n{t(lang, key, name=name, time=time)}", chat_id=alert.chat_id,
                message_id=alert.message_id, parse_mode=ParseMode.HTML, reply_markup=markup,
            )  # fmt: skip
        except BadRequest as exc:  # already edited (a double press), or deleted
            log.info("alert message not edited: %s", type(exc).__name__)


async def _reader_language(context: BotContext, chat_id: int) -> str:
    """A coordinator's own language; the organisation's for the alert chat (or anyone the bot
    has no settings of)."""
    profile = await context.services.members.profile(chat_id) if chat_id > 0 else None
    return context.texts.resolve(profile.language if profile else None)


@edge
@only_for("escalations")
async def list_escalations(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    days = _period(context.args)
    if days is None:
        await say(update, context, "safety.figures_days_help")
        return
    figures = await context.services.safety.figures(user.id, days)
    views = await context.services.safety.open_escalations(user.id)
    t = context.texts.t
    lang = await language(update, context)

    def wait(value: timedelta | None) -> str:
        if value is None:
            return t(lang, "safety.figures_none")
        return t(lang, "safety.figures_minutes", minutes=int(value.total_seconds() // 60))

    summary = context.texts.tn(
        lang, "safety.figures", days, days=days, total=figures.total, urgent=figures.urgent,
        concern=figures.concern, resolved=figures.resolved, acknowledged=figures.acknowledged,
        median=wait(figures.median_to_acknowledge), slowest=wait(figures.slowest_to_acknowledge),
        realerted=figures.realerted, open_now=figures.open_now,
        oldest=wait(figures.oldest_unacknowledged),
    )  # fmt: skip
    false_alarms = context.texts.tn(
        lang, "safety.figures_not_meant", figures.not_meant, count=figures.not_meant,
        urgent=figures.urgent_lately, days=figures.false_alarm_days,
    )  # fmt: skip
    lines = [
        t(lang, "safety.list_item", id=v.id, level=t(lang, f"safety.level_{v.level}"), who=v.who,
          time=f"{v.created_at:%Y-%m-%d %H:%M}", status=t(lang, f"safety.status_{v.status}"))
        + (t(lang, "safety.list_not_meant") if v.not_meant_at is not None else "")
        for v in views
    ] or [t(lang, "safety.none_open")]  # fmt: skip
    await context.bot.send_message(
        chat.id,
        "\n\n".join([f"{summary}\n{false_alarms}", "\n".join(lines)]),
        parse_mode=ParseMode.HTML,
    )


DEFAULT_PERIOD_DAYS = 30


def _period(args: list[str] | None) -> int | None:
    """`/escalations` covers the last 30 days; `/escalations 90` the last 90 (1 to 365)."""
    if not args:
        return DEFAULT_PERIOD_DAYS
    raw = args[0]
    if len(args) == 1 and raw.isdigit() and 1 <= int(raw) <= 365:
        return int(raw)
    return None


TEXT_STEPS = TextSteps(TextStep(Awaiting.RESOLUTION_NOTE, on_resolution_note))
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.ESCALATION_ACK, on_acknowledge, Settle.BY_HANDLER),
    ButtonStep(callbacks.ESCALATION_RESOLVE, on_resolve, Settle.BY_HANDLER),
    ButtonStep(callbacks.ESCALATION_NOT_MEANT, on_not_meant, Settle.BY_HANDLER),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    text_bearing = (filters.TEXT | filters.CAPTION) & (
        filters.UpdateType.MESSAGE | filters.UpdateType.EDITED_MESSAGE
    )
    application.add_handler(MessageHandler(text_bearing, gate), group=SAFETY_GROUP)
    application.add_handler(BUTTON_STEPS)
    text_steps(application).include(TEXT_STEPS)
    application.add_handler(
        CommandHandler("escalations", list_escalations, filters=filters.ChatType.PRIVATE)
    )
