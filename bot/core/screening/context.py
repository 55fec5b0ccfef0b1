"""What a match's context says about it: whether a past or other-person phrase is near it,
whether its subject is someone else, whether it is words for suicide itself; and what undoes a
lowering (a time that is now, "i'm not joking")."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.core.screening.phrases import _Phrases
from bot.core.screening.results import Level, Match

if TYPE_CHECKING:
    from bot.core.screening.lexicon import Lexicon

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
# The learned stage judges only messages of at least this many words. On one or two words
# ("tonight", "sí", "yes") its score is the weight of a single word it met in crisis posts, not
# evidence a person can see; a short reply right after the member's own concern is screened
# together with that concern (bot.core.safety_context), which is where such words matter.
LEARNED_MIN_WORDS = 3


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
