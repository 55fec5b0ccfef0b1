"""Telegram glue, one module per feature. The whole bot's surface, on one screen."""

from __future__ import annotations

from telegram.ext import Application

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
