"""Refusals say what a command is and who may use it; /help and the command menus list exactly
what each role can use; text sent mid-onboarding gets the waiting question again."""

from __future__ import annotations

import re

from telegram.ext import CommandHandler

from tests.e2e.conftest import COORDINATOR_ID, BotStarter
from tests.e2e.people import coordinator_and_facilitator, invite_code_in, joins, onboard
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi

# What each role can use, written out here as the specification (not read from the bot).
MEMBER = {"start", "meetings", "checkin", "mood", "ask", "groups", "settings", "leave", "help",
          "mydata", "forget"}  # fmt: skip
FACILITATOR = MEMBER | {"newgroup", "invite", "newmeeting", "groupmood", "broadcast", "questions"}
COORDINATOR = FACILITATOR | {"grant", "revoke", "escalations", "erase"}
# Exceptions: /link is sent in a group chat (in facilitators' /help with that said, and in the
# group chats' menu, not in private menus); /skip is offered where it applies, never listed.
GROUP_CHAT_ONLY = {"link"}
CONTEXTUAL = {"skip"}
GROUP_CHAT_MENU = {"link", "help"}


def _commands_in(text: str) -> set[str]:
    return set(re.findall(r"(?<![\w/])/([a-z]+)\b", text))


def _menu(tg: FakeBotApi, scope: dict[str, object]) -> list[str]:
    return [c["command"] for c in tg.commands_for(scope)]


def _sends_photo(person: Person, caption: str) -> None:
    person._act()  # what she sees next is new
    person.user.send("", caption=caption)


async def _help(person: Person) -> str:
    await person.says("/help")
    return await person.sees("findahelpline.com")


async def test_help_and_menus_list_exactly_what_each_role_can_use(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    tg.person("Cora", user_id=COORDINATOR_ID)  # her chat exists when the bot publishes menus
    runtime = await start_bot()
    registered = {
        name
        for handlers in runtime.application.handlers.values()
        for handler in handlers
        if isinstance(handler, CommandHandler)
        for name in handler.commands
    }
    assert registered == COORDINATOR | GROUP_CHAT_ONLY | CONTEXTUAL

    cora, fay = await coordinator_and_facilitator(tg)
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    newcomer = tg.person("Nina")  # has not started: the member's commands
    for person, listed in [
        (newcomer, MEMBER),
        (ann, MEMBER),
        (fay, FACILITATOR | GROUP_CHAT_ONLY),
        (cora, COORDINATOR | GROUP_CHAT_ONLY),
    ]:
        assert _commands_in(await _help(person)) == listed, person.name
    assert set(_menu(tg, {"type": "all_private_chats"})) == MEMBER
    assert set(_menu(tg, {"type": "chat", "chat_id": fay.user.id})) == FACILITATOR
    assert set(_menu(tg, {"type": "chat", "chat_id": cora.user.id})) == COORDINATOR
    assert set(_menu(tg, {"type": "all_group_chats"})) == GROUP_CHAT_MENU
    for scope in ({"type": "all_private_chats"}, {"type": "chat", "chat_id": cora.user.id}):
        assert _menu(tg, scope)[-1] == "help"
    # A revoked facilitator is back to a member's /help and menu.
    await cora.says(f"/revoke {fay.user.id}")
    await fay.sees("no longer a facilitator")
    assert _commands_in(await _help(fay)) == MEMBER
    assert _menu(tg, {"type": "chat", "chat_id": fay.user.id}) == []


FACILITATOR_REFUSALS = {
    "newgroup": "only facilitators can create groups",
    "invite": "only a group's facilitators can share its invite link",
    "newmeeting": "Only facilitators can schedule meetings",
    "groupmood": "Only facilitators can see a group's mood trend",
    "broadcast": "Announcements are for facilitators and coordinators",
    "questions": "Only facilitators can change how a group's anonymous questions work",
}
COORDINATOR_REFUSALS = {
    "grant": "only coordinators can let members facilitate",
    "revoke": "only coordinators can take facilitation back",
    "escalations": "Only coordinators can see escalations.",
    "erase": "only coordinators can erase a member's data",
}


async def test_refusals_say_what_the_command_is_and_who_may_use_it(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    await joins(ann, "Ann", code)
    assert set(FACILITATOR_REFUSALS) == FACILITATOR - MEMBER
    assert set(COORDINATOR_REFUSALS) == COORDINATOR - FACILITATOR
    for command, refusal in FACILITATOR_REFUSALS.items():
        await ann.says(f"/{command}")
        shown = await ann.sees(refusal)
        assert "/newgroup" not in shown, command  # never a command she cannot use
    for person in (ann, fay):
        for command, refusal in COORDINATOR_REFUSALS.items():
            await person.says(f"/{command} {ann.user.id}")
            await person.sees(refusal)
    # In a group chat, /link is refused the same way.
    chat = tg.group("Circle chat")
    await tg.add_bot_to_group(chat, by=ann.user)
    await ann.says_in(chat, "/link")
    await tg.group_sees(chat, "only a group's facilitator can connect this chat")
    # A facilitator without a group yet is pointed to /newgroup, which she can use.
    await cora.says("/newmeeting")
    await cora.sees("Create one with /newgroup")
    await cora.says("/escalations")
    await cora.sees("No open escalations")


async def test_text_during_consent_asks_for_the_answer_again_and_keeps_the_invite(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    _, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Circle")
    code = invite_code_in(await fay.sees("is ready"))
    ann = tg.person("Ann")
    await ann.says(f"/start join_{code}")
    await ann.sees("Do you agree")
    await ann.says("what happens next?")
    await ann.sees("I need your answer to this: do you agree")
    _sends_photo(ann, "a photo of my cat")
    await ann.sees("I need your answer to this")
    assert not any("/start first" in m for m in ann.inbox())
    await ann.presses("I agree")  # the button on the question asked again
    await ann.sees("What name would you like")
    # A photo while her name is awaited: the name question again.
    _sends_photo(ann, "me")
    await ann.sees("What name would you like")
    await ann.says("Ann")
    await ann.sees("Which timezone")
    _sends_photo(ann, "here")
    await ann.sees("Which timezone")
    await ann.says("London")
    await ann.sees("You're all set")
    await ann.sees("You have joined Circle")


async def test_text_before_start_or_after_declining_asks_for_start(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    bo = tg.person("Bo")
    await bo.says("hello?")
    await bo.sees("Please send /start first")
    await bo.says("/start")
    await bo.presses("No, thanks")
    await bo.sees("That's completely okay")
    await bo.says("hm")
    await bo.sees("Please send /start first")
