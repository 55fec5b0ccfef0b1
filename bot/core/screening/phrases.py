"""Lexicon phrases: their syntax checked, compiled to regexes over normalised words, and
searched as one (`_Phrases`), fast: most text is ruled out by looking up its words before any
pattern is searched."""

from __future__ import annotations

import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from bot.core.screening.normalise import normalise_words

# What compiles the patterns a screener searches with: `re.compile`, or while a screener is
# built to be kept on disk, one that also keeps each pattern's compiled form
# (`screening_cache`).
COMPILER: ContextVar[Callable[[str], re.Pattern[str]] | None] = ContextVar(
    "screening_compiler", default=None
)


def _regex(source: str) -> re.Pattern[str]:
    compiler = COMPILER.get()
    return re.compile(source) if compiler is None else compiler(source)


@dataclass(frozen=True)
class _Phrase:
    parts: tuple[str, ...]  # regex for each token
    first: tuple[str, ...]  # the first token's alternatives, if a match must start with one
    needs: frozenset[str] | None  # words of which a text must hold one (None: any text may match)
    # The other required parts' words, rarest first: a text must hold one of each, too.
    also: tuple[frozenset[str], ...] = ()


# Words in most messages: poor at ruling a text out. Only which words are looked up first
# depends on this, never a result.
_COMMON = frozenset(
    normalise_words(
        "a about all am an and are as at be been but by can do dont for from get go going got had "
        "has have he her him his i if im in is it its just know like me my no not of on or out "
        "so that the them then there they this to up was we what when will with would you your "
        "al con de del el en es esta estoy la las lo los mas mi muy para pero por que se su te "
        "un una y ya yo"
    )
)


def _rarity(word: str) -> int:
    return 0 if word in _COMMON else len(word)  # longer words are rarer


def _phrase_words(alternative: str) -> list[str]:
    """One alternative of a phrase, normalised; "#" (any number) becomes both markers."""
    variants = [""]
    for word in alternative.split():
        if word == "#":
            options = ["#", "##"]
        elif word == "##":
            options = ["##"]
        else:
            options = [" ".join(normalise_words(word))]
        variants = [f"{v} {o}".strip() for v in variants for o in options if o or v]
    return variants


def _parse_phrase(phrase: str) -> _Phrase:
    tokens = re.findall(r"\([^)]*\)|\[[^\]]*\]|\S+", phrase)
    parts: list[str] = []
    first: list[str] = []
    needed: list[frozenset[str]] = []
    for token in tokens:
        if token == "*":  # noqa: S105 - lexicon syntax, not a password
            parts.append(r"\S+ ")
        elif token == "~":  # noqa: S105 - lexicon syntax, not a password
            # A number does not count: it was left out of texts when most phrases were written.
            parts.append(r"(?:#{1,2} )?(?:\S+ ){0,3}(?:#{1,2} )?")
        else:
            optional = token.startswith("[")
            inner = token[1:-1] if token[0] in "([" else token
            alternatives = [v for a in inner.split("|") for v in _phrase_words(a)]
            alternatives = [a for a in alternatives if a]
            group = "(?:" + "|".join(re.escape(a) for a in alternatives) + ")"
            parts.append(f"(?:{group} )?" if optional else f"{group} ")
            if alternatives and not optional:
                # Whichever alternative matches, all its words are in the text: of each, the
                # rarest, to rule out the most texts.
                needed.append(frozenset(max(a.split(" "), key=_rarity) for a in alternatives))
                if len(parts) == 1:
                    first = alternatives

    # Of the required parts, the one most likely to rule a text out.
    def rarity(words: frozenset[str]) -> tuple[int, int]:
        return min(map(_rarity, words)), -len(words)

    rarest = max(needed, key=rarity, default=None)
    also = sorted({n for n in needed if n != rarest}, key=rarity, reverse=True)
    return _Phrase(tuple(parts), tuple(first), rarest, tuple(also))


class LexiconError(ValueError):
    """A lexicon phrase that could never match as written."""


