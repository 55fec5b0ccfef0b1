"""The async engine, and the one place where SQLite and PostgreSQL are told apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.schema import Table


def async_url(database_url: str) -> str:
    """Map the operator-facing URL (`sqlite:///x.db`, `postgresql://…`) to an async driver."""
    scheme, sep, rest = database_url.partition("://")
    if not sep:
        raise ValueError("not a database URL")
    if scheme in ("sqlite", "sqlite+aiosqlite"):
        return f"sqlite+aiosqlite://{rest}"
    if scheme in ("postgres", "postgresql", "postgresql+asyncpg"):
        return f"postgresql+asyncpg://{rest}"
    raise ValueError(f"unsupported database scheme {scheme!r}")


def database_unavailable(error: BaseException) -> bool:
    """The database itself failed (worth another try later), as opposed to one row or one
    statement being wrong."""
    if isinstance(error, OperationalError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def create_engine(database_url: str, *, read_only: bool = False) -> AsyncEngine:
    """The engine for `database_url`. On SQLite a `read_only` engine begins its transactions
    DEFERRED (readers never wait for the write lock in WAL mode); the normal one IMMEDIATE."""
    url = async_url(database_url)
    if url.startswith("sqlite"):
        # hide_parameters: a database error's message would otherwise quote the values
        # (what someone wrote, their Telegram id) into the log.
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _configure_sqlite(engine, begin="BEGIN" if read_only else "BEGIN IMMEDIATE")
        return engine
    return create_async_engine(
        url, pool_size=10, max_overflow=10, pool_pre_ping=True, hide_parameters=True
    )


def _configure_sqlite(engine: AsyncEngine, begin: str) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE.

    With SQLite's default deferred transactions, two concurrent writers can both hold a read
    lock and then fail to upgrade ("database is locked") no matter the busy timeout. Taking the
    write lock at BEGIN makes concurrent transactions wait their turn instead.
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # 32 MiB of page cache per connection (SQLite's default is 2 MiB): the hot indexes
        # stay in memory as delivery records and handled updates pile up.
        cursor.execute("PRAGMA cache_size=-32768")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


def rowcount(result: Any) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return int(getattr(result, "rowcount", 0) or 0)


def is_postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def insert_ignoring_conflicts(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> list[Any]:
    """Insert rows, skipping those whose `keys` already exist. Returns the first key of each
    row that was new (SQLite 3.35+ and PostgreSQL both support RETURNING here)."""
    if not rows:
        return []
    # Each dialect's module is imported only where it is used: a bot on SQLite never loads
    # PostgreSQL's (~80 ms and several MiB at start).
    # The rows go as parameters of one cached statement (SQLAlchemy's "insertmanyvalues"):
    # building a VALUES clause per call compiled anew each time and cost most of a bulk send.
    stmt: Insert
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys))
    result = await session.execute(stmt.returning(table.c[keys[0]]), list(rows))
    return list(result.scalars())
