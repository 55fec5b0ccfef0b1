"""What ends up in the logs, and how one slow chat affects the others."""

from __future__ import annotations

import logging

import pytest

from bot.runtime import BotRuntime
from tests.e2e.conftest import TOKEN, BotStarter
from tests.e2e.people import onboard
from tests.tgfake.server import FakeBotApi


async def test_logs_never_contain_the_token_names_or_message_text(
    tg: FakeBotApi, start_bot: BotStarter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.INFO)
    runtime = await start_bot()
    ann = tg.person("Persephone", username="persephone_k")
    await onboard(ann, "Zanzibarra")
    await ann.says("I feel very lonely tonight and nobody calls")
    await ann.sees("I only understand")
    await ann.says("/frobnicate")
    await ann.sees("don't know that command")
    await runtime.stop()

    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert logged, "the run should have logged something"
    token_secret = TOKEN.split(":", 1)[1]
    for forbidden in (
        token_secret,
        "Persephone",
        "persephone_k",
        "Zanzibarra",
        "lonely tonight",
        str(ann.user.id),
    ):
        assert forbidden not in logged, forbidden


async def test_a_slow_answer_in_one_chat_does_not_stall_another(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    ann = tg.person("Ann")
    bo = tg.person("Bo")
    # Telegram answers the bot slowly in Ann's chat only.
    tg.inject("slow", method="sendMessage", chat_id=ann.user.id, delay=3.0, times=1)
    await ann.says("/help")
    await bo.says("/help")
    await bo.sees("findahelpline.com")
    assert not any("findahelpline" in m for m in ann.inbox()), "Bo waited for Ann's slow reply"
    await ann.sees("findahelpline.com", timeout=10)


async def test_each_chat_is_answered_in_the_order_it_wrote(tg: FakeBotApi, bot: BotRuntime) -> None:
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/settings")
    await ann.presses("Change name")
    for text in ("/help", "/groups", "/frobnicate"):
        await ann.says(text)
    await ann.sees("don't know that command")
    inbox = ann.inbox()
    help_at = max(i for i, m in enumerate(inbox) if "findahelpline" in m)
    groups_at = max(i for i, m in enumerate(inbox) if "not in any group" in m)
    unknown_at = max(i for i, m in enumerate(inbox) if "don't know that command" in m)
    assert help_at < groups_at < unknown_at
