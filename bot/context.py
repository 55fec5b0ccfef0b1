"""Typed callback context: handlers reach services as `context.services`, never via dict keys."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.core.ratelimit import SendBudget
from bot.locales import Catalogue, catalogue
from bot.observability.metrics import Metrics

if TYPE_CHECKING:
    from bot.delivery.dispatcher import Dispatcher
    from bot.services import Services
    from bot.services.members import Profile
    from bot.settings import Settings
    from bot.storage.uow import Database


class BotData:
    """Application-wide state, filled in by bot/runtime.py as it opens what the bot uses."""

    def __init__(self) -> None:
        self._services: Services | None = None
        self._settings: Settings | None = None
        self.catalogue: Catalogue = catalogue()
        self.database: Database | None = None
        self.delivery: Dispatcher | None = None
        # Telegram's sending limits, shared by replies and the dispatcher (see app.py).
        self.send_budget = SendBudget()
        # What happened since start, for /metrics and /readyz (bot/observability).
        self.metrics = Metrics()

    @property
    def services(self) -> Services:
        if self._services is None:
            raise RuntimeError("services are not open yet (the bot has not started)")
        return self._services

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("settings are not set")
        return self._settings

    def open(self, settings: Settings, services: Services) -> None:
        self._settings = settings
        self._services = services
        # The organisation's language, for anyone whose own the catalogue lacks (shared with
        # the services, which render alerts and notices from the same catalogue).
        self.catalogue.set_default_language(settings.default_language)


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], BotData]):
    """One per update (or job): also a place for what one update needs more than once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The person's profile as it was when this update arrived (read at most once).
        self.profile_at_start: Profile | None = None
        self.profile_read = False

    @property
    def services(self) -> Services:
        return self.bot_data.services

    @property
    def texts(self) -> Catalogue:
        return self.bot_data.catalogue


PeerbotApplication = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], BotData, Any
]
