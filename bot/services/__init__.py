"""Use cases. Each takes plain values, owns its transaction, and returns plain results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.core.schedule import DEFAULT_REMINDER_OFFSETS
from bot.core.screening import Sensitivity, default_screener
from bot.locales import catalogue
from bot.services.broadcasts import BroadcastService
from bot.services.checkins import CheckinService
from bot.services.groups import GroupService
from bot.services.intake import IntakeService
from bot.services.meetings import MeetingService
from bot.services.members import MemberService
from bot.services.privacy import PrivacyPolicy, PrivacyService
from bot.services.questions import QuestionService
from bot.services.reminders import ReminderService
from bot.services.roles import RoleService
from bot.services.safety import SafetyService
from bot.storage.uow import Database


@dataclass(frozen=True)
class Services:
    members: MemberService
    groups: GroupService
    roles: RoleService
    intake: IntakeService
    meetings: MeetingService
    checkins: CheckinService
    reminders: ReminderService
    safety: SafetyService
    questions: QuestionService
    broadcasts: BroadcastService
    privacy: PrivacyService

    @classmethod
    def build(
        cls,
        db: Database,
        coordinators: frozenset[int],
        reminder_offsets: tuple[timedelta, ...] = DEFAULT_REMINDER_OFFSETS,
        alert_chat_id: int | None = None,
        realert_after: timedelta = timedelta(minutes=5),
        question_delay: tuple[int, int] = (60, 300),
        privacy: PrivacyPolicy | None = None,
        sensitivity: Sensitivity = Sensitivity.BALANCED,
    ) -> Services:
        screener = default_screener(_beside_database(db), sensitivity=sensitivity)
        return cls(
            members=MemberService(db, coordinators),
            groups=GroupService(db, coordinators, catalogue()),
            roles=RoleService(db, coordinators, catalogue()),
            intake=IntakeService(db),
            meetings=MeetingService(db, coordinators, catalogue(), reminder_offsets),
            checkins=CheckinService(db, catalogue(), coordinators),
            reminders=ReminderService(db, catalogue(), reminder_offsets),
            safety=SafetyService(
                db, catalogue(), screener, coordinators, alert_chat_id, realert_after
            ),
            questions=QuestionService(db, catalogue(), screener, coordinators, question_delay),
            broadcasts=BroadcastService(db, catalogue(), coordinators),
            privacy=PrivacyService(db, catalogue(), coordinators, privacy),
        )


def _beside_database(db: Database) -> Path | None:
    """The SQLite file's folder, which the bot can write: the last place the screener is kept
    so that a restart need not build it again (`bot.core.screening_cache`)."""
    engine = db.engine
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        return None
    return Path(path).resolve().parent
