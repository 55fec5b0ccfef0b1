"""Coordinators appoint facilitators; facilitators create and link groups; members join."""

from __future__ import annotations

from bot.runtime import BotRuntime
from tests.e2e.people import coordinator_and_facilitator, invite_code_in, onboard
from tests.tgfake.server import FakeBotApi


async def test_coordinator_grants_and_facilitator_creates_a_group(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup")
    await fay.sees("What should the new group be called")
    await fay.says("Tuesday Circle")
    created = await fay.sees("Your group Tuesday Circle is ready")
    code = invite_code_in(created)
    assert f"https://t.me/{tg.bot_username}?start=join_{code}" in created
    await fay.says("/groups")
    await fay.sees("Tuesday Circle (you facilitate)")
    # The facilitator's menu now has facilitator commands.
    names = [c["command"] for c in tg.commands_for({"type": "chat", "chat_id": fay.user.id})]
    assert "newgroup" in names and "grant" not in names


async def test_member_joins_by_invite_link_during_onboarding(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Tuesday Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    await onboard(ann, "Ann", start=f"/start join_{code}")
    await ann.sees("You have joined Tuesday Circle")
    await ann.says("/groups")
    await ann.sees("Tuesday Circle")
    # Following the link again does not add her twice.
    await ann.says(f"/start join_{code}")
    await ann.sees("already a member of Tuesday Circle")


async def test_invite_can_be_rotated_and_the_old_link_stops_working(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Tuesday Circle")
    old = invite_code_in(await fay.sees("is ready"))
    await fay.says("/invite")
    await fay.presses("Make a new link")
    new = invite_code_in(await fay.sees("New invite link"))
    assert new != old
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says(f"/start join_{old}")
    await ann.sees("isn't valid any more")
    await ann.says(f"/start join_{new}")
    await ann.sees("You have joined Tuesday Circle")


async def test_facilitator_links_a_group_chat(tg: FakeBotApi, bot: BotRuntime) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Tuesday Circle")
    await fay.sees("is ready")
    chat = tg.group("Tuesday chat")
    await tg.add_bot_to_group(chat, by=fay.user)
    await fay.says_in(chat, "/link")
    await tg.group_sees(chat, "now connected to Tuesday Circle")
    # A member cannot re-link it or link another chat.
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    other = tg.group("Other chat")
    await tg.add_bot_to_group(other, by=ann.user)
    await ann.says_in(other, "/link")
    await tg.group_sees(other, "not something you can do")


async def test_bot_removed_from_linked_chat_unlinks_and_tells_facilitator(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Tuesday Circle")
    await fay.sees("is ready")
    chat = tg.group("Tuesday chat")
    await tg.add_bot_to_group(chat, by=fay.user)
    await fay.says_in(chat, "/link")
    await tg.group_sees(chat, "now connected")
    await tg.remove_bot_from_group(chat, by=fay.user)
    await fay.sees("I was removed from the chat connected to Tuesday Circle")


async def test_grant_is_refused_for_anyone_but_a_coordinator(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await fay.says(f"/grant {ann.user.id}")
    await fay.sees("not something you can do")
    await ann.says(f"/grant {ann.user.id}")
    await ann.sees("not something you can do")
    await ann.says("/newgroup Sneaky")
    await ann.sees("not something you can do")


async def test_coordinator_revokes_facilitation(tg: FakeBotApi, bot: BotRuntime) -> None:
    cora, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    await fay.sees("is ready")
    await cora.says(f"/revoke {fay.user.id}")
    await cora.sees("Fay can no longer create groups")
    await fay.sees("no longer a facilitator")
    await fay.says("/newgroup Another")
    await fay.sees("not something you can do")
    # Nor does she still run the group she created: no announcements, no invite rotation.
    await fay.says("/broadcast")
    await fay.sees("Announcements are for facilitators and coordinators")
    await fay.says("/invite")
    await fay.sees("You don't facilitate any group")


async def test_member_leaves_a_group(tg: FakeBotApi, bot: BotRuntime) -> None:
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Tuesday Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    await onboard(ann, "Ann", start=f"/start join_{code}")
    await ann.says("/leave")
    await ann.presses("Tuesday Circle")
    await ann.sees("You have left Tuesday Circle")
    await ann.says("/groups")
    await ann.sees("not in any group yet")
    # The only facilitator cannot leave their group.
    await fay.says("/leave")
    await fay.presses("Tuesday Circle")
    await fay.sees("only facilitator")


async def test_help_shows_commands_for_the_role_and_crisis_help(
    tg: FakeBotApi, bot: BotRuntime
) -> None:
    cora, fay = await coordinator_and_facilitator(tg)
    ann = tg.person("Ann")
    await ann.says("/help")
    member_help = await ann.sees("findahelpline.com")
    assert "/newgroup" not in member_help
    await fay.says("/help")
    fac_help = await fay.sees("findahelpline.com")
    assert "/newgroup" in fac_help and "/grant" not in fac_help
    await cora.says("/help")
    assert "/grant" in await cora.sees("findahelpline.com")
