"""Lexicons: the words people who know crisis work wrote down (`bot/locales/lexicon/*.toml`,
and an organisation's own files), compiled into rules, combinations and the phrases that lower
or raise a match, with the indexes that let most text be ruled out by its words alone."""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.screening.normalise import normalise_words
from bot.core.screening.phrases import (
    _COMMON,
    LexiconError,
    _phrase_words,
    _Phrases,
    _rarity,
    _regex,
    check_phrase,
    compile_phrase,
)
from bot.core.screening.results import Level


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
# A word's rule entries (`Lexicon.rule_pairs`): the rules it allows alone; per word of a
# phrase's next rarest part, the rules with the parts their phrase still needs; those words.
_RulePairs = tuple[
    tuple[int, ...], dict[str, tuple[tuple[int, tuple[frozenset[str], ...]], ...]], frozenset[str]
]


def _pairs(entries: tuple[tuple[int, tuple[frozenset[str], ...]], ...]) -> _RulePairs:
    alone: dict[int, None] = {}
    by_second: dict[str, dict[tuple[int, tuple[frozenset[str], ...]], None]] = {}
    for place, also in entries:
        if not also:
            alone[place] = None
            continue
        for second in also[0]:
            by_second.setdefault(second, {})[(place, also[1:])] = None
    seconds = {second: tuple(listed) for second, listed in by_second.items()}
    return tuple(alone), seconds, frozenset(seconds)


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
    # The same for rules: a word to the rules (their places in `rules`) with a phrase whose
    # rarest part it is, each with the words that phrase's other parts need; and the rules any
    # text may match. A clause is searched only with the rules its words allow: nearly all
    # rules any of its words names need another word it does not have.
    rule_index: dict[str, tuple[tuple[int, tuple[frozenset[str], ...]], ...]] = field(
        default_factory=dict, repr=False
    )
    open_rules: frozenset[int] = frozenset()
    # `rule_index` again, in two steps (what `candidate_rules` uses): a word -> the rules it
    # allows alone, and its phrases by a word of their next rarest part (each with the parts
    # still needed). Most phrases need a second word the text lacks: ruled out in C, in bulk.
    rule_pairs: dict[str, _RulePairs] = field(default_factory=dict, repr=False)
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
        index: dict[str, dict[tuple[int, tuple[frozenset[str], ...]], None]] = {}
        open_rules: set[int] = set()
        for place, listed_rule in enumerate(self.rules):
            if listed_rule.phrases.scan is None:
                continue
            if listed_rule.phrases.words is None:
                open_rules.add(place)
                continue
            for phrase in listed_rule.phrases.phrases:
                assert phrase.needs is not None  # (else the rule's `words` is None)
                for word in phrase.needs:
                    index.setdefault(word, {})[(place, phrase.also)] = None
        self.rule_index = {word: tuple(entries) for word, entries in index.items()}
        self.rule_pairs = {word: _pairs(entries) for word, entries in self.rule_index.items()}
        self.rule_keys = frozenset(self.rule_index)
        self.combination_keys = frozenset(self.combination_index)
        self.open_rules = frozenset(open_rules)

    def candidate_rules(self, words: list[str]) -> list[Rule]:
        """The rules, in order, that `words` do not rule out (the others cannot match)."""
        places = set(self.open_rules)
        pairs = self.rule_pairs
        present = frozenset(words)
        for word in self.rule_keys.intersection(present):  # (the intersections are done in C)
            alone, by_second, seconds = pairs[word]
            places.update(alone)
            for second in seconds.intersection(present):
                for place, rest in by_second[second]:
                    if place not in places:
                        for need in rest:
                            if need.isdisjoint(present):
                                break
                        else:  # one of each part's words is here: the phrase may match
                            places.add(place)
        rules = self.rules
        return [rules[i] for i in sorted(places)]

    def _check(self, phrase: str) -> None:
        try:
            check_phrase(phrase, self.fillers, self.multi_fillers)
        except LexiconError as error:
            raise LexiconError(f"{self.language} lexicon: {error}") from None


LEXICON_DIR = Path(__file__).resolve().parents[2] / "locales" / "lexicon"


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
