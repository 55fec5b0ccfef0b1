"""Meetings: /newmeeting, a facilitator's new meeting step by step (title, first time, repeat,
length, place); /meetings and what follows from it are in bot/handlers/meetings_list.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks, clock
from bot.core.callbacks import MEETING_DURATIONS, Decoded
from bot.core.profile import Invalid
from bot.core.schedule import Repeat, to_local
from bot.core.when import parse_local_datetime
from bot.handlers import meetings_list
from bot.handlers.common import (
    button,
    buttons,
    edge,
    for_a_managed_group,
    onboarded_profile,
    only_for,
    say,
)
from bot.handlers.meetings_list import list_meetings, place_line
from bot.handlers.steps import ButtonStep, ButtonSteps, TextStep, TextSteps, text_steps
from bot.services.errors import InvalidInput, NotFound
from bot.services.meetings import MeetingDraft
from bot.services.members import Awaiting, Profile

TITLE_MAX = 80
REPEATS = ((Repeat.ONCE, Repeat.WEEKLY), (Repeat.BIWEEKLY, Repeat.MONTHLY))  # two rows


@edge
@only_for("newmeeting")
async def new_meeting(update: Update, context: BotContext) -> None:
    await for_a_managed_group(
        update, context, _begin, prompt="meetings.choose_group", kind=callbacks.MEETING_GROUP
    )


async def on_group(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _begin(update, context, pressed.number("group"))


async def _begin(update: Update, context: BotContext, group_id: int) -> None:
    user = update.effective_user
    assert user is not None
    managed = {g.id for g in await context.services.groups.managed_groups(user.id)}
    if group_id not in managed:
        raise NotFound
    await context.services.members.set_flow(user.id, Awaiting.MEETING_TITLE, {"group": group_id})
    await say(update, context, "meetings.ask_title")


async def answer_title(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    title = " ".join(text.split())
    if not title or len(title) > TITLE_MAX:
        raise InvalidInput("meetings.bad_title", max=TITLE_MAX)
    draft = {**profile.draft, "title": title}
    await context.services.members.set_flow(profile.telegram_id, Awaiting.MEETING_WHEN, draft)
    zone = profile.timezone or "UTC"
    example = (clock.now().astimezone(ZoneInfo(zone)) + timedelta(days=7)).strftime(
        "%Y-%m-%d 19:00"
    )
    await say(update, context, "meetings.ask_when", timezone=zone, example=example)


async def answer_when(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    zone = profile.timezone or "UTC"
    today = clock.now().astimezone(ZoneInfo(zone)).date()
    when = parse_local_datetime(text, today)
    if isinstance(when, Invalid):
        raise InvalidInput(when.reason)
    if when.replace(tzinfo=ZoneInfo(zone)) <= clock.now():
        raise InvalidInput("meetings.in_the_past")
    draft = {**profile.draft, "when": when.isoformat(timespec="minutes")}
    await context.services.members.set_flow(profile.telegram_id, None, draft)
    t = context.texts.t
    lang = profile.language
    rows = [
        [button(t(lang, f"meetings.repeat_{r}"), callbacks.MEETING_REPEAT, r) for r in row]
        for row in REPEATS
    ]
    await say(update, context, "meetings.ask_repeat", reply_markup=buttons(rows))


async def on_repeat(update: Update, context: BotContext, pressed: Decoded) -> None:
    profile = await onboarded_profile(update, context)
    if "when" not in profile.draft:
        raise NotFound  # an earlier draft's button: that step is over
    draft = {**profile.draft, "repeat": pressed.text("repeat")}
    await context.services.members.set_flow(profile.telegram_id, None, draft)
    durations = [button(f"{m} min", callbacks.MEETING_DURATION, m) for m in MEETING_DURATIONS]
    await say(update, context, "meetings.ask_duration", reply_markup=buttons([durations]))


async def on_duration(update: Update, context: BotContext, pressed: Decoded) -> None:
    profile = await onboarded_profile(update, context)
    if "repeat" not in profile.draft:
        raise NotFound  # an earlier draft's button: that step is over
    draft = {**profile.draft, "minutes": pressed.number("minutes")}
    await context.services.members.set_flow(profile.telegram_id, Awaiting.MEETING_PLACE, draft)
    await say(update, context, "meetings.ask_place")


async def answer_place(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    place = " ".join(text.split())
    await _create(update, context, profile, place if place and place != "/skip" else None)


async def skip_place(update: Update, context: BotContext, profile: Profile) -> None:
    await _create(update, context, profile, None)


async def _create(update: Update, context: BotContext, profile: Profile, place: str | None) -> None:
    user_id = profile.telegram_id
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
    await context.services.meetings.create(user_id, meeting_draft)
    await context.services.members.set_flow(user_id, None, None)
    lang = profile.language
    t = context.texts.t
    zone = profile.timezone or "UTC"
    start = meeting_draft.first_local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    groups = {g.id: g.name for g in await context.services.groups.managed_groups(user_id)}
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
        place=place_line(context, lang, place),
    )


TEXT_STEPS = TextSteps(
    TextStep(Awaiting.MEETING_TITLE, answer_title),
    TextStep(Awaiting.MEETING_WHEN, answer_when),
    TextStep(Awaiting.MEETING_PLACE, answer_place, skip=skip_place),
)
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.MEETING_GROUP, on_group),
    ButtonStep(callbacks.MEETING_REPEAT, on_repeat),
    ButtonStep(callbacks.MEETING_DURATION, on_duration),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("newmeeting", new_meeting, filters=private))
    application.add_handler(CommandHandler("meetings", list_meetings, filters=private))
    application.add_handler(BUTTON_STEPS)
    application.add_handler(meetings_list.BUTTON_STEPS)
    text_steps(application).include(TEXT_STEPS)
    text_steps(application).include(meetings_list.TEXT_STEPS)
