"""Durable intake: store received updates, then handle them (receiving: `bot.receiving`).

Stock PTB confirms an update to Telegram before its handler has run, so a crash in between
loses what the member wrote. Here every update is written to the `inbound` table first and
only then confirmed (next `getUpdates` offset, or the webhook's 200). Handling runs from the
stored copy: one chat's updates strictly in order, different chats concurrently, so one slow
Bot API answer never stalls everyone. Unfinished rows are handled again at start-up; a row is
marked done in the same transaction as the handler's own changes (see `storage.uow`), so a
replay never applies a member's action twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence, Set
from typing import Any

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot import failpoints
from bot.context import BotContext, PeerbotApplication
from bot.core.handling import UpdateTicket, answered_queries, handling_update
from bot.leadership import Leadership
from bot.raw_updates import callback_query_id, chat_key_of, refused_press, update_kind
from bot.services.intake import IntakeService, StoredUpdate
from bot.storage.db import database_unavailable
from bot.storage.uow import AlreadyHandled

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 2.0)
# Telegram shows a spinner until a button press is answered and refuses answers after ~15 s.
# Handlers answer presses themselves (sometimes with a short notice). A press that has to wait
# its turn (its chat is busy, or every handling slot is taken) is answered, empty, as soon as
# its batch arrives; one that is handled at once but still unanswered after this long, too.
ANSWER_DEADLINE = 0.4
# How often the runner looks for dead letters an operator asked to replay.
REPLAY_SWEEP_SECONDS = 10.0
# How often the leader takes the updates standby replicas stored (PostgreSQL only).
PUMP_SECONDS = 0.2


def is_transient(error: BaseException) -> bool:
    """Worth another try: the network, Telegram's flood control, or a busy database."""
    if isinstance(error, BadRequest):  # a NetworkError in PTB's tree, but final
        return False
    return isinstance(error, NetworkError | RetryAfter) or database_unavailable(error)


