"""Key rotation (bot/storage/rotation.py) and backups: every encrypted value ends up under the
newest key while the bot keeps writing, nothing is lost or corrupted, and the old key can go;
a backup restored elsewhere reads back with the key."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.storage.crypto import generate_key, install_keyring
from bot.storage.models import Checkin, Escalation, Member, PeerGroup, Question, utcnow
from bot.storage.rotation import rotate_keys, stale_values
from bot.storage.uow import Database
from tests.conftest import TEST_SECRET_KEY, scratch_postgres

MEMBERS = 120


@pytest.fixture
def keys() -> Iterator[None]:
    """Tests here install other keys; everyone else's tests use the suite's key."""
    yield
    install_keyring(TEST_SECRET_KEY)


async def seed(db: Database) -> int:
    """Members with names and drafts, check-in notes, a question, an escalation."""
    now = utcnow()
    async with db.uow() as uow:
        group = await uow.groups.add(PeerGroup(name="Circle", invite_code="r" * 16))
        for n in range(MEMBERS):
            member = await uow.members.add(
                Member(telegram_id=5000 + n, display_name=f"name {n}", draft='{"text": "d"}')
            )
            uow.session.add(
                Checkin(member_id=member.id or 0, prompt_at=now, mood=3, note=f"note {n}")
            )
        question = await uow.questions.add(
            Question(group_id=group.id or 0, text="a question"), 5000
        )
        uow.session.add(
            Escalation(level="urgent", author_telegram_id=5001, chat_id=5001, text="help me")
        )
        await uow.commit()
        assert question.id is not None
        return question.id


async def test_rotate_key_under_live_traffic_loses_and_corrupts_nothing(
    db: Database, keys: None
) -> None:
    old = TEST_SECRET_KEY
    question_id = await seed(db)
    new = generate_key()
    install_keyring(f"{new},{old}")  # every process gets the new key first, then rotate

    names: dict[int, str] = {}
    notes = {f"note {n}" for n in range(MEMBERS)}
    stop = asyncio.Event()

    async def traffic() -> None:
        """The bot keeps renaming members and writing check-in notes meanwhile."""
        n = 0
        while not stop.is_set():
            telegram_id = 5000 + n % MEMBERS
            async with db.uow() as uow:
                member = await uow.members.by_telegram_id(telegram_id, for_update=True)
                assert member is not None and member.id is not None
                member.display_name = f"renamed {n}"
                uow.session.add(
                    Checkin(
                        member_id=member.id,
                        prompt_at=utcnow() + timedelta(seconds=n + 1),
                        mood=2,
                        note=f"live {n}",
                    )
                )
                await uow.commit()
            names[telegram_id] = f"renamed {n}"
            notes.add(f"live {n}")
            n += 1
            await asyncio.sleep(0)

    writer = asyncio.create_task(traffic())
    report = await rotate_keys(db, batch=25)
    stop.set()
    await writer
    # Names, drafts, notes and the rest: rotated, or already rewritten by the bot meanwhile.
    assert report.total + report.current >= MEMBERS * 3 + 4
    assert len(names) > 0  # the traffic really ran alongside

    again = await rotate_keys(db, batch=25)  # resumable: a second run finds nothing to do
    assert again.total == 0 and again.pseudonyms == 0

    install_keyring(new)  # the old key removed
    assert await stale_values(db) == 0
    async with db.uow(read_only=True) as uow:
        members = list((await uow.session.execute(select(Member))).scalars())
        assert len(members) == MEMBERS
        for member in members:
            expected = names.get(member.telegram_id, f"name {member.telegram_id - 5000}")
            assert member.display_name == expected
            assert member.draft == '{"text": "d"}'
        stored = {c.note for c in (await uow.session.execute(select(Checkin))).scalars()}
        assert stored == notes
        # Pseudonyms follow the newest key: her question is found by index alone.
        assert await uow.privacy.asked_question_ids(5000) == [question_id]
        (escalation,) = await uow.privacy.escalations_about(5001)
        assert escalation.text == "help me"


async def note_back(url: str) -> str | None:
    restored = Database.connect(url)
    try:
        async with restored.uow(read_only=True) as uow:
            row = (await uow.session.execute(select(Checkin))).scalars().first()
            return row.note if row is not None else None
    finally:
        await restored.dispose()


async def run(*command: str) -> None:
    """The README's backup and restore commands, as an operator runs them."""
    await asyncio.to_thread(subprocess.run, command, check=True)


async def test_a_backup_restores_and_reads_back_an_encrypted_note(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    async with db.uow() as uow:
        member = await uow.members.add(Member(telegram_id=77, display_name="Bea"))
        uow.session.add(
            Checkin(member_id=member.id or 0, prompt_at=utcnow(), mood=4, note="a quiet day")
        )
        await uow.commit()

    if database_url.startswith("sqlite"):
        # The README's online backup, taken while the bot's engine is open.
        source = sqlite3.connect(database_url.removeprefix("sqlite:///"))
        target = sqlite3.connect(tmp_path / "backup.db")
        source.backup(target)
        target.close()
        source.close()
        assert "a quiet day" not in (tmp_path / "backup.db").read_bytes().decode("latin-1")
        assert await note_back(f"sqlite:///{tmp_path / 'backup.db'}") == "a quiet day"
        return

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    dump = tmp_path / "peerbot.dump"
    await run("pg_dump", "--format=custom", f"--file={dump}", database_url)
    async with scratch_postgres("peerbot_restore") as restored:
        await run("pg_restore", "--no-owner", f"--dbname={restored}", str(dump))
        assert await note_back(restored) == "a quiet day"
