"""The fake Telegram itself: it must catch what real Telegram would refuse, so the e2e suite
can be trusted. Driven by a real python-telegram-bot `Bot` over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter

from tests.tgfake.server import FakeBotApi
from tests.tgfake.spec import load_spec

TOKEN = "123456789:AAFakeTokenForTests_abcdefghijklmnop"
pytestmark = pytest.mark.skipif(load_spec() is None, reason="Bot API spec not available")


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(TOKEN, load_spec()) as server:
        yield server


@pytest.fixture
async def bot(fake: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{fake.root_url}/bot") as client:
        yield client


async def test_valid_calls_pass(fake: FakeBotApi, bot: Bot) -> None:
    ann = fake.user("Ann")
    ann.send("/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="ob:yes")]])
    sent = await bot.send_message(
        ann.id, "<b>Hi</b> &lt;3", parse_mode="HTML", reply_markup=keyboard
    )
    assert sent.text == "Hi <3"
    assert fake.violations == []


async def _raw(fake: FakeBotApi, method: str, data: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(f"{fake.root_url}/bot{TOKEN}/{method}", data=data)


@pytest.mark.parametrize(
    ("method", "data", "problem"),
    [
        ("sendMesage", {"chat_id": "1", "text": "x"}, "does not exist"),
        ("sendMessage", {"chat_id": "1", "text": "x", "colour": "red"}, "unknown parameter"),
        ("sendMessage", {"chat_id": "1"}, "text is required"),
        ("sendMessage", {"chat_id": "1", "text": "x", "disable_notification": '"yes"'}, "Boolean"),
        ("sendMessage", {"chat_id": "1", "text": "x" * 4097}, "1-4096"),
        (
            "sendMessage",
            {"chat_id": "1", "text": "a < b", "parse_mode": "HTML"},
            "can't parse entities",
        ),
        (
            "sendMessage",
            {"chat_id": "1", "text": "<b>x</b>" + "y" * 4096, "parse_mode": "HTML"},
            "after entity parsing",
        ),
        (
            "sendMessage",
            {
                "chat_id": "1",
                "text": "x",
                "reply_markup": '{"inline_keyboard": [[{"text": "A", "callback_data": "'
                + "a" * 65
                + '"}]]}',
            },
            "1-64 bytes",
        ),
        (
            "sendMessage",
            {"chat_id": "1", "text": "x", "reply_markup": '{"inline_keyboard": [[{"text": "A"}]]}'},
            "exactly one action",
        ),
        (
            "sendMessage",
            {
                "chat_id": "1",
                "text": "x",
                "reply_markup": '{"inline_keyboard": [{"text": "A", "callback_data": "a"}]}',
            },
            "array",
        ),
    ],
)
async def test_violations_are_refused_and_recorded(
    fake: FakeBotApi, method: str, data: dict[str, str], problem: str
) -> None:
    fake.user("Ann", user_id=1).send("/start")
    response = await _raw(fake, method, data)
    assert response.status_code in (400, 404)
    assert problem in response.json()["description"]
    assert len(fake.violations) == 1
    assert problem in str(fake.violations[0])


async def test_a_140_byte_emoji_text_counts_utf16_units(fake: FakeBotApi, bot: Bot) -> None:
    fake.user("Ann", user_id=1).send("/start")
    await bot.send_message(1, "🙂" * 2048)  # 4096 UTF-16 units: allowed
    with pytest.raises(BadRequest):
        await bot.send_message(1, "🙂" * 2049)
    assert len(fake.violations) == 1


async def test_like_telegram_for_people_who_never_started_or_blocked(
    fake: FakeBotApi, bot: Bot
) -> None:
    stranger = fake.user("Stranger")
    with pytest.raises(Forbidden, match="can't initiate"):
        await bot.send_message(stranger.id, "hello")
    stranger.send("/start")
    stranger.block()
    with pytest.raises(Forbidden, match="blocked"):
        await bot.send_message(stranger.id, "hello")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.send_message(999, "hello")
    assert fake.violations == []


async def test_edits_of_unknown_or_unchanged_messages_fail(fake: FakeBotApi, bot: Bot) -> None:
    fake.user("Ann", user_id=1).send("/start")
    sent = await bot.send_message(1, "hello")
    with pytest.raises(BadRequest, match="not modified"):
        await bot.edit_message_text("hello", chat_id=1, message_id=sent.message_id)
    with pytest.raises(BadRequest, match="not found"):
        await bot.edit_message_text("x", chat_id=1, message_id=999)
    await bot.edit_message_text("changed", chat_id=1, message_id=sent.message_id)
    assert fake.sent_messages(1)[0]["text"] == "changed"


async def test_faults_look_like_telegram(fake: FakeBotApi, bot: Bot) -> None:
    fake.user("Ann", user_id=1).send("/start")
    fake.inject("429", method="sendMessage", retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(1, "x")
    assert caught.value.retry_after in (3, __import__("datetime").timedelta(seconds=3))
    fake.inject("403", method="sendMessage")
    with pytest.raises(Forbidden):
        await bot.send_message(1, "x")
    await bot.send_message(1, "x")  # faults are used up
    assert len(fake.sent_messages(1)) == 1


async def test_long_polling_confirms_by_offset_and_redelivers(fake: FakeBotApi, bot: Bot) -> None:
    ann = fake.user("Ann")
    ann.send("one")
    ann.send("two")
    first = await bot.get_updates(timeout=0)
    again = await bot.get_updates(timeout=0)  # not confirmed: delivered again
    assert [u.update_id for u in first] == [u.update_id for u in again]
    assert len(first) == 2
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert rest == ()
    ann.send("three")
    third = await bot.get_updates(offset=first[-1].update_id + 1, timeout=5)
    assert [u.message.text for u in third if u.message] == ["three"]


async def test_a_second_answer_to_the_same_button_press_is_refused(
    fake: FakeBotApi, bot: Bot
) -> None:
    ann = fake.user("Ann")
    ann.send("/start")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    await bot.send_message(ann.id, "Q?", reply_markup=keyboard)
    update = await ann.press(fake.sent_messages(ann.id)[0], "y")
    query_id = update["callback_query"]["id"]
    assert await bot.answer_callback_query(query_id)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)
