"""The log formatter renders no token, name, user id or message text, whatever the source."""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import sys
import threading
from collections.abc import Iterator

import pytest
from telegram.error import BadRequest, InvalidToken

from bot.logging_setup import (
    NOISY_LOGGERS,
    WITHHELD,
    SafeFormatter,
    configure_logging,
    log_uncaught,
)

TOKEN = "123456789:AAAAbbbbCCCCddddEEEEffffGGGGhhhh_-12"
NAME = "Zyxwvut"
USER_ID = 987654321
TEXT = "my secret words"
SECRETS = (TOKEN, TOKEN.split(":", 1)[1], NAME, str(USER_ID), TEXT)
# The raw update PTB puts in its CRITICAL parse-error line.
PAYLOAD = {
    "update_id": 5,
    "message": {"from": {"id": USER_ID, "first_name": NAME}, "text": TEXT, "token": TOKEN},
}


def assert_clean(output: str) -> None:
    for secret in SECRETS:
        assert secret not in output, f"{secret!r} leaked into:\n{output}"


def record(
    name: str,
    msg: object,
    *args: object,
    level: int = logging.ERROR,
    error: BaseException | None = None,
    stack_info: str | None = None,
) -> logging.LogRecord:
    exc_info = (type(error), error, error.__traceback__) if error is not None else None
    return logging.getLogger(name).makeRecord(
        name, level, __file__, 1, msg, args, exc_info, sinfo=stack_info
    )


def raised(error: BaseException) -> BaseException:
    """The error with a real traceback."""
    try:
        raise error
    except BaseException as caught:
        return caught


def chained() -> BaseException:
    """KeyError(name) caused by ValueError(text), raised while handling a BadRequest."""
    try:
        try:
            raise BadRequest(f"Can't parse entities: {TEXT} from {USER_ID}")
        except BadRequest:
            try:
                int(TEXT)
            except ValueError as exc:
                raise KeyError(NAME) from exc
    except KeyError as caught:
        return caught
    raise AssertionError("unreachable")


@pytest.fixture
def formatter() -> SafeFormatter:
    return SafeFormatter(token=TOKEN)


