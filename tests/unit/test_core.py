"""Pure domain rules: names, timezones, invite codes, permissions."""

from __future__ import annotations

import pytest

from bot.core.invites import code_from_start_payload, invite_link, new_invite_code
from bot.core.profile import (
    Invalid,
    clean_display_name,
    clean_group_name,
    is_valid_timezone,
    language_from_telegram,
    resolve_timezone,
)
from bot.core.roles import Actor, GroupRole, Role, may_create_group, may_grant, may_manage_group


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ann  ", "Ann"),
        ("Jo  Mai", "Jo Mai"),
        ("Zoë", "Zoë"),
        ("O'Neil-Smith", "O'Neil-Smith"),
        ("Sam 🌱", "Sam 🌱"),
        ("李小龙", "李小龙"),
    ],
)
def test_display_names_are_normalised(raw: str, expected: str) -> None:
    assert clean_display_name(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "A",
        "x" * 33,
        "<b>Ann</b>",
        "Ann\u0000",
        "Ann\u200bBo",
        "@admin",
        "/start",
        "🌱🌱",
        "a&b",
        "Ann\nBo\x07",
    ],
)
def test_bad_display_names_are_refused(raw: str) -> None:
    assert isinstance(clean_display_name(raw), Invalid)


def test_group_names() -> None:
    assert clean_group_name(" Tuesday  circle ") == "Tuesday circle"
    assert isinstance(clean_group_name("ab"), Invalid)
    assert isinstance(clean_group_name("<script>"), Invalid)


@pytest.mark.parametrize(
    ("raw", "zone"),
    [
        ("london", "Europe/London"),
        ("New York", "America/New_York"),
        ("europe/berlin", "Europe/Berlin"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
    ],
)
def test_timezones_resolve_from_city_or_name(raw: str, zone: str) -> None:
    assert resolve_timezone(raw) == zone


@pytest.mark.parametrize("raw", ["Atlantis", "", "Europe/Nowhere", "<b>", "x" * 200, "Etc/../../"])
def test_unknown_timezones_are_refused(raw: str) -> None:
    assert isinstance(resolve_timezone(raw), Invalid)


@pytest.mark.parametrize("raw", ["\u00e9" * 300, "Europe/" + "x" * 300, "a" * 5000])
def test_huge_timezone_answers_are_refused_not_crashed(raw: str) -> None:
    """A long answer made the zone file lookup fail with OSError (file name too long)."""
    assert not is_valid_timezone(raw)
    assert isinstance(resolve_timezone(raw), Invalid)


def test_language_falls_back_to_english() -> None:
    assert language_from_telegram("en-GB") == "en"
    assert language_from_telegram("xx") == "en"
    assert language_from_telegram(None) == "en"


def test_invite_codes_are_unguessable_and_parse_back() -> None:
    codes = {new_invite_code() for _ in range(1000)}
    assert len(codes) == 1000
    code = next(iter(codes))
    link = invite_link("peer_bot", code)
    assert link == f"https://t.me/peer_bot?start=join_{code}"
    payload = link.split("start=", 1)[1]
    assert len(payload) <= 64
    assert code_from_start_payload(payload) == code
    assert code_from_start_payload("join_short") is None
    assert code_from_start_payload("join_" + "a" * 15 + "!") is None
    assert code_from_start_payload(None) is None


def test_permissions() -> None:
    member = Actor(is_coordinator=False, can_facilitate=False)
    facilitator = Actor(is_coordinator=False, can_facilitate=True)
    coordinator = Actor(is_coordinator=True, can_facilitate=False)
    assert (member.role, facilitator.role, coordinator.role) == (
        Role.MEMBER,
        Role.FACILITATOR,
        Role.COORDINATOR,
    )
    assert not may_create_group(member) and may_create_group(facilitator)
    assert may_create_group(coordinator)
    assert not may_manage_group(member, GroupRole.MEMBER)
    assert not may_manage_group(facilitator, None)
    assert may_manage_group(facilitator, GroupRole.FACILITATOR)
    assert may_manage_group(coordinator, None)
    # Facilitation taken back: their old groups' facilitator role no longer counts.
    assert not may_manage_group(member, GroupRole.FACILITATOR)
    assert may_grant(coordinator) and not may_grant(facilitator)
