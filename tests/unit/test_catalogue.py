"""The message catalogue: complete in every language, plural where it counts, compiled from
what is committed, and escaping what it is given."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.core.profile import SUPPORTED_LANGUAGES, language_from_telegram
from bot.locales import DIRECTORY, Catalogue, Markup, catalogue

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_languages_are_the_catalogues() -> None:
    assert catalogue().languages == SUPPORTED_LANGUAGES == ("en", "es")


def test_every_language_has_every_key_with_the_same_placeholders() -> None:
    texts = catalogue()
    english = texts.keys("en")
    for lang in texts.languages:
        assert texts.keys(lang) == english, lang
        for key in english:
            assert texts.placeholders(lang, key) == texts.placeholders("en", key), (lang, key)


def test_plural_texts_have_every_form_of_their_language() -> None:
    texts = catalogue()
    plural = {key for key in texts.keys("en") if texts.is_plural(key)}
    assert len(plural) >= 8
    for lang in texts.languages:
        for key in texts.keys(lang):
            forms = texts.forms(lang, key)
            if key in plural:
                assert len(forms) == texts.plural_count(lang), (lang, key)
            else:
                assert len(forms) == 1, (lang, key)
            assert all(form.strip() for form in forms), (lang, key)


def test_a_count_shown_in_a_text_has_plural_forms() -> None:
    """A count in a plain text would read "1 members": a text that shows one has forms.
    Limits (min, max, length) are never one."""
    nouns = r"(?:members?|people|persons?|hours?|minutes?|days?|check-ins?|questions?)"
    limits = {"min", "max", "length"}
    texts = catalogue()
    for key in texts.keys("en"):
        if texts.is_plural(key):
            continue
        for name in re.findall(r"\{(\w+)\}\s+(?:\w+\s+)?" + nouns + r"\b", texts.raw("en", key)):
            assert name in limits, (key, name)


@pytest.mark.parametrize(
    ("lang", "count", "expected"),
    [
        ("en", 1, "1 member who planned to come was told"),
        ("en", 0, "0 members who planned to come were told"),
        ("en", 2, "2 members who planned to come were told"),
        ("es", 1, "avisado a 1 persona que pensaba venir"),
        ("es", 0, "avisado a 0 personas que pensaban venir"),
        ("es", 2, "avisado a 2 personas que pensaban venir"),
        ("es", 1_000_000, "avisado a 1000000 personas que pensaban venir"),
    ],
)
def test_plural_forms_follow_the_language(lang: str, count: int, expected: str) -> None:
    text = catalogue().tn(lang, "meetings.cancelled", count, title="Circle", told=count)
    assert expected in text


def test_a_plural_text_takes_its_one_number_through_t() -> None:
    texts = catalogue()
    assert texts.t("en", "reminders.in_hours", hours=1) == "in 1 hour"
    assert texts.t("en", "reminders.in_hours", hours=2) == "in 2 hours"
    assert texts.t("es", "reminders.in_minutes", minutes=1) == "dentro de 1 minuto"
    assert texts.t("es", "reminders.in_minutes", minutes=5) == "dentro de 5 minutos"
    with pytest.raises(TypeError):
        texts.t("en", "meetings.cancelled", title="Circle")


def test_parameters_are_escaped() -> None:
    texts = catalogue()
    for lang in texts.languages:
        out = texts.t(lang, "onboarding.joined_group", group="<b>x</b> & <a href='y'>")
        assert "<b>x</b>" not in out
        assert "&lt;b&gt;x&lt;/b&gt; &amp; &lt;a" in out
    plural = texts.tn("es", "meetings.cancelled", 2, title="<i>", told=2)
    assert "&lt;i&gt;" in plural
    assert texts.t("en", "broadcasts.message", group="G", body=Markup("<b>ok</b>")).endswith(
        "<b>ok</b>"
    )


def test_a_leading_newline_is_kept() -> None:
    assert catalogue().t("es", "reminders.place", place="Sala 2") == "\nDónde: Sala 2"


def test_unknown_language_falls_back_to_the_default() -> None:
    texts = catalogue()
    assert texts.t("xx", "common.cancelled") == texts.t("en", "common.cancelled")
    spanish_default = Catalogue.load()
    spanish_default.set_default_language("es")
    assert spanish_default.resolve("xx") == "es"
    assert spanish_default.resolve("en") == "en"
    assert spanish_default.t("xx", "common.cancelled") == texts.t("es", "common.cancelled")
    with pytest.raises(ValueError, match="fr"):
        spanish_default.set_default_language("fr")


def test_dates_and_weekdays_are_in_the_readers_language() -> None:
    texts = catalogue()
    friday = datetime(2026, 3, 6, 9, 5, tzinfo=ZoneInfo("Europe/Madrid"))
    assert texts.moment("en", friday) == "Fri 06 Mar, 09:05"
    assert texts.moment("es", friday) == "vie 6 de mar, 09:05"
    assert texts.weekdays("en")[:2] == ("Mon", "Tue")
    assert texts.weekdays("es") == ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")


def test_language_from_telegram() -> None:
    assert language_from_telegram("es") == "es"
    assert language_from_telegram("es-MX") == "es"
    assert language_from_telegram("ES-419") == "es"
    assert language_from_telegram("en-GB") == "en"
    assert language_from_telegram("fr") == "en"
    assert language_from_telegram("fr", default="es") == "es"
    assert language_from_telegram(None, default="es") == "es"


def test_texts_use_only_telegram_html() -> None:
    allowed = {"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"}
    texts = catalogue()
    for lang in texts.languages:
        for key in texts.keys(lang):
            for form in texts.forms(lang, key):
                tags = re.findall(r"</?([a-zA-Z-]+)", form)
                assert set(tags) <= allowed, (lang, key)
                # A bare < or & that is no tag or entity would make Telegram refuse the text.
                assert not re.search(r"<(?![a-zA-Z/])|&(?![a-z]+;|#\d+;)", form), (lang, key)


def test_the_compiled_catalogues_match_their_sources() -> None:
    """The .mo files are committed (so any install runs without a build step); they must be
    what `python3 tasks.py i18n` compiles from the .po files."""
    sources = sorted(DIRECTORY.glob("*/LC_MESSAGES/messages.po"))
    assert [p.parent.parent.name for p in sources] == list(SUPPORTED_LANGUAGES)
    for source in sources:
        lang = source.parent.parent.name
        with source.open("rb") as handle:
            compiled = read_po(handle, locale=lang, domain="messages")
        fresh = io.BytesIO()
        write_mo(fresh, compiled)
        assert source.with_suffix(".mo").read_bytes() == fresh.getvalue(), (
            f"{source.with_suffix('.mo')} is out of date: run python3 tasks.py i18n"
        )


# Where the code names a text: t/tn/raw(lang, "key"), say/refuse(update, context, "key"), and
# the service errors and refusals that carry a key.
_NAMED = re.compile(
    r"""(?:\b(?:t|tn|raw)\(\s*[\w.]+,\s*|\b(?:say|refuse)\(\s*update,\s*context,\s*"""
    r"""|\b(?:Invalid|InvalidInput|NotAllowed|NotFound|ServiceError)\(\s*)"([a-z_]+\.[a-z_.]+)\""""
)


def test_every_key_the_code_names_is_in_the_catalogue() -> None:
    """A typo in a key fails here, not in front of a member."""
    keys = catalogue().keys("en")
    named = {
        (path.relative_to(ROOT).as_posix(), key)
        for path in (ROOT / "bot").rglob("*.py")
        for key in _NAMED.findall(path.read_text(encoding="utf-8"))
    }
    assert len(named) > 150
    assert {(path, key) for path, key in named if key not in keys} == set()


def test_load_from_directory(tmp_path: Path) -> None:
    from babel.messages.catalog import Catalog

    catalog = Catalog(locale="en", domain="messages")
    catalog.add("a.b", "hello {name}")
    catalog.add(("a.n", "a.n"), ("{n} thing", "{n} things"))
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "messages.mo").open("wb") as handle:
        write_mo(handle, catalog)
    texts = Catalogue.load(tmp_path)
    assert texts.languages == ("en",)
    assert texts.t("en", "a.b", name="<x>") == "hello &lt;x&gt;"
    assert texts.t("en", "a.n", n=1) == "1 thing"
    with pytest.raises(KeyError):
        texts.t("en", "a.missing")
