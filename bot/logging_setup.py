"""Logging that cannot leak: no bot token, no message text, no names, no user ids.

Two lines of defence.

1. Caps on library loggers that log whole payloads (`quiet_noisy_loggers`, also called by the
   application builder). They hold even when PEERBOT_LOG_LEVEL=DEBUG:

   - telegram (INFO), which covers all of PTB's loggers (`telegram._utils.logging.get_logger`
     names them `telegram.Bot`, `telegram.ext.Application`, `telegram.ext.Updater`,
     `telegram.ext.ExtBot`, ..., and plain `telegram`/`telegram.ext` for its `_utils`
     modules). At DEBUG `telegram.Bot` logs every Bot API call's parameters and result
     ("Calling Bot API endpoint `%s` with parameters `%s`": message texts, names, chat ids),
     `telegram.ext.Application` logs "Processing update %s" and "Dropping pending update: %s"
     (whole updates), the webhook handler logs "Webhook received data: %s" and the wrong
     secret token, the ConversationHandler its keys (chat and user ids). Above DEBUG PTB
     still logs data in arguments ("Error while parsing updates! Received data was %r" at
     CRITICAL, "Can not load invalid JSON data" at ERROR, "Error while building
     CallbackContext for update %s" at CRITICAL) and exceptions: the formatter handles those.
   - httpx (WARNING): at INFO it logs each request URL, and the URL carries the bot token.
   - httpcore (WARNING): at DEBUG it traces each request, headers included.
   - aiohttp.access (WARNING): at INFO, one pre-formatted line per request to the webhook
     (path, client address, user agent).
   - apscheduler (WARNING): at INFO it logs every run of every job ("Running job ...").
   - sqlalchemy (WARNING): at INFO every statement with its parameters, at DEBUG the rows.
   - aiosqlite (INFO): at DEBUG it logs every operation and the exceptions they return.
   - asyncpg (INFO): nothing useful below INFO; capped so that stays so.
   - asyncio (INFO): at DEBUG (debug mode) it logs connections and slow callbacks with
     their arguments.

2. A formatter (`SafeFormatter`, installed by `configure_logging`) that renders no data it
   cannot vouch for, whichever logger and level a record comes from:

   - exceptions (and `stack_info`) are rendered as the class names of the exception chain
     (causes and contexts, groups' members) and the stack frames (file, line, function):
     never `str(exception)`, never source lines or locals. A library's exception text can
     carry anything: PTB's `InvalidToken` carries the token, `BadRequest` descriptions echo
     entities, `ValueError`/`KeyError` messages echo the input.
   - a record from a logger outside our package (`bot` and its children) is rendered from its
     format string without its arguments ("Error while parsing updates! Received data was
     %r [values withheld]"): PTB's CRITICAL parse-error line puts the whole raw batch of
     updates in its arguments. A library message without arguments (already formatted, like
     asyncio's "Task exception was never retrieved\\nfuture: <Task ... exception=...>")
     is kept up to its first line break, quote or bracket.
   - our own records are rendered in full: by convention our code logs only row ids,
     counts and class names.
   - the configured token, and anything shaped like a bot token, is masked in every line.

`configure_logging` also routes uncaught exceptions (the interpreter's and threads') through
logging, so a crash (e.g. PTB's `InvalidToken` at start-up, whose text has the token) prints
the same safe rendering instead of Python's own traceback.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import types
from collections.abc import Iterator
from typing import TextIO
from urllib.parse import quote

OUR_PACKAGE = "bot"
WITHHELD = "[values withheld]"
TRIMMED = "[rest withheld]"
_MASK = "<redacted-token>"
_TOKEN = re.compile(r"\d{3,20}(?::|%3[Aa])[A-Za-z0-9_-]{20,100}")
# A pre-formatted library message is kept up to the first of these: reprs and quoted values
# start here ("exception=ValueError('...')", "<Task ...>", "Exception in callback f(<args>)").
_VALUE_START = re.compile(r"[\n\r<>\[{'\"=]|\((?!\))")  # "stop()" is no value
_STACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]*)", line (?P<line>\d+), in (?P<func>\S+)\s*$')
_CAUSE = "The above exception was the direct cause of the following exception:"
_CONTEXT = "During handling of the above exception, another exception occurred:"

# Library loggers, the level they are held at, and why (see the module docstring).
NOISY_LOGGERS: dict[str, int] = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiohttp.access": logging.WARNING,
    "apscheduler": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "aiosqlite": logging.INFO,
    "asyncpg": logging.INFO,
    "asyncio": logging.INFO,
}


def is_ours(logger_name: str) -> bool:
    return logger_name == OUR_PACKAGE or logger_name.startswith(OUR_PACKAGE + ".")


class TokenRedactor:
    """Masks the configured token (as is, URL-quoted, or its secret half) and anything
    token-shaped."""

    def __init__(self, token: str | None = None) -> None:
        literals: set[str] = set()
        if token:
            literals.update({token, quote(token, safe="")})
            secret = token.split(":", 1)[-1]
            if len(secret) >= 8:
                literals.add(secret)
        self._literals = sorted(literals, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for literal in self._literals:
            text = text.replace(literal, _MASK)
        return _TOKEN.sub(_MASK, text)


def class_name(kind: type[BaseException]) -> str:
    module = getattr(kind, "__module__", None)
    qualname = getattr(kind, "__qualname__", None) or getattr(kind, "__name__", "?")
    if module in (None, "builtins", "__main__"):
        return str(qualname)
    return f"{module}.{qualname}"


def _frames(tb: types.TracebackType | None) -> Iterator[str]:
    while tb is not None:
        code = tb.tb_frame.f_code
        yield f'  File "{code.co_filename}", line {tb.tb_lineno}, in {code.co_name}'
        tb = tb.tb_next


def _chain(error: BaseException) -> list[tuple[BaseException, str | None]]:
    """The error and its causes/contexts, newest first, each with how it led to the one
    before it."""
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = error
    relation: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, relation))
        if current.__cause__ is not None:
            current, relation = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, relation = current.__context__, _CONTEXT
        else:
            current = None
    return chain


def safe_exception_lines(error: BaseException, indent: str = "", depth: int = 0) -> list[str]:
    """A traceback with class names and frames only (the message is never rendered)."""
    lines: list[str] = []
    chain = _chain(error)
    # Oldest first, as Python prints it; each link's relation is printed after the older one.
    for position in range(len(chain) - 1, -1, -1):
        current, relation = chain[position]
        if current.__traceback__ is not None:
            lines.append("Traceback (most recent call last):")
            lines.extend(_frames(current.__traceback__))
        lines.append(f"{class_name(type(current))} [message withheld]")
        if isinstance(current, BaseExceptionGroup) and depth < 5:
            for number, member in enumerate(current.exceptions, 1):
                lines.append(f"  +-- member {number}:")
                lines.extend(safe_exception_lines(member, "  |   ", depth + 1))
        if relation is not None:
            lines.extend(["", relation, ""])
    return [indent + line if line else line for line in lines]


def safe_stack_lines(stack_info: str) -> list[str]:
    """`record.stack_info` without its source lines: only file, line and function."""
    lines = ["Stack (most recent call last):"]
    for line in stack_info.splitlines():
        match = _STACK_FRAME.match(line)
        if match:
            lines.append(f'  File "{match["file"]}", line {match["line"]}, in {match["func"]}')
    return lines


def safe_message(record: logging.LogRecord) -> str:
    """The record's message, as far as it can be shown (see the module docstring)."""
    if is_ours(record.name):
        try:
            return record.getMessage()
        except Exception:  # a bad format call must not spill its arguments
            return f"{record.msg if isinstance(record.msg, str) else '?'} [formatting failed]"
    if not isinstance(record.msg, str):
        return f"<{type(record.msg).__name__}> {WITHHELD}"
    if record.args:
        return f"{record.msg} {WITHHELD}"
    match = _VALUE_START.search(record.msg)
    if match is None:
        return record.msg
    return f"{record.msg[: match.start()].rstrip()} {TRIMMED}"


