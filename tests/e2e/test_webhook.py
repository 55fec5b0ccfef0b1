"""Webhook mode: Telegram posts updates; the bot answers 200 only once they are stored."""

from __future__ import annotations

import socket

import aiohttp

from tests.e2e.conftest import BotStarter
from tests.tgfake.server import FakeBotApi


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_member_is_served_over_a_webhook(tg: FakeBotApi, start_bot: BotStarter) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    await start_bot(
        WEBHOOK_URL=url,
        WEBHOOK_SECRET="s3cret-token_for-tests",
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=port,
    )
    assert not any(r.method == "getUpdates" for r in tg.requests)
    ann = tg.person("Ann")
    await ann.says("/start")
    await ann.sees("Do you agree")

    # A request without the secret token is refused and changes nothing.
    forged = {
        "update_id": 999_999,
        "message": {
            "message_id": 1,
            "date": 0,
            "chat": {"id": 5, "type": "private"},
            "from": {"id": 5, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
        },
    }
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json=forged) as response:
            assert response.status == 403
        async with session.post(
            url, json=forged, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ) as response:
            assert response.status == 403
    assert tg.sent_messages(5) == []