def check_phrase(
    phrase: str, fillers: frozenset[str] = frozenset(), multi: tuple[str, ...] = ()
) -> None:
    """Raise `LexiconError` for a phrase that cannot do what it says: nested or unbalanced
    brackets, an empty alternative ("(a|)" is not optional: write "[a]"), or a filler word
    (fillers are removed from texts, so a phrase holding one never matches)."""
    depth = 0
    for char in phrase:
        if char in "([":
            depth += 1
            if depth > 1:
                raise LexiconError(f"nested brackets in phrase {phrase!r}")
        elif char in ")]":
            depth -= 1
            if depth < 0:
                raise LexiconError(f"unbalanced brackets in phrase {phrase!r}")
    if depth:
        raise LexiconError(f"unbalanced brackets in phrase {phrase!r}")
    for group in re.findall(r"\(([^)]*)\)", phrase):
        if any(not normalise_words(a) for a in group.split("|")):
            raise LexiconError(
                f"empty alternative in phrase {phrase!r}: write [a|b] for optional words"
            )
    for group in re.findall(r"\[([^\]]*)\]", phrase):
        if any(not normalise_words(a) for a in group.split("|")):
            raise LexiconError(f"empty alternative in phrase {phrase!r}")
    for alternative in re.split(r"[()\[\]|]", phrase):
        words = [w for w in alternative.split() if w not in ("*", "~", "#", "##")]
        normal = normalise_words(" ".join(words))
        bad = sorted({w for w in normal if w in fillers})
        bad += [f for f in multi if f" {f} " in f" {' '.join(normal)} "]
        if bad:
            raise LexiconError(
                f"phrase {phrase!r} holds filler word(s) {bad}, which are removed from texts"
            )


def compile_phrase(phrase: str) -> str:
    """A lexicon phrase to a regex over normalised words.

    Words separated by spaces; `(a|b c)` alternatives (a multi-word alternative uses spaces
    inside the parentheses); `[a|b]` optional; `*` any one word; `~` up to three words.
    """
    return r"(?<!\S)" + "".join(_parse_phrase(phrase).parts)


def _scan_pattern(phrases: list[_Phrase], start: str) -> str:
    """One regex for phrases that matches, at each place, what `(?<!\\S)`-anchored phrases tried
    in order match there, but faster: phrases are grouped by the letter they start with (in
    their order), and `re` rules out every other group by its first letter alone.

    `start` is `(?<!\\S)`, or a space for searching in `" " + text`: a literal first character
    lets `re` jump from space to space instead of trying each place.
    """
    if not all(p.first for p in phrases):  # one may start anywhere: keep the order as it is
        return start + "(?:" + "|".join("(?:" + "".join(p.parts) + ")" for p in phrases) + ")"
    by_letter: dict[str, list[str]] = {}
    for phrase in phrases:
        tails: dict[str, list[str]] = {}
        for alternative in phrase.first:  # in order: the first that leads to a match wins
            tails.setdefault(alternative[0], []).append(re.escape(alternative[1:]))
        rest = "".join(phrase.parts[1:])
        for letter, after in tails.items():
            by_letter.setdefault(letter, []).append(f"(?:(?:{'|'.join(after)}) {rest})")
    groups = [f"{letter}(?:{'|'.join(bodies)})" for letter, bodies in by_letter.items()]
    return start + "(?:" + "|".join(groups) + ")"


class _Phrases:
    """Phrases searched as one, fast, with the same answers as their `(?<!\\S)` patterns.

    A text with none of the words the phrases need is ruled out by one C-level set operation
    before any regex runs.
    """

    def __init__(self, substitute: bool = False) -> None:
        self.phrases: list[_Phrase] = []
        self.words: frozenset[str] | None = frozenset()  # a text needs one (None: any text)
        self.scan: re.Pattern[str] | None = None  # searched in " " + text
        self.substitute = substitute  # only then compile (it takes time) a pattern for `sub`
        self.anchored: re.Pattern[str] | None = None  # the same, in the text itself

    def add(self, phrases: list[str]) -> None:
        for phrase in phrases:
            parsed = _parse_phrase(phrase)
            self.phrases.append(parsed)
            needs = parsed.needs
            self.words = None if needs is None or self.words is None else self.words | needs
        if self.phrases:
            self.scan = _regex(_scan_pattern(self.phrases, " "))
            if self.substitute:
                self.anchored = _regex(_scan_pattern(self.phrases, r"(?<!\S)"))

    def search(self, words: list[str], kept: str) -> re.Match[str] | None:
        """The first match in `kept` (some of `words`, each followed by a space); its text has
        a space in front."""
        if self.scan is None or (self.words is not None and self.words.isdisjoint(words)):
            return None
        return self.scan.search(" " + kept)

    def spans(self, words: list[str], kept: str) -> list[tuple[int, int]]:
        """Where the phrases are in `" " + kept` (none if ruled out by the words)."""
        if self.scan is None or (self.words is not None and self.words.isdisjoint(words)):
            return []
        return [m.span() for m in self.scan.finditer(" " + kept)]

    def sub(self, replacement: str, kept: str) -> str:
        # Not with `scan`: a match takes the space after it, which the next one needs in front.
        assert self.anchored is not None or not self.phrases, "made without substitute=True"
        return kept if self.anchored is None else self.anchored.sub(replacement, kept)
