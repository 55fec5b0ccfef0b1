"""Apply the Alembic migrations that ship inside the package."""

from __future__ import annotations

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
SCHEMA_HEAD = "0011"


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


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the schema up to date on this engine (safe to run at every start)."""
    if await schema_revision(engine) == [SCHEMA_HEAD]:
        return

    def _upgrade(connection: Connection) -> None:
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
