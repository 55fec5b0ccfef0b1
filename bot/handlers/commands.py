"""Every command the bot answers, who may use it and where: one table that /help, the
command menus (setMyCommands) and the refusals are made from."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from bot.core.roles import Role


class Chats(Enum):
    PRIVATE = "private"
    GROUP = "group"
    ANY = "any"


@dataclass(frozen=True)
class Command:
    name: str
    role: Role  # the least role that may use it (coordinators may do what facilitators do)
    chats: Chats = Chats.PRIVATE
    # In /help and the command menu. /skip is not: the bot offers it where it can be used.
    listed: bool = True


COMMANDS: tuple[Command, ...] = (
    Command("start", Role.MEMBER),
    Command("meetings", Role.MEMBER),
    Command("checkin", Role.MEMBER),
    Command("mood", Role.MEMBER),
    Command("ask", Role.MEMBER),
    Command("groups", Role.MEMBER),
    Command("settings", Role.MEMBER),
    Command("leave", Role.MEMBER),
    Command("mydata", Role.MEMBER),
    Command("forget", Role.MEMBER),
    Command("skip", Role.MEMBER, listed=False),
    Command("newgroup", Role.FACILITATOR),
    Command("invite", Role.FACILITATOR),
    Command("newmeeting", Role.FACILITATOR),
    Command("groupmood", Role.FACILITATOR),
    Command("broadcast", Role.FACILITATOR),
    Command("questions", Role.FACILITATOR),
    Command("link", Role.FACILITATOR, Chats.GROUP),
    Command("grant", Role.COORDINATOR, Chats.ANY),  # also as a reply in a group chat
    Command("revoke", Role.COORDINATOR, Chats.ANY),
    Command("escalations", Role.COORDINATOR),
    Command("erase", Role.COORDINATOR),
    Command("help", Role.MEMBER, Chats.ANY),  # last in every menu
)
BY_NAME = {command.name: command for command in COMMANDS}
# The menu every group chat shows (everyone in a group sees it, whatever their role).
GROUP_CHAT_MENU = ("link", "help")

_RANK = {Role.MEMBER: 0, Role.FACILITATOR: 1, Role.COORDINATOR: 2}


def may_use(role: Role, name: str) -> bool:
    return _RANK[role] >= _RANK[BY_NAME[name].role]


def private_menu(role: Role) -> tuple[str, ...]:
    """The commands this role can use in a private chat, as its menu lists them."""
    return tuple(
        c.name
        for c in COMMANDS
        if c.listed and c.chats is not Chats.GROUP and may_use(role, c.name)
    )


def help_sections(role: Role) -> list[tuple[Role, tuple[str, ...]]]:
    """/help for this role: a section per role up to theirs, each with the commands that role
    adds (group-chat commands included, their line says where to send them)."""
    return [
        (level, tuple(c.name for c in COMMANDS if c.listed and c.role is level))
        for level in Role
        if _RANK[level] <= _RANK[role]
    ]
