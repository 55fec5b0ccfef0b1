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
and when in doubt the screener errs towards a human looking. Only a few unmistakable markers in
the same clause (a joke, a film, a game, a dream, "i'd never do it", the phrase itself denied
("i don't want to die"), hyperbole about a cause ("this song makes me want to die"):
`softeners`) lower an urgent match, to concern and never to none, and not when the message says
it is meant or names a time that is now (near the match: a few clauses either side). Lowering
says why (`Match.reason`): the past, someone else (undone when the message says it is happening
now), or such a marker. Someone else is a phrase near the match ("my friend said"), a subject
just before it that is not the writer ("if you commit suicide", "do you want to die"), or words
for suicide itself with no writer named ("no one should commit suicide"); see `subjects` and
`topics` in the lexicons.

The learned second stage (`screening_model`) may raise what the lexicon found; what it raises
alone, on a message with no lexicon match and no risk cue word (`cues`), goes to review, not a
page, unless its score is above what ordinary text of any kind scores (`LinearScore.alone`).

Pure Python; no I/O except reading lexicon files when asked to (and `default_screener`, which
keeps what it built on disk: `screening_cache`). Fast enough for every message: most text is
ruled out by looking up its words before any pattern is searched (`_Phrases`).
"""

from __future__ import annotations

import functools
import re
import tomllib
import unicodedata
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path

from bot.core.screening_model import LearnedStage


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
    # Why it was lowered: "past", "others" (someone else), "soft" (a joke, a film, a dream, "i'd
    # never", "makes me want to die"), "no_cue" (the learned stage alone, on a message with no
    # risk cue: review, not a page); "" if it was not.
    reason: str = ""
    # Found by the learned second stage rather than a lexicon phrase: `phrase` then holds the
    # words that weighed most.
    learned: bool = False


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
                 "lowered": m.lowered, "learned": m.learned}
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
_CONTRACTION_ENDS = (" t", " m", " ll", " d", " ve", " re", " s")
_CONTRACTION_TAILS = tuple(f"{tail} " for tail in _CONTRACTION_ENDS)


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
    # (Rare: looked for with plain substring tests, much faster than any regex search.)
    if any(tail in text for tail in _CONTRACTION_TAILS) or text.endswith(_CONTRACTION_ENDS):
        text = _SPACED_CONTRACTION.sub(r"\1\2", text)
    return text.split()


def clauses(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text) if part.strip()]


# ----------------------------------------------------------------------------- phrases
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
    rarest = max(needed, key=lambda words: (min(map(_rarity, words)), -len(words)), default=None)
    return _Phrase(tuple(parts), tuple(first), rarest)


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


@dataclass
class Rule:
    category: str
    level: Level
    source: str  # `regex`, compiled only when asked for
    lowerable: bool  # past or third-party statements lower it to concern
    phrases: _Phrases = field(repr=False, compare=False)  # the same patterns, searched fast
    # Whether a statement about someone else lowers it too (not for a medical emergency: one
    # happening to the person next to the writer is as urgent as one happening to the writer).
    others_lowerable: bool = True

    @functools.cached_property
    def regex(self) -> re.Pattern[str]:
        """The rule's patterns (`compile_phrase`) as one regex: what `phrases` must always
        answer like. Screening never needs it, so a screener is built without compiling it."""
        return re.compile(self.source)


_WordGroup = tuple[frozenset[str], tuple[str, ...]]  # single words; " multi word " items


def _word_group(items: object) -> _WordGroup:
    assert isinstance(items, list)
    single: set[str] = set()
    multi: list[str] = []
    for item in items:
        variants = _phrase_words(str(item))
        for words in variants:
            if " " in words:
                multi.append(f" {words} ")
            elif words:
                single.add(words)
    return frozenset(single), tuple(multi)


def _has(group: _WordGroup, words: set[str], text: str) -> str | None:
    """The first item of `group` found in `words` (as a set) or `text` (the same, spaced)."""
    found = group[0].intersection(words)
    if found:
        return min(found)
    return next((item.strip() for item in group[1] if item in text), None)


@dataclass(frozen=True)
class Combination:
    """A second stage for what phrases miss: a word from each group anywhere in a clause (or,
    with `scope = "message"`, anywhere in the message), and none of the `unless` words."""

    category: str
    level: Level
    lowerable: bool
    others_lowerable: bool
    per_clause: bool
    groups: tuple[_WordGroup, ...]
    unless: _WordGroup
    first: frozenset[str] | None  # a text needs one of these (None: not known)
    # For each group, words of which a text needs one (a multi-word item: its rarest word).
    needs: tuple[frozenset[str], ...] = ()

    @classmethod
    def from_toml(cls, data: dict[str, object]) -> Combination:
        groups = data["all"]
        assert isinstance(groups, list) and groups
        parsed = tuple(_word_group(g) for g in groups)
        scope = str(data.get("scope", "clause"))
        if scope not in ("clause", "message"):
            raise LexiconError(f"combination scope must be clause or message, not {scope!r}")
        # The group most likely to rule a text out: no common words, then the fewest words.
        first = min(
            (g[0] | {max(m.split(), key=_rarity) for m in g[1]} for g in parsed),
            key=lambda words: (not _COMMON.isdisjoint(words), len(words)),
            default=None,
        )
        needs = tuple(
            sorted(
                (g[0] | {max(m.split(), key=_rarity) for m in g[1]} for g in parsed),
                key=lambda words: (not _COMMON.isdisjoint(words), len(words)),
            )
        )
        lowerable = bool(data.get("lowerable", True))
        return cls(str(data["category"]), Level[str(data["level"]).upper()], lowerable,
                   bool(data.get("others_lowerable", lowerable)), scope == "clause", parsed,
                   _word_group(data.get("unless", [])), first, needs)  # fmt: skip

    def possible(self, words: set[str]) -> bool:
        """Whether `words` (all of a message's) hold a word for every group: if not, the
        combination cannot match, and is not searched."""
        for need in self.needs:  # noqa: SIM110 - a loop, not all(...): runs for most messages
            if need.isdisjoint(words):
                return False
        return True

    def search(self, words: set[str], text: str) -> str | None:
        """What was found, or None. `text` is the words joined, with a space either side."""
        found = []
        for group in self.groups:
            item = _has(group, words, text)
            if item is None:
                return None
            found.append(item)
        if _has(self.unless, words, text) is not None:
            return None
        return " + ".join(found)


@dataclass
class Lexicon:
    language: str
    version: str
    rules: list[Rule] = field(default_factory=list)
    fillers: frozenset[str] = frozenset()
    multi_fillers: tuple[str, ...] = ()
    filler_phrases: re.Pattern[str] | None = None  # "kind of", "sort of"
    # The idioms and the past-or-others phrases as one regex each (`idioms`, `lowering`):
    # the slow form of `idiom_phrases` and `lowering_phrases`, compiled only when asked for.
    idioms_source: str | None = None
    lowering_source: str | None = None
    # A text needs one of these words for any rule to match (None: any text may match).
    rule_words: frozenset[str] | None = frozenset()
    combinations: list[Combination] = field(default_factory=list)
    # A word to the combinations (their places in `combinations`) whose rarest group holds it:
    # most messages have none, and are ruled out by looking up their words.
    combination_index: dict[str, list[int]] = field(default_factory=dict, repr=False)
    # The same for rules: a word to the rules (their places in `rules`) that need it, and the
    # rules any text may match. A clause is searched only with the rules its words allow.
    rule_index: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False)
    open_rules: frozenset[int] = frozenset()
    # The two indexes' words, as sets: a text's words are intersected with them in C.
    rule_keys: frozenset[str] = frozenset()
    combination_keys: frozenset[str] = frozenset()
    # The phrases above again, for fast searches (see `_Phrases`): what screening uses.
    idiom_phrases: _Phrases = field(
        default_factory=lambda: _Phrases(substitute=True), repr=False, compare=False
    )
    lowering_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    # Someone else ("my friend said"): lowers, unless the message also says it is happening
    # now (`imminent`: "tonight", "not answering").
    others_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    imminent_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    # A joke, a film, a dream, "i'd never": lowers any urgent match in the clause to concern
    # (never to none), unless the message says it is meant (`serious`: "not joking").
    softener_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    serious_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)
    # Who does it: the nearest of these words just before an urgent match about the writer
    # (`others_lowerable` rules) says whether the writer is its subject ("i", "me") or someone
    # else ("if you commit suicide", "do you want to die", "anyone committing suicide").
    self_subjects: frozenset[str] = frozenset()
    other_subjects: frozenset[str] = frozenset()
    # Words a coordinator can see as a risk cue ("pills", "tonight", "goodbye"): the learned
    # stage alone pages only for a message holding one (else it goes to review).
    cues: frozenset[str] = frozenset()
    # Words for the subject itself ("commit suicide", "suicidal thoughts"): a match on one of
    # these is the writer's only with the writer named before it in its clause ("i", "my");
    # otherwise it is talk about suicide ("no one should commit suicide"), lowered like `others`.
    topic_phrases: _Phrases = field(default_factory=_Phrases, repr=False, compare=False)

    @property
    def idioms(self) -> re.Pattern[str] | None:
        # (`re` keeps what it compiled: asking again costs a look-up.)
        return None if self.idioms_source is None else re.compile(self.idioms_source)

    @property
    def lowering(self) -> re.Pattern[str] | None:
        return None if self.lowering_source is None else re.compile(self.lowering_source)

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
        self.multi_fillers = self.multi_fillers + tuple(multi)
        to_check: list[object] = []
        # (`imminent`, `softeners` and `serious` are searched with fillers kept: "lol" says it.)
        for key in ("idioms", "past_or_others", "others"):
            listed = data.get(key, [])
            assert isinstance(listed, list)
            to_check += listed
        listed_rules = data.get("rule", [])
        assert isinstance(listed_rules, list)
        for rule in listed_rules:
            assert isinstance(rule, dict)
            to_check += list(rule["patterns"])
        for phrase in to_check:
            self._check(str(phrase))
        combinations = data.get("combination", [])
        assert isinstance(combinations, list)
        for combination in combinations:
            assert isinstance(combination, dict)
            made = Combination.from_toml(combination)
            for word in made.needs[0]:
                self.combination_index.setdefault(word, []).append(len(self.combinations))
            self.combinations.append(made)
        if multi:
            pieces = [self.filler_phrases.pattern] if self.filler_phrases is not None else []
            pieces += [r"(?<!\S)" + re.escape(p) + r"(?!\S)" for p in multi]
            self.filler_phrases = _regex("|".join(pieces))
        cues = data.get("cues", [])
        assert isinstance(cues, list)
        self.cues = self.cues | {w for item in cues for w in normalise_words(str(item))}
        subjects = data.get("subjects", {})
        assert isinstance(subjects, dict)
        for key, attr in (("self", "self_subjects"), ("other", "other_subjects")):
            listed = subjects.get(key, [])
            assert isinstance(listed, list)
            named = {w for item in listed for w in normalise_words(str(item))}
            setattr(self, attr, getattr(self, attr) | named)
        for key, quick in (
            ("topics", self.topic_phrases),
            ("others", self.others_phrases),
            ("imminent", self.imminent_phrases),
            ("softeners", self.softener_phrases),
            ("serious", self.serious_phrases),
        ):
            listed = data.get(key, [])
            assert isinstance(listed, list)
            if listed:
                quick.add([str(p) for p in listed])
        for key, attr, quick in (
            ("idioms", "idioms_source", self.idiom_phrases),
            ("past_or_others", "lowering_source", self.lowering_phrases),
        ):
            phrases = data.get(key, [])
            assert isinstance(phrases, list)
            if phrases:
                current = getattr(self, attr)
                pieces = [current] if current is not None else []
                pieces += [compile_phrase(str(p)) for p in phrases]
                setattr(self, attr, "|".join(f"(?:{p})" for p in pieces))
                quick.add([str(p) for p in phrases])
        rules = data.get("rule", [])
        assert isinstance(rules, list)
        for rule in rules:
            assert isinstance(rule, dict)
            level = Level[str(rule["level"]).upper()]
            patterns = [str(p) for p in rule["patterns"]]
            source = "|".join(f"(?:{compile_phrase(p)})" for p in patterns)
            phrases = _Phrases()
            phrases.add(patterns)
            lowerable = bool(rule.get("lowerable", False))
            self.rules.append(Rule(str(rule["category"]), level, source, lowerable, phrases,
                                   bool(rule.get("others_lowerable", lowerable))))  # fmt: skip
            if self.rule_words is not None:
                self.rule_words = None if phrases.words is None else self.rule_words | phrases.words
        index: dict[str, list[int]] = {}
        open_rules: set[int] = set()
        for place, listed_rule in enumerate(self.rules):
            if listed_rule.phrases.scan is None:
                continue
            if listed_rule.phrases.words is None:
                open_rules.add(place)
                continue
            for word in listed_rule.phrases.words:
                index.setdefault(word, []).append(place)
        self.rule_index = {word: tuple(places) for word, places in index.items()}
        self.rule_keys = frozenset(self.rule_index)
        self.combination_keys = frozenset(self.combination_index)
        self.open_rules = frozenset(open_rules)

    def candidate_rules(self, words: list[str]) -> list[Rule]:
        """The rules, in order, that `words` do not rule out (the others cannot match)."""
        places = set(self.open_rules)
        index = self.rule_index
        for word in self.rule_keys.intersection(words):  # (the intersection is done in C)
            places.update(index[word])
        rules = self.rules
        return [rules[i] for i in sorted(places)]

    def _check(self, phrase: str) -> None:
        try:
            check_phrase(phrase, self.fillers, self.multi_fillers)
        except LexiconError as error:
            raise LexiconError(f"{self.language} lexicon: {error}") from None


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
    def __init__(
        self,
        lexicons: dict[str, Lexicon],
        default_language: str = "en",
        learned: LearnedStage | None = None,
    ) -> None:
        self.lexicons = lexicons
        self.default_language = default_language
        self.learned = learned  # a second stage that may raise the level, never lower it
        # The lexicons in the order to try them, for each language asked for (few: kept).
        self._orders: dict[str | None, list[Lexicon]] = {}

    def _order(self, language: str | None) -> list[Lexicon]:
        lexicons = self._orders.get(language)
        if lexicons is None:
            primary = (language or self.default_language).split("-")[0].lower()
            order = [primary] if primary in self.lexicons else []
            order += [lang for lang in self.lexicons if lang not in order]
            lexicons = [self.lexicons[lang] for lang in order]
            if len(self._orders) < 256:  # any string may come in: stay small
                self._orders[language] = lexicons
        return lexicons

    def screen(self, text: str, language: str | None = None) -> Screening:
        """Screen in the member's language and, because people mix languages, in the others too."""
        lexicons = self._order(language)
        matches: list[Match] = []
        every = message_words(text)
        if not every:
            return Screening(Level.NONE)
        # Which clause each lowered phrase match is in: what may undo its lowering is looked for
        # near it (`_raise_again`), not anywhere in a long message.
        where: dict[int, int] = {}
        for place, words in enumerate(every):
            for lexicon in lexicons:
                # Most clauses have no word that any rule needs (nearly always so for the other
                # languages): ruled out by one set operation, before building anything.
                if lexicon.rule_words is None or not lexicon.rule_words.isdisjoint(words):
                    for match in self._screen_clause(words, lexicon):
                        if match.lowered:
                            where[id(match)] = place
                        matches.append(match)
        if not any(m.level is Level.URGENT for m in matches):
            everything = set().union(*every)
            for lexicon in lexicons:
                if lexicon.combinations:
                    matches += self._combinations(every, everything, lexicon)
        if self.learned is not None and not any(m.level is Level.URGENT for m in matches):
            learned = self._learned(every, self.learned, matches, lexicons)
            if learned is not None:
                matches.append(learned)
        if not matches:
            return Screening(Level.NONE)
        if any(m.reason in ("others", "soft") for m in matches):
            matches = _raise_again(matches, where, every, lexicons)
        level = max(m.level for m in matches)
        return Screening(level, tuple(_unique(matches)))

    @staticmethod
    def _learned(
        every: list[list[str]], stage: LearnedStage, matches: list[Match], lexicons: list[Lexicon]
    ) -> Match | None:
        """The second stage's match, if it finds more than the lexicon did."""
        judgement = stage.judge(every)
        if not judgement.is_crisis:
            return None
        level, reason = Level.CONCERN, ""
        # In a long post (many clauses), one lowered phrase or one "lol" says nothing about the
        # rest: there the score stands, if the lexicon found something a person can see.
        long_post = len(every) > LONG_POST and any(not m.lowered for m in matches)
        if judgement.is_urgent and not long_post:
            if any(m.lowered for m in matches):
                # What the lexicon lowered on purpose (the past, someone else, a joke) stays
                # lowered: the model has no better idea of who or when.
                reason = next(m.reason for m in matches if m.lowered)
            elif any(_any(lexicon.softener_phrases, every) for lexicon in lexicons):
                reason = "soft"  # a joke, a film, "lol": as for the lexicon's own matches
            elif (
                not matches
                and judgement.urgent < stage.urgent.alone
                and not any(
                    not lexicon.cues.isdisjoint(words) for words in every for lexicon in lexicons
                )
            ):
                # A score alone, with no risk cue a person can see in the message (no lexicon
                # match, no cue word), is for a coordinator to look at, not to be paged for
                # (unless it is far above what ordinary text of any kind scores: `alone`).
                reason = "no_cue"
            else:
                level = Level.URGENT
        elif judgement.is_urgent:
            level = Level.URGENT
        if level <= max((m.level for m in matches), default=Level.NONE):
            return None
        category, evidence = stage.explain(judgement)
        return Match(category, level, " · ".join(evidence), bool(reason), reason, learned=True)

    def _combinations(
        self, every: list[list[str]], everything: set[str], lexicon: Lexicon
    ) -> list[Match]:
        index = lexicon.combination_index
        places: set[int] = set()
        for word in lexicon.combination_keys.intersection(everything):  # (in C)
            places.update(index[word])
        if not places:
            return []
        combinations = lexicon.combinations
        todo = [combinations[i] for i in sorted(places) if combinations[i].possible(everything)]
        if not todo:
            return []
        # Idioms out ("this homework is killing me"), fillers kept ("now" is a time).
        plain: list[list[str]] = []
        for words in every:
            kept = " ".join(words) + " "
            if lexicon.idiom_phrases.search(words, kept) is not None:
                words = lexicon.idiom_phrases.sub(" _ ", kept).split()
            plain.append(words)
        per_clause = [(set(w), " " + " ".join(w) + " ") for w in plain]
        # "Anywhere in the message" is a few clauses running: in a long post, words far apart
        # are not one statement.
        spans = [
            plain[i : i + MESSAGE_SCOPE] for i in range(max(1, len(plain) - MESSAGE_SCOPE + 1))
        ]
        whole = [(set().union(*s), " " + " | ".join(" ".join(w) for w in s) + " ") for s in spans]
        lowering: bool | None = None  # searched for only when it would lower a match
        others: bool | None = None
        found: list[Match] = []
        for combination in todo:
            for bag, joined in per_clause if combination.per_clause else whole:
                hit = combination.search(bag, joined)
                if hit is None:
                    continue
                reason = ""
                if combination.level > Level.CONCERN:
                    if combination.lowerable:
                        if lowering is None:
                            lowering = _any(lexicon.lowering_phrases, plain)
                        reason = "past" if lowering else ""
                    if not reason and combination.others_lowerable:
                        if others is None:
                            others = _any(lexicon.others_phrases, plain)
                        reason = "others" if others else ""
                    if not reason and _any(lexicon.softener_phrases, every):
                        reason = "soft"
                level = Level.CONCERN if reason else combination.level
                found.append(Match(combination.category, level, hit, bool(reason), reason))
                break
        return found

    def _screen_clause(self, words: list[str], lexicon: Lexicon) -> list[Match]:
        rules = lexicon.candidate_rules(words)
        if not rules:  # no rule could match: nothing to find
            return []
        fillers = lexicon.fillers
        kept = " ".join([w for w in words if w not in fillers]) + " "
        if lexicon.filler_phrases is not None:
            spaced, removed = lexicon.filler_phrases.subn(" ", kept)
            if removed:
                kept = " ".join(spaced.split()) + " "
        if lexicon.idiom_phrases.search(words, kept) is not None:
            # Rules are tried with idioms removed, but only if one matches with them in: removing
            # one changes the text, and results must stay what they have always been.
            if not any(rule.phrases.search(words, kept) for rule in rules):
                return []
            kept = lexicon.idiom_phrases.sub(" _ ", kept)
        # (With no idiom, `kept` is unchanged: when no rule matches below, none matched before.)
        # Where the clause speaks of the past or of someone else: searched for only when it
        # would lower a match.
        past_or_others: list[tuple[int, int]] | None = None
        others: list[tuple[int, int]] | None = None
        soft: bool | None = None
        found: list[Match] = []
        spaced = " " + kept
        for rule in rules:
            assert rule.phrases.scan is not None  # (rules without one are not candidates)
            hit = rule.phrases.scan.search(spaced)
            if hit is None:
                continue
            reason = ""
            if rule.level > Level.CONCERN:
                if rule.lowerable:
                    if past_or_others is None:
                        past_or_others = lexicon.lowering_phrases.spans(words, kept)
                    reason = "past" if _near(past_or_others, hit, " " + kept) else ""
                if not reason and rule.others_lowerable:
                    if others is None:
                        others = lexicon.others_phrases.spans(words, kept)
                    reason = "others" if _near(others, hit, " " + kept) else ""
                    if not reason and (
                        _someone_else(spaced, hit, lexicon) or _topic(spaced, hit, lexicon)
                    ):
                        reason = "others"
                if not reason:
                    if soft is None:  # fillers ("lol") kept: they say it is a joke
                        soft = _any(lexicon.softener_phrases, [words])
                    reason = "soft" if soft else ""
            level = Level.CONCERN if reason else rule.level
            found.append(Match(rule.category, level, hit.group(0).strip(), bool(reason), reason))
        return found


# A past or other-person phrase lowers a match only when it is this close to it (in words): it
# comes just before it ("my friend said she wants to die") or just after ("tried to kill
# myself when i was at uni"), not anywhere in a long clause.
LOWERING_BEFORE = 8
LOWERING_AFTER = 6
_NEW_SUBJECT = re.compile(r" (?:and|so|then|now|&) (?:i|im|ive|ill|id|i am|i have) ")


def _near(spans: list[tuple[int, int]], hit: re.Match[str], text: str) -> bool:
    start, end = hit.span()
    for span_start, span_end in spans:
        if span_end <= start + 1:  # before the match (the match has a space in front)
            between = text[span_end - 1 : start + 1]
            # "he said i was worthless and i want to die": the writer is the subject again
            if text.count(" ", span_end, start) <= LOWERING_BEFORE and not _NEW_SUBJECT.search(
                between
            ):
                return True
        elif span_start >= end - 1:  # after it
            if text.count(" ", end, span_start) <= LOWERING_AFTER:
                return True
        else:  # they overlap
            return True
    return False


# How far before a match its subject is looked for, in words ("if you (really) commit suicide",
# "i dont think you want to die").
SUBJECT_BEFORE = 4


def _someone_else(spaced: str, hit: re.Match[str], lexicon: Lexicon) -> bool:
    """Whether the match's subject is someone other than the writer: the nearest subject word
    just before it is another person's ("you", "anyone", "we"), and the match itself names
    no first person. The writer ("i", "me", "my") nearer, or no subject word, is the writer."""
    if not lexicon.other_subjects or not lexicon.self_subjects.isdisjoint(hit.group(0).split()):
        return False
    for word in reversed(spaced[: hit.start()].split()[-SUBJECT_BEFORE:]):
        if word in lexicon.self_subjects:
            return False
        if word in lexicon.other_subjects:
            return True
    return False


# How far before words for suicide itself the writer is looked for ("i have been having
# suicidal thoughts").
TOPIC_BEFORE = 6


def _topic(spaced: str, hit: re.Match[str], lexicon: Lexicon) -> bool:
    """Whether the match is words for suicide itself with no writer named just before it
    ("experience with suicidal thoughts", "anyone committing suicide", "do not commit suicide")."""
    found = hit.group(0).split()
    if lexicon.topic_phrases.search(found, " ".join(found) + " ") is None:
        return False
    if not lexicon.self_subjects.isdisjoint(found):
        return False
    for word in reversed(spaced[: hit.start()].split()[-TOPIC_BEFORE:]):
        if word in lexicon.self_subjects:
            return False
        if word in lexicon.other_subjects:
            return True
    return True


def _any(phrases: _Phrases, every: list[list[str]]) -> bool:
    return any(phrases.search(w, " ".join(w) + " ") is not None for w in every)


# A message-wide combination looks at this many clauses running; what undoes a lowering
# (`imminent`, `serious`) is looked for this many clauses either side of the match.
MESSAGE_SCOPE = 3
CONTEXT_CLAUSES = 2
# A message of more clauses than this is a long post (`Screener._learned`).
LONG_POST = 8


def _raise_again(
    matches: list[Match], where: dict[int, int], every: list[list[str]], lexicons: list[Lexicon]
) -> list[Match]:
    """Undo lowering that the message itself contradicts: about someone else but happening now
    ("my friend said she'll do it tonight and isn't answering"), or a joke marker next to
    "i'm not joking", or a "never" next to "tonight" (a time now outweighs a denial) — said
    near the match (a few clauses either side), not somewhere else in a long post."""
    found: dict[tuple[int, int], tuple[bool, bool]] = {}
    raised = []
    for m in matches:
        # (Not the model's matches: its score already weighed these words.)
        if m.learned or m.reason not in ("others", "soft"):
            raised.append(m)
            continue
        place = where.get(id(m))
        span = (0, len(every)) if place is None else (
            max(0, place - CONTEXT_CLAUSES), place + CONTEXT_CLAUSES + 1)  # fmt: skip
        if span not in found:
            near = every[span[0] : span[1]]
            found[span] = (any(_any(lex.imminent_phrases, near) for lex in lexicons),
                           any(_any(lex.serious_phrases, near) for lex in lexicons))  # fmt: skip
        imminent, serious = found[span]
        if (m.reason == "others" and imminent) or (m.reason == "soft" and (serious or imminent)):
            m = Match(m.category, Level.URGENT, m.phrase)
        raised.append(m)
    return raised


def _unique(matches: list[Match]) -> list[Match]:
    seen: set[tuple[str, str]] = set()
    unique: list[Match] = []
    for match in sorted(matches, key=lambda m: -m.level):
        if (match.category, match.phrase) not in seen:
            seen.add((match.category, match.phrase))
            unique.append(match)
    return unique


_default: Screener | None = None


def build_default_screener() -> Screener:
    """The shipped lexicons and second stage, built from their files (which takes seconds)."""
    # The shipped second stage: missing, it is an error, not a quieter screener.
    return Screener(load_lexicons(), learned=LearnedStage.load())


def default_screener(cache_dir: Path | None = None) -> Screener:
    """The shipped screener, made once per process: loaded from the copy kept on disk when that
    is up to date, else built and kept for the next start (`screening_cache`; `cache_dir` is
    one more place to keep it, tried last)."""
    global _default
    if _default is None:
        # (Imported here: it imports this module.)
        from bot.core.screening_cache import cache_dirs, cached_screener

        dirs = cache_dirs() if cache_dir is None else [*cache_dirs(), cache_dir]
        _default = cached_screener(dirs)
    return _default


def message_words(text: str) -> list[list[str]]:
    """Each clause's normalised words, as screening (and the second stage) sees them; clauses
    with no word are left out."""
    return [words for clause in clauses(text) if (words := normalise_words(clause))]
