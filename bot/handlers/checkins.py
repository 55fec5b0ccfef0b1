"""Check-ins: /checkin to choose a rhythm, mood buttons, notes, /mood and /groupmood."""

from __future__ import annotations

from datetime import time

from telegram import InputFile, Update
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks, clock
from bot.core.callbacks import CHECKIN_TIMES, Decoded
from bot.core.schedule import Rhythm, to_local
from bot.handlers.common import (
    button,
    buttons,
    edge,
    language,
    only_for,
    say,
    wake_delivery,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, TextStep, TextSteps, text_steps
from bot.services.errors import NeedsOnboarding
from bot.services.members import Awaiting, Profile, Step
from bot.services.mood_chart import render_chart, summarise


@edge
async def checkin_menu(update: Update, context: BotContext) -> None:
    lang = await language(update, context)
    t = context.texts.t
    await say(
        update,
        context,
        "checkins.choose_rhythm",
        reply_markup=buttons(
            [
                [
                    button(
                        t(lang, "checkins.rhythm_daily"), callbacks.CHECKIN_RHYTHM, Rhythm.DAILY
                    ),
                    button(
                        t(lang, "checkins.rhythm_weekly"), callbacks.CHECKIN_RHYTHM, Rhythm.WEEKLY
                    ),
                ],
                [button(t(lang, "checkins.rhythm_off"), callbacks.CHECKIN_RHYTHM, Rhythm.OFF)],
            ]
        ),
    )


async def _time_buttons(update: Update, context: BotContext, rhythm: Rhythm, day: int) -> None:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != Step.DONE:
        raise NeedsOnboarding
    await say(
        update,
        context,
        "checkins.choose_time",
        timezone=profile.timezone,
        reply_markup=buttons(
            [
                [
                    button(f"{hm[:2]}:{hm[2:]}", callbacks.CHECKIN_TIME, rhythm, day, hm)
                    for hm in CHECKIN_TIMES
                ]
            ]
        ),
    )


async def on_rhythm(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    rhythm = Rhythm(pressed.text("rhythm"))
    if rhythm is Rhythm.OFF:
        await context.services.checkins.set_plan(user.id, Rhythm.OFF, time(20, 0))
        await say(update, context, "checkins.plan_off")
    elif rhythm is Rhythm.DAILY:
        await _time_buttons(update, context, Rhythm.DAILY, 0)
    else:
        lang = await language(update, context)
        days = [
            button(day, callbacks.CHECKIN_DAY, i)
            for i, day in enumerate(context.texts.weekdays(lang))
        ]
        await say(update, context, "checkins.choose_day", reply_markup=buttons([days]))


async def on_day(update: Update, context: BotContext, pressed: Decoded) -> None:
    await _time_buttons(update, context, Rhythm.WEEKLY, pressed.number("day"))


async def on_time(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    lang = await language(update, context)
    hm = pressed.text("time")
    at = time(int(hm[:2]), int(hm[2:]))
    rhythm = Rhythm(pressed.text("rhythm"))
    plan = await context.services.checkins.set_plan(user.id, rhythm, at, pressed.number("day"))
    profile = await context.services.members.profile(user.id)
    zone = (profile.timezone if profile else None) or "UTC"
    when = context.texts.moment(lang, to_local(plan.next_at, zone)) if plan.next_at else "—"
    await say(update, context, "checkins.plan_set", time=when, timezone=zone)


async def on_talk(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    if pressed.text("answer") == "yes":
        await context.services.checkins.request_talk(user.id)
        wake_delivery(context)
        await say(update, context, "checkins.talk_requested")
    else:
        await say(update, context, "checkins.talk_declined")


async def on_mood(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    answer = await context.services.checkins.answer(
        user.id, pressed.number("prompt"), pressed.number("mood")
    )
    await context.services.members.set_flow(user.id, Awaiting.CHECKIN_NOTE, {})
    await say(update, context, "checkins.thanks")
    if answer.offer_support:
        lang = await language(update, context)
        t = context.texts.t
        await say(
            update,
            context,
            "checkins.support_offer",
            reply_markup=buttons(
                [
                    [
                        button(t(lang, "checkins.talk_button"), callbacks.CHECKIN_TALK, "yes"),
                        button(t(lang, "checkins.no_talk_button"), callbacks.CHECKIN_TALK, "no"),
                    ]
                ]
            ),
        )


async def answer_note(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.checkins.add_note(user.id, text)
    await context.services.members.set_flow(user.id, None, None)
    await say(update, context, "checkins.noted")


async def skip_note(update: Update, context: BotContext, profile: Profile) -> None:
    await context.services.members.set_flow(profile.telegram_id, None, None)
    await say(update, context, "common.cancelled")


@edge
async def mood_chart(update: Update, context: BotContext) -> None:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None and chat is not None
    points = await context.services.checkins.history(user.id, 90)
    if not points:
        await say(update, context, "checkins.mood_empty")
        return
    now = clock.now()
    summary = summarise(points, now)
    lang = await language(update, context)
    t = context.texts.t
    caption = t(
        lang,
        "checkins.mood_caption",
        count=summary.count,
        average=f"{summary.average_30:.1f}" if summary.average_30 is not None else "—",
        # No trend yet (too few answers): nothing is said about one.
        trend=t(lang, f"checkins.trend_{summary.trend}") if summary.trend != "unknown" else "",
    )
    png = render_chart(points, now, "Mood")
    await context.bot.send_photo(
        chat.id, InputFile(png, filename="mood.png"), caption=caption, parse_mode="HTML"
    )


@edge
@only_for("groupmood")
async def group_mood(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    groups = await context.services.groups.managed_groups(user.id)
    if not groups:
        await say(update, context, "groups.no_groups_to_manage")
        return
    for group in groups:
        trend = await context.services.checkins.group_trend(user.id, group.id, 30)
        if trend is None:
            await say(update, context, "checkins.group_mood_too_few", group=group.name)
        else:
            await say(
                update,
                context,
                "checkins.group_mood",
                group=group.name,
                average=f"{trend[0]:.1f}",
                contributors=trend[1],
            )


TEXT_STEPS = TextSteps(TextStep(Awaiting.CHECKIN_NOTE, answer_note, skip=skip_note))
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.CHECKIN_RHYTHM, on_rhythm),
    ButtonStep(callbacks.CHECKIN_DAY, on_day),
    ButtonStep(callbacks.CHECKIN_TIME, on_time),
    ButtonStep(callbacks.CHECKIN_TALK, on_talk),
    ButtonStep(callbacks.MOOD, on_mood),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("checkin", checkin_menu, filters=private))
    application.add_handler(CommandHandler("mood", mood_chart, filters=private))
    application.add_handler(CommandHandler("groupmood", group_mood, filters=private))
    application.add_handler(BUTTON_STEPS)
    text_steps(application).include(TEXT_STEPS)
