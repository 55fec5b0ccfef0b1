"""The button codec: every kind round-trips; anything it did not make is refused."""

from __future__ import annotations

import itertools

import pytest

from bot.core import callbacks
from bot.core.callbacks import (
    KINDS,
    MAX_ID,
    Choice,
    Field,
    Id,
    IdOrWord,
    Kind,
    Number,
    Place,
    Stamp,
    Token,
    UserId,
    Value,
    Where,
    decode,
    encode,
    place_of,
)


def _samples(spec: Field) -> list[Value]:
    """Values of this field's form, including its extremes."""
    if isinstance(spec, Id):
        return [1, 7, 2_147_483, MAX_ID]
    if isinstance(spec, Stamp):
        return [1, 1_767_225_600, callbacks.MAX_STAMP]
    if isinstance(spec, Choice):
        return list(spec.options)
    if isinstance(spec, Number):
        return list(spec.options)
    if isinstance(spec, UserId):
        return [1, 777_000, 9_876_543_210, callbacks.MAX_USER_ID]
    if isinstance(spec, IdOrWord):
        return [*spec.words, "1", str(MAX_ID)]
    assert isinstance(spec, Token)
    if spec.pattern == callbacks.NONCE:
        return ["00000000", "0a1b2c3d", "ffffffff"]
    assert spec.pattern == callbacks.INVITE_CODE
    return [None, "AbCdEfGhIj-_0123", "-" * 16]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_kind_round_trips_within_64_bytes(kind: Kind) -> None:
    columns = [_samples(spec) for spec in kind.fields]
    for values in itertools.product(*columns):
        data = encode(kind, *values)
        assert len(data.encode()) <= 64
        decoded = decode(data)
        assert decoded is not None, data
        assert decoded.kind is kind
        assert tuple(decoded.values.values()) == values


def test_the_table_covers_the_prefixes_the_bot_has_always_sent() -> None:
    prefixes = {kind.prefix for kind in KINDS}
    assert prefixes == {"ob", "tz", "set", "lang", "grp", "mt", "rsvp", "ci", "mood", "ask", "q",
                        "bc", "esc", "priv"}  # fmt: skip
    # Data already in people's chats and in the outbox keeps its meaning.
    for data, name in [
        ("ob:yes:-", "ob:yes"), ("ob:no", "ob:no"), ("tz:z:Europe/London", "tz:z"),
        ("rsvp:12:1767225600:g", "rsvp"), ("mood:1767225600:3", "mood"), ("q:ok:5", "q:ok"),
        ("q:mod:5:0", "q:mod"), ("esc:ack:9", "esc:ack"), ("bc:g:all", "bc:g"),
        ("ci:t:weekly:6:2200", "ci:t"), ("mt:keep:0", "mt:keep"), ("lang:en", "lang"),
    ]:  # fmt: skip
        decoded = decode(data)
        assert decoded is not None and decoded.kind.name == name, data


@pytest.mark.parametrize(
    "data",
    [
        None, "", ":", "::::", "A" * 40, "' OR 1=1 --", "esc", "esc:", "esc:ack", "esc:ack:",
        "esc:ack:1:2", "esc:zap:1", "ESC:ack:1", " esc:ack:1", "esc:ack:1 ", "esc:ack:+1",
        "esc:ack:-1", "esc:ack:0", "esc:ack:00", "esc:ack:01", f"esc:ack:{2**31}",
        "esc:ack:9999999999", "esc:ack:12345678901", "esc:ack:1.0", "esc:ack:1e3",
        "esc:ack:\u00b2", "esc:ack:\u0661", "esc:ack:\uff11", "q:ok:\u00b2",
        "q:ok:99999999999999999999", "rsvp:1:\u00b2:g", "rsvp:1:1767225600:going",
        "rsvp:1:1767225600", "rsvp:1:0:g", "rsvp:1:999999999999:g", "mood:99999999999999:3",
        "mood:1767225600:6", "mood:1767225600:0", "mood:1767225600:03", "ob:yes",
        "ob:yes:short", "ob:yes:AbCdEfGhIj-_012\u00e9", "ob:yes:AbCdEfGhIj-_0123:x", "ob:no:x",
        "ob:maybe", "tz:z:Mars/Olympus_Mons", "tz:r:atlantis", "tz:other:1", "lang:xx",
        "lang:EN", "ask:send", "ask:send:ABCDEF12", "ask:send:0a1b2c3", "ask:send:0a1b2c3d0",
        "bc:g:everyone", "bc:g:0", "bc:g:", "ci:w:7", "ci:t:monthly:1:0800", "ci:t:daily:0:0801",
        "mt:d:30", "mt:r:yearly", "mt:keep", "mt:keep:1", "q:mod:1:2", "grp:link",
        "grp:link:1:1", "x" * 65, "esc:ack:1" + " " * 60, "q:ok:1\n", "q:ok:1\x00",
        "grp:link:1;DROP TABLE member",
    ],
)  # fmt: skip
def test_anything_the_bot_did_not_make_is_refused(data: str | None) -> None:
    assert decode(data) is None


