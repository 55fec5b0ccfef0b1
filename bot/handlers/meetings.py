"""Meetings: /newmeeting (facilitators), /meetings with RSVP, calendar files, muting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks, clock
from bot.core.callbacks import MEETING_DURATIONS, Decoded
from bot.core.ics import meeting_ics
from bot.core.profile import Invalid
from bot.core.schedule import MeetingRule, Repeat, to_local
from bot.core.when import parse_local_datetime
from bot.handlers.common import (
    Buttons,
    answer_query,
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
from bot.locales import Markup
from bot.services.errors import InvalidInput, NeedsOnboarding, NotFound
from bot.services.meetings import MeetingDraft
from bot.services.members import Awaiting, Profile

HORIZON = timedelta(days=30)


async def _profile(update: Update, context: BotContext) -> Profile:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != "done":
        raise NeedsOnboarding
    return profile


@edge
@only_for("newmeeting")
async def new_meeting(update: Update, context: BotContext) -> None:
    await for_a_managed_group(
        update, context, _begin, prompt="meetings.choose_group", kind=callbacks.MEETING_GROUP
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
                        button(t(lang, "meetings.repeat_once"), callbacks.MEETING_REPEAT, "once"),
                        button(
                            t(lang, "meetings.repeat_weekly"), callbacks.MEETING_REPEAT, "weekly"
                        ),
                    ],
                    [
                        button(
                            t(lang, "meetings.repeat_biweekly"),
                            callbacks.MEETING_REPEAT,
                            "biweekly",
                        ),
                        button(
                            t(lang, "meetings.repeat_monthly"), callbacks.MEETING_REPEAT, "monthly"
                        ),
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
        time=context.texts.moment(lang, to_local(start, zone)),
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


_KEEPS_BUTTONS = (callbacks.MEETING_CALENDAR, callbacks.MEETING_MUTE, callbacks.MEETING_UNMUTE)


@edge
async def on_meeting_button(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    kind = pressed.kind
    await settle_query(update, keep_buttons=kind in _KEEPS_BUTTONS)
    if kind is callbacks.MEETING_GROUP:
        await _begin(update, context, pressed.number("group"))
    elif kind is callbacks.MEETING_CALENDAR:
        await _send_calendar(update, context, pressed.number("meeting"))
    elif kind in (callbacks.MEETING_MUTE, callbacks.MEETING_UNMUTE):
        muted = kind is callbacks.MEETING_MUTE
        name = await context.services.meetings.set_reminders_muted(
            user.id, pressed.number("group"), muted
        )
        await say(update, context, "meetings.muted" if muted else "meetings.unmuted", group=name)
    elif kind is callbacks.MEETING_KEEP:
        await say(update, context, "meetings.kept")
    elif kind in (callbacks.MEETING_CANCEL, callbacks.MEETING_CANCEL_CONFIRM):
        await _cancel_step(update, context, kind, pressed.number("meeting"))
    elif kind in (callbacks.MEETING_EDIT, callbacks.MEETING_EDIT_TIME,
                  callbacks.MEETING_EDIT_PLACE):  # fmt: skip
        await _edit_step(update, context, kind, pressed.number("meeting"))
    else:
        await _draft_step(update, context, pressed)


async def _draft_step(update: Update, context: BotContext, pressed: Decoded) -> None:
    """Repeat and duration, chosen with buttons during /newmeeting."""
    user = update.effective_user
    assert user is not None
    profile = await _profile(update, context)
    draft = dict(profile.draft)
    if pressed.kind is callbacks.MEETING_REPEAT and "when" in draft:
        draft["repeat"] = pressed.text("repeat")
        await context.services.members.set_flow(user.id, None, draft)
        await say(
            update,
            context,
            "meetings.ask_duration",
            reply_markup=buttons(
                [[button(f"{m} min", callbacks.MEETING_DURATION, m) for m in MEETING_DURATIONS]]
            ),
        )
    elif pressed.kind is callbacks.MEETING_DURATION and "repeat" in draft:
        draft["minutes"] = pressed.number("minutes")
        await context.services.members.set_flow(user.id, Awaiting.MEETING_PLACE, draft)
        await say(update, context, "meetings.ask_place")
    else:
        raise NotFound  # an earlier draft's button: that step is over


async def _edit_step(
    update: Update, context: BotContext, kind: callbacks.Kind, meeting_id: int
) -> None:
    user = update.effective_user
    assert user is not None
    upcoming = await context.services.meetings.upcoming(user.id, timedelta(days=366))
    if not any(m.meeting_id == meeting_id and m.can_manage for m in upcoming):
        raise NotFound
    lang = await language(update, context)
    t = context.texts.t
    if kind is callbacks.MEETING_EDIT:
        await say(
            update,
            context,
            "meetings.edit_what",
            reply_markup=buttons(
                [
                    [
                        button(
                            t(lang, "meetings.edit_time_button"),
                            callbacks.MEETING_EDIT_TIME,
                            meeting_id,
                        ),
                        button(
                            t(lang, "meetings.edit_place_button"),
                            callbacks.MEETING_EDIT_PLACE,
                            meeting_id,
                        ),
                    ]
                ]
            ),
        )
        return
    profile = await _profile(update, context)
    step = (
        Awaiting.MEETING_EDIT_WHEN
        if kind is callbacks.MEETING_EDIT_TIME
        else Awaiting.MEETING_EDIT_PLACE
    )
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


async def _cancel_step(
    update: Update, context: BotContext, kind: callbacks.Kind, meeting_id: int
) -> None:
    """Cancel a meeting: ask first, then cancel and tell who was coming."""
    user = update.effective_user
    assert user is not None
    if kind is callbacks.MEETING_CANCEL_CONFIRM:
        title, told = await context.services.meetings.cancel(user.id, meeting_id)
        wake_delivery(context)
        await say(update, context, "meetings.cancelled", title=title, told=told)
        return
    upcoming = await context.services.meetings.upcoming(user.id, timedelta(days=366))
    meeting = next((m for m in upcoming if m.meeting_id == meeting_id and m.can_manage), None)
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
                    button(t(lang, "meetings.confirm_cancel_button"),
                           callbacks.MEETING_CANCEL_CONFIRM, meeting_id),
                    button(t(lang, "meetings.keep_button"), callbacks.MEETING_KEEP, 0),
                ]
            ]
        ),
    )  # fmt: skip


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
        await say(
            update,
            context,
            "meetings.item",
            title=item.title,
            group=item.group_name,
            time=context.texts.moment(lang, to_local(item.starts, zone)),
            timezone=zone,
            minutes=item.duration_minutes,
            place=_place_line(context, lang, item.place),
            answer=t(lang, f"meetings.answer_{item.answer or 'none'}"),
            reply_markup=buttons(
                [
                    [
                        button(
                            t(lang, f"reminders.{label}_button"),
                            callbacks.RSVP,
                            item.meeting_id,
                            stamp,
                            code,
                        )
                        for label, code in (("going", "g"), ("maybe", "m"), ("no", "n"))
                    ],
                    [
                        button(
                            t(lang, "meetings.calendar_button"),
                            callbacks.MEETING_CALENDAR,
                            item.meeting_id,
                        )
                    ],
                    *(
                        [
                            [
                                button(
                                    t(lang, "meetings.edit_button"),
                                    callbacks.MEETING_EDIT,
                                    item.meeting_id,
                                )
                            ],
                            [
                                button(
                                    t(lang, "meetings.cancel_button"),
                                    callbacks.MEETING_CANCEL,
                                    item.meeting_id,
                                )
                            ],
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
            label = t(lang, "meetings.unmute_button", group=group.name)
            rows.append([button(label, callbacks.MEETING_UNMUTE, group.id)])
        else:
            label = t(lang, "meetings.mute_button", group=group.name)
            rows.append([button(label, callbacks.MEETING_MUTE, group.id)])
    if rows:
        await say(update, context, "meetings.reminder_settings", reply_markup=buttons(rows))


@edge
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


MEETING_BUTTONS = (
    callbacks.MEETING_GROUP, callbacks.MEETING_REPEAT, callbacks.MEETING_DURATION,
    callbacks.MEETING_CALENDAR, callbacks.MEETING_MUTE, callbacks.MEETING_UNMUTE,
    callbacks.MEETING_EDIT, callbacks.MEETING_EDIT_TIME, callbacks.MEETING_EDIT_PLACE,
    callbacks.MEETING_CANCEL, callbacks.MEETING_CANCEL_CONFIRM, callbacks.MEETING_KEEP,
)  # fmt: skip


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("newmeeting", new_meeting, filters=private))
    application.add_handler(CommandHandler("meetings", list_meetings, filters=private))
    application.add_handler(CommandHandler("skip", skip, filters=private))
    application.add_handler(Buttons(MEETING_BUTTONS, on_meeting_button))
    application.add_handler(Buttons([callbacks.RSVP], on_rsvp))
