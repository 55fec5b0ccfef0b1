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

Pure Python; no I/O except reading lexicon files when asked to.
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
_REPEATS = re.compile(r"([a-z])\1+")


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _word(token: str) -> str:
    if token.isalpha() and token.isascii():  # the common case, fast
        return _REPEATS.sub(r"\1", token)
    if any(c.isalpha() for c in token) and any(not c.isalpha() for c in token):
        token = token.translate(_LEET)  # k1ll, d!e, $uicide
    token = re.sub(r"[^a-z]", "", token)
    return _REPEATS.sub(r"\1", token)  # dieeee -> die, kill -> kil (the lexicon too)


def normalise_words(text: str) -> list[str]:
    if text.isascii():  # no look-alikes, accents or zero-width characters to undo
        text = text.lower().replace("'", "")
    else:
        text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).casefold()
        text = _strip_accents(text.translate(_CONFUSABLES)).replace("'", "").replace("’", "")
    words = (_word(t) for t in _NON_WORD.sub(" ", text).split())
    return [w for w in words if w]


def clauses(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text) if part.strip()]


# ----------------------------------------------------------------------------- phrases
def compile_phrase(phrase: str) -> str:
    """A lexicon phrase to a regex over normalised words.

    Words separated by spaces; `(a|b c)` alternatives (a multi-word alternative uses spaces
    inside the parentheses); `[a|b]` optional; `*` any one word; `~` up to three words.
    """
    tokens = re.findall(r"\([^)]*\)|\[[^\]]*\]|\S+", phrase)
    parts: list[str] = []
    for token in tokens:
        if token == "*":  # noqa: S105 - lexicon syntax, not a password
            parts.append(r"\S+ ")
        elif token == "~":  # noqa: S105 - lexicon syntax, not a password
            parts.append(r"(?:\S+ ){0,3}")
        else:
            optional = token.startswith("[")
            inner = token[1:-1] if token[0] in "([" else token
            alternatives = [" ".join(normalise_words(a)) for a in inner.split("|")]
            group = "(?:" + "|".join(re.escape(a) for a in alternatives if a) + ")"
            parts.append(f"(?:{group} )?" if optional else f"{group} ")
    return r"(?<!\S)" + "".join(parts)


@dataclass
class Rule:
    category: str
    level: Level
    regex: re.Pattern[str]
    lowerable: bool  # past or third-party statements lower it to concern


@dataclass
class Lexicon:
    language: str
    version: str
    rules: list[Rule] = field(default_factory=list)
    fillers: frozenset[str] = frozenset()
    filler_phrases: re.Pattern[str] | None = None  # "kind of", "sort of"
    idioms: re.Pattern[str] | None = None
    lowering: re.Pattern[str] | None = None
    # Every rule in one pattern: most messages match none, and one search tells us so.
    any_rule: re.Pattern[str] | None = None

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
        for key, attr in (("idioms", "idioms"), ("past_or_others", "lowering")):
            phrases = data.get(key, [])
            assert isinstance(phrases, list)
            if phrases:
                current = getattr(self, attr)
                pieces = [current.pattern] if current is not None else []
                pieces += [compile_phrase(str(p)) for p in phrases]
                setattr(self, attr, re.compile("|".join(f"(?:{p})" for p in pieces)))
        rules = data.get("rule", [])
        assert isinstance(rules, list)
        for rule in rules:
            assert isinstance(rule, dict)
            level = Level[str(rule["level"]).upper()]
            patterns = "|".join(f"(?:{compile_phrase(str(p))})" for p in rule["patterns"])
            self.rules.append(
                Rule(str(rule["category"]), level, re.compile(patterns),
                     bool(rule.get("lowerable", False)))
            )  # fmt: skip
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
        matches: list[Match] = []
        for clause in clauses(text):
            words = normalise_words(clause)
            if not words:
                continue
            for lang in order:
                matches += self._screen_clause(words, self.lexicons[lang])
        level = max((m.level for m in matches), default=Level.NONE)
        return Screening(level, tuple(_unique(matches)))

    def _screen_clause(self, words: list[str], lexicon: Lexicon) -> list[Match]:
        kept = " ".join(w for w in words if w not in lexicon.fillers) + " "
        if lexicon.filler_phrases is not None:
            kept = " ".join(lexicon.filler_phrases.sub(" ", kept).split()) + " "
        if lexicon.any_rule is None or not lexicon.any_rule.search(kept):
            return []  # idioms only ever remove words: no rule matches before, none after
        if lexicon.idioms is not None:
            kept = lexicon.idioms.sub(" _ ", kept)
        about_past_or_others = bool(lexicon.lowering and lexicon.lowering.search(kept))
        found: list[Match] = []
        for rule in lexicon.rules:
            hit = rule.regex.search(kept)
            if hit is None:
                continue
            lowered = rule.lowerable and about_past_or_others and rule.level > Level.CONCERN
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
