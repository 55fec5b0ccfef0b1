"""Logging that cannot leak: no bot token, no message text, no names.

httpx logs each request URL at INFO, and the URL carries the bot token, so httpx stays at
WARNING; the libraries that log whole requests or SQL parameters at DEBUG stay at INFO. As
a second line of defence every record passes a filter that masks anything shaped like a bot
token.
"""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{20,100}")


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _TOKEN.search(message):
            record.msg = _TOKEN.sub("<redacted-token>", message)
            record.args = None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_noisy_loggers()


def quiet_noisy_loggers() -> None:
    # sqlalchemy: at INFO it logs every statement (SQLAlchemy itself defaults it to WARNING).
    for name in ("httpx", "httpcore", "apscheduler", "aiohttp.access", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # At DEBUG these log whole requests, updates and query parameters: message text, names and
    # ids. They stay at INFO even when PEERBOT_LOG_LEVEL=DEBUG.
    for name in ("telegram", "aiosqlite", "asyncpg"):
        logging.getLogger(name).setLevel(logging.INFO)