@pytest.mark.parametrize(
    ("kind", "values"),
    [
        (callbacks.ESCALATION_ACK, (0,)),
        (callbacks.ESCALATION_ACK, (2**31,)),
        (callbacks.ESCALATION_ACK, ("1",)),
        (callbacks.ESCALATION_ACK, (True,)),
        (callbacks.CONSENT_YES, ("not-a-code",)),
        (callbacks.ASK_SEND, ("a:b:c:d0",)),
        (callbacks.MEETING_DURATION, (30,)),
        (callbacks.TZ_ZONE, ("Mars/Olympus_Mons",)),
        (callbacks.BROADCAST_AUDIENCE, (5,)),
        (callbacks.RSVP, (1, 0, "g")),
    ],
)
def test_encode_refuses_values_it_could_not_read_back(kind: Kind, values: tuple[Value]) -> None:
    with pytest.raises(callbacks.Refused):
        encode(kind, *values)


def test_encode_refuses_the_wrong_number_of_fields_and_undeclared_kinds() -> None:
    with pytest.raises(ValueError, match="takes 1 fields"):
        encode(callbacks.ESCALATION_ACK)
    with pytest.raises(ValueError, match="takes 1 fields"):
        encode(callbacks.ESCALATION_ACK, 1, 2)
    with pytest.raises(ValueError, match="undeclared"):
        encode(Kind("zz", "x", (), Where.ANY))


def test_decoded_fields_are_typed() -> None:
    decoded = decode("rsvp:12:1767225600:m")
    assert decoded is not None
    assert decoded.number("meeting") == 12 and decoded.text("answer") == "m"
    with pytest.raises(TypeError):
        decoded.text("meeting")
    with pytest.raises(KeyError):
        decoded.number("group")
    consent = decode("ob:yes:-")
    assert consent is not None and consent.maybe_text("invite") is None


def test_where_each_kind_may_be_pressed() -> None:
    private = place_of("private", 5, 5)
    assert private is Place.PRIVATE
    assert place_of("private", 6, 5) is Place.OTHER  # someone else's private chat
    assert place_of("group", -1, 5) is Place.GROUP
    assert place_of("supergroup", -100, 5) is Place.GROUP
    assert place_of("channel", -100, 5) is Place.OTHER
    assert place_of(None, None, 5) is Place.OTHER  # no message (an inline message)
    assert callbacks.CONSENT_YES.pressable_in(Place.PRIVATE)
    assert not callbacks.CONSENT_YES.pressable_in(Place.GROUP)
    assert not callbacks.CONSENT_YES.pressable_in(Place.OTHER)
    assert callbacks.GROUP_LINK.pressable_in(Place.GROUP)
    assert not callbacks.GROUP_LINK.pressable_in(Place.PRIVATE)
    assert not callbacks.GROUP_LINK.pressable_in(Place.OTHER)
    assert all(callbacks.ESCALATION_ACK.pressable_in(p) for p in Place)
    assert {k.name for k in KINDS if k.where is not Where.PRIVATE} == {
        "grp:link", "esc:ack", "esc:res"
    }  # fmt: skip


def test_a_press_is_accepted_only_where_its_kind_of_button_lives() -> None:
    """One check serves the intake (raw JSON) and the handlers (PTB objects) alike."""
    data = callbacks.encode(callbacks.CONSENT_NO)
    assert callbacks.accepted(data, callbacks.Place.PRIVATE) is not None
    assert callbacks.accepted(data, callbacks.Place.GROUP) is None
    assert callbacks.accepted(data, callbacks.Place.OTHER) is None
    assert callbacks.accepted("ob:maybe", callbacks.Place.PRIVATE) is None
    assert callbacks.accepted(None, callbacks.Place.PRIVATE) is None


def test_every_answer_the_bot_may_wait_for_has_a_step() -> None:
    """Typed text while the bot waits for something no step takes would be met with silence.
    (That every kind of button has one handler is checked end to end, in test_bad_input.)"""
    from telegram.ext import Application

    from bot.handlers import register_all
    from bot.handlers.steps import text_steps
    from bot.services.members import Awaiting

    application = Application.builder().token("1:not-a-real-token").build()
    register_all(application)
    assert sorted(step.awaiting for step in text_steps(application)) == sorted(Awaiting)