class UpdateRunner:
    """Handles stored updates: per chat in order, across chats concurrently."""

    def __init__(
        self,
        application: PeerbotApplication,
        intake: IntakeService,
        max_chats: int,
        leadership: Leadership,
        on_parked: Callable[[Update], Awaitable[None]] | None = None,
    ) -> None:
        self.application = application
        self.intake = intake
        self.leadership = leadership
        self.on_parked = on_parked
        # Claiming and queueing happen together, one claim at a time: what one claim took
        # is queued before the next claim can take a later update of the same chat.
        self._claiming = asyncio.Lock()
        self._pump: asyncio.Task[None] | None = None
        self._queues: dict[int, deque[StoredUpdate]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(max_chats)
        self._idle = asyncio.Event()
        self._idle.set()
        self._answering: set[asyncio.Task[None]] = set()
        self._alone: set[asyncio.Task[None]] = set()
        self.handled = 0
        self.metrics = application.bot_data.metrics

    def submit(self, stored: StoredUpdate) -> None:
        key = stored.chat_key if stored.chat_key is not None else 0
        self._queues.setdefault(key, deque()).append(stored)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"chat-worker-{key}")

    async def _work(self, key: int) -> None:
        queue = self._queues[key]
        try:
            while queue:
                stored = queue.popleft()
                async with self._slots:
                    await self._handle_logged(stored)
        finally:
            del self._workers[key]
            if not queue:
                self._queues.pop(key, None)
            if not self._workers and not self._alone:
                self._idle.set()

    async def _handle(self, stored: StoredUpdate) -> None:
        started = time.perf_counter()
        if await self._handle_once(stored):
            self.metrics.handled(time.perf_counter() - started)

    async def _handle_once(self, stored: StoredUpdate) -> bool:
        """Handle one stored update, trying again after transient failures; True when it was
        handled (False: it became a dead letter, or was handled before)."""
        data: object = None
        try:
            data = json.loads(stored.payload)
            update = Update.de_json(data, self.application.bot)  # type: ignore[arg-type]
            if not isinstance(data, dict) or update is None:
                raise ValueError("not an update")
        except Exception as exc:  # whatever the library cannot read: a dead letter
            await self._dead_letter(stored.update_id, update_kind(data), exc)
            return False
        kind = update_kind(data)
        ticket = UpdateTicket(stored.update_id)
        error: BaseException | None = None
        for attempt in range(len(RETRY_DELAYS) + 1):
            ticket.begin_attempt()
            with handling_update(ticket):
                await self.application.process_update(update)
            failpoints.hit("handle.processed")
            error = ticket.error
            if isinstance(error, AlreadyHandled):
                return False  # handled before (a replay, or a redelivery): nothing more to do
            if error is None:
                if not ticket.marked:  # no feature effects to commit: done now
                    await self.intake.finish(stored.update_id)
                return True
            if ticket.marked:
                # Its effects are committed; a later step (a reply) failed. Trying again
                # would apply nothing, so it is done.
                log.warning(
                    "update %s handled; a later step failed: %s",
                    stored.update_id,
                    type(error).__name__,
                )
                return True
            if not is_transient(error) or attempt == len(RETRY_DELAYS):
                break
            self.metrics.retried()
            await self.intake.failed_attempt(stored.update_id)
            await asyncio.sleep(RETRY_DELAYS[attempt])
        assert error is not None
        await self._dead_letter(stored.update_id, kind, error)
        if self.on_parked is not None:
            await self.on_parked(update)
        return False

    async def _dead_letter(self, update_id: int, kind: str, error: BaseException) -> None:
        """Keep it for an operator (`peerbot deadletters`) and go on with the next one."""
        log.error(
            "update %s (%s) kept as a dead letter after %s",
            update_id,
            kind,
            type(error).__name__,
        )
        await self.intake.make_dead_letter(update_id, kind, type(error).__name__)
        self.metrics.parked()

    async def lead(self) -> int:
        """Become the replica that handles updates: queue what no live replica holds (what
        an earlier run, or a leader that died, left unfinished, and what other replicas
        stored meanwhile), then keep taking what other replicas store, and look now and then
        for dead letters an operator asked to replay."""
        self.metrics.intake_started()
        taken = await self._claim()
        if taken:
            log.info("replaying %d stored updates left unfinished", taken)
        if self.leadership.shared:
            self._pump = asyncio.create_task(self._pump_loop(), name="inbound-pump")
        job_queue = self.application.job_queue
        if job_queue is not None:
            job_queue.run_repeating(
                self._replay_requested,
                interval=REPLAY_SWEEP_SECONDS,
                first=REPLAY_SWEEP_SECONDS,
                name="replay-dead-letters",
                job_kwargs={"coalesce": True, "max_instances": 1},
            )
        return taken

    async def _claim(self) -> int:
        """Claim the updates no live replica holds and queue them, in update order."""
        async with self._claiming:
            claimed = (
                await self.intake.claim(self.leadership.me.id, self.leadership.live)
                if self.leadership.sure()
                else []
            )
            self._queue_in_order((), claimed, frozenset())
            return len(claimed)

    def _queue_in_order(
        self, own: Sequence[StoredUpdate], claimed: Sequence[StoredUpdate], refused: Set[int]
    ) -> None:
        """Queue `own` (just stored here) and `claimed` (stored by other replicas) together,
        in update order, so a chat's order holds whichever replica received what."""
        mine = {item.update_id for item in own}
        for item in sorted([*own, *claimed], key=lambda i: i.update_id):
            if item.update_id in mine:
                self._queue(item, refused=item.update_id in refused)
            else:
                self._queue_stored_elsewhere(item)

    async def _pump_loop(self) -> None:
        """Take what other replicas store. (Polling: a LISTEN/NOTIFY would save at most
        PUMP_SECONDS on an update that reached a standby, and need a connection of its own.)"""
        while True:
            await asyncio.sleep(PUMP_SECONDS)
            try:
                await self._claim()
            except Exception as exc:  # the database may be away for a moment
                log.warning("could not take stored updates: %s", type(exc).__name__)

    def _queue(self, item: StoredUpdate, *, refused: bool) -> None:
        if refused:
            # Refused kindly by its handler, which changes nothing: it goes at once, in no
            # chat's queue, so the refusal is what the presser sees (not a blank).
            self._handle_alone(item)
        else:
            self.submit(item)

    def _queue_stored_elsewhere(self, item: StoredUpdate) -> None:
        """An update another replica stored: a press is answered as if it arrived now."""
        try:
            raw = json.loads(item.payload)
        except ValueError:
            raw = None
        key = item.chat_key if item.chat_key is not None else 0
        refused = isinstance(raw, dict) and self._press(raw, waits=self._must_wait(key))
        self._queue(item, refused=refused)

    def _press(self, raw: dict[str, Any], *, waits: bool) -> bool:
        """If `raw` is a button press: True when the codec refuses it (its handling changes
        nothing, so it goes at once, in no chat's queue); otherwise its blank answer is
        scheduled, at once when it `waits` its turn, else after ANSWER_DEADLINE."""
        query_id = callback_query_id(raw)
        if query_id is None:
            return False
        if refused_press(raw):
            return True
        self._answer(query_id, after=0.0 if waits else ANSWER_DEADLINE)
        return False

    async def _replay_requested(self, context: BotContext) -> None:
        for row in await self.intake.take_replays(self.leadership.me.id):
            log.info("replaying dead letter %s (%s) as an operator asked", row.update_id, row.kind)
            self.submit(row)

    async def accept(self, raw_updates: list[dict[str, Any]]) -> None:
        """Store raw updates durably, then queue them for handling; see ANSWER_DEADLINE for
        button presses."""
        stored = [
            StoredUpdate(
                int(u["update_id"]),
                chat_key_of(u),
                json.dumps(u, separators=(",", ":")),
                update_kind(u),
            )
            for u in raw_updates
        ]
        if not self.leadership.leading:
            # A standby only stores: the leader claims and handles (bot/leadership.py).
            self._count_received(stored, await self.intake.store(stored))
            failpoints.hit("intake.stored")
            return
        # Presses that will wait their turn are answered now, before storing (which may wait
        # for the database): answering stops the spinner and changes nothing else, so even a
        # batch that is not stored and comes again loses nothing by it.
        refused: set[int] = set()
        busy: set[int] = set()
        for raw, item in zip(raw_updates, stored, strict=True):
            key = item.chat_key if item.chat_key is not None else 0
            if self._press(raw, waits=key in busy or self._must_wait(key)):
                refused.add(item.update_id)
            busy.add(key)
        # With replicas, updates of the same chat may have reached a standby just before:
        # they are claimed in the same transaction and queued first, so the chat's order
        # holds. (A single process has no one else's updates to claim.)
        shared = self.leadership.shared and self.leadership.sure()
        async with self._claiming:
            new, claimed = await self.intake.store_and_claim(
                stored, self.leadership.me.id, self.leadership.live if shared else None
            )
            self._count_received(stored, new)
            failpoints.hit("intake.stored")
            # An update stored before (Telegram handing it over again) is either done, or
            # pending and already queued by the start-up replay: only new ones are queued.
            self._queue_in_order([i for i in stored if i.update_id in new], claimed, refused)

    def _count_received(self, stored: Sequence[StoredUpdate], new: Set[int]) -> None:
        """Count what was stored for the first time (not Telegram handing it over again)."""
        for item in stored:
            if item.update_id in new:
                self.metrics.received(item.kind or "unknown")

    def _handle_alone(self, stored: StoredUpdate) -> None:
        self._idle.clear()
        task = asyncio.create_task(self._handle_logged(stored))
        self._alone.add(task)
        task.add_done_callback(self._alone_done)

    def _alone_done(self, task: asyncio.Task[None]) -> None:
        self._alone.discard(task)
        if not self._workers and not self._alone:
            self._idle.set()

    async def _handle_logged(self, stored: StoredUpdate) -> None:
        try:
            await self._handle(stored)
        except Exception as exc:  # never let one update stop the ones after it
            log.error("update %s could not be handled: %s", stored.update_id, type(exc).__name__)
        self.handled += 1

    def _must_wait(self, key: int) -> bool:
        """Would an update of this chat wait before its handler runs?"""
        return bool(self._queues.get(key)) or self._slots.locked()

    def _answer(self, query_id: str, *, after: float) -> None:
        """Answer the press (blank) `after` seconds from now, unless its handler has."""
        task = asyncio.create_task(self._answer_unless_answered(query_id, after))
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

    async def _answer_unless_answered(self, query_id: str, after: float) -> None:
        await asyncio.sleep(after)
        if not answered_queries.claim(query_id):
            return
        try:
            await self.application.bot.answer_callback_query(query_id)
        except TelegramError as exc:
            log.info("a button press could not be answered: %s", type(exc).__name__)

    async def stop_taking(self) -> None:
        """Take no more updates other replicas store."""
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def drain(self, seconds: float) -> bool:
        """Wait for queued updates to be handled; False if time ran out."""
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def cancel(self) -> None:
        await self.stop_taking()
        tasks = [*self._workers.values(), *self._answering, *self._alone]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
