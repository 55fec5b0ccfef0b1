"""Crisis screening: a piece of text and a language in, a level out.

    urgent   suicidal intent, a plan, means, a time; self-harm in progress; danger from
             another person; a medical emergency
    concern  passive ideation, hopelessness, self-harm urges or recent self-harm — and urgent
             language that is about the past or about someone else (lowered, never dropped)
    none     nothing found

The words live in data files (`bot/locales/lexicon/*.toml`), so people who know crisis work can
change them without touching code, and an organisation can add its own.

Matching is done on a *normalised* text, so the lexicon is written once and still matches how
people type: case, accents, Unicode look-alikes and zero-width characters, leetspeak, letters
repeated for emphasis ("dieeee") or by mistake, apostrophes, and filler words that split a
phrase ("want to just die"). Ordinary idioms ("this homework is killing me") are removed before
matching. Negation is deliberately *not* understood: "I'm not okay, I want to die" is urgent,
and when in doubt the screener errs towards a human looking.

Pure Python; no I/O except reading lexicon files when asked to. Fast enough for every message:
most text is ruled out by looking up its words before any pattern is searched (`_Phrases`).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path


class Level(IntEnum):
    NONE = 0
    CONCERN = 1
    URGENT = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Match:
    category: str
    level: Level  # after lowering for past / third-party statements
    phrase: str  # the normalised words that matched
    lowered: bool = False


@dataclass(frozen=True)
class Screening:
    level: Level
    matches: tuple[Match, ...] = ()

    @property
    def categories(self) -> list[str]:
        return sorted({m.category for m in self.matches})

    def as_dict(self) -> dict[str, object]:
        return {
            "level": self.level.label,
            "categories": self.categories,
            "matches": [
                {"category": m.category, "level": m.level.label, "text": m.phrase,
                 "lowered": m.lowered}
                for m in self.matches
            ],
        }  # fmt: skip


# ----------------------------------------------------------------------------- normalising
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"), None)
# Letters from other scripts that look like Latin ones (the common ones in evasion/typing).
_CONFUSABLES = str.maketrans(
    "аеорсухіјԁɡѕԛᴠԝхуαεορτυνκιϲ",
    "aeopcyxijdgsqvwxyaeoptuvkic",
)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a",
                       "$": "s", "!": "i", "|": "l"})  # fmt: skip
_SPLIT = re.compile(r"[.!?;\n\r]+|\s+(?:but|pero)\s+")
_NON_WORD = re.compile(r"[^a-z0-9@$!| ]+")
# A letter repeated ("dieeee" -> "die", "kill" -> "kil", the lexicon too). The lookbehind keeps
# the first letter, so the replacement is "" and `re` needs no Python call per match.
_REPEATS = re.compile(r"(?<=([a-z]))\1+")
_LEET_CHARS = re.compile(r"[0-9@$!|]")
_LETTERLESS = re.compile(r"(?<![^ ])[0-9@$!|]+(?![^ ])")  # "30", "!!!": not words, dropped
_NON_LETTER = re.compile(r"[^a-z ]+")


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
        text = _NON_LETTER.sub("", _LETTERLESS.sub("", text).translate(_LEET))
    return _REPEATS.sub("", text).split()


def clauses(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text) if part.strip()]


# ----------------------------------------------------------------------------- phrases
def _parse_phrase(phrase: str) -> tuple[str, frozenset[str] | None]:
    """A lexicon phrase to a regex over normalised words, without its leading `(?<!\\S)`, and
    words of which a text must hold one for it to match (None: no word is needed)."""
    tokens = re.findall(r"\([^)]*\)|\[[^\]]*\]|\S+", phrase)
    parts: list[str] = []
    needed: list[frozenset[str]] = []
    for token in tokens:
        if token == "*":  # noqa: S105 - lexicon syntax, not a password
            parts.append(r"\S+ ")
        elif token == "~":  # noqa: S105 - lexicon syntax, not a password
            parts.append(r"(?:\S+ ){0,3}")
        else:
            optional = token.startswith("[")
            inner = token[1:-1] if token[0] in "([" else token
            alternatives = [" ".join(normalise_words(a)) for a in inner.split("|")]
            alternatives = [a for a in alternatives if a]
            group = "(?:" + "|".join(re.escape(a) for a in alternatives) + ")"
            parts.append(f"(?:{group} )?" if optional else f"{group} ")
            if alternatives and not optional:  # matches start with a whole word: its first
                needed.append(frozenset(a.split(" ")[0] for a in alternatives))
    # Of the required parts, the one most likely to rule a text out: longer words are rarer.
    rarest = max(needed, key=lambda words: (min(map(len, words)), -len(words)), default=None)
    return "".join(parts), rarest


def compile_phrase(phrase: str) -> str:
    """A lexicon phrase to a regex over normalised words.

    Words separated by spaces; `(a|b c)` alternatives (a multi-word alternative uses spaces
    inside the parentheses); `[a|b]` optional; `*` any one word; `~` up to three words.
    """
    return r"(?<!\S)" + _parse_phrase(phrase)[0]


class _Phrases:
    """Phrases searched as one, fast.

    Two shortcuts, each giving the same answer as searching the `(?<!\\S)`-anchored patterns:
    a text with none of the words the phrases need is ruled out by one C-level set operation;
    and the search is done in `" " + text` with a leading literal space instead of the
    lookbehind, which lets `re` jump from space to space rather than try every phrase at every
    character (several times faster). A match's text then starts with that space.
    """

    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.words: frozenset[str] | None = frozenset()  # a text needs one (None: any text)
        self.scan: re.Pattern[str] | None = None

    def add(self, phrases: list[str]) -> None:
        for phrase in phrases:
            body, words = _parse_phrase(phrase)
            self.bodies.append(body)
            self.words = None if words is None or self.words is None else self.words | words
        if self.bodies:  # in order: of two phrases matching at one place, the first wins
            self.scan = re.compile(" (?:" + "|".join(f"(?:{b})" for b in self.bodies) + ")")

    def may_match(self, words: list[str]) -> bool:
        """False when no phrase can match a text made of (some of) these words."""
        return self.scan is not None and (self.words is None or not self.words.isdisjoint(words))

    def search(self, words: list[str], kept: str) -> re.Match[str] | None:
        """The first match in `kept`: some of `words`, each followed by a space."""
        if self.scan is None or (self.words is not None and self.words.isdisjoint(words)):
            return None
        return self.scan.search(" " + kept)


@dataclass
class Rule:
    category: str
    level: Level
    regex: re.Pattern[str]
    lowerable: bool  # past or third-party statements lower it to concern
    phrases: _Phrases = field(repr=False, compare=False)  # the same patterns, searched fast


@dataclass
class Lexicon:
    language: str
    version: str
    rules: list[Rule] = field(default_factory=list)
    fillers: frozenset[str] = frozenset()
    filler_phrases: re.Pattern[str] | None = None  # "kind of", "sort of"
    idioms: re.Pattern[str] | None = None
    lowering: re.Pattern[str] | None = None
    any_rule: re.Pattern[str] | None = None  # every rule in one pattern
    # The same phrases again, for fast searches (see `_Phrases`): what screening uses.
    rule_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    idiom_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    lowering_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)

    @classmethod
    def from_toml(cls, data: dict[str, object], language: str) -> Lexicon:
        lexicon = cls(language, str(data.get("version", "")))
        lexicon.extend(data)
        return lexicon

    def extend(self, data: dict[str, object]) -> None:
        """Add another file's words (an organisation's own terms) to this lexicon."""
        fillers = data.get("fillers", [])
        assert isinstance(fillers, list)
        words = [normalise_words(str(f)) for f in fillers]
        self.fillers = self.fillers | {w[0] for w in words if len(w) == 1}
        multi = [" ".join(w) for w in words if len(w) > 1]
        if multi:
            pieces = [self.filler_phrases.pattern] if self.filler_phrases is not None else []
            pieces += [r"(?<!\S)" + re.escape(p) + r"(?!\S)" for p in multi]
            self.filler_phrases = re.compile("|".join(pieces))
        for key, attr, quick in (
            ("idioms", "idioms", self.idiom_phrases),
            ("past_or_others", "lowering", self.lowering_phrases),
        ):
            phrases = data.get(key, [])
            assert isinstance(phrases, list)
            if phrases:
                current = getattr(self, attr)
                pieces = [current.pattern] if current is not None else []
                pieces += [compile_phrase(str(p)) for p in phrases]
                setattr(self, attr, re.compile("|".join(f"(?:{p})" for p in pieces)))
                quick.add([str(p) for p in phrases])
        rules = data.get("rule", [])
        assert isinstance(rules, list)
        every: list[str] = []
        for rule in rules:
            assert isinstance(rule, dict)
            level = Level[str(rule["level"]).upper()]
            patterns = [str(p) for p in rule["patterns"]]
            regex = re.compile("|".join(f"(?:{compile_phrase(p)})" for p in patterns))
            phrases = _Phrases()
            phrases.add(patterns)
            self.rules.append(Rule(str(rule["category"]), level, regex,
                                   bool(rule.get("lowerable", False)), phrases))  # fmt: skip
            every += patterns
        self.rule_phrases.add(every)
        if self.rules:
            self.any_rule = re.compile("|".join(f"(?:{r.regex.pattern})" for r in self.rules))


LEXICON_DIR = Path(__file__).resolve().parent.parent / "locales" / "lexicon"


def load_lexicons(
    directory: Path = LEXICON_DIR, extra: list[Path] | None = None
) -> dict[str, Lexicon]:
    """Every `<language>.toml` in `directory`, plus organisation files (each names its
    `language`)."""
    lexicons: dict[str, Lexicon] = {}
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as handle:
            lexicons[path.stem] = Lexicon.from_toml(tomllib.load(handle), path.stem)
    for path in extra or []:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        language = str(data.get("language", "en"))
        lexicons.setdefault(language, Lexicon(language, "")).extend(data)
    return lexicons


# ----------------------------------------------------------------------------- screening
class Screener:
    def __init__(self, lexicons: dict[str, Lexicon], default_language: str = "en") -> None:
        self.lexicons = lexicons
        self.default_language = default_language

    def screen(self, text: str, language: str | None = None) -> Screening:
        """Screen in the member's language and, because people mix languages, in the others too."""
        primary = (language or self.default_language).split("-")[0].lower()
        order = [primary] if primary in self.lexicons else []
        order += [lang for lang in self.lexicons if lang not in order]
        lexicons = [self.lexicons[lang] for lang in order]
        matches: list[Match] = []
        for clause in clauses(text):
            words = normalise_words(clause)
            if not words:
                continue
            for lexicon in lexicons:
                # Most clauses have no word that any rule needs (nearly always so for the other
                # languages): ruled out by one set operation, before building anything.
                if lexicon.rule_phrases.may_match(words):
                    matches += self._screen_clause(words, lexicon)
        if not matches:
            return Screening(Level.NONE)
        level = max(m.level for m in matches)
        return Screening(level, tuple(_unique(matches)))

    def _screen_clause(self, words: list[str], lexicon: Lexicon) -> list[Match]:
        kept = " ".join(w for w in words if w not in lexicon.fillers) + " "
        if lexicon.filler_phrases is not None:
            kept = " ".join(lexicon.filler_phrases.sub(" ", kept).split()) + " "
        if lexicon.idiom_phrases.search(words, kept) is not None:
            # Rules are tried with idioms removed, but only if one matches with them in: removing
            # one changes the text, and results must stay what they have always been.
            if lexicon.rule_phrases.search(words, kept) is None:
                return []
            assert lexicon.idioms is not None  # the same phrases
            kept = lexicon.idioms.sub(" _ ", kept)
        # (With no idiom, `kept` is unchanged: when no rule matches below, none matched before.)
        about_past_or_others: bool | None = None  # searched for only when it would lower a match
        found: list[Match] = []
        for rule in lexicon.rules:
            hit = rule.phrases.search(words, kept)
            if hit is None:
                continue
            lowered = False
            if rule.lowerable and rule.level > Level.CONCERN:
                if about_past_or_others is None:
                    about_past_or_others = lexicon.lowering_phrases.search(words, kept) is not None
                lowered = about_past_or_others
            level = Level.CONCERN if lowered else rule.level
            found.append(Match(rule.category, level, hit.group(0).strip(), lowered))
        return found


def _unique(matches: list[Match]) -> list[Match]:
    seen: set[tuple[str, str]] = set()
    unique: list[Match] = []
    for match in sorted(matches, key=lambda m: -m.level):
        if (match.category, match.phrase) not in seen:
            seen.add((match.category, match.phrase))
            unique.append(match)
    return unique


_default: Screener | None = None


def default_screener() -> Screener:
    global _default
    if _default is None:
        _default = Screener(load_lexicons())
    return _default
