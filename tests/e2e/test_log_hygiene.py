"""Every failure path, driven through the real bot with the production logging at DEBUG: the
whole log holds no message text, name, username, user id or token, and each path did log."""

from __future__ import annotations

import asyncio
import io
import logging
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn

import pytest
from telegram import Bot
from telegram.error import BadRequest

from bot.logging_setup import class_name, configure_logging
from bot.runtime import BotRuntime
from tests.e2e.conftest import TOKEN, BotStarter
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi

FIRST, LAST, USERNAME, USER_ID = "Zyxwvut", "Qoppaquist", "zyx_hidden_handle", 987_654_321
TEXT = "my secret words about the xylophone"
SECRETS = (TEXT, FIRST, LAST, USERNAME, str(USER_ID), TOKEN, TOKEN.split(":", 1)[1])
APOLOGY = "something went wrong on our side"


@pytest.fixture
def db_backend() -> str:
    """SQLite only: what is logged does not depend on the database."""
    return "sqlite"


@pytest.fixture
def production_log(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """What production would print: `configure_logging` at DEBUG, into a buffer.

    Every test here provokes errors on purpose."""
    caplog.errors_expected = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    stream = io.StringIO()
    configure_logging("DEBUG", token=TOKEN, stream=stream)
    root.handlers.extend(saved[0])  # pytest's own capture goes on alongside
    yield stream
    root.handlers[:], level, sys.excepthook, threading.excepthook = saved
    root.setLevel(level)


def secret_person(tg: FakeBotApi) -> Person:
    person: Person = tg.person(FIRST, last_name=LAST, username=USERNAME, user_id=USER_ID)
    return person


def assert_clean(log: str) -> None:
    assert log.strip(), "nothing was logged"
    for secret in SECRETS:
        assert secret not in log, f"{secret!r} is in the log:\n{log}"


async def logged(stream: io.StringIO, *needles: str, timeout: float = 10.0) -> str:
    """Wait until the log holds every one of `needles` (the path's positive control)."""
    deadline = time.monotonic() + timeout
    while not all(needle in stream.getvalue() for needle in needles):
        if time.monotonic() > deadline:
            missing = [n for n in needles if n not in stream.getvalue()]
            raise AssertionError(f"never logged {missing}:\n{stream.getvalue()}")
        await asyncio.sleep(0.05)
    return stream.getvalue()


async def writes(tg: FakeBotApi, person: Person, text: str) -> int:
    """The person sends `text`; the id of the update that carries it."""
    sent = await person.says(text)
    (update_id,) = [u["update_id"] for u in tg._updates if u.get("message") is sent]
    return int(update_id)


def update_line(log: str, update_id: int) -> list[str]:
    return [line for line in log.splitlines() if f"update {update_id}" in line]


async def stop_and_check(runtime: BotRuntime, stream: io.StringIO) -> str:
    await runtime.stop()
    log = stream.getvalue()
    assert_clean(log)
    return log


def key_error_from_int() -> NoReturn:
    """KeyError('<names> <text>') caused by ValueError("invalid literal for int() ... '<text>'")."""
    try:
        int(TEXT)
    except ValueError as exc:
        raise KeyError(f"{FIRST} {LAST} ({USER_ID}): {TEXT}") from exc
    raise AssertionError("unreachable")


def bad_request_echoing_entities() -> NoReturn:
    raise BadRequest(f'Can\'t parse entities: unsupported start tag "{TEXT}" at {USERNAME}')


@pytest.mark.parametrize(
    ("make_error", "shown"),
    [(key_error_from_int, "KeyError"), (bad_request_echoing_entities, "BadRequest")],
    ids=["KeyError-from-ValueError", "BadRequest"],
)
async def test_a_handler_error_logs_the_class_not_the_text(
    tg: FakeBotApi,
    start_bot: BotStarter,
    production_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    make_error: Callable[[], NoReturn],
    shown: str,
) -> None:
    runtime = await start_bot()
    zed = secret_person(tg)

    async def refuse(*args: object) -> Any:
        make_error()

    monkeypatch.setattr(runtime.application.bot_data.services.members, "set_display_name", refuse)
    await zed.says("/start")
    await zed.presses("I agree")
    await zed.sees("What name would you like")
    update_id = await writes(tg, zed, TEXT)
    await zed.sees(APOLOGY)
    log = await logged(production_log, shown)
    assert update_line(log, update_id), log
    log = await stop_and_check(runtime, production_log)
    assert f"{shown} [message withheld]" in log
    if shown == "KeyError":
        assert "ValueError [message withheld]" in log


async def test_a_failed_reply_logs_the_network_error_not_the_text(
    tg: FakeBotApi, start_bot: BotStarter, production_log: io.StringIO
) -> None:
    runtime = await start_bot()
    zed = secret_person(tg)
    tg.inject("502", method="sendMessage", chat_id=USER_ID, times=1)
    tg.inject("drop", method="sendMessage", chat_id=USER_ID, times=1)
    update_id = await writes(tg, zed, TEXT)
    await zed.sees("send /start first", timeout=15)
    log = await stop_and_check(runtime, production_log)
    assert "NetworkError" in log
    assert update_line(log, update_id), log


async def test_a_refused_token_on_a_reply_logs_no_token(
    tg: FakeBotApi, start_bot: BotStarter, production_log: io.StringIO
) -> None:
    runtime = await start_bot()
    zed = secret_person(tg)
    tg.inject("401", method="sendMessage", chat_id=USER_ID, times=1)
    update_id = await writes(tg, zed, TEXT)
    await zed.sees(APOLOGY)
    log = await logged(production_log, "InvalidToken")
    assert update_line(log, update_id), log
    await stop_and_check(runtime, production_log)


async def test_a_token_refused_at_start_up_is_not_shown(
    tg: FakeBotApi, start_bot: BotStarter, production_log: io.StringIO
) -> None:
    tg.inject("401", method="getMe", times=1)
    with pytest.raises(Exception) as caught:  # noqa: PT011 (PTB's InvalidToken, or ours wrapping it)
        await start_bot()
    chain: list[BaseException] = []
    error: BaseException | None = caught.value
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert any(TOKEN in str(e) for e in chain), "PTB's InvalidToken should carry the token"
    # Whatever escapes the runtime reaches the interpreter's hook, which production logs.
    sys.excepthook(caught.type, caught.value, caught.tb)
    log = production_log.getvalue()
    assert_clean(log)
    assert f"uncaught {class_name(caught.type)}" in log
    assert "[message withheld]" in log


async def test_a_failing_scheduled_job_logs_the_class_not_the_text(
    tg: FakeBotApi,
    start_bot: BotStarter,
    production_log: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = await start_bot()

    async def fails(*args: object) -> Any:
        raise ValueError(f"reminder for {FIRST} {LAST} ({USER_ID}): {TEXT} {TOKEN}")

    monkeypatch.setattr(runtime.application.bot_data.services.reminders, "tick", fails)
    await logged(production_log, "ValueError [message withheld]")
    await stop_and_check(runtime, production_log)


def unparsable_update() -> dict[str, Any]:
    """A message PTB cannot parse (`from` is a string), full of the secrets."""
    return {
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {
                "id": USER_ID,
                "type": "private",
                "first_name": FIRST,
                "last_name": LAST,
                "username": USERNAME,
            },
            "from": f"{FIRST} {LAST} @{USERNAME} {USER_ID}",
            "text": TEXT,
        }
    }


async def test_an_update_the_library_cannot_parse_is_not_logged(
    tg: FakeBotApi, start_bot: BotStarter, production_log: io.StringIO
) -> None:
    update = tg._queue_update(unparsable_update())
    # PTB's own getUpdates logs CRITICAL "Error while parsing updates! Received data was %r"
    # with the whole batch (and the exception) before raising.
    async with Bot(TOKEN, base_url=f"{tg.root_url}/bot") as library_bot:
        with pytest.raises(TypeError):
            await library_bot.get_updates(timeout=0)
    log = production_log.getvalue()
    assert "CRITICAL telegram.Bot: Error while parsing updates!" in log, log
    assert "Received data was %r [values withheld]" in log
    assert "TypeError [message withheld]" in log
    assert_clean(log)
    # The bot's own intake, reading the same update.
    runtime = await start_bot()
    await logged(production_log, f"update {update['update_id']}")
    await stop_and_check(runtime, production_log)


async def test_a_dead_letter_is_logged_by_id_and_kind_only(
    tg: FakeBotApi, start_bot: BotStarter, production_log: io.StringIO
) -> None:
    runtime = await start_bot()
    zed = secret_person(tg)
    update = tg._queue_update(unparsable_update())
    log = await logged(production_log, "dead letter", f"update {update['update_id']}")
    (line,) = [line for line in update_line(log, update["update_id"]) if "dead letter" in line]
    assert "(message)" in line or "(unknown)" in line, line
    # The bot goes on: the next message from the same chat is answered.
    await zed.says(TEXT)
    await zed.sees("send /start first")
    await stop_and_check(runtime, production_log)
