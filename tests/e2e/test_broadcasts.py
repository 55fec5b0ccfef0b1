"""Announcements end to end: preview, delivery within Telegram's limits, progress, cancel."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.core.consent import CONSENT_VERSION
from bot.runtime import BotRuntime
from bot.storage.models import Member, Membership
from tests.e2e.conftest import BotStarter
from tests.e2e.people import coordinator_and_facilitator, invite_code_in, joins
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi, FakeUser

ANNOUNCEMENT = "Meeting moved to Thursday <script>x</script> & bring snacks"


async def seed_members(bot: BotRuntime, tg: FakeBotApi, group: str, n: int) -> list[FakeUser]:
    """Many members who joined earlier (faster than walking each through onboarding)."""
    db = bot.application.bot_data.database
    assert db is not None
    users = [tg.user(f"M{i}", user_id=8_000_000 + i) for i in range(n)]
    async with db.uow() as uow:
        group_id = next(g.id for g in await uow.groups.all() if g.name == group)
        assert group_id is not None
        for user in users:
            tg.mark_started(user)
            member = await uow.members.add(
                Member(telegram_id=user.id, display_name=user.first_name, timezone="UTC",
                       step="done", consent_version=CONSENT_VERSION,
                       consent_at=datetime.now(UTC))
            )  # fmt: skip
            assert member.id is not None
            await uow.memberships.add(Membership(group_id=group_id, member_id=member.id))
        await uow.commit()
    return users


def received(tg: FakeBotApi, users: list[FakeUser]) -> int:
    return sum(
        any("Announcement — Circle" in m.get("text", "") for m in tg.sent_messages(u.id))
        for u in users
    )


async def writes_announcement(fay: Person, text: str = ANNOUNCEMENT) -> None:
    await fay.says("/broadcast")
    await fay.sees("Write the announcement for Circle")
    start = text.index("Thursday")
    fay.user.send(text, entities=[{"type": "bold", "offset": start, "length": 8}])


async def test_a_large_broadcast_shows_progress_skips_leavers_and_counts_the_blocked(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    bot = await start_bot(PEERBOT_TICK_SECONDS=0.2)
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann, leo = tg.person("Ann"), tg.person("Leo")
    await joins(ann, "Ann", code)
    await joins(leo, "Leo", code)
    await leo.says("/leave")
    await leo.presses("Circle")
    await leo.sees("You have left Circle")
    crowd = await seed_members(bot, tg, "Circle", 90)
    crowd[45].block()
    tg.enforce_flood_limits(True)

    await writes_announcement(fay)
    await fay.sees("exactly as 91 members of Circle will see it")
    preview = await fay.sees("Announcement — Circle")
    assert ANNOUNCEMENT in preview
    raw = [
        r for r in tg.requests if r.method == "sendMessage" and "Announcement" in r.params["text"]
    ]
    assert "<b>Thursday</b>" in raw[-1].params["text"]
    assert "&lt;script&gt;" in raw[-1].params["text"]

    await fay.presses("Send to 91")
    await fay.sees("Sending your announcement")
    await fay.sees(lambda s: bool(re.search(r"\b([1-9]\d?) of 91 done so far", s)), timeout=10)
    done = await fay.sees("Your announcement has been sent", timeout=30)
    assert "Delivered: 90 of 91" in done
    assert "Could not be reached (blocked the bot or left Telegram): 1" in done
    assert "Failed: 0" in done
    await ann.sees("Meeting moved to Thursday <script>x</script> & bring snacks")
    assert received(tg, [leo.user]) == 0
    assert received(tg, crowd) == 89
    # No announcement met a 429 (replies to Fay may be throttled and retried; they are hers).
    recipients = {u.id for u in crowd} | {ann.user.id}
    assert [r for r in tg.flood_429s if r.params.get("chat_id") in recipients] == []
    # The status message lost its Cancel button when the send finished.
    status = [m for m in tg.sent_messages(fay.user.id) if "announcement has been sent" in m["text"]]
    assert "reply_markup" not in status[-1] or not status[-1]["reply_markup"]


async def test_a_broadcast_can_be_cancelled_mid_way(tg: FakeBotApi, start_bot: BotStarter) -> None:
    bot = await start_bot(PEERBOT_TICK_SECONDS=0.2)
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    await fay.sees("is ready")
    crowd = await seed_members(bot, tg, "Circle", 150)
    tg.enforce_flood_limits(True)
    await writes_announcement(fay)
    await fay.presses("Send to 150")
    await fay.sees(lambda s: bool(re.search(r"\b\d{2} of 150 done so far", s)), timeout=10)
    await fay.presses("Cancel sending")
    final = await fay.sees(lambda s: "Sending cancelled" in s and _adds_up(s, 150), timeout=10)
    delivered = int(re.search(r"Delivered before you cancelled: (\d+)", final)[1])  # type: ignore[index]
    assert 10 <= delivered < 140
    assert received(tg, crowd) == delivered
    # Nothing more goes out after the cancel.
    await fay.says("/help")
    await fay.sees("Commands")
    assert received(tg, crowd) == delivered


def _adds_up(text: str, total: int) -> bool:
    delivered = re.search(r"Delivered before you cancelled: (\d+) of", text)
    not_sent = re.search(r"Not sent: (\d+)", text)
    return bool(delivered and not_sent and int(delivered[1]) + int(not_sent[1]) == total)


async def test_only_facilitators_and_coordinators_broadcast_and_only_authors_cancel(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    bot = await start_bot(PEERBOT_TICK_SECONDS=0.2)
    cora, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    await joins(ann, "Ann", code)
    await ann.says("/broadcast")
    await ann.sees("Announcements are for facilitators and coordinators")
    crowd = await seed_members(bot, tg, "Circle", 40)
    tg.enforce_flood_limits(True)
    await writes_announcement(fay)
    await fay.presses("Send to 41")
    await fay.sees("Sending your announcement")
    status = next(m for m in tg.sent_messages(fay.user.id) if "Sending your" in m["text"])
    cancel = status["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await ann.user.press(tg.sent_messages(ann.user.id)[-1], cancel)  # a forged press
    await ann.sees("no longer active")
    done = await fay.sees("Your announcement has been sent", timeout=30)
    assert "Delivered: 41 of 41" in done
    assert received(tg, crowd) == 40
    # A coordinator may announce to everyone.
    await cora.says("/broadcast")
    await cora.presses("Everyone")
    await cora.sees("Write the announcement for Everyone")


async def test_a_tiny_broadcast_ends_with_its_final_count(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    """Delivered before the status message exists: the status still ends on the final count."""
    await start_bot()
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    await joins(ann, "Ann", code)
    await writes_announcement(fay)
    await fay.presses("Send to 1")
    await ann.sees("Meeting moved to Thursday")
    done = await fay.sees("Your announcement has been sent", timeout=10)
    assert "Delivered: 1 of 1" in done
