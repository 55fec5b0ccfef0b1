"""Small helpers the services share: looking up the person acting, and their permissions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import StrEnum

from bot.core.profile import Invalid
from bot.core.roles import Actor, GroupRole, may_manage_group
from bot.services.errors import InvalidInput, NeedsOnboarding
from bot.storage.models import Member
from bot.storage.uow import UnitOfWork


class Step(StrEnum):
    """Where a member is in onboarding (`Member.step`)."""

    CONSENT = "consent"
    NAME = "name"
    TIMEZONE = "timezone"
    DONE = "done"


async def onboarded_member(uow: UnitOfWork, telegram_id: int, *, lock: bool = False) -> Member:
    member = await uow.members.by_telegram_id(telegram_id, for_update=lock)
    if member is None or member.step != Step.DONE:
        raise NeedsOnboarding
    return member


def actor_for(member: Member | None, telegram_id: int, coordinators: Iterable[int]) -> Actor:
    return Actor(
        is_coordinator=telegram_id in set(coordinators),
        can_facilitate=bool(member and member.can_facilitate),
    )


async def manages_group(
    uow: UnitOfWork, member: Member, group_id: int, coordinators: Iterable[int]
) -> bool:
    """May this member run this group (its facilitator while allowed to facilitate, or a
    coordinator)?"""
    assert member.id is not None
    membership = await uow.memberships.get(group_id, member.id)
    role = GroupRole(membership.role) if membership else None
    return may_manage_group(actor_for(member, member.telegram_id, coordinators), role)


def draft_of(member: Member) -> dict[str, object]:
    """What a multi-step flow has collected so far (the member's draft, decoded)."""
    loaded = json.loads(member.draft) if member.draft else {}
    return loaded if isinstance(loaded, dict) else {}


def set_draft(member: Member, draft: dict[str, object] | None) -> None:
    member.draft = json.dumps(draft) if draft is not None else None


def move_flow(member: Member, awaiting: str | None, draft: dict[str, object] | None) -> None:
    """Move the member's multi-step flow on in the same transaction as the step's own effect
    (a crash between two commits would leave the flow waiting for a step already taken)."""
    member.awaiting = awaiting
    set_draft(member, draft)


async def drop_previewed_draft(uow: UnitOfWork, telegram_id: int, nonce: str) -> None:
    """Cancel on a preview: drop that draft, not whatever the person has started since."""
    member = await onboarded_member(uow, telegram_id, lock=True)
    if draft_of(member).get("nonce") == nonce:
        member.awaiting = None
        member.draft = None
        await uow.commit()


def refuse(invalid: Invalid) -> InvalidInput:
    return InvalidInput(invalid.reason, **dict(invalid.params))
