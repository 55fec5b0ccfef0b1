"""The message catalogue: every word a person reads, per language.

One gettext catalogue per language, `bot/locales/<lang>/LC_MESSAGES/messages.po`, compiled
to `messages.mo` beside it (both committed; `python3 tasks.py i18n` extracts, updates and
compiles them with Babel, and a test fails while a `.mo` is out of date). A message's msgid is
its key (`onboarding.welcome`), so code names texts the same way in every language; English
is the source language, and the text any other language lacks.

Texts are HTML (Telegram's parse mode). Parameters are escaped here, so a name or a group
title with `<` in it can never break a message or inject formatting.

Plural texts have one form per plural category of their language (English two, Spanish
three): `tn(lang, key, count, **params)` picks the form for `count`; `t` picks it from the
text's one whole-number parameter.

Dates and weekday names come from Babel's CLDR data in each language, in the layout the
catalogue's `dates.moment` gives (a CLDR pattern, so a translator can order it).
"""

from __future__ import annotations

import gettext
import html
import string
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from bot.core.profile import DEFAULT_LANGUAGE

DIRECTORY = Path(__file__).parent
DOMAIN = "messages"
# The language every key is written in first, and the last fallback for a missing text.
SOURCE_LANGUAGE = DEFAULT_LANGUAGE


class Messages(gettext.GNUTranslations):
    """One language's compiled catalogue, read by the standard library's gettext."""

    # Filled by GNUTranslations from the .mo: key -> text, (key, form) -> text for plurals,
    # and "" -> the header.
    _catalog: dict[str | tuple[str, int], str]
    # Set by GNUTranslations from the header's Plural-Forms: a count -> its form's index.
    plural: Callable[[int], int]

    def keys(self) -> set[str]:
        return {key if isinstance(key, str) else key[0] for key in self._catalog} - {""}

    def is_plural(self, key: str) -> bool:
        return (key, 0) in self._catalog

    def text(self, key: str, count: int | None) -> str | None:
        """The text, or None when this language lacks it (or left it empty)."""
        if self.is_plural(key):
            form = self._catalog.get((key, self.plural(1 if count is None else count)))
        else:
            form = self._catalog.get(key)
        return form or None

    def forms(self, key: str) -> tuple[str, ...]:
        """Every form of a text: one for a plain text, one per plural category otherwise."""
        if not self.is_plural(key):
            text = self._catalog.get(key)
            return (text,) if text is not None else ()
        found: list[str] = []
        while (key, len(found)) in self._catalog:
            found.append(self._catalog[(key, len(found))])
        return tuple(found)

    def plural_count(self) -> int:
        """How many plural forms the language has (its header's nplurals)."""
        header = self._catalog.get("", "")
        for line in header.splitlines():
            if line.lower().startswith("plural-forms:"):
                for part in line.split(":", 1)[1].split(";"):
                    name, _, value = part.strip().partition("=")
                    if name.strip() == "nplurals":
                        return int(value)
        return 2  # gettext's own default (Germanic plural rule)


class Catalogue:
    def __init__(
        self, messages: Mapping[str, Messages], default_language: str = SOURCE_LANGUAGE
    ) -> None:
        if SOURCE_LANGUAGE not in messages:
            raise RuntimeError(f"the catalogue has no {SOURCE_LANGUAGE} texts")
        self._messages = dict(messages)
        self.languages = tuple(sorted(messages))
        self.default_language = SOURCE_LANGUAGE
        self.set_default_language(default_language)

    @classmethod
    def load(cls, directory: Path = DIRECTORY) -> Catalogue:
        """Every language that has a compiled catalogue in `directory`."""
        messages: dict[str, Messages] = {}
        for path in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.mo")):
            with path.open("rb") as handle:
                messages[path.parent.parent.name] = Messages(handle)
        return cls(messages)

    def set_default_language(self, language: str) -> None:
        """The organisation's language (PEERBOT_DEFAULT_LANGUAGE): used for anyone whose
        own language is not known or not shipped. Set once, at start."""
        if language not in self._messages:
            raise ValueError(f"no catalogue for language {language!r}")
        self.default_language = language

    def resolve(self, language: str | None) -> str:
        """`language` if the catalogue has it, else the organisation's default."""
        return language if language in self._messages else self.default_language

    def keys(self, language: str = SOURCE_LANGUAGE) -> set[str]:
        return self._messages[language].keys()

    def is_plural(self, key: str) -> bool:
        return self._messages[SOURCE_LANGUAGE].is_plural(key)

    def forms(self, language: str, key: str) -> tuple[str, ...]:
        return self._messages[language].forms(key)

    def plural_count(self, language: str) -> int:
        return self._messages[language].plural_count()

    def raw(self, language: str, key: str, count: int | None = None) -> str:
        """The unformatted text, in `language` if it has it, else the default, else English."""
        for code in (self.resolve(language), self.default_language, SOURCE_LANGUAGE):
            text = self._messages[code].text(key, count)
            if text is not None:
                return text
        raise KeyError(f"no text {key!r} in the catalogue")

    def t(self, language: str, key: str, /, **params: object) -> str:
        """The text for `key` in `language`, parameters escaped. A plural text takes its
        number from its one whole-number parameter (use `tn` to say which)."""
        count = _count_of(key, params) if self.is_plural(key) else None
        return _fill(self.raw(language, key, count), params)

    def tn(self, language: str, key: str, count: int, /, **params: object) -> str:
        """The plural text for `key` in the form `count` needs (`count` is not a parameter
        itself: pass it by its placeholder's name too, e.g. `told=count`)."""
        return _fill(self.raw(language, key, count), params)

    def moment(self, language: str, local: datetime) -> str:
        """A date and time (already in the reader's timezone) as the language writes it:
        "Fri 20 Mar, 20:00", "vie 20 de mar, 20:00"."""
        from babel.dates import format_datetime  # CLDR data, loaded on first use

        code = self.resolve(language)
        return format_datetime(local, self.raw(code, "dates.moment"), locale=code)

    def weekdays(self, language: str) -> tuple[str, ...]:
        """Short weekday names, Monday first ("Mon", "lun")."""
        from babel.dates import get_day_names

        names = get_day_names("abbreviated", context="stand-alone", locale=self.resolve(language))
        return tuple(names[day] for day in range(7))

    def override(self, language: str, key: str, forms: tuple[str, ...]) -> None:
        """Replace a text with the organisation's own (bot/locales/overrides.py checks it)."""
        catalog = self._messages[language]._catalog
        if len(forms) == 1 and not self.is_plural(key):
            catalog[key] = forms[0]
        else:
            for index, form in enumerate(forms):
                catalog[(key, index)] = form

    def placeholders(self, language: str, key: str) -> set[str]:
        """The parameters a text uses (all forms together, for a plural text)."""
        return {
            name
            for form in self.forms(language, key)
            for _, name, _, _ in string.Formatter().parse(form)
            if name
        }


def _fill(template: str, params: Mapping[str, object]) -> str:
    if not params:
        return template
    return template.format_map({name: _escape(value) for name, value in params.items()})


def _count_of(key: str, params: Mapping[str, object]) -> int:
    numbers = [v for v in params.values() if isinstance(v, int) and not isinstance(v, bool)]
    if len(numbers) != 1:
        raise TypeError(f"plural text {key!r} needs tn(): it has no single number to count by")
    return numbers[0]


def _escape(value: object) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value), quote=False)


class Markup(str):
    """Text that is already safe HTML (built from catalogue texts), passed through unescaped."""

    __slots__ = ()


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return Catalogue.load()
