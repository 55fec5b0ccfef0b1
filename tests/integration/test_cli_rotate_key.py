"""`peerbot rotate-key` as an operator runs it: settings from `.env` in the working directory,
every value re-encrypted under the new key, after which the old key can go."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.storage.crypto import generate_key, install_keyring
from bot.storage.migrate import upgrade_to_head
from bot.storage.models import Member
from bot.storage.uow import Database
from tests.conftest import TEST_SECRET_KEY

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"


def _peerbot(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PEERBOT_", "DATABASE_"))}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(  # noqa: S603 - fixed arguments
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


async def test_rotate_key_from_the_working_directorys_env(tmp_path: Path) -> None:
    old, new = generate_key(), generate_key()
    url = f"sqlite:///{tmp_path / 'peerbot.db'}"
    install_keyring(old)
    db = Database.connect(url)
    try:
        await upgrade_to_head(db.engine)
        async with db.uow() as uow:
            await uow.members.add(Member(telegram_id=5, display_name="Zelda Quartermain"))
            await uow.commit()
    finally:
        await db.dispose()
        install_keyring(TEST_SECRET_KEY)
    (tmp_path / ".env").write_text(
        f"TELEGRAM_BOT_TOKEN={TOKEN}\nPEERBOT_COORDINATORS=11\nDATABASE_URL={url}\n"
        f"PEERBOT_SECRET_KEY={new},{old}\n",
        encoding="utf-8",
    )
    done = _peerbot(tmp_path, "rotate-key")
    assert done.returncode == 0, done.stderr
    assert "they can be removed" in done.stdout
    assert "Zelda" not in done.stdout + done.stderr

    # The old key is gone: everything still reads.
    install_keyring(new)
    db = Database.connect(url)
    try:
        async with db.uow() as uow:
            member = await uow.members.by_telegram_id(5)
            assert member is not None and member.display_name == "Zelda Quartermain"
    finally:
        await db.dispose()
        install_keyring(TEST_SECRET_KEY)
