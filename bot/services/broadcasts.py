"""Announcements: a facilitator (or a coordinator, to everyone) writes once; every member gets
it through the outbox, within Telegram's limits, and the author watches one status message."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.outgoing import OutgoingMessage
from bot.core.questions import (
    MAX_BROADCAST_CHARS,
    MAX_BROADCAST_HTML,
    BroadcastProgress,
    broadcast_progress,
)
from bot.core.roles import GroupRole, may_manage_group
from bot.core.statuses import BroadcastStatus, OutboxStatus
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
from bot.storage.uow import ENQUEUE_CHUNK, Database, UnitOfWork

BROADCAST_PRIORITY = 6  # behind alerts, notices and reminders
# A send is recorded first, then queued in chunks; one still queueing after this long was
# interrupted (the process stopped) and is finished by the progress job.
# A send that Cancel can still stop.
IN_PROGRESS = (BroadcastStatus.SENDING, BroadcastStatus.QUEUEING)
QUEUEING_STALLED = timedelta(minutes=1)
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
    ) -> list[tuple[int, str]]:
        """(telegram id, language) of the current members the bot can reach (not the author,
        who saw the preview)."""
        if audience.key == EVERYONE:
            members = [(m.telegram_id, m.language) for m in await uow.broadcasts.everyone()]
        else:
            rows = await uow.meetings.recipient_rows(int(audience.key))
            members = [(telegram_id, language) for _, telegram_id, language, _ in rows]
        return [m for m in members if m[0] != author.telegram_id]

    async def cancel_draft(self, telegram_id: int, nonce: str) -> None:
        async with self.db.uow() as uow:
            await drop_previewed_draft(uow, telegram_id, nonce)

    async def send(self, telegram_id: int, nonce: str) -> StatusUpdate:
        """Record the previewed announcement (one transaction), then queue it for every
        recipient in bounded transactions, so a 10,000-member send never holds the write
        lock for long. Should the process stop half-way, `refresh` finishes the queueing."""
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
                    status=BroadcastStatus.QUEUEING,
                )
            )
            assert broadcast.id is not None
            member.draft = None
            uow.audit.record("broadcast.send", actor_id=member.id, group_id=broadcast.group_id)
            await uow.commit()
        await self._queue(broadcast, audience, recipients)
        return self._status(broadcast, member.language, {OutboxStatus.PENDING: len(recipients)})

    async def _queue(
        self, broadcast: Broadcast, audience: Audience, recipients: list[tuple[int, str]]
    ) -> None:
        """Queue one message per recipient, ENQUEUE_CHUNK to a transaction (keys make a
        repeat harmless), then mark the send as sending — unless it was cancelled meanwhile.
        `broadcast` ends with the status stored, so its status message offers Cancel only
        while there is something to cancel."""
        assert broadcast.id is not None
        payloads: dict[str, str] = {}
        rows: list[tuple[str, int, str]] = []
        for telegram_id, language in recipients:
            if language not in payloads:
                payloads[language] = OutgoingMessage(
                    self._render(language, audience, broadcast.text)
                ).to_json()
            rows.append((f"bc:{broadcast.id}:{telegram_id}", telegram_id, payloads[language]))
        for start in range(0, len(rows), ENQUEUE_CHUNK):
            async with self.db.uow() as uow:
                # Locked: a Cancel landing between this check and the insert would otherwise
                # miss the chunk's rows (cancelling only cancels what is already queued).
                current = await uow.broadcasts.by_id(broadcast.id, for_update=True)
                if current is None or current.status != BroadcastStatus.QUEUEING:
                    broadcast.status = current.status if current else BroadcastStatus.CANCELLED
                    return  # cancelled while it was being queued
                await uow.outbox.enqueue_keyed(
                    rows[start : start + ENQUEUE_CHUNK], kind="broadcast",
                    priority=BROADCAST_PRIORITY, batch=f"bc:{broadcast.id}",
                )  # fmt: skip
                await uow.commit_independent()  # repeatable: the keys are unique
        async with self.db.uow() as uow:
            current = await uow.broadcasts.by_id(broadcast.id, for_update=True)
            if current is not None and current.status == BroadcastStatus.QUEUEING:
                current.status = BroadcastStatus.SENDING
                # What was queued (members may have left or joined before a resumed queueing).
                current.total = sum((await uow.outbox.counts(batch=f"bc:{broadcast.id}")).values())
                broadcast.total = current.total
                await uow.commit_independent()
            if current is not None:
                broadcast.status = current.status

    async def _resume_queueing(self, now: datetime) -> None:
        """Finish queueing sends whose process stopped half-way through."""
        async with self.db.uow(read_only=True) as uow:
            stalled = [
                b for b in await uow.broadcasts.unfinished()
                if b.status == BroadcastStatus.QUEUEING and now - b.created_at > QUEUEING_STALLED
            ]  # fmt: skip
            work = []
            for broadcast in stalled:
                author = await uow.members.by_telegram_id(broadcast.author_telegram_id)
                if author is None:
                    continue
                if broadcast.group_id is None:
                    everyone = self.texts.t(author.language, "broadcasts.everyone")
                    audience = Audience(EVERYONE, everyone)
                else:
                    group = await uow.groups.by_id(broadcast.group_id)
                    audience = Audience(str(broadcast.group_id), group.name if group else "")
                work.append((broadcast, audience, await self._recipients(uow, author, audience)))
        for broadcast, audience, recipients in work:
            await self._queue(broadcast, audience, recipients)

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
            if broadcast.status in IN_PROGRESS:
                await uow.outbox.cancel_batch(f"bc:{broadcast_id}")
                # Finished once the sends in flight settle.
                broadcast.status = BroadcastStatus.CANCELLED
                member = await uow.members.by_telegram_id(actor)
                uow.audit.record(
                    "broadcast.cancel", actor_id=member.id if member else None,
                    group_id=broadcast.group_id,
                )  # fmt: skip
            counts = await uow.outbox.counts(batch=f"bc:{broadcast_id}")
            author = await uow.members.by_telegram_id(broadcast.author_telegram_id)
            language = author.language if author else self.texts.default_language
            update = self._status(broadcast, language, counts)
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
        await self._resume_queueing(now)
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
                    if broadcast.status == BroadcastStatus.SENDING:
                        broadcast.status = BroadcastStatus.DONE
                author = await uow.members.by_telegram_id(broadcast.author_telegram_id)
                language = author.language if author else self.texts.default_language
                update = self._status(broadcast, language, counts)
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
        if broadcast.status == BroadcastStatus.CANCELLED:
            not_sent = progress.cancelled  # sends in flight still land: counted once settled
            text = t(language, "broadcasts.status_cancelled", delivered=progress.delivered,
                     total=progress.total, not_sent=not_sent)  # fmt: skip
        elif broadcast.status == BroadcastStatus.DONE or progress.settled:
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
            final=broadcast.status not in IN_PROGRESS,  # no Cancel button any more
            progress=progress,
        )
