"""An organisation's own rules and crisis lines (PEERBOT_CONFIG_DIR), as members see them; and
a mistake in them stops `peerbot run` with one line naming the file and the key."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.conftest import TEST_SECRET_KEY
from tests.e2e.conftest import COORDINATOR_ID, TOKEN, BotStarter
from tests.tgfake.server import FakeBotApi

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def _config(tmp_path: Path, rules: str) -> Path:
    directory = tmp_path / "config"
    (directory / "messages").mkdir(parents=True)
    (directory / "messages" / "en.po").write_text(
        HEADER + f'msgid "onboarding.rules"\nmsgstr "{rules}"\n', encoding="utf-8"
    )
    (directory / "helplines.toml").write_text(
        '[lines]\nGB = "Riverside Trust crisis line: 0800 123 4567, day and night."\n',
        encoding="utf-8",
    )
    return directory


async def test_members_read_the_organisations_rules_and_crisis_line(
    tg: FakeBotApi, start_bot: BotStarter, tmp_path: Path
) -> None:
    rules = "<b>Riverside group rules</b>\\nWhat is shared here stays here."
    await start_bot(PEERBOT_CONFIG_DIR=_config(tmp_path, rules))
    tg.mark_started(tg.user("Cora", user_id=COORDINATOR_ID))  # she receives the alert
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Riverside group rules")
    await ann.presses("I agree")
    await ann.sees("What name would you like")
    await ann.says("Annie")
    await ann.sees("Which timezone")
    await ann.says("London")
    await ann.sees("You're all set")
    await ann.says("i want to just die tonight")
    reply = await ann.sees("glad you told us")
    assert "Riverside Trust crisis line: 0800 123 4567" in reply


async def test_a_mistake_in_the_organisations_texts_stops_the_start_with_one_line(
    tg: FakeBotApi, tmp_path: Path
) -> None:
    directory = _config(tmp_path, "Hello {member_name}")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": tg.root_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'peerbot.db'}",
        "PEERBOT_COORDINATORS": str(COORDINATOR_ID),
        "PEERBOT_SECRET_KEY": TEST_SECRET_KEY,
        "PEERBOT_CONFIG_DIR": str(directory),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    lines = [line for line in err.decode().splitlines() if line.strip()]
    assert proc.returncode == 2
    assert lines == [
        f"peerbot: PEERBOT_CONFIG_DIR: {directory / 'messages' / 'en.po'}: onboarding.rules: "
        "unknown placeholder {member_name}"
    ]
    assert "getUpdates" not in tg.arrivals
