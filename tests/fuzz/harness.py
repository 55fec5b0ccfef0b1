"""Drive the real bot with generated updates through the fake Telegram, and judge what it did.

Used by the CI test (tests/e2e/test_fuzz.py) and the longer run (bench/fuzz.py). It is black-box:
it only injects updates at the fake server (every kind, including those the bot's
`allowed_updates` leaves out: Telegram still delivers ones created before the bot asked) and
reads what the bot asked of the fake and what it logged.

Where the bot may speak (send a message, or edit the text of one) — anything else is a finding:

(a) the private chat of a person who sent it any update (a private chat's id is the person's);
(b) a group or supergroup from which it received a message or edited message starting with a
    command addressed to it (a leading `bot_command` entity with no `@`, or `@<its username>`),
    or in which someone pressed a `grp:link:` button (the one button meant for group chats,
    shown there after `/link`);
(c) a coordinator's private chat (crisis alerts).

Never in a channel, and never in a group only because something else happened there (a message
that is not a command, a member joining, a button meant for private chats pressed there ...).
A group becomes linked to a peer group (and so a place for reminders and announcements) only
through `/link` or a `grp:link:` press there, which make it a group the bot may speak in anyway;
the world's quiet groups never see either, nor any command for the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import socket
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.fuzz.updates import BOT_USERNAME, addressed_command, kind_of
from tests.tgfake.server import FakeBotApi, RecordedRequest

Json = dict[str, Any]
WATCHED_LOGGERS = ("bot", "telegram", "apscheduler", "asyncio")
# How long a button press may wait for its answer after everything else went quiet.
ANSWER_GRACE = 1.5
START_WITHIN = 2.0


# ----------------------------------------------------------------------------------- permissions
@dataclass
class Permissions:
    """The chats the bot may speak in, learned from the updates it was sent (see the module's
    docstring for the rule)."""

    coordinators: frozenset[int]
    bot_username: str = BOT_USERNAME
    people: set[int] = field(default_factory=set)
    groups: set[int] = field(default_factory=set)

    def observe(self, update: Json) -> None:
        for kind, body in update.items():
            if not isinstance(body, dict):
                continue
            for key in ("from", "user"):
                actor = body.get(key)
                if isinstance(actor, dict) and isinstance(actor.get("id"), int):
                    self.people.add(actor["id"])
            chat = body.get("chat")
            if kind == "callback_query":
                message = body.get("message")
                chat = message.get("chat") if isinstance(message, dict) else None
            if not isinstance(chat, dict) or chat.get("type") not in ("group", "supergroup"):
                continue
            if kind in ("message", "edited_message") and addressed_command(body, self.bot_username):
                self.groups.add(chat["id"])
            data = body.get("data")
            if kind == "callback_query" and isinstance(data, str) and data.startswith("grp:link:"):
                self.groups.add(chat["id"])

    def may_speak_in(self, chat_id: int) -> bool:
        if chat_id > 0:
            return chat_id in self.people or chat_id in self.coordinators
        return chat_id in self.groups


# ----------------------------------------------------------------------------------- the log
class LogWatch(logging.Handler):
    """Collects ERROR and CRITICAL records, and any record carrying a traceback, from the bot,
    PTB, APScheduler and asyncio."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(WATCHED_LOGGERS):
            return
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def lines(self) -> list[str]:
        out = []
        for r in self.records:
            line = f"{r.levelname} {r.name}: {r.getMessage()}"
            if r.exc_info and r.exc_info[1] is not None:
                exc = r.exc_info[1]
                line += f" [{type(exc).__name__}: {str(exc)[:200]}{_where(exc)}]"
            out.append(line)
        return out

    def __enter__(self) -> LogWatch:
        self._depth = getattr(self, "_depth", 0) + 1
        root = logging.getLogger()
        if self in root.handlers:
            return self
        root.addHandler(self)
        for name in WATCHED_LOGGERS:
            logger = logging.getLogger(name)
            if logger.getEffectiveLevel() > logging.INFO:
                logger.setLevel(logging.INFO)
        return self

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            logging.getLogger().removeHandler(self)


def _where(exc: BaseException) -> str:
    """Where in the project's own code it happened: the innermost handler frame and the
    innermost frame of all (`at handlers/x.py:12 > storage/uow.py:148`)."""
    frames: list[str] = []
    tb = exc.__traceback__
    while tb is not None:
        path = tb.tb_frame.f_code.co_filename
        if "/bot/" in path and "site-packages" not in path:
            frames.append(f"{path.split('/bot/', 1)[1]}:{tb.tb_lineno}")
        tb = tb.tb_next
    if not frames:
        return ""
    handler = [f for f in frames if f.startswith("handlers/") and "common.py" not in f]
    shown = [handler[-1]] if handler and handler[-1] != frames[-1] else []
    return " at " + " > ".join([*shown, frames[-1]])


