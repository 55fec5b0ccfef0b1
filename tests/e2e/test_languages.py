"""Each person is spoken to in their language: their choice, else their Telegram app's, else
the organisation's; coordinators read alerts in theirs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import intake
from bot.locales import catalogue
from bot.runtime import BotRuntime
from tests.e2e.conftest import COORDINATOR_ID, BotStarter, ClockAt, MovableClock
from tests.e2e.people import (
    coordinator_and_facilitator,
    invite_code_in,
    onboard,
    onboard_in_spanish,
)
from tests.tgfake.server import FakeBotApi


@pytest.fixture
def movable_clock(clock_at: ClockAt) -> MovableClock:
    return clock_at(datetime(2026, 3, 20, 9, 0, tzinfo=UTC))


@pytest.fixture(autouse=True)
def english_default_afterwards() -> Iterator[None]:
    """A bot started with another default language sets it on the shared catalogue."""
    yield
    catalogue().set_default_language("en")


async def test_a_member_whose_telegram_is_in_spanish_does_everything_in_spanish(
    tg: FakeBotApi, start_bot: BotStarter, movable_clock: MovableClock
) -> None:
    await start_bot(PEERBOT_TICK_SECONDS=0.1)
    cora, fay = await coordinator_and_facilitator(tg)
    await fay.says("/newgroup Círculo")
    code = invite_code_in(await fay.sees("is ready"))
    await fay.says("/questions")
    await fay.presses("Turn moderation off")

    lucia = tg.person("Lucía", language_code="es")
    await onboard_in_spanish(lucia, "Lucía", "Madrid", start=f"/start join_{code}")
    await lucia.sees("Te has unido a Círculo")
    await lucia.sees("Lo que puedes hacer")

    # Meetings: scheduled by an English-speaking facilitator, shown to her in Spanish.
    await fay.says("/newmeeting")
    await fay.says("Charla del martes")
    await fay.says("2026-03-24 19:00")
    await fay.presses("Every week")
    await fay.presses("60 min")
    await fay.says("/skip")
    await fay.sees("Scheduled")
    await lucia.says("/meetings")
    listed = await lucia.sees("Charla del martes")
    assert (
        "en tu hora (Europe/Madrid), 60 minutos" in listed and "Tu respuesta: todavía no" in listed
    )
    assert await lucia.toast(await lucia.presses("Voy")) == "Guardado: voy."

    # Check-ins.
    await lucia.says("/checkin")
    await lucia.sees("¿Cada cuánto quieres que te pregunte")
    await lucia.presses("Cada día")
    await lucia.presses("20:00")
    await lucia.sees("Tu próximo registro: vie 20 de mar, 20:00 (Europe/Madrid).")
    movable_clock.moment = datetime(2026, 3, 20, 19, 0, tzinfo=UTC)  # 20:00 in Madrid
    await lucia.sees("Hola, Lucía. ¿Cómo te sientes ahora mismo?")
    await lucia.presses("4")
    await lucia.sees("Gracias por contarnos cómo estás")
    await lucia.says("/skip")

    # An anonymous question.
    await lucia.says("/ask")
    await lucia.sees("Escribe tu pregunta para Círculo")
    await lucia.says("¿Cómo os organizáis los días malos?")
    await lucia.sees("Así se verá tu pregunta")
    await lucia.presses("Enviar de forma anónima")
    await lucia.sees("Gracias. Tu pregunta aparecerá en Círculo")

    # A crisis message: a warm reply in Spanish, with Spain's line; the coordinator (English
    # settings) is alerted in English.
    await lucia.says("no aguanto más, quiero morirme esta noche")
    reply = await lucia.sees("Me alegra de verdad que nos lo hayas contado")
    assert "024" in reply and "112" in reply
    alert = await cora.sees("Urgent — someone may be in danger")
    assert "Lucía" in alert and "quiero morirme" in alert
    await cora.presses("Acknowledge")
    await cora.sees("You have acknowledged escalation")

    # /help, in Spanish, ends with where to find help in a crisis.
    await lucia.says("/help")
    await lucia.sees("Si estás en peligro")
    assert not [text for text in lucia.inbox() if "Sorry" in text or "Welcome" in text]


async def test_a_spanish_speaking_coordinator_reads_alerts_in_spanish(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot()
    cora = tg.person("Cora", user_id=COORDINATOR_ID, language_code="es-AR")
    await onboard_in_spanish(cora, "Cora", "Buenos Aires")
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("i want to kill myself tonight")
    reply = await ann.sees("glad you told us")
    assert "Samaritans" in reply
    alert = await cora.sees("Urgente: alguien puede estar en peligro")
    assert "Escribió: i want to kill myself tonight" in alert
    await cora.presses("Lo atiendo")
    await cora.sees("Has confirmado que atiendes el aviso")
    await cora.sees("Lo atiende Cora")
    await cora.says("/escalations")
    await cora.sees("urgente — Ann")


async def test_a_member_can_choose_another_language(tg: FakeBotApi, start_bot: BotStarter) -> None:
    await start_bot()
    ann = tg.person("Ann")
    await onboard(ann, "Ann")
    await ann.says("/settings")
    await ann.sees("Language: English")
    await ann.presses("Change language")
    await ann.presses("Español")
    await ann.sees("Hecho: a partir de ahora te hablo en español.")
    await ann.says("/settings")
    await ann.sees("Idioma: Español")
    await ann.presses("Cambiar idioma")
    await ann.presses("English")
    await ann.sees("Done — I'll speak English with you.")


async def test_the_organisations_language_is_used_when_telegrams_is_not_shipped(
    tg: FakeBotApi, start_bot: BotStarter
) -> None:
    await start_bot(PEERBOT_DEFAULT_LANGUAGE="es")
    marie = tg.person("Marie", language_code="fr")
    await onboard_in_spanish(marie, "Marie", "Paris")
    john = tg.person("John", language_code="en-US")
    await onboard(john, "John", city="Chicago")
    await john.says("/help")
    await john.sees("If you are in danger")
    # The command menus: Spanish for everyone, English for people whose app is in English.
    menus = {
        (r.params.get("language_code"), json.dumps(r.params.get("scope"), sort_keys=True)):
            r.params["commands"]
        for r in tg.requests
        if r.method == "setMyCommands" and "commands" in r.params
    }  # fmt: skip
    private = json.dumps({"type": "all_private_chats"})
    assert _described(menus[(None, private)], "help") == "Comandos, y ayuda en una crisis"
    assert _described(menus[("en", private)], "help") == "Commands, and help in a crisis"


def _described(commands: Any, name: str) -> str:
    if isinstance(commands, str):
        commands = json.loads(commands)
    return next(c["description"] for c in commands if c["command"] == name)


async def test_the_apology_is_in_the_members_language(
    tg: FakeBotApi,
    bot: BotRuntime,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.errors_expected = True  # type: ignore[attr-defined]
    monkeypatch.setattr(intake, "RETRY_DELAYS", (0.05, 0.1))
    lucia = tg.person("Lucía", language_code="es")
    await onboard_in_spanish(lucia, "Lucía", "Madrid")
    members: Any = bot.application.bot_data.services.members

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("a bug")

    monkeypatch.setattr(members, "set_display_name", broken)
    await lucia.says("/settings")
    await lucia.presses("Cambiar nombre")
    await lucia.says("Lu")
    await lucia.sees("algo ha fallado por nuestra parte")
