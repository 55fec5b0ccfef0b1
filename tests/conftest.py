"""Shared fixtures: a real database per test (SQLite file, and PostgreSQL where reachable)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.handling import set_strict_single_commit
from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.uow import Database

pytest_plugins = ["tests.tgfake.pytest_plugin"]

POSTGRES_ADMIN_URL = os.environ.get(
    "PEERBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_SECRET_KEY = generate_key()


def _postgres_reachable() -> str | None:
    """None when reachable, else the reason."""
    import asyncpg

    async def probe() -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_PG_PROBLEM = _postgres_reachable()
# Every update in the suite may commit its feature effects once: a second commit fails the
# test (see bot.core.handling).
set_strict_single_commit(True)


def pytest_report_header(config: pytest.Config) -> list[str]:
    if _PG_PROBLEM is None:
        return [f"databases: SQLite and PostgreSQL ({POSTGRES_ADMIN_URL})"]
    return [
        "!" * 72,
        f"databases: SQLite ONLY — PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {_PG_PROBLEM}",
        "!" * 72,
    ]


def pytest_sessionstart(session: pytest.Session) -> None:
    if IN_CI and _PG_PROBLEM is not None:
        pytest.exit(f"CI requires PostgreSQL at {POSTGRES_ADMIN_URL}: {_PG_PROBLEM}", returncode=3)


@pytest.fixture(autouse=True, scope="session")
def _keyring() -> None:
    install_keyring(TEST_SECRET_KEY)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql" and _PG_PROBLEM is not None:
        pytest.skip(f"PostgreSQL unreachable: {_PG_PROBLEM}")
    return backend


@pytest.fixture
async def database_url(db_backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database for one test."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'peerbot.db'}"
        return
    async with scratch_postgres("peerbot_test") as url:
        yield url


@contextlib.asynccontextmanager
async def scratch_postgres(prefix: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database beside the test one, dropped afterwards."""
    import asyncpg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        admin = await asyncpg.connect(POSTGRES_ADMIN_URL)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A fresh database with the schema in place, for tests of storage and services."""
    database = Database.connect(database_url)
    await upgrade_to_head(database.engine)
    yield database
    await database.dispose()