# ----------------------------------------------------------------------------------- findings
@dataclass
class Findings:
    sent: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    fetched: int = 0  # of those, how many the bot took from the fake server
    unanswered: list[Json] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    forbidden: dict[int, list[RecordedRequest]] = field(default_factory=dict)
    stuck: str | None = None  # why the bot stopped taking updates, if it did
    crashed: str | None = None  # what the bot raised when it was stopped, if anything
    start_latency: float | None = None  # seconds; None if /start went unanswered
    seconds: float = 0.0
    updates: dict[int, Json] = field(default_factory=dict)  # update_id -> what was sent

    def problems(self) -> list[str]:
        found: list[str] = []
        if self.stuck:
            found.append(f"the bot stopped taking updates: {self.stuck}")
        if self.crashed:
            found.append(f"the bot raised when stopped: {self.crashed}")
        if self.start_latency is None or self.start_latency > START_WITHIN:
            shown = "never" if self.start_latency is None else f"after {self.start_latency:.2f} s"
            found.append(f"/start answered {shown} (limit {START_WITHIN} s)")
        if self.unanswered:
            found.append(f"{len(self.unanswered)} callback queries never answered")
            found += [f"  unanswered: {_short(u)}" for u in self.unanswered[:5]]
        if self.violations:
            found.append(f"{len(self.violations)} Bot API spec violations")
            found += [f"  {v[:300]}" for v in self.violations[:5]]
        if self.errors:
            found.append(f"{len(self.errors)} error lines or tracebacks in the log")
            found += [f"  {line[:400]}" for line in _distinct(self.errors)[:10]]
        if self.forbidden:
            count = sum(len(r) for r in self.forbidden.values())
            found.append(f"{count} messages in {len(self.forbidden)} chats nobody asked for")
            for chat_id, requests in list(self.forbidden.items())[:5]:
                text = str(requests[0].params.get("text") or requests[0].method)[:120]
                found.append(f"  chat {chat_id}: {text!r}")
        return found

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in self.by_kind.most_common())
        latency = "never" if self.start_latency is None else f"{self.start_latency * 1000:.0f} ms"
        return "\n".join(
            [
                f"updates sent: {self.sent} ({self.fetched} taken by the bot)"
                f" in {self.seconds:.1f} s",
                f"  by kind: {kinds}",
                f"unanswered callback queries: {len(self.unanswered)}",
                f"spec violations: {len(self.violations)}",
                f"error log lines: {len(self.errors)}",
                "forbidden sends: "
                f"{sum(len(r) for r in self.forbidden.values())} in {len(self.forbidden)} chats",
                f"/start latency: {latency}",
                f"stuck: {self.stuck or 'no'}",
                f"raised when stopped: {self.crashed or 'no'}",
            ]
        )


def _short(update: Json, limit: int = 300) -> str:
    return json.dumps(update, ensure_ascii=False)[:limit]


