"""Meetings: /newmeeting (facilitators), /meetings with RSVP, calendar files, muting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.core import clock
from bot.core.ics import meeting_ics
from bot.core.profile import Invalid
from bot.core.schedule import MeetingRule, Repeat, format_local
from bot.core.when import parse_local_datetime
from bot.handlers.common import (
    answer_query,
    buttons,
    edge,
    for_a_managed_group,
    is_id,
    language,
    say,
    settle_query,
    wake_delivery,
)
from bot.locales import Markup
from bot.services.errors import InvalidInput, NeedsOnboarding, NotFound
from bot.services.meetings import MeetingDraft
from bot.services.members import Awaiting, Profile

DURATIONS = (45, 60, 90, 120)
HORIZON = timedelta(days=30)


async def _profile(update: Update, context: BotContext) -> Profile:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != "done":
        raise NeedsOnboarding
    return profile


@edge
async def new_meeting(update: Update, context: BotContext) -> None:
    await for_a_managed_group(
        update, context, _begin, prompt="meetings.choose_group", callback_prefix="mt:g:"
    )


async def _begin(update: Update, context: BotContext, group_id: int) -> None:
    user = update.effective_user
    assert user is not None
    managed = {g.id for g in await context.services.groups.managed_groups(user.id)}
    if group_id not in managed:
        raise NotFound
    await context.services.members.set_flow(user.id, Awaiting.MEETING_TITLE, {"group": group_id})
    await say(update, context, "meetings.ask_title")


async def on_meeting_text(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    """Answers typed during /newmeeting (called by the private-text router)."""
    user = update.effective_user
    assert user is not None
    draft = dict(profile.draft)
    members = context.services.members
    if profile.awaiting is Awaiting.MEETING_TITLE:
        title = " ".join(text.split())
        if not title or len(title) > 80:
            raise InvalidInput("meetings.bad_title", max=80)
        draft["title"] = title
        await members.set_flow(user.id, Awaiting.MEETING_WHEN, draft)
        zone = profile.timezone or "UTC"
        example = (clock.now().astimezone(ZoneInfo(zone)) + timedelta(days=7)).strftime(
            "%Y-%m-%d 19:00"
        )
        await say(update, context, "meetings.ask_when", timezone=zone, example=example)
    elif profile.awaiting is Awaiting.MEETING_WHEN:
        zone = profile.timezone or "UTC"
        today = clock.now().astimezone(ZoneInfo(zone)).date()
        when = parse_local_datetime(text, today)
        if isinstance(when, Invalid):
            raise InvalidInput(when.reason)
        if when.replace(tzinfo=ZoneInfo(zone)) <= clock.now():
            raise InvalidInput("meetings.in_the_past")
        draft["when"] = when.isoformat(timespec="minutes")
        await members.set_flow(user.id, None, draft)
        lang = profile.language
        t = context.texts.t
        await say(
            update,
            context,
            "meetings.ask_repeat",
            reply_markup=buttons(
                [
                    [
                        (t(lang, "meetings.repeat_once"), "mt:r:once"),
                        (t(lang, "meetings.repeat_weekly"), "mt:r:weekly"),
                    ],
                    [
                        (t(lang, "meetings.repeat_biweekly"), "mt:r:biweekly"),
                        (t(lang, "meetings.repeat_monthly"), "mt:r:monthly"),
                    ],
                ]
            ),
        )
    elif profile.awaiting is Awaiting.MEETING_PLACE:
        place = " ".join(text.split())
        await _create(update, context, profile, place if place and place != "/skip" else None)
    elif profile.awaiting in (Awaiting.MEETING_EDIT_WHEN, Awaiting.MEETING_EDIT_PLACE):
        await _apply_edit(update, context, profile, text)


async def _create(update: Update, context: BotContext, profile: Profile, place: str | None) -> None:
    user = update.effective_user
    assert user is not None
    draft = profile.draft
    if not {"group", "title", "when", "repeat", "minutes"} <= draft.keys():
        raise NotFound
    meeting_draft = MeetingDraft(
        group_id=int(draft["group"]),
        title=str(draft["title"]),
        first_local=datetime.fromisoformat(str(draft["when"])),
        repeat=Repeat(str(draft["repeat"])),
        duration_minutes=int(draft["minutes"]),
        place=place,
    )
    await context.services.meetings.create(user.id, meeting_draft)
    await context.services.members.set_flow(user.id, None, None)
    lang = profile.language
    t = context.texts.t
    zone = profile.timezone or "UTC"
    start = meeting_draft.first_local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    groups = {g.id: g.name for g in await context.services.groups.managed_groups(user.id)}
    await say(
        update,
        context,
        "meetings.created",
        title=meeting_draft.title,
        group=groups.get(meeting_draft.group_id, ""),
        time=format_local(start, zone),
        timezone=zone,
        repeat=t(lang, f"meetings.repeat_{meeting_draft.repeat.value}").lower(),
        minutes=meeting_draft.duration_minutes,
        place=_place_line(context, lang, place),
    )


def _place_line(context: BotContext, lang: str, place: str | None) -> object:
    return Markup(context.texts.t(lang, "reminders.place", place=place)) if place else ""


@edge
async def skip(update: Update, context: BotContext) -> None:
    profile = await _profile(update, context)
    if profile.awaiting is Awaiting.MEETING_PLACE:
        await _create(update, context, profile, None)
    elif profile.awaiting is Awaiting.CHECKIN_NOTE:
        assert update.effective_user is not None
        await context.services.members.set_flow(update.effective_user.id, None, None)
        await say(update, context, "common.cancelled")
    else:
        await say(update, context, "common.unknown_command")


@edge
async def on_meeting_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.data is not None
    _, action, value = query.data.split(":", 2)
    if action in ("ics", "mute", "unmute"):
        await settle_query(update, keep_buttons=True)
    else:
        await settle_query(update)
    if action == "g" and is_id(value):
        await _begin(update, context, int(value))
        return
    if action == "ics" and is_id(value):
        await _send_calendar(update, context, int(value))
        return
    if action in ("mute", "unmute") and is_id(value):
        muted = action == "mute"
        name = await context.services.meetings.set_reminders_muted(user.id, int(value), muted)
        await say(update, context, "meetings.muted" if muted else "meetings.unmuted", group=name)
        return
    if action in ("x", "xx", "keep"):
        await _cancel_step(update, context, action, value)
        return
    if action in ("e", "et", "ep") and is_id(value):
        await _edit_step(update, context, action, int(value))
        return
    profile = await _profile(update, context)
    draft = dict(profile.draft)
    if action == "r" and value in {r.value for r in Repeat} and "when" in draft:
        draft["repeat"] = value
        await context.services.members.set_flow(user.id, None, draft)
        await say(
            update,
            context,
            "meetings.ask_duration",
            reply_markup=buttons([[(f"{m} min", f"mt:d:{m}") for m in DURATIONS]]),
        )
    elif action == "d" and is_id(value) and int(value) in DURATIONS and "repeat" in draft:
        draft["minutes"] = int(value)
        await context.services.members.set_flow(user.id, Awaiting.MEETING_PLACE, draft)
        await say(update, context, "meetings.ask_place")
    else:
        await say(update, context, "common.stale_button")


async def _edit_step(update: Update, context: BotContext, action: str, meeting_id: int) -> None:
    user = update.effective_user
    assert user is not None
    upcoming = await context.services.meetings.upcoming(user.id, timedelta(days=366))
    if not any(m.meeting_id == meeting_id and m.can_manage for m in upcoming):
        raise NotFound
    lang = await language(update, context)
    t = context.texts.t
    if action == "e":
        await say(
            update,
            context,
            "meetings.edit_what",
            reply_markup=buttons(
                [
                    [
                        (t(lang, "meetings.edit_time_button"), f"mt:et:{meeting_id}"),
                        (t(lang, "meetings.edit_place_button"), f"mt:ep:{meeting_id}"),
                    ]
                ]
            ),
        )
        return
    profile = await _profile(update, context)
    step = Awaiting.MEETING_EDIT_WHEN if action == "et" else Awaiting.MEETING_EDIT_PLACE
    await context.services.members.set_flow(user.id, step, {"edit": meeting_id})
    if step is Awaiting.MEETING_EDIT_WHEN:
        await say(update, context, "meetings.edit_ask_when", timezone=profile.timezone)
    else:
        await say(update, context, "meetings.edit_ask_place")


async def _apply_edit(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    user = update.effective_user
    assert user is not None
    meeting_id = profile.draft.get("edit")
    if not isinstance(meeting_id, int):
        raise NotFound
    meetings = context.services.meetings
    if profile.awaiting is Awaiting.MEETING_EDIT_WHEN:
        zone = profile.timezone or "UTC"
        when = parse_local_datetime(text, clock.now().astimezone(ZoneInfo(zone)).date())
        if isinstance(when, Invalid):
            raise InvalidInput(when.reason)
        title, told = await meetings.edit(user.id, meeting_id, first_local=when)
    else:
        title, told = await meetings.edit(user.id, meeting_id, place=" ".join(text.split()))
    await context.services.members.set_flow(user.id, None, None)
    wake_delivery(context)
    await say(update, context, "meetings.changed", title=title, told=told)


async def _cancel_step(update: Update, context: BotContext, action: str, value: str) -> None:
    """Cancel a meeting: ask first, then cancel and tell who was coming."""
    user = update.effective_user
    assert user is not None
    if action == "keep":
        await say(update, context, "meetings.kept")
        return
    if not is_id(value):
        raise NotFound
    if action == "xx":
        title, told = await context.services.meetings.cancel(user.id, int(value))
        wake_delivery(context)
        await say(update, context, "meetings.cancelled", title=title, told=told)
        return
    upcoming = await context.services.meetings.upcoming(user.id, timedelta(days=366))
    meeting = next((m for m in upcoming if m.meeting_id == int(value) and m.can_manage), None)
    if meeting is None:
        raise NotFound
    lang = await language(update, context)
    t = context.texts.t
    await say(
        update,
        context,
        "meetings.confirm_cancel",
        title=meeting.title,
        reply_markup=buttons(
            [
                [
                    (t(lang, "meetings.confirm_cancel_button"), f"mt:xx:{value}"),
                    (t(lang, "meetings.keep_button"), "mt:keep:0"),
                ]
            ]
        ),
    )


async def _send_calendar(update: Update, context: BotContext, meeting_id: int) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
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


@edge
async def list_meetings(update: Update, context: BotContext) -> None:
    profile = await _profile(update, context)
    upcoming = await context.services.meetings.upcoming(profile.telegram_id, HORIZON)
    lang = await language(update, context)
    t = context.texts.t
    zone = profile.timezone or "UTC"
    if not upcoming:
        await say(update, context, "meetings.none")
    for item in upcoming:
        stamp = int(item.starts.timestamp())
        data = f"rsvp:{item.meeting_id}:{stamp}:"
        await say(
            update,
            context,
            "meetings.item",
            title=item.title,
            group=item.group_name,
            time=format_local(item.starts, zone),
            timezone=zone,
            minutes=item.duration_minutes,
            place=_place_line(context, lang, item.place),
            answer=t(lang, f"meetings.answer_{item.answer or 'none'}"),
            reply_markup=buttons(
                [
                    [
                        (t(lang, "reminders.going_button"), data + "g"),
                        (t(lang, "reminders.maybe_button"), data + "m"),
                        (t(lang, "reminders.no_button"), data + "n"),
                    ],
                    [(t(lang, "meetings.calendar_button"), f"mt:ics:{item.meeting_id}")],
                    *(
                        [
                            [(t(lang, "meetings.edit_button"), f"mt:e:{item.meeting_id}")],
                            [(t(lang, "meetings.cancel_button"), f"mt:x:{item.meeting_id}")],
                        ]
                        if item.can_manage
                        else []
                    ),
                ]
            ),
        )
    rows = []
    for group in await context.services.groups.my_groups(profile.telegram_id):
        if await context.services.meetings.is_muted(profile.telegram_id, group.id):
            rows.append(
                [(t(lang, "meetings.unmute_button", group=group.name), f"mt:unmute:{group.id}")]
            )
        else:
            rows.append(
                [(t(lang, "meetings.mute_button", group=group.name), f"mt:mute:{group.id}")]
            )
    if rows:
        await say(update, context, "meetings.reminder_settings", reply_markup=buttons(rows))


@edge
async def on_rsvp(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.data is not None
    parts = query.data.split(":")
    if len(parts) != 4 or not is_id(parts[1]) or not is_id(parts[2], max_digits=12):
        await settle_query(update)
        await say(update, context, "common.stale_button")
        return
    occurrence = datetime.fromtimestamp(int(parts[2]), UTC)
    answer = await context.services.meetings.rsvp(user.id, int(parts[1]), occurrence, parts[3])
    lang = await language(update, context)
    label = context.texts.t(lang, f"meetings.answer_{answer}")
    await answer_query(update, context.texts.t(lang, "meetings.saved", answer=label))


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("newmeeting", new_meeting, filters=private))
    application.add_handler(CommandHandler("meetings", list_meetings, filters=private))
    application.add_handler(CommandHandler("skip", skip, filters=private))
    application.add_handler(CallbackQueryHandler(on_meeting_button, pattern=r"^mt:"))
    application.add_handler(CallbackQueryHandler(on_rsvp, pattern=r"^rsvp:"))
