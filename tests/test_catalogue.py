"""The message catalogue: complete, consistent, and escaping what it is given."""

from __future__ import annotations

import re

from bot.locales import Catalogue, catalogue


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    texts = catalogue()
    english = texts.keys("en")
    for lang in texts.languages:
        assert texts.keys(lang) == english, lang
        for key in english:
            assert texts.placeholders(lang, key) == texts.placeholders("en", key), (lang, key)


def test_parameters_are_escaped() -> None:
    texts = catalogue()
    out = texts.t("en", "onboarding.joined_group", group="<b>x</b> & <a href='y'>")
    assert "<b>x</b>" not in out
    assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a" in out


def test_unknown_language_falls_back_to_english() -> None:
    texts = catalogue()
    assert texts.t("xx", "common.cancelled") == texts.t("en", "common.cancelled")


def test_texts_use_only_telegram_html() -> None:
    allowed = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}
    for key in catalogue().keys("en"):
        tags = re.findall(r"</?([a-zA-Z-]+)", catalogue().raw("en", key))
        assert set(tags) <= allowed, key


def test_load_from_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "en.toml").write_text('[a]\nb = "hello {name}"\n', encoding="utf-8")
    texts = Catalogue.load(tmp_path)
    assert texts.t("en", "a.b", name="<x>") == "hello &lt;x&gt;"
