"""Steps people repeat across tests, written the way a person would do them."""

from __future__ import annotations

import re

from tests.e2e.conftest import COORDINATOR_ID
from tests.tgfake.people import Person
from tests.tgfake.server import FakeBotApi


async def onboard(person: Person, name: str, city: str = "London", start: str = "/start") -> None:
    """Start, agree, pick a name and a timezone."""
    await person.says(start)
    await person.presses("I agree")
    await person.sees("What name would you like")
    await person.says(name)
    await person.sees("Which timezone")
    await person.says(city)
    await person.sees("You're all set")


async def onboard_in_spanish(
    person: Person, name: str, city: str = "Madrid", start: str = "/start"
) -> None:
    """The same, for someone whose Telegram is in Spanish: every step reads in Spanish."""
    await person.says(start)
    await person.sees("Te damos la bienvenida")
    await person.sees("Normas del grupo")
    await person.sees("Tu privacidad")
    await person.presses("Acepto")
    await person.sees("¿Qué nombre quieres que vean")
    await person.says(name)
    await person.sees("¿En qué zona horaria estás?")
    await person.says(city)
    await person.sees("Ya está todo listo")


def invite_code_in(message_text: str) -> str:
    match = re.search(r"start=join_([A-Za-z0-9_-]{16})", message_text)
    assert match, f"no invite link in: {message_text!r}"
    return match.group(1)


async def coordinator_and_facilitator(tg: FakeBotApi, name: str = "Fay") -> tuple[Person, Person]:
    """A coordinator and a member they made facilitator."""
    cora = tg.person("Cora", user_id=COORDINATOR_ID)
    fay = tg.person(name)
    await onboard(cora, "Cora")
    await onboard(fay, name)
    await cora.says(f"/grant {fay.user.id}")
    await cora.sees(f"{name} can now facilitate groups")
    await fay.sees("made you a facilitator")
    return cora, fay


async def joins(person: Person, name: str, code: str) -> None:
    """Onboard through the group's invite link."""
    await onboard(person, name, start=f"/start join_{code}")
