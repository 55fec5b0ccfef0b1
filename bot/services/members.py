"""Onboarding and profile: consent, display name, timezone, language."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.core.consent import CONSENT_VERSION
from bot.core.profile import (
    SUPPORTED_LANGUAGES,
    Invalid,
    clean_display_name,
    is_valid_timezone,
    language_from_telegram,
    resolve_timezone,
)
from bot.core.roles import Role
from bot.services.common import Step as Step  # handlers name it from here
from bot.services.common import actor_for, onboarded_member, refuse
from bot.services.errors import InvalidInput, NeedsOnboarding
from bot.services.groups import JoinResult, join_by_code
from bot.storage.models import Member, utcnow
from bot.storage.uow import Database, UnitOfWork


class Awaiting(StrEnum):
    """Free-text answers the bot can be waiting for."""

    NAME = "name"
    TIMEZONE = "timezone"
    GROUP_NAME = "group_name"
    MEETING_TITLE = "meeting_title"
    MEETING_WHEN = "meeting_when"
    MEETING_PLACE = "meeting_place"
    MEETING_EDIT_WHEN = "meeting_edit_when"
    MEETING_EDIT_PLACE = "meeting_edit_place"
    CHECKIN_NOTE = "checkin_note"
    RESOLUTION_NOTE = "resolution_note"
    QUESTION_TEXT = "question_text"
    REJECT_REASON = "reject_reason"
    BROADCAST_TEXT = "broadcast_text"


@dataclass(frozen=True)
class Profile:
    telegram_id: int
    step: Step
    display_name: str | None
    timezone: str | None
    language: str
    awaiting: Awaiting | None
    role: Role
    consent_current: bool
    draft: dict[str, Any]
    unreachable: bool = False


@dataclass(frozen=True)
class StartResult:
    """What /start should show: where the person is, and any group they just joined."""

    profile: Profile | None  # None: a new person, nothing stored yet
    reconsent: bool = False
    joined: JoinResult | None = None
    invite_code: str | None = None  # carried through the consent screen, not stored


@dataclass(frozen=True)
class Progress:
    profile: Profile
    joined: JoinResult | None = None
    just_finished: bool = False  # this answer completed onboarding


class MemberService:
    def __init__(self, db: Database, coordinators: frozenset[int]) -> None:
        self.db = db
        self.coordinators = coordinators

    def _profile(self, member: Member) -> Profile:
        actor = actor_for(member, member.telegram_id, self.coordinators)
        return Profile(
            telegram_id=member.telegram_id,
            step=Step(member.step),
            display_name=member.display_name,
            timezone=member.timezone,
            language=member.language,
            awaiting=Awaiting(member.awaiting) if member.awaiting else None,
            role=actor.role,
            consent_current=member.consent_version == CONSENT_VERSION,
            draft=json.loads(member.draft) if member.draft else {},
            unreachable=member.unreachable_at is not None,
        )

    async def profile(self, telegram_id: int) -> Profile | None:
        async with self.db.uow(read_only=True) as uow:
            member = await uow.members.by_telegram_id(telegram_id)
            return self._profile(member) if member else None

    async def language_of(self, telegram_id: int, telegram_language: str | None) -> str:
        async with self.db.uow(read_only=True) as uow:
            member = await uow.members.by_telegram_id(telegram_id)
        return member.language if member else language_from_telegram(telegram_language)

    async def start(self, telegram_id: int, invite_code: str | None) -> StartResult:
        """/start, possibly from an invite link. Stores nothing for a person not yet agreed."""
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is None or member.consent_version is None:
                return StartResult(profile=None, invite_code=invite_code)
            if member.consent_version != CONSENT_VERSION:
                member.step = Step.CONSENT
                member.awaiting = None
                if invite_code:
                    member.pending_invite = invite_code
                await uow.commit()
                return StartResult(self._profile(member), reconsent=True, invite_code=invite_code)
            joined = None
            if invite_code:
                if member.step == Step.DONE:
                    joined = await join_by_code(uow, member, invite_code)
                else:
                    member.pending_invite = invite_code
            member.awaiting = _awaiting_for(Step(member.step))
            await uow.commit()
            return StartResult(self._profile(member), joined=joined)

    async def accept_consent(
        self, telegram_id: int, telegram_language: str | None, invite_code: str | None
    ) -> Progress:
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is None:
                member = await uow.members.add(
                    Member(
                        telegram_id=telegram_id, language=language_from_telegram(telegram_language)
                    )
                )
            member.consent_version = CONSENT_VERSION
            member.consent_at = utcnow()
            member.declined_version = None
            member.declined_at = None
            if invite_code:
                member.pending_invite = invite_code
            step = _next_step(member)
            member.step = step
            member.awaiting = _awaiting_for(step)
            joined = None
            if step == Step.DONE and member.pending_invite:
                joined = await join_by_code(uow, member, member.pending_invite)
                member.pending_invite = None
            await uow.commit()
            return Progress(self._profile(member), joined, just_finished=step == Step.DONE)

    async def decline_consent(self, telegram_id: int) -> None:
        """Remember only that this person said no (and to which version)."""
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is None:
                member = await uow.members.add(Member(telegram_id=telegram_id))
            member.declined_version = CONSENT_VERSION
            member.declined_at = utcnow()
            member.step = Step.CONSENT
            member.awaiting = None
            member.pending_invite = None
            await uow.commit()

    async def set_display_name(self, telegram_id: int, raw: str) -> Progress:
        cleaned = clean_display_name(raw)
        if isinstance(cleaned, Invalid):
            raise refuse(cleaned)
        async with self.db.uow() as uow:
            member = await self._consented(uow, telegram_id)
            member.display_name = cleaned
            return await self._advance(uow, member)

    async def set_timezone(self, telegram_id: int, raw: str) -> Progress:
        zone = raw if is_valid_timezone(raw) and "/" in raw else resolve_timezone(raw)
        if isinstance(zone, Invalid):
            raise refuse(zone)
        async with self.db.uow() as uow:
            member = await self._consented(uow, telegram_id)
            if member.step == Step.NAME:
                # A timezone button from an old message cannot skip the name.
                raise InvalidInput("common.stale_button")
            member.timezone = zone
            return await self._advance(uow, member)

    async def set_language(self, telegram_id: int, language: str) -> Profile:
        if language not in SUPPORTED_LANGUAGES:
            raise InvalidInput("common.stale_button")
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            member.language = language
            await uow.commit()
            return self._profile(member)

    async def expect(self, telegram_id: int, awaiting: Awaiting | None) -> Profile:
        """Remember which free-text answer comes next (survives a restart)."""
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            member.awaiting = awaiting
            await uow.commit()
            return self._profile(member)

    async def mark_reachable(self, telegram_id: int) -> None:
        """They wrote to the bot again (after blocking it): messages may be queued again."""
        async with self.db.uow() as uow:
            member = await uow.members.by_telegram_id(telegram_id, for_update=True)
            if member is not None and member.unreachable_at is not None:
                member.unreachable_at = None
                await uow.commit_independent()  # safe to repeat; must not wait for the feature

    async def set_flow(
        self, telegram_id: int, awaiting: Awaiting | None, draft: dict[str, Any] | None
    ) -> Profile:
        """Remember where a multi-step flow is and what it has collected (None: flow over).
        A service that finishes a step already moved the flow on in its own transaction;
        then there is nothing to write here (and no second commit for the update)."""
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            encoded = json.dumps(draft) if draft is not None else None
            if member.awaiting == awaiting and member.draft == encoded:
                return self._profile(member)
            member.awaiting = awaiting
            member.draft = encoded
            await uow.commit()
            return self._profile(member)

    async def _consented(self, uow: UnitOfWork, telegram_id: int) -> Member:
        member = await uow.members.by_telegram_id(telegram_id, for_update=True)
        if member is None or member.consent_version != CONSENT_VERSION:
            raise NeedsOnboarding
        return member

    async def _advance(self, uow: UnitOfWork, member: Member) -> Progress:
        """Move onboarding on after an answer; join the invited group when it completes."""
        joined = None
        finished = False
        if member.step != Step.DONE:
            member.step = _next_step(member)
            finished = member.step == Step.DONE
            if finished and member.pending_invite:
                joined = await join_by_code(uow, member, member.pending_invite)
                member.pending_invite = None
        member.awaiting = _awaiting_for(Step(member.step))
        await uow.commit()
        return Progress(self._profile(member), joined, just_finished=finished)


def _next_step(member: Member) -> Step:
    if member.consent_version != CONSENT_VERSION:
        return Step.CONSENT
    if not member.display_name:
        return Step.NAME
    if not member.timezone:
        return Step.TIMEZONE
    return Step.DONE


def _awaiting_for(step: Step) -> Awaiting | None:
    return {Step.NAME: Awaiting.NAME, Step.TIMEZONE: Awaiting.TIMEZONE}.get(step)
