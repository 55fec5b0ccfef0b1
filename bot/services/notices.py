"""Notices the bot sends on its own initiative because of a change (a role granted, a chat
unlinked): queued in the outbox in the same transaction as the change."""

from __future__ import annotations

from bot.core.outgoing import OutgoingMessage
from bot.locales import Catalogue
from bot.storage.models import AuditEvent
from bot.storage.uow import UnitOfWork

NOTICE_PRIORITY = 3


async def queue_notice(
    uow: UnitOfWork,
    texts: Catalogue,
    event: AuditEvent,
    *,
    telegram_id: int,
    language: str,
    key: str,
    **params: object,
) -> None:
    """Queue catalogue text `key` for one person, keyed by the audit event that caused it."""
    await uow.flush()  # gives the event its id
    await uow.outbox.enqueue(
        key=f"notice:{event.id}:{telegram_id}",
        kind="notice",
        chat_id=telegram_id,
        payload=OutgoingMessage(texts.t(language, key, **params)).to_json(),
        priority=NOTICE_PRIORITY,
    )
