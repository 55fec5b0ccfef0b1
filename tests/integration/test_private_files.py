"""The SQLite database and the key file are created readable by their owner only."""

from __future__ import annotations

import stat
from pathlib import Path

from bot.storage.crypto import load_or_create_key_file
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Member
from bot.storage.uow import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_sqlite_database_and_its_journal_are_0600(tmp_path: Path) -> None:
    path = tmp_path / "data" / "peerbot.db"
    db = Database.connect(f"sqlite:///{path}")
    try:
        await upgrade_to_head(db.engine)
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=1, display_name="Ann"))
            await uow.commit()
        assert mode(path) == 0o600
        for journal in (tmp_path / "data").glob("peerbot.db-*"):
            assert mode(journal) == 0o600, journal.name
    finally:
        await db.dispose()


async def test_an_existing_database_keeps_the_operators_permissions(tmp_path: Path) -> None:
    path = tmp_path / "peerbot.db"
    path.touch(mode=0o640)
    path.chmod(0o640)
    db = Database.connect(f"sqlite:///{path}")
    try:
        await upgrade_to_head(db.engine)
    finally:
        await db.dispose()
    assert mode(path) == 0o640


def test_a_new_key_file_is_0600(tmp_path: Path) -> None:
    key, created = load_or_create_key_file(tmp_path / "peerbot.key")
    assert created and key
    assert mode(tmp_path / "peerbot.key") == 0o600