@pytest.fixture
def configured() -> Iterator[io.StringIO]:
    """The production configuration (at DEBUG) writing to a buffer; the root logger restored
    afterwards."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    stream = io.StringIO()
    configure_logging("DEBUG", token=TOKEN, stream=stream)
    yield stream
    root.handlers[:], level, sys.excepthook, threading.excepthook = saved
    root.setLevel(level)


def test_a_library_critical_line_keeps_its_format_string_but_not_its_values(
    formatter: SafeFormatter,
) -> None:
    line = record(
        "telegram.Bot",
        "Error while parsing updates! Received data was %r",
        [PAYLOAD],
        level=logging.CRITICAL,
        error=raised(ValueError(TEXT)),
    )
    output = formatter.format(line)
    assert_clean(output)
    assert f"Error while parsing updates! Received data was %r {WITHHELD}" in output
    assert "CRITICAL telegram.Bot" in output
    assert "ValueError [message withheld]" in output


@pytest.mark.parametrize("logger", ["bot.handlers.errors", "telegram.ext.Application"])
def test_an_exception_is_rendered_as_its_class_and_frames_only(
    formatter: SafeFormatter, logger: str
) -> None:
    error = raised(ValueError(f"invalid literal for int() with base 10: '{TEXT}' ({NAME})"))
    output = formatter.format(
        record(logger, "handler failed for update %s: %s", 42, "ValueError", error=error)
    )
    assert_clean(output)
    assert "ValueError [message withheld]" in output
    assert "Traceback (most recent call last):" in output
    assert f'"{__file__}"' in output and "in raised" in output
    if logger.startswith("bot"):
        assert "handler failed for update 42: ValueError" in output
    else:
        assert f"handler failed for update %s: %s {WITHHELD}" in output


def test_every_exception_of_a_chain_is_named_and_none_is_quoted(
    formatter: SafeFormatter,
) -> None:
    output = formatter.format(record("bot.intake", "update %s failed", 7, error=chained()))
    assert_clean(output)
    assert "update 7 failed" in output
    names = ["telegram.error.BadRequest", "ValueError", "KeyError"]
    positions = [output.index(f"{name} [message withheld]") for name in names]
    assert positions == sorted(positions), "oldest first, as Python prints a chain"
    assert "During handling of the above exception" in output
    assert "The above exception was the direct cause" in output
    assert "in chained" in output


def test_an_exception_group_names_its_members(formatter: SafeFormatter) -> None:
    group = raised(ExceptionGroup(TEXT, [ValueError(NAME), KeyError(str(USER_ID))]))
    output = formatter.format(record("apscheduler.scheduler", "Job failed", error=group))
    assert_clean(output)
    assert "ExceptionGroup [message withheld]" in output
    assert "ValueError [message withheld]" in output and "KeyError [message withheld]" in output


def test_the_token_in_an_invalid_token_error_is_never_shown(formatter: SafeFormatter) -> None:
    error = raised(InvalidToken(f"The token `{TOKEN}` was rejected by the server."))
    output = formatter.format(
        record("bot.runtime", "polling stopped: %s", "InvalidToken", error=error)
    )
    assert_clean(output)
    assert "telegram.error.InvalidToken [message withheld]" in output


def test_a_preformatted_library_message_is_cut_before_values_and_masks_tokens(
    formatter: SafeFormatter,
) -> None:
    url = formatter.format(
        record("httpx", f"HTTP Request: POST http://api/bot{TOKEN}/sendMessage 200", level=20)
    )
    assert_clean(url)
    assert "<redacted-token>" in url
    other = formatter.format(record("httpx", "GET /bot987:ABCDEFGHIJKLMNOPQRSTUVWXYZ012/getMe"))
    assert "ABCDEFGHIJKLMNOPQRSTUVWXYZ012" not in other
    # What asyncio's default exception handler logs (one pre-formatted string).
    task = formatter.format(
        record(
            "asyncio",
            "Task exception was never retrieved\n"
            f"future: <Task finished name='chat-worker-{USER_ID}' exception=ValueError('{TEXT}')>",
            error=raised(ValueError(TEXT)),
        )
    )
    assert_clean(task)
    assert "ERROR asyncio: Task exception was never retrieved [rest withheld]" in task
    plain = formatter.format(record("telegram.ext.Application", "Application.stop() complete"))
    assert "Application.stop() complete" in plain
    callback = formatter.format(record("asyncio", f"Exception in callback f('{TEXT}', {USER_ID})"))
    assert_clean(callback)
    assert "Exception in callback f [rest withheld]" in callback


def test_our_own_token_is_masked_even_in_our_own_lines(formatter: SafeFormatter) -> None:
    output = formatter.format(record("bot.cli", "token %s", TOKEN, level=logging.WARNING))
    assert_clean(output)
    assert "token <redacted-token>" in output


def test_a_library_message_that_is_not_a_string_is_withheld(formatter: SafeFormatter) -> None:
    output = formatter.format(record("telegram.ext.Application", PAYLOAD, level=logging.INFO))
    assert_clean(output)
    assert f"<dict> {WITHHELD}" in output


def test_a_bad_format_call_of_ours_shows_the_format_not_the_arguments(
    formatter: SafeFormatter,
) -> None:
    output = formatter.format(record("bot.handlers", "update %d of %s", TEXT))
    assert_clean(output)
    assert "update %d of %s [formatting failed]" in output


def test_stack_info_keeps_frames_without_source_lines(configured: io.StringIO) -> None:
    def deep_in_the_bot() -> None:
        logging.getLogger("bot.x").info("checkpoint", stack_info=True)  # my secret words

    deep_in_the_bot()
    output = configured.getvalue()
    assert_clean(output)
    assert "checkpoint" in output and "Stack (most recent call last):" in output
    assert "in deep_in_the_bot" in output


def test_exception_text_cached_by_another_handler_is_not_reused(
    formatter: SafeFormatter,
) -> None:
    line = record("telegram.ext.Updater", "polling failed", error=raised(KeyError(TEXT)))
    assert TEXT in logging.Formatter().format(line)  # caches record.exc_text
    output = formatter.format(line)
    assert_clean(output)
    assert "KeyError [message withheld]" in output


def test_the_configured_root_handler_is_safe_end_to_end(configured: io.StringIO) -> None:
    logging.getLogger("telegram.Bot").critical(
        "Error while parsing updates! Received data was %r", [PAYLOAD], exc_info=chained()
    )
    try:
        raise ValueError(TEXT)
    except ValueError:
        logging.getLogger("bot.handlers.errors").exception("handler failed for update %s", 9)
        logging.getLogger("apscheduler.executors.default").exception(
            'Job "%s" raised an exception', f"tick({NAME})"
        )
    output = configured.getvalue()
    assert_clean(output)
    assert "handler failed for update 9" in output
    assert f'Job "%s" raised an exception {WITHHELD}' in output
    assert "Received data was %r" in output


def test_an_unretrieved_task_exception_from_asyncio_itself(configured: io.StringIO) -> None:
    async def fails() -> None:
        raise ValueError(f"{TEXT} from {NAME}")

    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(fails(), name=f"chat-worker-{USER_ID}")
        loop.run_until_complete(asyncio.sleep(0.01))
        assert task.done()
        del task
        gc.collect()
    finally:
        loop.close()
    output = configured.getvalue()
    assert "Task exception was never retrieved" in output, output
    assert "ValueError [message withheld]" in output
    assert_clean(output)


def test_an_uncaught_exception_is_logged_safely(configured: io.StringIO) -> None:
    assert sys.excepthook is log_uncaught
    error = raised(InvalidToken(f"The token `{TOKEN}` was rejected by the server."))
    sys.excepthook(type(error), error, error.__traceback__)
    output = configured.getvalue()
    assert_clean(output)
    assert "CRITICAL bot: uncaught telegram.error.InvalidToken" in output


def test_an_uncaught_exception_in_a_thread_is_logged_safely(configured: io.StringIO) -> None:
    def fails() -> None:
        raise KeyError(TEXT)

    worker = threading.Thread(target=fails, name=NAME)
    worker.start()
    worker.join()
    output = configured.getvalue()
    assert_clean(output)
    assert "uncaught KeyError in a thread" in output


def test_payload_loggers_stay_capped_at_debug(configured: io.StringIO) -> None:
    assert logging.getLogger("bot.intake").isEnabledFor(logging.DEBUG)
    for name, level in NOISY_LOGGERS.items():
        child = logging.getLogger(f"{name}.child")
        assert not child.isEnabledFor(level - 10), name
    assert not logging.getLogger("telegram.Bot").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("telegram.ext.Application").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
    logging.getLogger("telegram.Bot").debug("Calling Bot API endpoint with %s", PAYLOAD)
    assert_clean(configured.getvalue())
