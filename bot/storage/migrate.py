"""Apply the Alembic migrations that ship inside the package."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration's revision. A test checks it against the migrations folder, so no
# migration ships without it; at start it lets an up-to-date database skip importing Alembic
# (a tenth of a second or more, and ~10 MiB the bot never needs again).
SCHEMA_HEAD = "0012"


def alembic_config(database_url: str = "") -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url)
    return config


async def schema_revision(engine: AsyncEngine) -> list[str]:
    """The revisions the database says it is at ([] for a new, empty database)."""
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return [str(r) for r in rows.scalars()]
    except DBAPIError:  # no such table yet
        return []


def create_private_sqlite_file(engine: AsyncEngine) -> None:
    """Create a new SQLite database file readable and writable by its owner only (0600), before
    SQLite creates it with the process's umask (often world-readable): it holds everything the
    bot keeps. SQLite gives the -wal and -shm files the database file's permissions. An
    existing file is left as the operator made it."""
    if engine.dialect.name != "sqlite":
        return
    path = engine.url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    file = Path(path)
    if file.exists():
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # another process made it first
        os.close(os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the schema up to date on this engine (safe to run at every start)."""
    create_private_sqlite_file(engine)
    if await schema_revision(engine) == [SCHEMA_HEAD]:
        return

    def _upgrade(connection: Connection) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
