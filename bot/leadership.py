"""Several bot processes on one PostgreSQL database behave as one bot: one of them leads.

Telegram's ~30 messages a second is the ceiling for the whole bot, and one process handles
far more updates than that; so replicas are for staying up, not for more throughput. The
simplest shape that keeps every promise is one worker with warm standbys:

- Every replica receives webhook deliveries and stores them (durable at once; unowned).
- The **leader** — the holder of the `lease` row named 'leader' — claims stored updates and
  handles them, runs the scheduler ticks and the dispatcher, and sends everything. So per-chat
  order, the one send budget and the jobs need nothing beyond what one process already does.
- Each replica renews a heartbeat every RENEW_SECONDS. A replica is gone when its heartbeat is
  older than LEASE_SECONDS, or at once when it ran on this very machine (same host and boot)
  and its process no longer exists (a restart after a crash does not wait for the lease).
- The lease is taken by compare-and-set only when it is free, lapsed, or held by a replica
  that is gone; so after the leader dies another takes over within LEASE_SECONDS +
  RENEW_SECONDS. Rows the dead leader held (updates claimed, messages in flight) are
  recovered by the new one; rows a live replica holds are never touched.
- A leader that cannot renew its lease in time, or finds it taken, stops the process (like
  Kubernetes' controllers do): two leaders must never act at once, and the supervisor
  (systemd, Docker) starts it again as a standby.

With SQLite there is one process by definition: it leads without any of this.
(A PostgreSQL advisory lock would need no table, but it lives as long as its connection: a
host that vanishes without closing it holds the lock until TCP gives up, often hours.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.storage.models import Replica
from bot.storage.uow import Database

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
RENEW_SECONDS = 2.0
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
_PID_NAMESPACE = "/proc/self/ns/pid"


def wall_clock() -> datetime:
    """Leases use the machine's clock, never the bot's movable domain clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Identity:
    id: str
    host: str
    boot_id: str
    pid: int

    @classmethod
    def of_this_process(cls) -> Identity:
        # The machine's boot and this process's pid namespace: two containers with the same
        # host name (both pid 1) must not take each other for a dead predecessor.
        try:
            boot = _BOOT_ID.read_text().strip()
            namespace = os.readlink(_PID_NAMESPACE).removeprefix("pid:")
            boot_id = f"{boot}/{namespace}"[:64]
        except OSError:
            boot_id = ""
        return cls(uuid.uuid4().hex, socket.gethostname()[:255], boot_id, os.getpid())

    def knows_dead(self, other: Replica) -> bool:
        """`other` ran on this machine (same host, boot and pid namespace) and its process is
        gone — or it is an earlier run that had our pid (a restarted container is pid 1
        again)."""
        if other.id == self.id or not self.boot_id:
            return False
        if other.host != self.host or other.boot_id != self.boot_id:
            return False
        return other.pid == self.pid or not _process_exists(other.pid)


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


class Leadership:
    """Who leads. `shared=False` (SQLite): this process, always."""

    def __init__(
        self,
        db: Database,
        *,
        shared: bool,
        lease_seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.db = db
        self.shared = shared
        self.me = Identity.of_this_process()
        self.lease = timedelta(seconds=lease_seconds)
        self.renew_seconds = renew_seconds
        self.clock = clock
        self.leading = False
        # Replicas alive at the last check (always including this one): rows they hold are
        # theirs; rows held by anyone else may be recovered.
        self.live: tuple[str, ...] = (self.me.id,)
        self._renewed_at: datetime | None = None
        self._started_at = clock()
        self._task: asyncio.Task[None] | None = None
        self._electing: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """One round: say we are alive, see who else is, take or keep the lease."""
        if not self.shared:
            self.leading = True
            return True
        now = self.clock()
        async with self.db.uow(urgent=True) as uow:
            await uow.replicas.heartbeat(
                Replica(
                    id=self.me.id,
                    host=self.me.host,
                    boot_id=self.me.boot_id,
                    pid=self.me.pid,
                    started_at=self._started_at,
                    heartbeat_at=now,
                ),
                now,
            )
            replicas = await uow.replicas.all()
            gone = [
                r.id
                for r in replicas
                if r.id != self.me.id
                and (r.heartbeat_at < now - self.lease or self.me.knows_dead(r))
            ]
            await uow.replicas.forget(gone)
            leading = await uow.replicas.take_lease(self.me.id, now, now + self.lease, dead=gone)
            await uow.commit()
        # Includes this replica: its heartbeat was written in the same transaction.
        self.live = tuple(r.id for r in replicas if r.id not in gone)
        if leading:
            self._renewed_at = now
        self.leading = leading
        return leading

    def sure(self) -> bool:
        """Still certainly the leader: the lease we last renewed has not run out (less a
        margin). A leader that was frozen (a paused VM, SIGSTOP) wakes up unsure and sends
        nothing more, even before it learns that another replica took over."""
        if not self.shared:
            return True
        renewed = self._renewed_at
        margin = timedelta(seconds=self.renew_seconds)
        return self.leading and renewed is not None and self.clock() < renewed + self.lease - margin

    def watch(self, on_elected: Callable[[], Awaitable[None]], on_lost: Callable[[], None]) -> None:
        """Keep renewing in the background: `on_elected` when this replica becomes leader,
        `on_lost` when it can no longer be sure it still is."""
        if self.shared:
            self._task = asyncio.create_task(self._watch(on_elected, on_lost), name="leadership")

    async def _watch(
        self, on_elected: Callable[[], Awaitable[None]], on_lost: Callable[[], None]
    ) -> None:
        while True:
            await asyncio.sleep(self.renew_seconds)
            was_leading = self.leading
            try:
                leading = await self.check()
            except Exception as exc:  # the database may be away for a moment
                log.warning("could not renew the replica heartbeat: %s", type(exc).__name__)
                # Others may take the lease once it lapses: stop acting before it could.
                if was_leading and not self.sure():
                    log.critical("the leader lease could not be renewed in time; stopping")
                    on_lost()
                    return
                continue
            if was_leading and not leading:
                log.critical("another replica holds the leader lease now; stopping")
                on_lost()
                return
            if leading and not was_leading:
                log.info("this replica leads now")
                # Taking up the leader's work may wait for Telegram: renewing goes on meanwhile.
                self._electing = asyncio.create_task(self._take_up(on_elected, on_lost))

    @staticmethod
    async def _take_up(
        on_elected: Callable[[], Awaitable[None]], on_lost: Callable[[], None]
    ) -> None:
        try:
            await on_elected()
        except Exception as exc:  # a leader that cannot do its work must not hold the lease
            log.critical("could not take up the leader's work: %s", type(exc).__name__)
            on_lost()

    async def stop_watching(self) -> None:
        electing, self._electing = self._electing, None
        if electing is not None and not electing.done():
            electing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await electing
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def hand_over(self) -> None:
        """Leave: the lease is free at once (the others need not wait for it to lapse)."""
        await self.stop_watching()
        self.leading = False
        if not self.shared:
            return
        try:
            async with self.db.uow() as uow:
                await uow.replicas.release_lease(self.me.id)
                await uow.replicas.forget([self.me.id])
                await uow.commit()
        except Exception as exc:  # it lapses by itself
            log.warning("could not hand over the leader lease: %s", type(exc).__name__)
