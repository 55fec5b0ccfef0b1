"""Several bot processes behind one webhook URL, one leader killed mid-way: the story, shared by
tests/e2e/test_replicas.py (which asserts) and bench/replicas.py (which prints figures).

The replicas are real `python -m bot run` processes in webhook mode on one PostgreSQL
database. The fake Telegram delivers webhooks to a small round-robin proxy (as Caddy or nginx
would be), which spreads them over the replicas and tries the next one when a replica does not
answer. A facilitator announces to a 1,000-member group through the bot; a meeting's reminders
are due; people in crisis write, and others go through onboarding; then the leader is killed
(SIGKILL, or frozen with SIGSTOP: then only its lease's lapse tells the others) and later
started again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from sqlalchemy import text

from bot.core.consent import CONSENT_VERSION
from bot.storage.models import Member, Membership, PeerGroup
from bot.storage.uow import Database
from tests.conftest import TEST_SECRET_KEY
from tests.e2e.conftest import COORDINATOR_ID, TOKEN
from tests.seeding import weekly_meeting_due_now
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi

FIRST_MEMBER = 8_000_000
REMINDED_FROM = 8_500_000
FACILITATOR = 7_000_001
CRISIS_FROM = 6_000_000
NEWCOMERS_FROM = 6_500_000
SECRET = "replica-story-secret"
ANNOUNCEMENT = "The Thursday meeting moves to the library, room 2, from next week."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RoundRobinProxy:
    """Spreads webhook deliveries over the replicas; a replica that does not answer (dead,
    frozen) is skipped and the delivery tried on the next one."""

    def __init__(self) -> None:
        self.port = free_port()
        self.upstreams: list[int] = []
        self.served: dict[int, int] = {}
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    async def start(self) -> None:
        self._session = ClientSession(timeout=ClientTimeout(total=2))
        app = web.Application()
        app.router.add_post("/telegram", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith("x-telegram")}
        headers["Content-Type"] = "application/json"
        assert self._session is not None
        for _ in range(len(self.upstreams)):
            port = self.upstreams[self._next % len(self.upstreams)]
            self._next += 1
            try:
                async with self._session.post(
                    f"http://127.0.0.1:{port}/telegram", data=body, headers=headers
                ) as resp:
                    if resp.status < 500:
                        self.served[port] = self.served.get(port, 0) + 1
                        return web.Response(status=resp.status)
            except (ClientError, TimeoutError):
                continue
        return web.Response(status=502)


@dataclass
class Replica:
    port: int
    log: Path
    proc: asyncio.subprocess.Process


@dataclass
class StoryResult:
    members: int
    announced: dict[int, int] = field(default_factory=dict)  # member -> copies received
    reminded: dict[int, int] = field(default_factory=dict)
    ambiguous: int = 0
    flood_429s: int = 0
    crisis_alerts: dict[int, int] = field(default_factory=dict)  # writer -> alerts
    crisis_replies: dict[int, int] = field(default_factory=dict)
    onboarded: int = 0
    out_of_order_chats: int = 0
    takeover_seconds: float = float("nan")
    served: dict[int, int] = field(default_factory=dict)  # replica port -> deliveries
    leaders_seen: int = 0

    def summary(self) -> str:
        twice = sum(1 for n in self.announced.values() if n > 1)
        return (
            f"takeover {self.takeover_seconds:.1f} s; announcement delivered to "
            f"{len(self.announced)} of {self.members} ({twice} twice), {self.ambiguous} "
            f"ambiguous; reminders {len(self.reminded)}; crisis alerts "
            f"{sum(self.crisis_alerts.values())} for {len(self.crisis_alerts)} writers; "
            f"429s on bulk sends {self.flood_429s}; chats out of order "
            f"{self.out_of_order_chats}; webhook deliveries per replica "
            f"{sorted(self.served.values())}"
        )


async def _seed(db: Database, members: int, reminded: int) -> None:
    """A facilitator's group of `members` members; a second group of `reminded` members whose
    weekly meeting's one-hour reminder is due now."""

    def person(telegram_id: int, name: str, facilitates: bool = False) -> Member:
        return Member(telegram_id=telegram_id, display_name=name, timezone="UTC", step="done",
                      consent_version=CONSENT_VERSION, consent_at=datetime.now(UTC),
                      can_facilitate=facilitates)  # fmt: skip

    async with db.uow() as uow:
        circle = await uow.groups.add(PeerGroup(name="Circle", invite_code="story-circle-code1"))
        other = await uow.groups.add(PeerGroup(name="Evening", invite_code="story-evening-code"))
        fay = await uow.members.add(person(FACILITATOR, "Fay", facilitates=True))
        assert circle.id is not None and other.id is not None and fay.id is not None
        uow.session.add(Membership(group_id=circle.id, member_id=fay.id, role="facilitator"))
        crowd = [person(FIRST_MEMBER + i, f"M{i}") for i in range(members)]
        evening = [person(REMINDED_FROM + i, f"E{i}") for i in range(reminded)]
        uow.session.add_all([*crowd, *evening])
        await uow.session.flush()
        uow.session.add_all(Membership(group_id=circle.id, member_id=m.id or 0) for m in crowd)
        uow.session.add_all(Membership(group_id=other.id, member_id=m.id or 0) for m in evening)
        uow.session.add(weekly_meeting_due_now(other.id, "Evening circle"))
        await uow.commit()


