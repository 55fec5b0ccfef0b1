"""Groups: creating them, inviting to them, linking their Telegram chat, joining and leaving."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.invites import new_invite_code
from bot.core.profile import Invalid, clean_group_name
from bot.core.roles import GroupRole, may_create_group, may_manage_group
from bot.locales import Catalogue
from bot.services.common import actor_for, manages_group, onboarded_member, refuse
from bot.services.errors import InvalidInput, NotAllowed, NotFound
from bot.services.notices import queue_notice
from bot.storage.errors import Conflict
from bot.storage.models import Member, Membership, PeerGroup
from bot.storage.uow import Database, UnitOfWork


@dataclass(frozen=True)
class GroupInfo:
    id: int
    name: str
    invite_code: str
    linked: bool


@dataclass(frozen=True)
class GroupSummary:
    id: int
    name: str
    role: GroupRole


@dataclass(frozen=True)
class JoinResult:
    group_name: str | None  # None: the invite code is not (or no longer) valid
    already_member: bool = False


@dataclass(frozen=True)
class LinkResult:
    group_name: str
    already_linked: bool


@dataclass(frozen=True)
class Unlinked:
    group_name: str
    facilitator_telegram_ids: list[int]


def _info(group: PeerGroup) -> GroupInfo:
    assert group.id is not None
    return GroupInfo(group.id, group.name, group.invite_code, group.chat_id is not None)


async def join_by_code(uow: UnitOfWork, member: Member, code: str) -> JoinResult:
    """Add the member to the group the code belongs to (idempotent)."""
    group = await uow.groups.by_invite_code(code)
    if group is None:
        return JoinResult(None)
    assert group.id is not None and member.id is not None
    if await uow.memberships.get(group.id, member.id) is not None:
        return JoinResult(group.name, already_member=True)
    await uow.memberships.add(Membership(group_id=group.id, member_id=member.id))
    return JoinResult(group.name)


class GroupService:
    def __init__(self, db: Database, coordinators: frozenset[int], texts: Catalogue) -> None:
        self.db = db
        self.coordinators = coordinators
        self.texts = texts

    async def create_group(self, telegram_id: int, raw_name: str) -> GroupInfo:
        name = clean_group_name(raw_name)
        if isinstance(name, Invalid):
            raise refuse(name)
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            if not may_create_group(actor_for(member, telegram_id, self.coordinators)):
                raise NotAllowed
            member.awaiting = None
            group = await uow.groups.add(
                PeerGroup(name=name, invite_code=new_invite_code(), created_by=member.id)
            )
            assert group.id is not None and member.id is not None
            await uow.memberships.add(
                Membership(group_id=group.id, member_id=member.id, role=GroupRole.FACILITATOR)
            )
            uow.audit.record("group.create", actor_id=member.id, group_id=group.id)
            await uow.commit()
            return _info(group)

    async def my_groups(self, telegram_id: int) -> list[GroupSummary]:
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            rows = await uow.groups.for_member(member.id)
        return [GroupSummary(g.id, g.name, GroupRole(role)) for g, role in rows if g.id]

    async def managed_groups(self, telegram_id: int) -> list[GroupSummary]:
        """Groups this person facilitates (none once facilitation is taken back)."""
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            assert member.id is not None
            actor = actor_for(member, telegram_id, self.coordinators)
            rows = await uow.groups.for_member(member.id)
        return [
            GroupSummary(g.id, g.name, GroupRole(role))
            for g, role in rows
            if g.id
            and may_manage_group(actor, GroupRole(role))
            and GroupRole(role) is GroupRole.FACILITATOR
        ]

    async def _managed(self, uow: UnitOfWork, telegram_id: int, group_id: int) -> PeerGroup:
        member = await onboarded_member(uow, telegram_id)
        group = await uow.groups.by_id(group_id)
        if group is None:
            raise NotFound
        if not await manages_group(uow, member, group_id, self.coordinators):
            raise NotAllowed
        return group

    async def invite(self, telegram_id: int, group_id: int) -> GroupInfo:
        async with self.db.uow(read_only=True) as uow:
            return _info(await self._managed(uow, telegram_id, group_id))

    async def rotate_invite(self, telegram_id: int, group_id: int) -> GroupInfo:
        async with self.db.uow() as uow:
            group = await self._managed(uow, telegram_id, group_id)
            group.invite_code = new_invite_code()  # read in this unit of work: saved on commit
            member = await uow.members.by_telegram_id(telegram_id)
            uow.audit.record(
                "invite.rotate", actor_id=member.id if member else None, group_id=group_id
            )
            await uow.commit()
            return _info(group)

    async def link_chat(self, telegram_id: int, chat_id: int, group_id: int) -> LinkResult:
        async with self.db.uow() as uow:
            group = await self._managed(uow, telegram_id, group_id)
            if group.chat_id == chat_id:
                return LinkResult(group.name, already_linked=True)
            other = await uow.groups.by_chat_id(chat_id)
            if other is not None:
                raise InvalidInput("groups.chat_taken")
            try:
                await uow.groups.link_chat(group, chat_id)
            except Conflict:
                raise InvalidInput("groups.chat_taken") from None
            member = await uow.members.by_telegram_id(telegram_id)
            uow.audit.record(
                "group.link", actor_id=member.id if member else None, group_id=group.id
            )
            await uow.commit()
            return LinkResult(group.name, already_linked=False)

    async def linked_group_name(self, chat_id: int) -> str | None:
        async with self.db.uow(read_only=True) as uow:
            group = await uow.groups.by_chat_id(chat_id)
            return group.name if group else None

    async def chat_removed(self, chat_id: int) -> Unlinked | None:
        """The bot was removed from a chat: unlink it, and say whom to tell."""
        async with self.db.uow() as uow:
            group = await uow.groups.by_chat_id(chat_id)
            if group is None:
                return None
            group.chat_id = None
            event = uow.audit.record("group.unlink", group_id=group.id)
            facilitators = await uow.memberships.facilitator_telegram_ids(group.id or 0)
            for telegram_id in facilitators:
                member = await uow.members.by_telegram_id(telegram_id)
                await queue_notice(
                    uow,
                    self.texts,
                    event,
                    telegram_id=telegram_id,
                    language=member.language if member else self.texts.default_language,
                    key="groups.bot_removed",
                    group=group.name,
                )
            await uow.commit()
            return Unlinked(group.name, facilitators)

    async def leave(self, telegram_id: int, group_id: int) -> str:
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id)
            group = await uow.groups.by_id(group_id)
            assert member.id is not None
            membership = await uow.memberships.get(group_id, member.id) if group else None
            if group is None or membership is None:
                raise InvalidInput("groups.not_member")
            if membership.role == GroupRole.FACILITATOR:
                others = [
                    t
                    for t in await uow.memberships.facilitator_telegram_ids(group_id)
                    if t != telegram_id
                ]
                if not others:
                    raise InvalidInput("groups.last_facilitator", group=group.name)
            await uow.memberships.remove(group_id, member.id)
            await uow.broadcasts.stop_for_leaver(group_id, member)
            await uow.questions.stop_for_leaver(group_id, member.telegram_id)
            await uow.commit()
            return group.name
