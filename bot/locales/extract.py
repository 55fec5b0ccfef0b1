"""`pybabel extract` reads the English catalogue as a source, beside the code (see babel.cfg).

Some keys are only built at run time (`help.lines.<command>`, `language.<code>`), so the code
alone cannot list them; the English catalogue, where every text is written first, can. Each
entry is extracted with its English text as a comment, which `pybabel update` carries into
every other language for its translators. Used by `python3 tasks.py i18n` only: Babel is a
development tool here, and nothing imports this module at run time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

# The keyword a plural entry is reported under; tasks.py gives it the spec 1,2 (msgid and
# msgid_plural), so the template keeps the entry plural.
PLURAL_KEYWORD = "catalogue_plural"


def english(
    fileobj: IO[bytes],
    keywords: Collection[str],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[tuple[int, str | None, str | tuple[str, str], list[str]]]:
    """Every key of an English `.po` file, its text as the translators' comment."""
    from babel.messages.pofile import read_po

    for message in read_po(fileobj):
        if not message.id:
            continue  # the header
        english = message.string
        shown = " | ".join(english) if isinstance(english, tuple) else english
        # A note written for translators in the English catalogue reaches every language.
        comments = [*message.user_comments, f"English: {shown}"]
        line = message.lineno or 0
        if isinstance(message.id, str):
            yield line, None, message.id, comments
        else:
            yield line, PLURAL_KEYWORD, (message.id[0], message.id[1]), comments