def _distinct(lines: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for line in lines:
        seen.setdefault(line, None)
    return list(seen)


# ----------------------------------------------------------------------------------- the driver
class FuzzHarness:
    """Injects updates in batches, waits for the bot to be done with each, then judges."""

    def __init__(
        self,
        server: FakeBotApi,
        coordinators: Iterable[int],
        *,
        batch: int = 100,
        settle_timeout: float = 30.0,
    ) -> None:
        self.server = server
        self.permissions = Permissions(frozenset(coordinators))
        self.batch = batch
        self.settle_timeout = settle_timeout
        self.findings = Findings()
        self.log = LogWatch()

    async def run(self, updates: list[Json], *, prelude: Sequence[list[Json]] = ()) -> Findings:
        """Send the `prelude` stages (each handled before the next), then `updates` in
        batches, then judge."""
        started = time.monotonic()
        batches = [*prelude]
        batches += [updates[i : i + self.batch] for i in range(0, len(updates), self.batch)]
        with self.log:
            for batch in batches:
                for update in batch:
                    self.send(update)
                if not await self.settle():
                    break
            await asyncio.sleep(ANSWER_GRACE)
            await self.check_start()
            self.judge()
        self.findings.seconds = time.monotonic() - started
        return self.findings

    def send(self, update: Json) -> Json:
        queued = self.server.inject_update(update, ignore_allowed=True)
        self.permissions.observe(queued)
        self.findings.sent += 1
        self.findings.by_kind[kind_of(queued)] += 1
        self.findings.updates[queued["update_id"]] = queued
        return queued

    def _activity(self) -> int:
        return sum(1 for r in self.server.requests if r.method != "getUpdates")

    async def settle(self, quiet: float = 0.4) -> bool:
        """Wait until the bot has taken every update and stopped calling Telegram for `quiet`
        seconds. False (and `findings.stuck` set) if it stops taking updates."""
        deadline = time.monotonic() + self.settle_timeout
        last_activity, last_change = self._activity(), time.monotonic()
        while True:
            now = time.monotonic()
            activity = self._activity()
            if activity != last_activity:
                last_activity, last_change = activity, now
            pending = self.server.pending_update_count()
            if pending == 0 and now - last_change >= quiet:
                return True
            if now > deadline:
                if pending:
                    first = self.server.pending_updates()[0]
                    self.findings.stuck = (
                        f"{pending} updates never confirmed after {self.settle_timeout:.0f} s;"
                        f" the first: {_short(first)}"
                    )
                    return False
                return True  # still talking (e.g. a slow broadcast), but taking updates
            await asyncio.sleep(0.05)

    async def check_start(self) -> None:
        """A new person says /start and should be asked for consent within START_WITHIN."""
        newcomer = self.server.person("Newcomer", user_id=799_999)
        said = time.monotonic()
        await newcomer.says("/start")
        try:
            await newcomer.sees("Do you agree", timeout=START_WITHIN + 3)
        except AssertionError:
            return
        self.findings.start_latency = time.monotonic() - said

    def judge(self) -> None:
        found = self.findings
        pending = {u["update_id"] for u in self.server.pending_updates()}
        found.fetched = len(set(found.updates) - pending)
        found.unanswered = self.server.unanswered_queries()
        found.violations = [str(v) for v in self.server.violations]
        found.errors = self.log.lines()
        found.forbidden = {
            chat: requests
            for chat, requests in self.server.spoken_in().items()
            if not self.permissions.may_speak_in(chat) and chat != 799_999
        }

    def updates_in_chat(self, chat_id: int) -> list[Json]:
        """The updates sent from one chat (for attributing what the bot said there)."""
        return [u for u in self.findings.updates.values() if chat_of(u) == chat_id]


def chat_of(update: Json) -> int | None:
    for kind, body in update.items():
        if not isinstance(body, dict):
            continue
        chat = body.get("chat")
        if kind == "callback_query":
            message = body.get("message")
            chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
    return None


# ----------------------------------------------------------------------------------- a whole run
FUZZ_TOKEN = "123456789:AAFakeTokenForFuzzing_abcdefghijklmn"
COORDINATOR = 900_001


async def fuzz_once(
    updates: list[Json],
    database_url: str,
    *,
    batch: int = 100,
    rate_limit: bool = False,
    settle_timeout: float = 30.0,
    webhook: bool = False,
    prelude: Sequence[list[Json]] = (),
) -> tuple[Findings, FuzzHarness]:
    """Start a fake Telegram and the bot on `database_url` (long polling, or a webhook the
    fake posts to), send `updates`, judge, stop."""
    from bot.runtime import BotRuntime
    from bot.settings import Settings
    from bot.storage.crypto import generate_key
    from tests.tgfake.spec import load_spec

    # As the test suite runs the bot: a second commit of one update's effects fails loudly.
    with contextlib.suppress(ImportError):
        handling = importlib.import_module("bot.core.handling")
        getattr(handling, "set_strict_single_commit", lambda on: None)(True)
    async with FakeBotApi(FUZZ_TOKEN, load_spec()) as server:
        server.mark_started(server.user("Cora", user_id=COORDINATOR))
        env = {
            "TELEGRAM_BOT_TOKEN": FUZZ_TOKEN,
            "TELEGRAM_API_URL": server.root_url,
            "DATABASE_URL": database_url,
            "PEERBOT_SECRET_KEY": generate_key(),
            "PEERBOT_COORDINATORS": str(COORDINATOR),
            "PEERBOT_QUESTION_DELAY": "0-0",
            "PEERBOT_REPLY_RATE_LIMIT": "on" if rate_limit else "off",
        }
        if webhook:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            env.update(
                WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
                WEBHOOK_SECRET="fuzz-secret",
                WEBHOOK_LISTEN="127.0.0.1",
                WEBHOOK_PORT=str(port),
            )
        settings = Settings.from_env(env)
        harness = FuzzHarness(server, [COORDINATOR], batch=batch, settle_timeout=settle_timeout)
        runtime = BotRuntime(settings)
        with harness.log:
            await runtime.start()
            try:
                findings = await harness.run(updates, prelude=prelude)
            finally:
                try:
                    await runtime.stop()
                except Exception as exc:  # e.g. a task that died of an update, raising here
                    harness.findings.crashed = f"{type(exc).__name__}: {exc}{_where(exc)}"
            findings.errors = harness.log.lines()  # stopping may log too
        return findings, harness
