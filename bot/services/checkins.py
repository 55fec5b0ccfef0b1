"""Check-ins: a gentle prompt on the member's own rhythm, a 1-5 mood, an optional note."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from bot.core import callbacks
from bot.core.outgoing import OutgoingMessage
from bot.core.schedule import CheckinRule, Due, Rhythm, checkin_due, next_checkin
from bot.locales import Catalogue, Markup
from bot.services.common import manages_group, move_flow, onboarded_member
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.members import Awaiting
from bot.services.notices import queue_notice
from bot.storage.models import CheckinPlan, Member, utcnow
from bot.storage.uow import Database, UnitOfWork

PLANS_PER_TICK = 500
CHECKIN_PRIORITY = 6
NOTE_MAX = 500
# An answer is accepted for a prompt up to this old.
ANSWER_WINDOW = timedelta(days=3)
LOW_MOOD = 1
LOW_MOOD_STREAK = 3
# Facilitators see a group's trend only when at least this many members contributed.
MIN_CONTRIBUTORS = 5


@dataclass(frozen=True)
class Plan:
    rhythm: Rhythm
    at_local: time
    weekday: int
    next_at: datetime | None


@dataclass(frozen=True)
class Answer:
    mood: int
    offer_support: bool  # several lowest answers in a row: offer, kindly, to talk


@dataclass(frozen=True)
class MoodPoint:
    day: datetime  # UTC midnight of the member's local day
    mood: float


def _rule(plan: CheckinPlan, timezone: str) -> CheckinRule:
    hour, minute = (int(x) for x in plan.at_local.split(":"))
    return CheckinRule(Rhythm(plan.rhythm), time(hour, minute), timezone, plan.weekday)


class CheckinService:
    def __init__(self, db: Database, texts: Catalogue, coordinators: frozenset[int]) -> None:
        self.db = db
        self.texts = texts
        self.coordinators = coordinators

    async def set_plan(
        self, telegram_id: int, rhythm: Rhythm, at_local: time, weekday: int = 0
    ) -> Plan:
        if not 0 <= weekday <= 6:
            raise InvalidInput("common.stale_button")
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            plan = await uow.checkins.plan_of(member.id)
            if plan is None:
                plan = uow.checkins.add_plan(
                    CheckinPlan(member_id=member.id, rhythm=rhythm.value, at_local="")
                )
            plan.rhythm = rhythm.value
            plan.at_local = at_local.strftime("%H:%M")
            plan.weekday = weekday
            plan.next_at = next_checkin(_rule(plan, member.timezone or "UTC"), utcnow())
            await uow.commit()
            return Plan(rhythm, at_local, weekday, plan.next_at)

    async def tick(self, now: datetime) -> int:
        """Queue the prompts that are due; skip (do not flood) ones missed long ago."""
        queued = 0
        async with self.db.uow() as uow:
            for plan, member in await uow.checkins.plans_due(now, PLANS_PER_TICK):
                rule = _rule(plan, member.timezone or "UTC")
                while plan.next_at is not None and plan.next_at <= now:
                    if (
                        checkin_due(plan.next_at, now) is Due.SEND
                        and member.unreachable_at is None
                        and await self._queue(uow, member, plan.next_at)
                    ):
                        queued += 1
                    plan.next_at = next_checkin(rule, plan.next_at)
            await uow.commit()
        return queued

    async def _queue(self, uow: UnitOfWork, member: Member, prompt_at: datetime) -> bool:
        lang = member.language
        stamp = int(prompt_at.timestamp())
        faces = ("1 😞", "2 🙁", "3 😐", "4 🙂", "5 😄")
        message = OutgoingMessage(
            text=self.texts.t(lang, "checkins.prompt", name=member.display_name),
            buttons=(
                tuple(
                    (face, callbacks.encode(callbacks.MOOD, stamp, i + 1))
                    for i, face in enumerate(faces)
                ),
            ),
        )
        return await uow.outbox.enqueue(
            key=f"checkin:{member.id}:{prompt_at:%Y%m%dT%H%MZ}",
            kind="checkin",
            chat_id=member.telegram_id,
            payload=message.to_json(),
            priority=CHECKIN_PRIORITY,
        )

    async def answer(self, telegram_id: int, prompt_stamp: int, mood: int) -> Answer:
        if not 1 <= mood <= 5:
            raise NotFound
        prompt_at = datetime.fromtimestamp(prompt_stamp, UTC)
        now = utcnow()
        if not now - ANSWER_WINDOW <= prompt_at <= now + timedelta(minutes=5):
            raise InvalidInput("checkins.too_old")
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            await uow.checkins.record_answer(member.id, prompt_at, mood, now)
            recent = await uow.checkins.recent_moods(member.id, LOW_MOOD_STREAK)
            move_flow(member, Awaiting.CHECKIN_NOTE, {})  # a note may follow the mood
            await uow.commit()
        low = len(recent) == LOW_MOOD_STREAK and all(m <= LOW_MOOD for m in recent)
        return Answer(mood, offer_support=low)

    async def add_note(self, telegram_id: int, note: str) -> None:
        """Attach a short note to the member's latest answer."""
        text = note.strip()
        if not text or len(text) > NOTE_MAX:
            raise InvalidInput("checkins.note_too_long", max=NOTE_MAX)
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            latest = await uow.checkins.latest_answer(member.id)
            if latest is None:
                raise NotFound
            latest.note = text
            move_flow(member, None, None)
            await uow.commit()

    async def request_talk(self, telegram_id: int) -> int:
        """The member would like to talk: tell the facilitators of their groups (through the
        outbox). Returns how many facilitators were asked."""
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            event = uow.audit.record("checkin.talk_request", actor_id=member.id)
            name = html.escape(member.display_name or "", quote=True)
            link = Markup(f'<a href="tg://user?id={member.telegram_id}">{name}</a>')
            asked: set[int] = set()
            for group, _role in await uow.groups.for_member(member.id):
                for facilitator in await uow.memberships.facilitator_telegram_ids(group.id or 0):
                    if facilitator == telegram_id or facilitator in asked:
                        continue
                    asked.add(facilitator)
                    reader = await uow.members.by_telegram_id(facilitator)
                    await queue_notice(
                        uow,
                        self.texts,
                        event,
                        telegram_id=facilitator,
                        language=reader.language if reader else self.texts.default_language,
                        key="checkins.talk_notice",
                        name=member.display_name,
                        link=link,
                    )
            await uow.commit()
            return len(asked)

    async def history(self, telegram_id: int, days: int) -> list[tuple[datetime, int]]:
        """The member's own answers in the last `days` days, oldest first."""
        since = utcnow() - timedelta(days=days)
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            return await uow.checkins.moods_since(member.id, since)

    async def group_trend(
        self, telegram_id: int, group_id: int, days: int
    ) -> tuple[float, int] | None:
        """(average mood, contributors) for the group over `days`, only in aggregate and only
        when at least MIN_CONTRIBUTORS members answered — never anyone's own answers."""
        since = utcnow() - timedelta(days=days)
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            if not await manages_group(uow, member, group_id, self.coordinators):
                raise NotAllowed
            average, contributors = await uow.checkins.group_average(group_id, since)
        if average is None or contributors < MIN_CONTRIBUTORS:
            return None
        return average, contributors
