"""Coordinators appoint facilitators, and take it back."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.roles import may_grant
from bot.locales import Catalogue
from bot.services.common import Step, actor_for
from bot.services.errors import InvalidInput, NotAllowed
from bot.services.notices import queue_notice
from bot.storage.uow import Database


@dataclass(frozen=True)
class RoleChange:
    display_name: str
    telegram_id: int
    changed: bool


class RoleService:
    def __init__(self, db: Database, coordinators: frozenset[int], texts: Catalogue) -> None:
        self.db = db
        self.coordinators = coordinators
        self.texts = texts

    def is_coordinator(self, telegram_id: int) -> bool:
        return telegram_id in self.coordinators

    async def set_facilitator(
        self, actor_telegram_id: int, target_telegram_id: int, *, allowed: bool
    ) -> RoleChange:
        async with self.db.uow() as uow:
            actor_member = await uow.members.by_telegram_id(actor_telegram_id)
            if not may_grant(actor_for(actor_member, actor_telegram_id, self.coordinators)):
                raise NotAllowed
            target = await uow.members.by_telegram_id(target_telegram_id, for_update=True)
            if target is None or target.step != Step.DONE:
                raise InvalidInput("roles.member_not_found")
            changed = target.can_facilitate != allowed
            if changed:
                target.can_facilitate = allowed
                event = uow.audit.record(
                    "role.grant" if allowed else "role.revoke",
                    actor_id=actor_member.id if actor_member else None,
                    subject_id=target.id,
                )
                await queue_notice(
                    uow,
                    self.texts,
                    event,
                    telegram_id=target.telegram_id,
                    language=target.language,
                    key="roles.granted_notice" if allowed else "roles.revoked_notice",
                )
            await uow.commit()
            return RoleChange(target.display_name or "", target.telegram_id, changed)

    async def facilitator_ids(self) -> list[int]:
        async with self.db.uow(read_only=True) as uow:
            return await uow.members.facilitator_telegram_ids()
