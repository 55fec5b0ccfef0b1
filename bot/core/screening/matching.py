"""Matching: a message's clauses against the lexicons (rules, then combinations), what lowers
a match (the past, someone else, a joke) and what undoes that, then the learned second stage."""

from __future__ import annotations

import copy
import math

from bot.core.screening.context import (
    LEARNED_MIN_WORDS,
    LONG_POST,
    MESSAGE_SCOPE,
    _any,
    _near,
    _raise_again,
    _someone_else,
    _topic,
    _unique,
)
from bot.core.screening.lexicon import Lexicon
from bot.core.screening.normalise import message_words
from bot.core.screening.results import Level, Match, Screening, Sensitivity
from bot.core.screening_model import LearnedStage


class Screener:
    def __init__(
        self,
        lexicons: dict[str, Lexicon],
        default_language: str = "en",
        learned: LearnedStage | None = None,
        sensitivity: Sensitivity | str = Sensitivity.BALANCED,
    ) -> None:
        self.lexicons = lexicons
        self.default_language = default_language
        self.sensitivity = Sensitivity(sensitivity)
        self._trained = learned  # as trained (balanced): `at` derives the others from it
        # A second stage that may raise the level, never lower it: at this sensitivity.
        self.learned = None if learned is None else learned.at(self.sensitivity)
        # The lexicons in the order to try them, for each language asked for (few: kept).
        self._orders: dict[str | None, list[Lexicon]] = {}
        # This screener at each sensitivity asked for, shared by all of them (`at`).
        self._at: dict[Sensitivity, Screener] = {self.sensitivity: self}

    def at(self, sensitivity: Sensitivity | str) -> Screener:
        """This screener at another sensitivity: the same lexicons and model, nothing built
        again, only the learned stage's thresholds differ. Made once, then kept."""
        sensitivity = Sensitivity(sensitivity)
        made = self._at.get(sensitivity)
        if made is None:
            made = copy.copy(self)  # (shares the lexicons, the language orders and `_at`)
            made.sensitivity = sensitivity
            made.learned = None if self._trained is None else self._trained.at(sensitivity)
            self._at[sensitivity] = made
        return made

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
        if (
            self.learned is not None
            and not any(m.level is Level.URGENT for m in matches)
            and sum(map(len, every)) >= LEARNED_MIN_WORDS
        ):
            learned = self._learned(every, self.learned, matches, lexicons)
            if learned is not None:
                matches.append(learned)
        if not matches:
            return Screening(Level.NONE)
        if any(m.reason in ("others", "soft") for m in matches):
            matches = _raise_again(matches, where, every, lexicons)
        stage = self.learned
        if stage is not None and stage.confirm_urgent > -math.inf:
            matches = _confirmed(matches, every, stage)
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


def _confirmed(matches: list[Match], every: list[list[str]], stage: LearnedStage) -> list[Match]:
    """At a quiet sensitivity, the lexicon's urgent matches page only when the learned stage
    agrees that the message is a crisis (`LearnedStage.confirm_urgent`); else they go to review
    ("unconfirmed"). What the learned stage itself raised to urgent stands."""
    if not any(m.level is Level.URGENT and not m.learned for m in matches) or any(
        m.level is Level.URGENT and m.learned for m in matches
    ):
        return matches
    if stage.judge(every).crisis >= stage.confirm_urgent:
        return matches
    return [
        Match(m.category, Level.CONCERN, m.phrase, True, "unconfirmed", m.learned)
        if m.level is Level.URGENT
        else m
        for m in matches
    ]


# A past or other-person phrase lowers a match only when it is this close to it (in words): it
