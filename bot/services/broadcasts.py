"""Announcements: a facilitator (or a coordinator, to everyone) writes once; every member gets
it through the outbox, within Telegram's limits, and the author watches one status message."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from bot.core.outgoing import OutgoingMessage
from bot.core.questions import (
    MAX_BROADCAST_CHARS,
    MAX_BROADCAST_HTML,
    BroadcastProgress,
    broadcast_progress,
)
from bot.core.roles import GroupRole, may_manage_group
from bot.locales import Catalogue, Markup
from bot.services.common import (
    actor_for,
    draft_of,
    drop_previewed_draft,
    onboarded_member,
    set_draft,
)
from bot.services.errors import InvalidInput, NotFound
from bot.services.members import Awaiting
from bot.storage.models import Broadcast, Member, utcnow
from bot.storage.uow import Database, UnitOfWork

BROADCAST_PRIORITY = 6  # behind alerts, notices and reminders
EVERYONE = "all"
# How long a finished send may wait for its status message before it is closed without one.
STATUS_GRACE = timedelta(minutes=5)


@dataclass(frozen=True)
class Audience:
    key: str  # a group id, or "all"
    name: str


@dataclass(frozen=True)
class BroadcastPreview:
    message: str  # exactly what members will receive (HTML)
    audience: str
    recipients: int
    nonce: str  # names this draft: an old preview's Send cannot send a newer one


@dataclass(frozen=True)
class StatusUpdate:
    broadcast_id: int
    chat_id: int
    message_id: int | None
    text: str
    final: bool
    progress: BroadcastProgress


class BroadcastService:
    def __init__(self, db: Database, texts: Catalogue, coordinators: frozenset[int]) -> None:
        self.db = db
        self.texts = texts
        self.coordinators = coordinators

    async def audiences(self, telegram_id: int) -> list[Audience]:
        """Whom this person may announce to: the groups they facilitate; a coordinator, every
        group and everyone."""
        async with self.db.uow(read_only=True) as uow:
            member = await onboarded_member(uow, telegram_id)
            return await self._audiences(uow, member)

    async def _audiences(self, uow: UnitOfWork, member: Member) -> list[Audience]:
        assert member.id is not None
        if member.telegram_id in self.coordinators:
            everyone = Audience(EVERYONE, self.texts.t(member.language, "broadcasts.everyone"))
            return [*(Audience(str(g.id), g.name) for g in await uow.groups.all()), everyone]
        actor = actor_for(member, member.telegram_id, self.coordinators)
        return [
            Audience(str(g.id), g.name)
            for g, role in await uow.groups.for_member(member.id)
            if role == GroupRole.FACILITATOR and may_manage_group(actor, GroupRole(role))
        ]

    async def _audience(self, uow: UnitOfWork, member: Member, key: str) -> Audience:
        for audience in await self._audiences(uow, member):
            if audience.key == key:
                return audience
        raise NotFound

    async def begin(self, telegram_id: int, key: str) -> Audience:
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            audience = await self._audience(uow, member, key)
            member.awaiting = Awaiting.BROADCAST_TEXT
            set_draft(member, {"audience": key})
            await uow.commit()
            return audience

    async def preview(
        self, telegram_id: int, draft: dict[str, object], html: str, typed_chars: int
    ) -> BroadcastPreview:
        """`html` is the text as Telegram formatted it, already escaped (PTB's text_html)."""
        if not html.strip():
            raise InvalidInput("broadcasts.empty")
        if typed_chars > MAX_BROADCAST_CHARS or len(html) > MAX_BROADCAST_HTML:
            raise InvalidInput("broadcasts.too_long", max=MAX_BROADCAST_CHARS)
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            audience = await self._audience(uow, member, str(draft.get("audience")))
            recipients = await self._recipients(uow, member, audience)
            nonce = secrets.token_hex(4)
            member.awaiting = None
            set_draft(member, {"audience": audience.key, "html": html, "nonce": nonce})
            await uow.commit()
            return BroadcastPreview(
                self._render(member.language, audience, html), audience.name, len(recipients),
                nonce,
            )  # fmt: skip

    def _render(self, language: str, audience: Audience, html: str) -> str:
        return self.texts.t(language, "broadcasts.message", group=audience.name, body=Markup(html))

    async def _recipients(
        self, uow: UnitOfWork, author: Member, audience: Audience
    ) -> list[Member]:
        """Current members the bot can reach (not the author, who saw the preview)."""
        if audience.key == EVERYONE:
            members = await uow.broadcasts.everyone()
        else:
            members = await uow.meetings.recipients(int(audience.key))
        return [m for m in members if m.telegram_id != author.telegram_id]

    async def cancel_draft(self, telegram_id: int, nonce: str) -> None:
        async with self.db.uow() as uow:
            await drop_previewed_draft(uow, telegram_id, nonce)

    async def send(self, telegram_id: int, nonce: str) -> StatusUpdate:
        """Queue the previewed announcement for every recipient, in one transaction."""
        async with self.db.uow() as uow:
            member = await onboarded_member(uow, telegram_id, lock=True)
            draft = draft_of(member)
            html = draft.get("html")
            if not isinstance(html, str) or draft.get("nonce") != nonce:
                raise NotFound  # already sent, cancelled, or an older preview
            audience = await self._audience(uow, member, str(draft.get("audience")))
            recipients = await self._recipients(uow, member, audience)
            if not recipients:
                raise InvalidInput("broadcasts.nobody")
            broadcast = await uow.broadcasts.add(
                Broadcast(
                    group_id=None if audience.key == EVERYONE else int(audience.key),
                    author_telegram_id=telegram_id,
                    text=html,
                    total=len(recipients),
                    status_chat_id=telegram_id,
                )
            )
            assert broadcast.id is not None
            payloads: dict[str, str] = {}
            rows = []
            for recipient in recipients:
                language = recipient.language
                if language not in payloads:
                    payloads[language] = OutgoingMessage(
                        self._render(language, audience, html)
                    ).to_json()
                rows.append((recipient.telegram_id, payloads[language]))
            await uow.outbox.enqueue_many(
                rows,
                key=f"bc:{broadcast.id}:{{chat}}",
                kind="broadcast",
                priority=BROADCAST_PRIORITY,
                batch=f"bc:{broadcast.id}",
            )
            member.draft = None
            uow.audit.record("broadcast.send", actor_id=member.id, group_id=broadcast.group_id)
            await uow.commit()
            return self._status(broadcast, member.language, {"pending": len(recipients)})

    async def attach_status(self, broadcast_id: int, message_id: int, shown: str) -> None:
        async with self.db.uow() as uow:
            broadcast = await uow.broadcasts.by_id(broadcast_id, for_update=True)
            if broadcast is not None:
                broadcast.status_message_id = message_id
                broadcast.shown = shown[:300]
                # Bookkeeping of a message already sent, after the send itself was committed.
                await uow.commit_independent()

    async def cancel(self, actor: int, broadcast_id: int) -> StatusUpdate:
        """Stop a send in progress: what is not sent yet will not be. The author or a
        coordinator only; anyone else learns nothing."""
        async with self.db.uow() as uow:
            broadcast = await uow.broadcasts.by_id(broadcast_id, for_update=True)
            if broadcast is None or not (
                broadcast.author_telegram_id == actor or actor in self.coordinators
            ):
                raise NotFound
            if broadcast.status == "sending":
                await uow.outbox.cancel_batch(f"bc:{broadcast_id}")
                broadcast.status = "cancelled"  # finished once the sends in flight settle
                member = await uow.members.by_telegram_id(actor)
                uow.audit.record(
                    "broadcast.cancel", actor_id=member.id if member else None,
                    group_id=broadcast.group_id,
                )  # fmt: skip
            counts = await uow.outbox.counts(batch=f"bc:{broadcast_id}")
            author = await uow.members.by_telegram_id(broadcast.author_telegram_id)
            update = self._status(broadcast, author.language if author else "en", counts)
            await uow.commit()
            return update

    async def refresh(self) -> list[StatusUpdate]:
        """Status messages whose text has changed since they were last shown; a send with
        nothing left to go (or in flight) is finished."""
        async with self.db.uow(read_only=True) as uow:
            if not await uow.broadcasts.unfinished():
                return []  # the common case: no write transaction every few seconds
        updates: list[StatusUpdate] = []
        now = utcnow()
        async with self.db.uow() as uow:
            for broadcast in await uow.broadcasts.unfinished():
                counts = await uow.outbox.counts(batch=f"bc:{broadcast.id}")
                progress = broadcast_progress(counts, broadcast.total)
                if broadcast.status_message_id is None:
                    # Its status message is still being sent: finish it only once that is
                    # shown, so its last word is the final count (unless it never will be).
                    if progress.settled and now - broadcast.created_at > STATUS_GRACE:
                        broadcast.finished_at = now
                    continue
                if progress.settled:
                    broadcast.finished_at = now
                    if broadcast.status == "sending":
                        broadcast.status = "done"
                author = await uow.members.by_telegram_id(broadcast.author_telegram_id)
                update = self._status(broadcast, author.language if author else "en", counts)
                if update.text[:300] != broadcast.shown:
                    updates.append(update)
            await uow.commit()
        return updates

    async def mark_shown(self, broadcast_id: int, text: str) -> None:
        async with self.db.uow() as uow:
            broadcast = await uow.broadcasts.by_id(broadcast_id, for_update=True)
            if broadcast is not None:
                broadcast.shown = text[:300]
                await uow.commit_independent()  # bookkeeping of a message already shown

    def _status(self, broadcast: Broadcast, language: str, counts: dict[str, int]) -> StatusUpdate:
        assert broadcast.id is not None and broadcast.status_chat_id is not None
        progress = broadcast_progress(counts, broadcast.total)
        t = self.texts.t
        if broadcast.status == "cancelled":
            not_sent = progress.cancelled  # sends in flight still land: counted once settled
            text = t(language, "broadcasts.status_cancelled", delivered=progress.delivered,
                     total=progress.total, not_sent=not_sent)  # fmt: skip
        elif broadcast.status == "done" or progress.settled:
            text = t(language, "broadcasts.status_done", delivered=progress.delivered,
                     total=progress.total, blocked=progress.blocked,
                     failed=progress.failed)  # fmt: skip
        else:
            text = t(language, "broadcasts.status_sending", handled=progress.handled,
                     total=progress.total)  # fmt: skip
        return StatusUpdate(
            broadcast.id,
            broadcast.status_chat_id,
            broadcast.status_message_id,
            text,
            final=broadcast.status != "sending",  # no Cancel button any more
            progress=progress,
        )
