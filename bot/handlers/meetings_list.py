"""/meetings: upcoming meetings with RSVP buttons and calendar files, muting a group's
reminders, and a facilitator's edit and cancel of a meeting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.context import BotContext
from bot.core import callbacks, clock
from bot.core.callbacks import Decoded
from bot.core.ics import meeting_ics
from bot.core.profile import Invalid
from bot.core.schedule import MeetingRule, Repeat, to_local
from bot.core.when import parse_local_datetime
from bot.handlers.common import (
    answer_query,
    button,
    buttons,
    edge,
    language,
    onboarded_profile,
    say,
    wake_delivery,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, Settle, TextStep, TextSteps
from bot.locales import Markup
from bot.services.errors import InvalidInput, NotFound
from bot.services.meetings import UpcomingMeeting
from bot.services.members import Awaiting, Profile

HORIZON = timedelta(days=30)
EDITABLE = timedelta(days=366)  # how far ahead a facilitator may edit or cancel


def place_line(context: BotContext, lang: str, place: str | None) -> object:
    return Markup(context.texts.t(lang, "reminders.place", place=place)) if place else ""


@edge
async def list_meetings(update: Update, context: BotContext) -> None:
    profile = await onboarded_profile(update, context)
    upcoming = await context.services.meetings.upcoming(profile.telegram_id, HORIZON)
    lang = await language(update, context)
    t = context.texts.t
    zone = profile.timezone or "UTC"
    if not upcoming:
        await say(update, context, "meetings.none")
    for item in upcoming:
        await say(
            update,
            context,
            "meetings.item",
            title=item.title,
            group=item.group_name,
            time=context.texts.moment(lang, to_local(item.starts, zone)),
            timezone=zone,
            minutes=item.duration_minutes,
            place=place_line(context, lang, item.place),
            answer=t(lang, f"meetings.answer_{item.answer or 'none'}"),
            reply_markup=_item_buttons(context, lang, item),
        )
    rows = []
    for group in await context.services.groups.my_groups(profile.telegram_id):
        if await context.services.meetings.is_muted(profile.telegram_id, group.id):
            label = t(lang, "meetings.unmute_button", group=group.name)
            rows.append([button(label, callbacks.MEETING_UNMUTE, group.id)])
        else:
            label = t(lang, "meetings.mute_button", group=group.name)
            rows.append([button(label, callbacks.MEETING_MUTE, group.id)])
    if rows:
        await say(update, context, "meetings.reminder_settings", reply_markup=buttons(rows))


def _item_buttons(context: BotContext, lang: str, item: UpcomingMeeting) -> InlineKeyboardMarkup:
    t = context.texts.t
    stamp = int(item.starts.timestamp())
    rows = [
        [
            button(t(lang, f"reminders.{answer}_button"), callbacks.RSVP, item.meeting_id, stamp,
                   code)
            for answer, code in callbacks.RSVP_CODES.items()
        ],
        [button(t(lang, "meetings.calendar_button"), callbacks.MEETING_CALENDAR, item.meeting_id)],
    ]  # fmt: skip
    if item.can_manage:
        rows.append([button(t(lang, "meetings.edit_button"), callbacks.MEETING_EDIT,
                            item.meeting_id)])  # fmt: skip
        rows.append([button(t(lang, "meetings.cancel_button"), callbacks.MEETING_CANCEL,
                            item.meeting_id)])  # fmt: skip
    return buttons(rows)


async def on_rsvp(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    occurrence = datetime.fromtimestamp(pressed.number("occurrence"), UTC)
    answer = await context.services.meetings.rsvp(
        user.id, pressed.number("meeting"), occurrence, pressed.text("answer")
    )
    lang = await language(update, context)
    label = context.texts.t(lang, f"meetings.answer_{answer}")
    await answer_query(update, context.texts.t(lang, "meetings.saved", answer=label))


async def on_calendar(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    meeting_id = pressed.number("meeting")
    meeting = await context.services.meetings.calendar_entry(user.id, meeting_id)
    rule = MeetingRule(
        datetime.fromisoformat(meeting.first_local),
        meeting.timezone,
        Repeat(meeting.repeat),
        meeting.nth,
    )
    ics = meeting_ics(
        f"meeting-{meeting_id}@peerbot",
        meeting.title,
        meeting.place,
        rule,
        timedelta(minutes=meeting.duration_minutes),
        clock.now(),
    )
    await context.bot.send_document(
        chat.id, InputFile(ics.encode(), filename="meeting.ics", attach=True)
    )


async def on_mute(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _set_muted(update, context, pressed.number("group"), muted=True)


async def on_unmute(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _set_muted(update, context, pressed.number("group"), muted=False)


async def _set_muted(update: Update, context: BotContext, group_id: int, *, muted: bool) -> None:
    user = update.effective_user
    assert user is not None
    name = await context.services.meetings.set_reminders_muted(user.id, group_id, muted)
    await say(update, context, "meetings.muted" if muted else "meetings.unmuted", group=name)


# ------------------------------------------------------------------------- edit, cancel
async def _managed(update: Update, context: BotContext, meeting_id: int) -> UpcomingMeeting:
    """The meeting, when this person may change it; NotFound otherwise."""
    user = update.effective_user
    assert user is not None
    upcoming = await context.services.meetings.upcoming(user.id, EDITABLE)
    meeting = next((m for m in upcoming if m.meeting_id == meeting_id and m.can_manage), None)
    if meeting is None:
        raise NotFound
    return meeting


async def on_edit(update: Update, context: BotContext, pressed: Decoded) -> None:
    meeting_id = (await _managed(update, context, pressed.number("meeting"))).meeting_id
    lang = await language(update, context)
    t = context.texts.t
    await say(update, context, "meetings.edit_what", reply_markup=buttons([[
        button(t(lang, "meetings.edit_time_button"), callbacks.MEETING_EDIT_TIME, meeting_id),
        button(t(lang, "meetings.edit_place_button"), callbacks.MEETING_EDIT_PLACE, meeting_id),
    ]]))  # fmt: skip


async def on_edit_time(update: Update, context: BotContext, pressed: Decoded) -> None:
    meeting_id = (await _managed(update, context, pressed.number("meeting"))).meeting_id
    profile = await onboarded_profile(update, context)
    await context.services.members.set_flow(
        profile.telegram_id, Awaiting.MEETING_EDIT_WHEN, {"edit": meeting_id}
    )
    await say(update, context, "meetings.edit_ask_when", timezone=profile.timezone)


async def on_edit_place(update: Update, context: BotContext, pressed: Decoded) -> None:
    meeting_id = (await _managed(update, context, pressed.number("meeting"))).meeting_id
    profile = await onboarded_profile(update, context)
    await context.services.members.set_flow(
        profile.telegram_id, Awaiting.MEETING_EDIT_PLACE, {"edit": meeting_id}
    )
    await say(update, context, "meetings.edit_ask_place")


async def answer_edit_when(
    update: Update, context: BotContext, profile: Profile, text: str
) -> None:
    zone = profile.timezone or "UTC"
    when = parse_local_datetime(text, clock.now().astimezone(ZoneInfo(zone)).date())
    if isinstance(when, Invalid):
        raise InvalidInput(when.reason)
    await _apply_edit(update, context, profile, first_local=when)


async def answer_edit_place(
    update: Update, context: BotContext, profile: Profile, text: str
) -> None:
    await _apply_edit(update, context, profile, place=" ".join(text.split()))


async def _apply_edit(
    update: Update, context: BotContext, profile: Profile, *,
    first_local: datetime | None = None, place: str | None = None,
) -> None:  # fmt: skip
    meeting_id = profile.draft.get("edit")
    if not isinstance(meeting_id, int):
        raise NotFound
    user_id = profile.telegram_id
    title, told = await context.services.meetings.edit(
        user_id, meeting_id, first_local=first_local, place=place
    )
    await context.services.members.set_flow(user_id, None, None)
    wake_delivery(context)
    await say(update, context, "meetings.changed", title=title, told=told)


async def on_cancel(update: Update, context: BotContext, pressed: Decoded) -> None:
    """Cancel a meeting: ask first (then `on_cancel_confirmed` tells who was coming)."""
    meeting = await _managed(update, context, pressed.number("meeting"))
    lang = await language(update, context)
    t = context.texts.t
    await say(update, context, "meetings.confirm_cancel", title=meeting.title,
              reply_markup=buttons([[
                  button(t(lang, "meetings.confirm_cancel_button"),
                         callbacks.MEETING_CANCEL_CONFIRM, meeting.meeting_id),
                  button(t(lang, "meetings.keep_button"), callbacks.MEETING_KEEP, 0),
              ]]))  # fmt: skip


async def on_cancel_confirmed(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    meeting_id = pressed.number("meeting")
    title, told = await context.services.meetings.cancel(user.id, meeting_id)
    wake_delivery(context)
    await say(update, context, "meetings.cancelled", title=title, told=told)


async def on_keep(update: Update, context: BotContext, pressed: Decoded) -> None:
    await say(update, context, "meetings.kept")


TEXT_STEPS = TextSteps(
    TextStep(Awaiting.MEETING_EDIT_WHEN, answer_edit_when),
    TextStep(Awaiting.MEETING_EDIT_PLACE, answer_edit_place),
)
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.RSVP, on_rsvp, Settle.BY_HANDLER),  # answered with what was saved
    ButtonStep(callbacks.MEETING_CALENDAR, on_calendar, Settle.KEEP_BUTTONS),
    ButtonStep(callbacks.MEETING_MUTE, on_mute, Settle.KEEP_BUTTONS),
    ButtonStep(callbacks.MEETING_UNMUTE, on_unmute, Settle.KEEP_BUTTONS),
    ButtonStep(callbacks.MEETING_EDIT, on_edit),
    ButtonStep(callbacks.MEETING_EDIT_TIME, on_edit_time),
    ButtonStep(callbacks.MEETING_EDIT_PLACE, on_edit_place),
    ButtonStep(callbacks.MEETING_CANCEL, on_cancel),
    ButtonStep(callbacks.MEETING_CANCEL_CONFIRM, on_cancel_confirmed),
    ButtonStep(callbacks.MEETING_KEEP, on_keep),
)
