"""Steps people repeat across tests, written the way a person would do them."""

from __future__ import annotations

import re

from tests.tgfake.people import Person


async def onboard(person: Person, name: str, city: str = "London", start: str = "/start") -> None:
    """Start, agree, pick a name and a timezone."""
    await person.says(start)
    await person.presses("I agree")
    await person.sees("What name would you like")
    await person.says(name)
    await person.sees("Which timezone")
    await person.says(city)
    await person.sees("You're all set")


def invite_code_in(message_text: str) -> str:
    match = re.search(r"start=join_([A-Za-z0-9_-]{16})", message_text)
    assert match, f"no invite link in: {message_text!r}"
    return match.group(1)
