"""The message catalogue: every word a person reads, per language.

Texts are HTML (Telegram's parse mode). Parameters are escaped here, so a name or a group
title with `<` in it can never break a message or inject formatting.
"""

from __future__ import annotations

import html
import string
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

from bot.core.profile import DEFAULT_LANGUAGE

_DIR = Path(__file__).parent


class Catalogue:
    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = texts
        self.languages = tuple(sorted(texts))

    @classmethod
    def load(cls, directory: Path = _DIR) -> Catalogue:
        texts: dict[str, dict[str, str]] = {}
        for path in sorted(directory.glob("*.toml")):
            with path.open("rb") as handle:
                texts[path.stem] = _flatten(tomllib.load(handle))
        if DEFAULT_LANGUAGE not in texts:
            raise RuntimeError(f"the catalogue has no {DEFAULT_LANGUAGE} texts")
        return cls(texts)

    def keys(self, language: str = DEFAULT_LANGUAGE) -> set[str]:
        return set(self._texts[language])

    def raw(self, language: str, key: str) -> str:
        texts = self._texts.get(language) or self._texts[DEFAULT_LANGUAGE]
        text = texts.get(key)
        if text is None:
            text = self._texts[DEFAULT_LANGUAGE].get(key)
        if text is None:
            raise KeyError(f"no text {key!r} in the catalogue")
        return text

    def t(self, language: str, key: str, /, **params: object) -> str:
        """The text for `key` in `language` (falling back to English), parameters escaped."""
        template = self.raw(language, key)
        if not params:
            return template.strip()
        safe = {name: _escape(value) for name, value in params.items()}
        return template.format_map(safe).strip()

    def placeholders(self, language: str, key: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(self.raw(language, key)) if name}


def _escape(value: object) -> str:
    if isinstance(value, Markup):
        return str(value)
    return html.escape(str(value), quote=False)


class Markup(str):
    """Text that is already safe HTML (built from catalogue texts), passed through unescaped."""

    __slots__ = ()


def _flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        elif isinstance(value, str):
            flat[name] = value
        else:
            raise TypeError(f"catalogue entry {name} is not text")
    return flat


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    return Catalogue.load()
