"""Members, groups, memberships and the audit trail."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.core.roles import GroupRole
from bot.storage.errors import Conflict
from bot.storage.models import AuditEvent, Member, Membership, PeerGroup


class MemberRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_telegram_id(self, telegram_id: int, *, for_update: bool = False) -> Member | None:
        stmt = select(Member).where(col(Member.telegram_id) == telegram_id)
        if for_update:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def by_id(self, member_id: int) -> Member | None:
        return await self.session.get(Member, member_id)

    async def facilitator_telegram_ids(self) -> list[int]:
        stmt = select(col(Member.telegram_id)).where(col(Member.can_facilitate).is_(True))
        return [int(t) for t in (await self.session.execute(stmt)).scalars()]

    async def mark_unreachable(self, telegram_id: int, when: datetime) -> None:
        await self.session.execute(
            update(Member).where(col(Member.telegram_id) == telegram_id).values(unreachable_at=when)
        )

    async def add(self, member: Member) -> Member:
        self.session.add(member)
        await self.session.flush()
        return member

    async def delete(self, member: Member) -> None:
        await self.session.delete(member)


class GroupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_id(self, group_id: int) -> PeerGroup | None:
        return await self.session.get(PeerGroup, group_id)

    async def all(self) -> list[PeerGroup]:
        return list(
            (await self.session.execute(select(PeerGroup).order_by(col(PeerGroup.id)))).scalars()
        )

    async def by_invite_code(self, code: str) -> PeerGroup | None:
        stmt = select(PeerGroup).where(col(PeerGroup.invite_code) == code)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def chat_migrated(self, old_chat_id: int, new_chat_id: int) -> None:
        await self.session.execute(
            update(PeerGroup)
            .where(col(PeerGroup.chat_id) == old_chat_id)
            .values(chat_id=new_chat_id)
        )

    async def link_chat(self, group: PeerGroup, chat_id: int) -> None:
        """Link the group to its Telegram chat. Raises `Conflict` when another group took the
        chat meanwhile (PostgreSQL: a concurrent link waits for the other one, then fails)."""
        group.chat_id = chat_id
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("chat already linked") from None

    async def lock(self, group: PeerGroup) -> None:
        """Hold the group's row until the transaction ends (e.g. one approval at a time)."""
        await self.session.refresh(group, with_for_update=True)

    async def by_chat_id(self, chat_id: int) -> PeerGroup | None:
        stmt = select(PeerGroup).where(col(PeerGroup.chat_id) == chat_id)
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, group: PeerGroup) -> PeerGroup:
        self.session.add(group)
        await self.session.flush()
        return group

    async def for_member(self, member_id: int) -> list[tuple[PeerGroup, str]]:
        """The member's groups with their role in each, oldest membership first."""
        stmt = (
            select(PeerGroup, col(Membership.role))
            .join(Membership, col(Membership.group_id) == col(PeerGroup.id))
            .where(col(Membership.member_id) == member_id)
            .order_by(col(Membership.joined_at), col(PeerGroup.id))
        )
        rows = (await self.session.execute(stmt)).all()
        return [(row[0], row[1]) for row in rows]


class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, group_id: int, member_id: int) -> Membership | None:
        stmt = select(Membership).where(
            col(Membership.group_id) == group_id,
            col(Membership.member_id) == member_id,
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def add(self, membership: Membership) -> Membership:
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def remove(self, group_id: int, member_id: int) -> bool:
        result = await self.session.execute(
            delete(Membership).where(
                col(Membership.group_id) == group_id,
                col(Membership.member_id) == member_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def facilitator_telegram_ids(self, group_id: int) -> list[int]:
        stmt = (
            select(col(Member.telegram_id))
            .join(Membership, col(Membership.member_id) == col(Member.id))
            .where(
                col(Membership.group_id) == group_id,
                col(Membership.role) == GroupRole.FACILITATOR,
            )
            .order_by(col(Membership.joined_at))
        )
        return [int(t) for t in (await self.session.execute(stmt)).scalars()]

    async def count(self, group_id: int) -> int:
        stmt = select(func.count()).where(col(Membership.group_id) == group_id)
        return int((await self.session.execute(stmt)).scalar_one())


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def record(
        self,
        action: str,
        *,
        actor_id: int | None = None,
        subject_id: int | None = None,
        group_id: int | None = None,
        subject_ref: str | None = None,
    ) -> AuditEvent:
        event = AuditEvent(
            action=action,
            actor_id=actor_id,
            subject_id=subject_id,
            group_id=group_id,
            subject_ref=subject_ref,
        )
        self.session.add(event)
        return event

    async def actions(self) -> list[AuditEvent]:
        stmt = select(AuditEvent).order_by(col(AuditEvent.id))
        return list((await self.session.execute(stmt)).scalars())