class Story:
    def __init__(self, tg: FakeBotApi, database_url: str, workdir: Path) -> None:
        self.tg = tg
        self.database_url = database_url
        self.workdir = workdir
        self.proxy = RoundRobinProxy()
        self.replicas: list[Replica] = []
        self._spawned = 0

    def environment(self, port: int) -> dict[str, str]:
        """A replica's settings: its own webhook port, everything else shared."""
        return {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.tg.root_url,
            "DATABASE_URL": self.database_url,
            "PEERBOT_SECRET_KEY": TEST_SECRET_KEY,
            "PEERBOT_COORDINATORS": str(COORDINATOR_ID),
            "WEBHOOK_URL": f"http://127.0.0.1:{self.proxy.port}/telegram",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
            "WEBHOOK_PATH": "/telegram",
        }

    async def spawn(self) -> Replica:
        port = free_port()
        self._spawned += 1
        log = self.workdir / f"replica-{self._spawned}.log"
        env = self.environment(port)
        with log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run",
                cwd=self.workdir, env=env, stdout=out, stderr=out,
            )  # fmt: skip
        replica = Replica(port, log, proc)
        self.replicas.append(replica)
        await self._listening(replica)
        if port not in self.proxy.upstreams:
            self.proxy.upstreams.append(port)
        return replica

    async def _listening(self, replica: Replica, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if replica.proc.returncode is not None:
                raise AssertionError(f"replica exited: {replica.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", replica.port)
                writer.close()
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"replica never listened: {replica.log.read_text()[-2000:]}")

    async def leader_pid(self) -> int | None:
        async with self._db().uow(read_only=True) as uow:
            row = (
                await uow.session.execute(
                    text(
                        "SELECT r.pid FROM lease l JOIN replica r ON r.id = l.holder "
                        "WHERE l.name = 'leader' AND l.expires_at > now()"
                    )
                )
            ).first()
        return int(row[0]) if row else None

    def _db(self) -> Database:
        if not hasattr(self, "_database"):
            self._database = Database.connect(self.database_url)
        return self._database

    async def close(self) -> None:
        for replica in self.replicas:
            if replica.proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    replica.proc.send_signal(signal.SIGCONT)
                    replica.proc.terminate()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(replica.proc.wait(), 10)
                if replica.proc.returncode is None:
                    replica.proc.kill()
                    await replica.proc.wait()
        await self.proxy.stop()
        if hasattr(self, "_database"):
            await self._database.dispose()

    async def run(
        self, *, members: int = 1000, reminded: int = 40, replicas: int = 3, freeze: bool = False
    ) -> StoryResult:
        tg = self.tg
        tg.enforce_flood_limits(True)
        await self.proxy.start()
        db = self._db()
        from bot.storage.migrate import upgrade_to_head

        await upgrade_to_head(db.engine)
        await _seed(db, members, reminded)
        for i in range(members):
            tg.mark_started(tg.user(f"M{i}", user_id=FIRST_MEMBER + i))
        for i in range(reminded):
            tg.mark_started(tg.user(f"E{i}", user_id=REMINDED_FROM + i))
        cora = tg.user("Cora", user_id=COORDINATOR_ID)
        tg.mark_started(cora)
        await asyncio.gather(*(self.spawn() for _ in range(replicas)))
        result = StoryResult(members)
        leaders: set[int] = set()
        first = await _poll(self.leader_pid, timeout=30)
        leaders.add(first)

        # The facilitator announces, each step possibly reaching a different replica.
        fay = Person(tg, tg.user("Fay", user_id=FACILITATOR))
        await fay.says("/broadcast")
        await fay.sees("Write the announcement", timeout=15)
        await fay.says(ANNOUNCEMENT)
        await fay.presses(f"Send to {members}", timeout=15)
        crisis = [tg.user(f"C{i}", user_id=CRISIS_FROM + i) for i in range(6)]
        for writer in crisis[:3]:
            writer.send(f"i want to kill myself tonight ({writer.id})")
        # Newcomers go through onboarding meanwhile, their steps spread over the replicas.
        newcomers = [Person(tg, tg.user(f"N{i}", user_id=NEWCOMERS_FROM + i)) for i in range(3)]
        await asyncio.gather(*(_onboard(p, f"Newcomer {i}") for i, p in enumerate(newcomers)))
        result.onboarded = len(newcomers)
        # Mid-way through the announcement, the leader dies (or freezes).
        await tg.wait_for(lambda: self._announced() >= members // 3, timeout=120)
        victim = next(r for r in self.replicas if r.proc.pid == first)
        killed_at = time.monotonic()
        victim.proc.send_signal(signal.SIGSTOP if freeze else signal.SIGKILL)
        for writer in crisis[3:]:
            writer.send(f"i want to end my life, i have the pills here ({writer.id})")
        leaders.add(await _poll(lambda: self._other_leader(first), timeout=60))
        result.takeover_seconds = time.monotonic() - killed_at
        if freeze:
            # It wakes up: it must see at once that it no longer leads, and stop.
            victim.proc.send_signal(signal.SIGCONT)
        await asyncio.wait_for(victim.proc.wait(), 30)
        self.proxy.upstreams.remove(victim.port)
        await self.spawn()  # the operator's supervisor starts it again
        await fay.sees("has been sent", timeout=members / 20 + 90)
        await tg.wait_for(lambda: self._reminders() >= reminded, timeout=60)
        await tg.wait_for(lambda: all(self._alerts_for(w.id) for w in crisis), timeout=60)
        await self._settled(db)
        self._tally(result, crisis)
        result.ambiguous = await self._ambiguous(db)
        result.out_of_order_chats = await self._out_of_order(db)
        result.served = dict(self.proxy.served)
        result.leaders_seen = len(leaders)
        return result

    async def _other_leader(self, old: int) -> int | None:
        pid = await self.leader_pid()
        return pid if pid is not None and pid != old else None

    def _sends(self) -> list[Any]:
        return [r for r in self.tg.requests if r.method == "sendMessage" and r.status == 200]

    def _announced(self) -> int:
        return sum(1 for r in self._sends() if ANNOUNCEMENT in str(r.params.get("text")))

    def _reminders(self) -> int:
        return sum(
            1
            for r in self._sends()
            if int(r.params["chat_id"]) >= REMINDED_FROM
            and "Evening circle" in str(r.params.get("text"))
        )

    def _alerts_for(self, writer: int) -> int:
        marker = f"({writer})"
        return sum(
            1
            for r in self._sends()
            if r.params.get("chat_id") == COORDINATOR_ID and marker in str(r.params.get("text"))
        )

    async def _settled(self, db: Database) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            async with db.uow(read_only=True) as uow:
                counts = await uow.outbox.counts()
            if not counts.get("pending") and not counts.get("sending"):
                return
            await asyncio.sleep(0.3)
        raise AssertionError(f"the outbox never settled: {counts}")

    def _tally(self, result: StoryResult, crisis: list[Any]) -> None:
        for r in self._sends():
            chat = int(r.params["chat_id"])
            shown = str(r.params.get("text"))
            if ANNOUNCEMENT in shown and FIRST_MEMBER <= chat < FIRST_MEMBER + result.members:
                result.announced[chat] = result.announced.get(chat, 0) + 1
            if "Evening circle" in shown and chat >= REMINDED_FROM:
                result.reminded[chat] = result.reminded.get(chat, 0) + 1
        for writer in crisis:
            result.crisis_alerts[writer.id] = self._alerts_for(writer.id)
            result.crisis_replies[writer.id] = len(self.tg.sent_messages(writer.id))
        # Replies in a conversation may burst past a private chat's 1/s and are retried (see
        # bot/delivery/limiter.py); what the bot owes people in bulk never meets a 429.
        bulk = {COORDINATOR_ID, *result.announced, *result.reminded}
        result.flood_429s = sum(1 for r in self.tg.flood_429s if r.params.get("chat_id") in bulk)

    async def _ambiguous(self, db: Database) -> int:
        async with db.uow(read_only=True) as uow:
            return (await uow.outbox.counts()).get("ambiguous", 0)

    async def _out_of_order(self, db: Database) -> int:
        """Chats in which a later update was handled before an earlier one."""
        async with db.uow(read_only=True) as uow:
            rows = (
                await uow.session.execute(
                    text(
                        "SELECT chat_key, update_id, done_at FROM inbound "
                        "WHERE status = 'done' AND chat_key IS NOT NULL "
                        "ORDER BY chat_key, update_id"
                    )
                )
            ).all()
        bad: set[int] = set()
        last: dict[int, datetime] = {}
        for chat, _, done in rows:
            if chat in last and done < last[chat]:
                bad.add(chat)
            last[chat] = done
        return len(bad)


async def _onboard(person: Person, name: str, wait: float = 20.0) -> None:
    """As tests/e2e/people.py's `onboard`, waiting longer: three bots share a busy machine."""
    await person.says("/start")
    await person.presses("I agree", timeout=wait)
    await person.sees("What name would you like", timeout=wait)
    await person.says(name)
    await person.sees("Which timezone", timeout=wait)
    await person.says("London")
    await person.sees("You're all set", timeout=wait)


async def _poll(probe: Callable[[], Awaitable[int | None]], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await probe()
        if value is not None:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting for a leader")
