"""Who may do what. Every command and button press asks these, on the server, every time."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"
    COORDINATOR = "coordinator"


class GroupRole(StrEnum):
    MEMBER = "member"
    FACILITATOR = "facilitator"


@dataclass(frozen=True)
class Actor:
    """What the permission rules need to know about the person asking."""

    is_coordinator: bool
    can_facilitate: bool

    @property
    def role(self) -> Role:
        if self.is_coordinator:
            return Role.COORDINATOR
        if self.can_facilitate:
            return Role.FACILITATOR
        return Role.MEMBER


def may_create_group(actor: Actor) -> bool:
    return actor.is_coordinator or actor.can_facilitate


def may_manage_group(actor: Actor, role_in_group: GroupRole | None) -> bool:
    """Link a chat, rotate the invite, moderate, announce: the group's facilitators while
    they may facilitate (a revoke takes it back everywhere), and coordinators."""
    return actor.is_coordinator or (actor.can_facilitate and role_in_group is GroupRole.FACILITATOR)


def may_grant(actor: Actor) -> bool:
    return actor.is_coordinator
