"""/start, consent, display name and timezone: a member's first minutes with the bot."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import Application, CommandHandler, filters

from bot.context import BotContext
from bot.core import callbacks
from bot.core.callbacks import Decoded
from bot.core.invites import code_from_start_payload
from bot.core.profile import NAME_MAX, NAME_MIN, TIMEZONE_REGIONS
from bot.handlers.common import (
    app_language,
    button,
    buttons,
    edge,
    language,
    say,
)
from bot.handlers.steps import ButtonStep, ButtonSteps, TextStep, TextSteps, text_steps
from bot.services.groups import JoinResult
from bot.services.members import Awaiting, Profile, Progress, Step

# The consent question is on screen (and the invite it carries), kept in this process's
# memory only: nothing is stored about a person before they agree.
CONSENT_PENDING = "onboarding.consent_pending"


def _memory(context: BotContext) -> dict[object, object]:
    data = context.user_data
    return data if data is not None else {}


def consent_keyboard(
    context: BotContext, lang: str, invite_code: str | None
) -> InlineKeyboardMarkup:
    t = context.texts.t
    return buttons(
        [
            [button(t(lang, "onboarding.accept_button"), callbacks.CONSENT_YES, invite_code)],
            [button(t(lang, "onboarding.decline_button"), callbacks.CONSENT_NO)],
        ]
    )


def region_keyboard(context: BotContext, lang: str) -> InlineKeyboardMarkup:
    t = context.texts.t
    regions = [button(t(lang, f"region.{r}"), callbacks.TZ_REGION, r) for r in TIMEZONE_REGIONS]
    rows = [regions[i : i + 2] for i in range(0, len(regions), 2)]
    rows.append([button(t(lang, "region.other"), callbacks.TZ_OTHER)])
    return buttons(rows)


def zone_keyboard(region: str) -> InlineKeyboardMarkup:
    zones = [
        button(z.rsplit("/", 1)[1].replace("_", " "), callbacks.TZ_ZONE, z)
        for z in TIMEZONE_REGIONS[region]
    ]
    rows = [zones[i : i + 3] for i in range(0, len(zones), 3)]
    return buttons(rows)


async def show_consent(
    update: Update, context: BotContext, lang: str, invite_code: str | None, reconsent: bool
) -> None:
    bot_name = context.bot.first_name
    if reconsent:
        await say(update, context, "onboarding.reconsent")
    else:
        await say(update, context, "onboarding.welcome", bot_name=bot_name)
    await say(update, context, "onboarding.rules")
    kept = context.bot_data.settings

    def days(count: int) -> str:
        return context.texts.tn(lang, "common.days", count, count=count)

    await say(
        update,
        context,
        "onboarding.privacy",
        checkin_kept=days(kept.keep_checkin_notes_days),
        questions_kept=days(kept.keep_question_texts_days),
        safety_kept=days(kept.safety_record_days),
    )
    await say(
        update,
        context,
        "onboarding.consent_question",
        reply_markup=consent_keyboard(context, lang, invite_code),
    )
    _memory(context)[CONSENT_PENDING] = invite_code


async def reask_pending(update: Update, context: BotContext, profile: Profile | None) -> bool:
    """Text (or anything else) sent while onboarding waits for an answer: ask that question
    again. False when no onboarding question is waiting."""
    if profile is None or not profile.consent_current:
        memory = _memory(context)
        if CONSENT_PENDING not in memory:
            return False  # never asked here (or asked before a restart): /start shows it all
        lang = await language(update, context)
        invite = memory[CONSENT_PENDING]
        invite_code = invite if isinstance(invite, str) else None
        await say(update, context, "onboarding.consent_again",
                  reply_markup=consent_keyboard(context, lang, invite_code))  # fmt: skip
        return True
    if profile.step in (Step.NAME, Step.TIMEZONE):
        await continue_onboarding(update, context, Progress(profile))
        return True
    return False


async def report_join(update: Update, context: BotContext, joined: JoinResult | None) -> None:
    if joined is None:
        return
    if joined.group_name is None:
        await say(update, context, "onboarding.invite_invalid")
    elif joined.already_member:
        await say(update, context, "onboarding.already_in_group", group=joined.group_name)
    else:
        await say(update, context, "onboarding.joined_group", group=joined.group_name)


async def continue_onboarding(update: Update, context: BotContext, progress: Progress) -> None:
    """Ask for whatever onboarding still needs, or welcome the member in."""
    profile = progress.profile
    lang = profile.language
    if profile.step == Step.NAME:
        await say(update, context, "onboarding.ask_name", min=NAME_MIN, max=NAME_MAX)
    elif profile.step == Step.TIMEZONE:
        await say(
            update,
            context,
            "onboarding.ask_timezone",
            name=profile.display_name,
            reply_markup=region_keyboard(context, lang),
        )
    elif profile.step == Step.DONE:
        if progress.just_finished:
            await say(
                update,
                context,
                "onboarding.finished",
                name=profile.display_name,
                timezone=profile.timezone,
            )
        await report_join(update, context, progress.joined)
        await say(update, context, "menu.main")


@edge
async def start(update: Update, context: BotContext) -> None:
    user = update.effective_user
    assert user is not None
    payload = context.args[0] if context.args else None
    code = code_from_start_payload(payload)
    services = context.services
    result = await services.members.start(user.id, code)
    lang = result.profile.language if result.profile else await language(update, context)
    if payload and code is None:
        await say(update, context, "onboarding.invite_invalid")
    if result.profile is None or result.reconsent:
        await show_consent(update, context, lang, code, result.reconsent)
        return
    profile = result.profile
    _memory(context).pop(CONSENT_PENDING, None)
    if profile.step == Step.DONE:
        await say(update, context, "onboarding.already_onboarded", name=profile.display_name)
        await report_join(update, context, result.joined)
        await say(update, context, "menu.main")
        return
    if code:
        await say(update, context, "onboarding.invite_saved")
    await continue_onboarding(update, context, Progress(profile))


async def on_decline(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    await context.services.members.decline_consent(user.id)
    _memory(context).pop(CONSENT_PENDING, None)
    await say(update, context, "onboarding.declined")


async def on_accept(update: Update, context: BotContext, pressed: Decoded) -> None:
    user = update.effective_user
    assert user is not None
    code = pressed.maybe_text("invite")
    # Their Telegram app's language if the catalogue has it, else the organisation's.
    progress = await context.services.members.accept_consent(
        user.id, app_language(update, context), code
    )
    _memory(context).pop(CONSENT_PENDING, None)
    await continue_onboarding(update, context, progress)


async def on_region(update: Update, context: BotContext, pressed: Decoded) -> None:
    zones = zone_keyboard(pressed.text("region"))
    await say(update, context, "onboarding.choose_zone", reply_markup=zones)


async def on_other_region(update: Update, context: BotContext, pressed: Decoded) -> None:
    await say(update, context, "region.type_city")


async def on_zone(update: Update, context: BotContext, pressed: Decoded) -> None:
    await apply_timezone(update, context, pressed.text("zone"))


async def apply_timezone(update: Update, context: BotContext, raw: str) -> None:
    user = update.effective_user
    assert user is not None
    progress = await context.services.members.set_timezone(user.id, raw)
    if progress.just_finished or progress.profile.step != Step.DONE:
        await continue_onboarding(update, context, progress)
    else:
        await say(update, context, "settings.timezone_changed", timezone=progress.profile.timezone)


async def answer_timezone(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    await apply_timezone(update, context, text)


async def answer_name(update: Update, context: BotContext, profile: Profile, text: str) -> None:
    user = update.effective_user
    assert user is not None
    progress = await context.services.members.set_display_name(user.id, text)
    if profile.step == Step.DONE:  # a change of name from /settings
        await say(update, context, "settings.name_changed", name=progress.profile.display_name)
    else:
        await continue_onboarding(update, context, progress)


TEXT_STEPS = TextSteps(
    TextStep(Awaiting.NAME, answer_name),
    TextStep(Awaiting.TIMEZONE, answer_timezone),
)
BUTTON_STEPS = ButtonSteps(
    ButtonStep(callbacks.CONSENT_YES, on_accept),
    ButtonStep(callbacks.CONSENT_NO, on_decline),
    ButtonStep(callbacks.TZ_REGION, on_region),
    ButtonStep(callbacks.TZ_OTHER, on_other_region),
    ButtonStep(callbacks.TZ_ZONE, on_zone),
)


def register(application: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    application.add_handler(CommandHandler("start", start, filters=private))
    application.add_handler(BUTTON_STEPS)
    text_steps(application).include(TEXT_STEPS)
