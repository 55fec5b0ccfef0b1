"""An organisation's own texts and crisis lines, merged over the shipped ones.

`PEERBOT_CONFIG_DIR` names a directory that may hold:

- `helplines.toml`: the same tables as `bot/locales/safety/helplines.toml` (`[lines]`: a
  country code, or `default`, to the text shown; `[timezones]`: a timezone to its country).
  Each entry replaces or adds to the shipped one.
- `messages/<lang>.po`: gettext entries for a shipped language whose msgid is a catalogue key
  (`onboarding.rules`, `onboarding.privacy`, `safety.member_reply` ...), the text in msgstr
  (msgstr[N] for a plural text). Only the keys given change.

Everything is checked at start, before the bot answers anyone: an unknown key or language, a
placeholder the shipped text does not have (it would fail when sent), HTML Telegram does not
accept, or a malformed file stops the bot with one line naming the file and the key.
"""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

from bot.core.helplines import Helplines
from bot.locales import Catalogue

TELEGRAM_TAGS = frozenset({"b", "i", "u", "s", "a", "code", "pre", "blockquote", "tg-spoiler"})


class OverrideError(Exception):
    """One line for the operator: which file, which key, what is wrong."""

    def __init__(self, path: Path, key: str, problem: str) -> None:
        super().__init__(f"PEERBOT_CONFIG_DIR: {path}: {key}: {problem}")


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse this text as HTML, if it would."""
    unknown = set(re.findall(r"</?([a-zA-Z-]+)", text)) - TELEGRAM_TAGS
    if unknown:
        return f"Telegram does not accept the tag <{sorted(unknown)[0]}>"
    if re.search(r"<(?![a-zA-Z/])|&(?![a-z]+;|#\d+;)", text):
        return "a bare < or & (write &lt; or &amp;)"
    return None


def apply_overrides(directory: Path, texts: Catalogue, shipped_lines: Helplines) -> Helplines:
    """Check and merge the organisation's texts into `texts`; return the crisis lines with
    theirs merged in."""
    for path in sorted((directory / "messages").glob("*.po")):
        _apply_messages(path, texts)
    lines_file = directory / "helplines.toml"
    if lines_file.exists():
        return _merge_helplines(lines_file, shipped_lines)
    return shipped_lines


def _apply_messages(path: Path, texts: Catalogue) -> None:
    from babel.messages.pofile import PoFileError, read_po  # only when there is a file

    language = path.stem
    if language not in texts.languages:
        shipped = ", ".join(texts.languages)
        raise OverrideError(path, language, f"not a shipped language ({shipped})")
    try:
        with path.open("rb") as handle:
            entries = read_po(handle, locale=language, abort_invalid=True)
    except (PoFileError, ValueError, UnicodeDecodeError) as exc:
        problem = f"not a gettext .po file: {type(exc).__name__}"
        raise OverrideError(path, "(file)", problem) from None
    for entry in entries:
        key = entry.id[0] if isinstance(entry.id, tuple | list) else entry.id
        if not key:
            continue  # the header
        if key not in texts.keys(language):
            raise OverrideError(path, key, "no such text in the catalogue")
        raw = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
        forms = tuple(str(form or "") for form in raw)
        if texts.is_plural(key) != isinstance(entry.string, tuple | list):
            kind = "plural (msgid_plural, msgstr[N])" if texts.is_plural(key) else "not plural"
            raise OverrideError(path, key, f"the shipped text is {kind}")
        if not any(forms):
            continue  # left empty: the shipped text stays
        if texts.is_plural(key) and len(forms) != texts.plural_count(language):
            raise OverrideError(path, key, f"needs {texts.plural_count(language)} plural forms")
        known = texts.placeholders(language, key) | texts.placeholders("en", key)
        for form in forms:
            used = {name for _, name, _, _ in string.Formatter().parse(form) if name}
            if used - known:
                raise OverrideError(path, key, f"unknown placeholder {{{sorted(used - known)[0]}}}")
            refused = html_problem(form)
            if refused:
                raise OverrideError(path, key, refused)
        texts.override(language, key, forms)


def _merge_helplines(path: Path, shipped: Helplines) -> Helplines:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OverrideError(path, "(file)", f"not valid TOML: {type(exc).__name__}") from None
    lines = dict(shipped.lines)
    timezones = dict(shipped.timezones)
    for table, into in (("lines", lines), ("timezones", timezones)):
        given = data.get(table, {})
        if not isinstance(given, dict):
            raise OverrideError(path, table, "must be a table of names to texts")
        for name, value in given.items():
            if not isinstance(value, str) or not value.strip():
                raise OverrideError(path, f"{table}.{name}", "must be a non-empty string")
            problem = html_problem(value) if table == "lines" else None
            if problem:
                raise OverrideError(path, f"{table}.{name}", problem)
            into[name] = value
    for zone, country in timezones.items():
        if country not in lines:
            raise OverrideError(path, f"timezones.{zone}", f"no lines for country {country!r}")
    unknown = set(data) - {"lines", "timezones"}
    if unknown:
        raise OverrideError(path, sorted(unknown)[0], "unknown table (lines, timezones)")
    return Helplines(lines, timezones)
