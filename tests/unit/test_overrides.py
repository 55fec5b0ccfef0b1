"""An organisation's own texts and crisis lines (PEERBOT_CONFIG_DIR): merged over the shipped
ones, and anything wrong in them stops the start with one line naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.helplines import shipped_helplines
from bot.locales import Catalogue
from bot.locales.overrides import OverrideError, apply_overrides

HEADER = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'


def _dir(
    tmp_path: Path, *, po: str | None = None, lang: str = "en", lines: str | None = None
) -> Path:
    if po is not None:
        (tmp_path / "messages").mkdir()
        (tmp_path / "messages" / f"{lang}.po").write_text(HEADER + po, encoding="utf-8")
    if lines is not None:
        (tmp_path / "helplines.toml").write_text(lines, encoding="utf-8")
    return tmp_path


def test_an_organisations_rules_and_lines_replace_the_shipped_ones(tmp_path: Path) -> None:
    texts = Catalogue.load()
    directory = _dir(
        tmp_path,
        po='msgid "onboarding.rules"\nmsgstr "<b>Our rules</b>\\nWhat is said here stays here."\n',
        lines='[lines]\nGB = "Our own line: 0800 000 000"\n[timezones]\n"Europe/Dublin" = "GB"\n',
    )
    lines = apply_overrides(directory, texts, shipped_helplines())
    assert texts.t("en", "onboarding.rules") == "<b>Our rules</b>\nWhat is said here stays here."
    assert texts.t("es", "onboarding.rules") != texts.t("en", "onboarding.rules")  # untouched
    assert lines.for_member("Europe/Dublin", None) == "Our own line: 0800 000 000"
    assert lines.lines["ES"] == shipped_helplines().lines["ES"]  # the rest stays


@pytest.mark.parametrize(
    ("po", "lang", "key", "problem"),
    [
        ('msgid "onboarding.nope"\nmsgstr "Hi"\n', "en", "onboarding.nope", "no such text"),
        ('msgid "onboarding.rules"\nmsgstr "Hi {name}"\n', "en", "onboarding.rules",
         "unknown placeholder {name}"),
        ('msgid "onboarding.rules"\nmsgstr "<div>Hi</div>"\n', "en", "onboarding.rules",
         "does not accept the tag <div>"),
        ('msgid "onboarding.rules"\nmsgstr "Tea & cake"\n', "en", "onboarding.rules",
         "a bare < or &"),
        ('msgid "onboarding.rules"\nmsgstr "Salut"\n', "fr", "fr", "not a shipped language"),
        ('msgid "common.days"\nmsgstr "{count} days"\n', "en", "common.days", "is plural"),
    ],
)  # fmt: skip
def test_a_wrong_text_is_named_by_file_and_key(
    tmp_path: Path, po: str, lang: str, key: str, problem: str
) -> None:
    texts = Catalogue.load()
    directory = _dir(tmp_path, po=po, lang=lang)
    with pytest.raises(OverrideError) as caught:
        apply_overrides(directory, texts, shipped_helplines())
    line = str(caught.value)
    assert f"{lang}.po: {key}: " in line and problem in line and "\n" not in line


@pytest.mark.parametrize(
    ("lines", "key"),
    [
        ('[lines]\nGB = ""\n', "lines.GB"),
        ('[lines]\nGB = "<script>x</script>"\n', "lines.GB"),
        ('[timezones]\n"Europe/Oslo" = "NO"\n', "timezones.Europe/Oslo"),
        ("[lines\n", "(file)"),
        ('[extra]\nx = "y"\n', "extra"),
    ],
)
def test_wrong_crisis_lines_are_named_by_key(tmp_path: Path, lines: str, key: str) -> None:
    directory = _dir(tmp_path, lines=lines)
    with pytest.raises(OverrideError, match=rf"helplines\.toml: {re.escape(key)}: "):
        apply_overrides(directory, Catalogue.load(), shipped_helplines())
