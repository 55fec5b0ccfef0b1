"""Telegram glue, one module per feature. The whole bot's surface, on one screen: commands,
buttons and texts, the error handler, and the leader's timed jobs."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram.ext import Application

from bot.context import BotContext, PeerbotApplication
from bot.core import clock
from bot.handlers import (
    broadcasts,
    checkins,
    errors,
    fallbacks,
    groups,
    meetings,
    menus,
    onboarding,
    privacy,
    questions,
    roles,
    safety,
    settings,
    text_input,
)


def register_all(application: Application) -> None:  # type: ignore[type-arg]
    safety.register(application)  # first: screens every text (group -1); /escalations
    onboarding.register(application)  # /start, consent, name, timezone
    settings.register(application)  # /settings
    groups.register(application)  # /newgroup /groups /invite /leave /link, removal
    roles.register(application)  # /grant /revoke
    meetings.register(application)  # /newmeeting /meetings /skip, RSVP, calendar files, mute
    checkins.register(application)  # /checkin /mood /groupmood, mood buttons
    questions.register(application)  # /ask /questions, moderation, replies relayed to askers
    broadcasts.register(application)  # /broadcast, its progress and cancel
    privacy.register(application)  # /mydata /forget /erase, and their /settings buttons
    menus.register(application)  # /help
    text_input.register(application)  # answers to questions the bot asked
    fallbacks.register(application)  # unknown commands, stale buttons
    errors.register(application)  # the error handler


# The leader's timed work; started when this replica leads (bot/runtime.py).
PRUNE_EVERY = timedelta(hours=1)
# How often a running announcement's status message is brought up to date.
PROGRESS_SECONDS = 2.0
# Telegram keeps undelivered updates for 24 hours; a handled update is remembered longer than
# that so a late redelivery is still recognised and skipped.
KEEP_HANDLED = timedelta(days=7)

log = logging.getLogger(__name__)


def start_jobs(application: PeerbotApplication, tick_seconds: float) -> None:
    jobs = application.job_queue
    if jobs is None:
        return
    # The schedule lives in the database and ticks are idempotent, so a late tick simply
    # catches up: never let APScheduler drop one for being late.
    never_drop = {"misfire_grace_time": None, "coalesce": True, "max_instances": 1}
    once_at_a_time = {"coalesce": True, "max_instances": 1}
    jobs.run_repeating(tick, tick_seconds, first=0.1, name="schedule-tick", job_kwargs=never_drop)
    jobs.run_repeating(
        broadcasts.refresh_progress,
        PROGRESS_SECONDS,
        first=0.5,
        name="broadcast-progress",
        job_kwargs=once_at_a_time,
    )
    jobs.run_repeating(prune, PRUNE_EVERY, first=60, name="prune", job_kwargs=never_drop)


async def tick(context: BotContext) -> None:
    """Turn whatever the schedule says is due into outbox rows, then wake the dispatcher."""
    now = clock.now()
    services = context.services
    reminders = await services.reminders.tick(now)
    prompts = await services.checkins.tick(now)
    realerts = await services.safety.tick(now)
    if (reminders.queued or prompts or realerts) and context.bot_data.delivery is not None:
        context.bot_data.delivery.notify()


async def prune(context: BotContext) -> None:
    """Forget handled updates and settled delivery records once they are past keeping, and
    what the retention periods say must go (bot/services/privacy.py)."""
    expired = await context.services.privacy.tick(clock.now())
    for kind, count in expired.items():
        if count:
            log.info("retention: deleted %d %s", count, kind.replace("_", " "))
    removed = await context.services.intake.prune(KEEP_HANDLED)
    if removed:
        log.info("forgot %d handled updates", removed)
    delivery = context.bot_data.delivery
    if delivery is not None:
        pruned = await delivery.prune(context.bot_data.settings.keep_deliveries)
        if pruned:
            log.info("forgot %d settled delivery records", pruned)