class SafeFormatter(logging.Formatter):
    """Formats a record without exception messages, library arguments or tokens."""

    def __init__(
        self,
        fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt: str | None = None,
        token: str | None = None,
    ) -> None:
        super().__init__(fmt, datefmt)
        self.redact = TokenRedactor(token)

    def format(self, record: logging.LogRecord) -> str:
        # A copy: other handlers (and their own formatters' cached exc_text) keep the record.
        shown = logging.makeLogRecord(record.__dict__)
        shown.msg, shown.args = safe_message(record), None
        shown.exc_info, shown.exc_text, shown.stack_info = None, None, None
        parts = [super().format(shown)]
        error = record.exc_info[1] if isinstance(record.exc_info, tuple) else None
        if error is not None:
            parts.extend(safe_exception_lines(error))
        elif record.exc_text:
            parts.append(f"(exception text {WITHHELD})")
        if record.stack_info:
            parts.extend(safe_stack_lines(record.stack_info))
        return self.redact("\n".join(parts))


class SafeStreamHandler(logging.StreamHandler[TextIO]):
    """A stream handler whose own failures never print the record's arguments (the stock
    `handleError` prints them to stderr)."""

    def handleError(self, record: logging.LogRecord) -> None:
        if logging.raiseExceptions and sys.stderr is not None:
            error = sys.exc_info()[1]
            kind = class_name(type(error)) if error is not None else "?"
            sys.stderr.write(f"--- logging error ({kind}) for a {record.name} record ---\n")


def log_uncaught(
    kind: type[BaseException], error: BaseException, tb: types.TracebackType | None
) -> None:
    """`sys.excepthook`: an uncaught exception is logged (safely) instead of printed."""
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, tb)
        return
    logging.getLogger(OUR_PACKAGE).critical(
        "uncaught %s; stopping", class_name(kind), exc_info=(kind, error, tb)
    )


def log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    logging.getLogger(OUR_PACKAGE).critical(
        "uncaught %s in a thread",
        class_name(args.exc_type),
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


def configure_logging(
    level: str = "INFO", token: str | None = None, stream: TextIO | None = None
) -> None:
    """One safe handler on the root logger (stderr unless `stream`); `token` is masked in
    every line, as is anything token-shaped."""
    handler = SafeStreamHandler(stream)
    handler.setFormatter(SafeFormatter(token=token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers()
    sys.excepthook = log_uncaught
    threading.excepthook = log_uncaught_in_thread


def quiet_noisy_loggers() -> None:
    for name, level in NOISY_LOGGERS.items():
        logging.getLogger(name).setLevel(level)
