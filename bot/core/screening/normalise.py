"""Normalising text for matching: the lexicon is written once and still matches how people
type: case, accents, Unicode look-alikes and zero-width characters, leetspeak, letters repeated
for emphasis ("dieeee") or by mistake, apostrophes typed as spaces; numbers become markers
("#", "##"). A message is split into clauses (sentences, and at "but"/"pero")."""

from __future__ import annotations

import re
import unicodedata

_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
# Letters from other scripts that look like Latin ones (the common ones in evasion/typing).
_CONFUSABLES = str.maketrans(
    "аеорсухіјԁɡѕԛᴠԝхуαεορτυνκιϲ",
    "aeopcyxijdgsqvwxyaeoptuvkic",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l"})  # fmt: skip
_SPLIT = re.compile(r"[.!?;\n\r]+|\s+(?:but|pero)\s+")
_PUNCTUATION = re.compile(r"[.!?;\n\r]+")
_NON_WORD = re.compile(r"[^a-z0-9@$!| ]+")
# A letter repeated three times or more, for emphasis ("dieeee" -> "die", "sooo" -> "so"; the
# lexicon too). Doubles are kept: "noose" is not "nose", nor "off" "of". The lookbehind keeps
# the first letter, so the replacement is "" and `re` needs no Python call per match.
_REPEATS = re.compile(r"(?<=([a-z]))\1\1+")
_LEET_CHARS = re.compile(r"[0-9@$!|]")
_LETTERLESS = re.compile(r"(?<![^ ])[0-9@$!|]+(?![^ ])")  # "!!!": not words, dropped
_NON_LETTER = re.compile(r"[^a-z# ]+")
# A number ("30", "11:40" -> two, "20mg", "6pm") becomes a marker word, so phrases can say
# "took ## (pills|tablets)": "#" is a number below ten, "##" ten or more. In a phrase, "#"
# matches either and "##" only the larger ones.
_NUMBER = re.compile(
    r"(?<![^ ])0*([0-9]+)(mg|ml|mcg|g|x|s|am|pm|h|hr|hrs|min|mins|k|th|st|nd|rd)?(?![^ ])"
)
NUMBER_MARKERS = frozenset({"#", "##"})
# An apostrophe typed as a space ("don t", "i m", "i ll": some keyboards, and text copied from
# where apostrophes were stripped): joined as the lexicon writes it ("dont", "im", "ill").
_SPACED_CONTRACTION = re.compile(
    r"(?<![^ ])(don|can|won|didn|doesn|isn|wasn|aren|weren|couldn|wouldn|shouldn|haven|hasn"
    r"|hadn|ain|i|you|he|she|it|we|they|that|there|what|who) (t|m|ll|d|ve|re|s)(?![^ ])"
)
# Where `_SPACED_CONTRACTION` may match: one of its endings as a word.
_CONTRACTION_HINT = re.compile(r" (?:t|m|ll|d|ve|re|s)(?: |\Z)")


def _number(match: re.Match[str]) -> str:
    marker = "#" if len(match.group(1)) == 1 else "##"
    return f"{marker} {match.group(2)}" if match.group(2) else marker


class _CombiningMarks(dict[int, int | None]):
    """A `str.translate` table that deletes combining marks, filled in as characters are seen."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        if len(self) < 4096:  # text may hold any of a million code points: stay small
            self[code] = kept
        return kept


_COMBINING = _CombiningMarks()


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFD", text).translate(_COMBINING)


def normalise_words(text: str) -> list[str]:
    if text.isascii():  # no look-alikes, accents or zero-width characters to undo
        text = text.lower().replace("'", "")
    else:
        text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).casefold()
        text = _strip_accents(text.translate(_CONFUSABLES)).replace("'", "").replace("’", "")
    # Whole-string passes rather than a Python call per word: words are split on spaces only,
    # so no substitution below reaches across two of them.
    text = _NON_WORD.sub(" ", text)
    if _LEET_CHARS.search(text) is not None:
        # Leetspeak only in words that have a letter (k1ll, d!e, $uicide); then other digits go.
        text = _NUMBER.sub(_number, text)
        text = _NON_LETTER.sub("", _LETTERLESS.sub("", text).translate(_LEET))
    text = _REPEATS.sub("", text)
    # (Rare: looked for first with one quick search.)
    if _CONTRACTION_HINT.search(text) is not None:
        text = _SPACED_CONTRACTION.sub(r"\1\2", text)
    return text.split()


def clauses(text: str) -> list[str]:
    # Most text has no "but" or "pero": split on punctuation alone, which is faster.
    split = _SPLIT if "but" in text or "pero" in text else _PUNCTUATION
    return [part for part in split.split(text) if part.strip()]


def message_words(text: str) -> list[list[str]]:
    """Each clause's normalised words, as screening (and the second stage) sees them; clauses
    with no word are left out."""
    return [words for clause in clauses(text) if (words := normalise_words(clause))]
