"""Check-ins: /checkin to choose a rhythm, mood buttons, notes, /mood and /groupmood."""

from __future__ import annotations

from datetime import time

from telegram import InputFile, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.context import BotContext
from bot.core import clock
from bot.core.schedule import Rhythm, format_local
from bot.handlers.common import buttons, edge, is_id, language, say, settle_query, wake_delivery
from bot.services.errors import NeedsOnboarding
from bot.services.members import Awaiting
from bot.services.mood_chart import render_chart, summarise

TIMES = ("08:00", "12:00", "18:00", "20:00", "22:00")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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
                    (t(lang, "checkins.rhythm_daily"), "ci:r:daily"),
                    (t(lang, "checkins.rhythm_weekly"), "ci:r:weekly"),
                ],
                [(t(lang, "checkins.rhythm_off"), "ci:r:off")],
            ]
        ),
    )


async def _time_buttons(update: Update, context: BotContext, rhythm: str, day: int) -> None:
    user = update.effective_user
    assert user is not None
    profile = await context.services.members.profile(user.id)
    if profile is None or profile.step != "done":
        raise NeedsOnboarding
    await say(
        update,
        context,
        "checkins.choose_time",
        timezone=profile.timezone,
        reply_markup=buttons(
            [[(hm, f"ci:t:{rhythm}:{day}:{hm.replace(':', '')}") for hm in TIMES]]
        ),
    )


@edge
async def on_checkin_button(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.data is not None
    await settle_query(update)
    parts = query.data.split(":")
    checkins = context.services.checkins
    if parts[1] == "r" and len(parts) == 3 and parts[2] in ("off", "daily", "weekly"):
        if parts[2] == "off":
            await checkins.set_plan(user.id, Rhythm.OFF, time(20, 0))
            await say(update, context, "checkins.plan_off")
        elif parts[2] == "daily":
            await _time_buttons(update, context, "daily", 0)
        else:
            await say(
                update,
                context,
                "checkins.choose_day",
                reply_markup=buttons([[(d, f"ci:w:{i}") for i, d in enumerate(DAYS)]]),
            )
    elif parts[1] == "w" and len(parts) == 3 and parts[2] in "0123456":
        await _time_buttons(update, context, "weekly", int(parts[2]))
    elif parts[1] == "t" and len(parts) == 5 and parts[4] in {t.replace(":", "") for t in TIMES}:
        rhythm = Rhythm(parts[2]) if parts[2] in ("daily", "weekly") else None
        if rhythm is None or not is_id(parts[3]):
            await say(update, context, "common.stale_button")
            return
        at = time(int(parts[4][:2]), int(parts[4][2:]))
        plan = await checkins.set_plan(user.id, rhythm, at, int(parts[3]))
        profile = await context.services.members.profile(user.id)
        zone = (profile.timezone if profile else None) or "UTC"
        when = format_local(plan.next_at, zone) if plan.next_at else "—"
        await say(update, context, "checkins.plan_set", time=when, timezone=zone)
    elif parts[1] == "talk" and len(parts) == 3 and parts[2] in ("yes", "no"):
        if parts[2] == "yes":
            await checkins.request_talk(user.id)
            wake_delivery(context)
            await say(update, context, "checkins.talk_requested")
        else:
            await say(update, context, "checkins.talk_declined")
    else:
        await say(update, context, "common.stale_button")


@edge
async def on_mood(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None and query.data is not None
    await settle_query(update)
    parts = query.data.split(":")
    if len(parts) != 3 or not is_id(parts[1], max_digits=12) or not is_id(parts[2]):
        await say(update, context, "common.stale_button")
        return
    answer = await context.services.checkins.answer(user.id, int(parts[1]), int(parts[2]))
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
                        (t(lang, "checkins.talk_button"), "ci:talk:yes"),
                        (t(lang, "checkins.no_talk_button"), "ci:talk:no"),
                    ]
                ]
            ),
        )


async def on_checkin_note(update: Update, context: BotContext, text: str) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.checkins.add_note(user.id, text)
    await context.services.members.set_flow(user.id, None, None)
    await say(update, context, "checkins.noted")


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
        trend=t(lang, f"checkins.trend_{summary.trend}"),
    )
    png = render_chart(points, now, "Mood")
    await context.bot.send_photo(
        chat.id, InputFile(png, filename="mood.png"), caption=caption, parse_mode="HTML"
    )


@edge
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


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("checkin", checkin_menu, filters=private))
    application.add_handler(CommandHandler("mood", mood_chart, filters=private))
    application.add_handler(CommandHandler("groupmood", group_mood, filters=private))
    application.add_handler(CallbackQueryHandler(on_checkin_button, pattern=r"^ci:"))
    application.add_handler(CallbackQueryHandler(on_mood, pattern=r"^mood:"))
