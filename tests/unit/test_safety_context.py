"""A short reply read together with the member's own concern just before it (pure)."""

from __future__ import annotations

import pytest

from bot.core.safety_context import is_short_reply, screen_with_context
from bot.core.screening import Level, Screener, load_lexicons

SCREENER = Screener(load_lexicons())  # phrases only: what these replies mean is the rule's


def test_a_reply_is_short_up_to_six_words() -> None:
    assert is_short_reply("yes") and is_short_reply("I have them here")
    assert not is_short_reply("yes, and I have been thinking about it all week")
    assert not is_short_reply("   ")


@pytest.mark.parametrize(
    ("earlier", "reply", "lang"),
    [
        ("i have been thinking about suicide", "yes", "en"),
        ("i have been thinking about suicide", "I have them here", "en"),
        ("i don't want to be here anymore", "tonight", "en"),
        ("a veces no quiero despertar", "sí", "es"),
        ("a veces no quiero despertar", "las tengo aquí", "es"),
    ],
)
def test_an_affirming_reply_after_the_members_own_thoughts_of_dying_is_urgent(
    earlier: str, reply: str, lang: str
) -> None:
    assert SCREENER.screen(earlier, lang).level is Level.CONCERN
    assert SCREENER.screen(reply, lang).level is Level.NONE
    assert screen_with_context(SCREENER, earlier, reply, lang).level is Level.URGENT


@pytest.mark.parametrize(
    ("earlier", "reply"),
    [
        ("i have been thinking about suicide", "no, not really"),  # it says no
        ("i have been thinking about suicide", "ok thanks"),  # affirms nothing
        ("do you ever feel like ending it all", "yes"),  # asked of someone else
        ("i feel hopeless", "yes"),  # no thought of dying or self-harm
    ],
)
def test_other_replies_are_no_more_than_the_concern(earlier: str, reply: str) -> None:
    assert screen_with_context(SCREENER, earlier, reply, "en").level is not Level.URGENT
