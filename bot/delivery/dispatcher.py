"""The dispatcher: sends due outbox rows within Telegram's limits, and settles each one.

- Rows are claimed in small batches (most urgent first; `FOR UPDATE SKIP LOCKED` on
  PostgreSQL), sent at the pace `SendBudget` allows, and marked sent with Telegram's message id.
- 429: the whole bot pauses for `retry_after`, the row goes back to the queue.
- 5xx and network errors: retried with backoff. A timeout is *ambiguous* (Telegram may have
  delivered it and has no idempotency key): recorded as such, not resent — except safety
  alerts, where twice is better than never.
- 403 (blocked, or left): the member is marked unreachable and nothing more is queued for them.
- After a crash, rows still marked `sending` were in flight: the same rule as a timeout. Only
  `max_in_flight` rows can be in that state at once, which bounds the number.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    ReplyParameters,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import failpoints
from bot.core.outgoing import OutgoingMessage
from bot.core.ratelimit import MARGIN, SendBudget
from bot.core.statuses import OutboxStatus
from bot.delivery.limiter import retry_seconds, take_turn
from bot.observability.metrics import Metrics
from bot.storage.models import Outbox, utcnow
from bot.storage.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

URGENT_KINDS = frozenset({"alert"})
# Messages to the asker of an anonymous question (bot/services/questions.py ASKER_KIND).
ASKER_KIND = "asker"
BACKOFF = (1.0, 2.0, 5.0, 15.0, 30.0, 60.0)
MAX_ATTEMPTS = 12
IDLE_POLL = 0.2
# Rows claimed at least per transaction, even when the budget has no room this instant (see
# `_dispatch_once`).
CLAIM_AHEAD = 3


class Dispatcher:
    def __init__(
        self,
        db: Database,
        bot: Bot,
        *,
        budget: SendBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 10,
        owner: str | None = None,
        live: Callable[[], Sequence[str]] | None = None,
        leading: Callable[[], bool] = lambda: True,
        metrics: Metrics | None = None,
    ) -> None:
        self.db = db
        # This replica's id (rows it claims name it) and the replicas alive now: recovery
        # leaves rows a live replica is sending alone; and whether this replica is still
        # certainly the leader: if not, it claims and sends nothing (bot/leadership.py).
        self.owner = owner
        self.live = live or (lambda: () if owner is None else (owner,))
        self.leading = leading
        self.bot = bot
        self.budget = budget or SendBudget()
        self.clock = clock
        self.max_in_flight = max_in_flight
        self._slots = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._sending: set[asyncio.Task[None]] = set()
        self.sent = 0
        self.metrics = metrics or Metrics()

    def notify(self) -> None:
        """Something was queued: look now rather than at the next poll."""
        self._wake.set()

    async def recover(self) -> tuple[int, int]:
        """Settle rows a dead process left in flight. Returns (resent alerts, ambiguous)."""
        requeued = ambiguous = 0
        async with self.db.uow() as uow:
            for row in await uow.outbox.orphaned_in_flight(self.live()):
                if row.kind in URGENT_KINDS:
                    row.status = OutboxStatus.PENDING
                    requeued += 1
                else:
                    row.status = OutboxStatus.AMBIGUOUS
                    row.error = "in flight when the process stopped"
                    _forget_recipient(row)
                    ambiguous += 1
            await uow.commit()
        if requeued or ambiguous:
            log.warning(
                "outbox recovery: %d alerts queued again, %d sends ambiguous", requeued, ambiguous
            )
        return requeued, ambiguous

    async def prune(self, older_than: timedelta) -> int:
        """Forget delivery records settled (sent, failed, ...) longer ago than `older_than`,
        PRUNE_BATCH rows to a transaction so nothing waits long behind it."""
        before = utcnow() - older_than
        return await self.db.prune_in_batches(lambda uow: uow.outbox.prune_settled(before))

    async def start(self) -> None:
        await self.recover()
        # A previous process may have sent up to the limit in the last second, and Telegram
        # still counts those: start after that window has passed.
        self.budget.pause_until(self.clock() + 1.0 + MARGIN)
        self.metrics.dispatcher_started()
        self._task = asyncio.create_task(self._loop(), name="outbox-dispatcher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._sending:
            await asyncio.gather(*self._sending, return_exceptions=True)

    async def run_until_idle(self, seconds: float = 30.0) -> None:
        """Send everything due now (for tests and one-off scripts)."""
        deadline = self.clock() + seconds
        while self.clock() < deadline:
            if not await self._dispatch_once() and not self._sending:
                return
            await asyncio.sleep(0)
        raise TimeoutError("the outbox did not drain in time")

    async def _loop(self) -> None:
        while True:
            try:
                busy = await self._dispatch_once()
            except Exception as exc:  # the dispatcher must outlive a database hiccup
                log.error("outbox dispatch failed: %s", type(exc).__name__)
                busy = False
            if not busy:
                self.budget.forget_idle(self.clock())
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), IDLE_POLL)

    async def _dispatch_once(self) -> bool:
        if not self.leading():
            return False
        free = self.max_in_flight - len(self._sending)
        if free <= 0:
            await asyncio.sleep(0.01)
            return True
        # Claim about what may go out now: rows claimed early wait their turn in our memory,
        # and a crisis alert queued meanwhile would wait behind them (a few keep the rate up:
        # claiming costs a transaction).
        claim = max(CLAIM_AHEAD, min(free, self.budget.room_now(self.clock())))
        async with self.db.uow() as uow:
            rows = await uow.outbox.claim(claim, utcnow(), self.owner)
            await uow.commit()
        for row in rows:
            await self._pace(row.chat_id)
            await self._slots.acquire()
            if not self.leading():  # frozen meanwhile: the new leader has settled the row
                self._slots.release()
                self.budget.finish(row.chat_id, self.clock())
                continue
            task = asyncio.create_task(self._send(row))
            self._sending.add(task)
            task.add_done_callback(self._sending.discard)
        return bool(rows)

    async def _pace(self, chat_id: int) -> None:
        """Wait until Telegram's limits allow a send to this chat, then count it as started."""
        await take_turn(self.budget, chat_id, self.clock)

    async def _send(self, row: Outbox) -> None:
        try:
            message = OutgoingMessage.from_json(row.payload)
            markup = (
                InlineKeyboardMarkup(
                    [
                        [InlineKeyboardButton(t, callback_data=d) for t, d in r]
                        for r in message.buttons
                    ]
                )
                if message.buttons
                else None
            )
            reply = (
                ReplyParameters(message.reply_to_message_id, allow_sending_without_reply=True)
                if message.reply_to_message_id
                else None
            )
            try:
                sent = await self.bot.send_message(
                    row.chat_id,
                    message.text,
                    parse_mode=message.parse_mode,
                    reply_markup=markup,
                    disable_notification=message.silent,
                    reply_parameters=reply,
                    link_preview_options=(
                        None if message.link_preview else LinkPreviewOptions(is_disabled=True)
                    ),
                )
            except RetryAfter as exc:
                wait = retry_seconds(exc.retry_after)
                self.budget.pause_until(self.clock() + wait)
                log.warning("Telegram asked to slow down for %.0f s", wait)
                self._count("429")
                await self._settle(
                    row, OutboxStatus.PENDING, delay=wait, error="429", attempt_back=True
                )
            except Forbidden:
                self._count("blocked")
                await self._unreachable(row)
            except TimedOut:
                self._count("timeout", answered=False)
                if row.kind in URGENT_KINDS:
                    await self._retry(row, "timeout")
                else:
                    await self._settle(row, OutboxStatus.AMBIGUOUS, error="timed out")
            except BadRequest as exc:
                # The description can quote what was sent: log only that it was refused.
                log.error("outbox %s refused by Telegram (400)", row.id)
                self._count("refused")
                await self._settle(row, OutboxStatus.FAILED, error=exc.message[:200])
            except NetworkError as exc:
                self._count("network_error", answered=False)
                await self._retry(row, type(exc).__name__)
            except ChatMigrated as exc:
                self._count("chat_moved")
                await self._migrated(row, exc.new_chat_id)
            except TelegramError as exc:  # anything else: settle it, never leave it in flight
                log.error("outbox %s refused by Telegram (%s)", row.id, type(exc).__name__)
                self._count("refused")
                await self._settle(row, OutboxStatus.FAILED, error=type(exc).__name__)
            else:
                self.sent += 1
                self._count("sent")
                failpoints.hit("delivery.sent")
                await self._settle(row, OutboxStatus.SENT, message_id=sent.message_id)
        finally:
            self.budget.finish(row.chat_id, self.clock())
            self._slots.release()

    def _count(self, result: str, *, answered: bool = True) -> None:
        """One send's result, for /metrics; `answered`: Telegram answered it (a 4xx too)."""
        self.metrics.sent("outbox", result)
        if answered:
            self.metrics.telegram_answered()

    async def _retry(self, row: Outbox, error: str) -> None:
        if row.attempts >= MAX_ATTEMPTS and row.kind not in URGENT_KINDS:
            log.error("outbox %s gave up after %d attempts", row.id, row.attempts)
            await self._settle(row, OutboxStatus.FAILED, error=error)
            return
        delay = BACKOFF[min(row.attempts, len(BACKOFF)) - 1]
        await self._settle(row, OutboxStatus.PENDING, delay=delay, error=error)

    async def _migrated(self, row: Outbox, new_chat_id: int) -> None:
        """A group became a supergroup (its id changed): follow it, and send there."""
        async with self.db.uow() as uow:
            await uow.groups.chat_migrated(row.chat_id, new_chat_id)
            await uow.outbox.follow_chat(row.chat_id, new_chat_id)
            fresh = await _still_ours(uow, row)
            if fresh is not None:
                fresh.status = OutboxStatus.PENDING
            await uow.commit()
        log.warning("outbox %s: the chat moved to a new id; sending there", row.id)

    async def _unreachable(self, row: Outbox) -> None:
        async with self.db.uow() as uow:
            fresh = await _still_ours(uow, row)
            if fresh is not None:
                fresh.status = OutboxStatus.UNREACHABLE
                fresh.error = "403"
                _forget_recipient(fresh)
            if row.chat_id > 0:
                await uow.members.mark_unreachable(row.chat_id, utcnow())
                await uow.outbox.drop_pending_for_chat(row.chat_id)
            await uow.commit()

    async def _settle(
        self,
        row: Outbox,
        status: OutboxStatus,
        *,
        delay: float = 0.0,
        error: str | None = None,
        message_id: int | None = None,
        attempt_back: bool = False,
    ) -> None:
        async with self.db.uow() as uow:
            fresh = await _still_ours(uow, row)
            if fresh is None:
                return
            fresh.status = status
            fresh.error = error
            if attempt_back:
                fresh.attempts = max(0, fresh.attempts - 1)  # a 429 is not the row's fault
            if status == OutboxStatus.PENDING:
                fresh.not_before = utcnow() + timedelta(seconds=delay)
            if status == OutboxStatus.SENT:
                fresh.sent_at = utcnow()
                fresh.message_id = message_id
            if status != OutboxStatus.PENDING:
                _forget_recipient(fresh)
            await uow.commit()


async def _still_ours(uow: UnitOfWork, row: Outbox) -> Outbox | None:
    """The row as stored, locked, if it is still in flight under our claim. A row that was
    meanwhile recovered (by a restart or another process) or settled keeps its newer state:
    status changes are compare-and-set, never a blind overwrite."""
    fresh = await uow.outbox.get(row.id or 0, lock=True)
    if (
        fresh is None
        or fresh.status != OutboxStatus.SENDING
        or fresh.claimed_at != row.claimed_at
        or fresh.owner != row.owner
    ):
        log.info("outbox %s changed while it was being sent; its newer state stays", row.id)
        return None
    return fresh


def _forget_recipient(row: Outbox) -> None:
    """Once settled, a message to an asker keeps no trace of who got it (see
    bot/services/questions.py): the row stays only as a count."""
    if row.kind == ASKER_KIND:
        row.chat_id = 0
        row.payload = "{}"
        row.message_id = None
