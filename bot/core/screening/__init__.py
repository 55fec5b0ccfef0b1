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

Each organisation chooses how readily a coordinator is paged (`Sensitivity`): `balanced` (the
default), `cautious` (pages more, to miss less) or `quiet` (pages less; a learned score alone,
with no risk cue, always goes to review). `Screener.at` gives the same screener at another
sensitivity without building anything again.

The parts, each its own module: `normalise` (text to words), `phrases` (the phrase syntax,
compiled and searched fast), `lexicon` (the data files, compiled), `context` (what lowers or
raises a match), `matching` (the `Screener`), `results` (levels and matches); the learned
stage is `bot.core.screening_model`.

Pure Python; no I/O except reading lexicon files when asked to (and `default_screener`, which
keeps what it built on disk: `screening_cache`). Fast enough for every message: most text is
ruled out by looking up its words before any pattern is searched (`phrases._Phrases`).
"""

from __future__ import annotations

from pathlib import Path

from bot.core.screening.lexicon import (
    LEXICON_DIR,
    Combination,
    Lexicon,
    Rule,
    load_lexicons,
)
from bot.core.screening.matching import Screener
from bot.core.screening.normalise import NUMBER_MARKERS, clauses, message_words, normalise_words
from bot.core.screening.phrases import COMPILER, LexiconError, check_phrase, compile_phrase
from bot.core.screening.results import Level, Match, Screening, Sensitivity
from bot.core.screening_model import LearnedStage

__all__ = [
    "COMPILER",
    "LEXICON_DIR",
    "NUMBER_MARKERS",
    "Combination",
    "Level",
    "Lexicon",
    "LexiconError",
    "Match",
    "Rule",
    "Screener",
    "Screening",
    "Sensitivity",
    "build_default_screener",
    "check_phrase",
    "clauses",
    "compile_phrase",
    "default_screener",
    "load_lexicons",
    "message_words",
    "normalise_words",
]

_default: Screener | None = None


def build_default_screener() -> Screener:
    """The shipped lexicons and second stage, built from their files (which takes seconds)."""
    # The shipped second stage: missing, it is an error, not a quieter screener.
    return Screener(load_lexicons(), learned=LearnedStage.load())


def default_screener(
    cache_dir: Path | None = None, sensitivity: Sensitivity | str = Sensitivity.BALANCED
) -> Screener:
    """The shipped screener, made once per process: loaded from the copy kept on disk when that
    is up to date, else built and kept for the next start (`screening_cache`; `cache_dir` is
    one more place to keep it, tried last). At another `sensitivity`, the same screener with
    other thresholds (`Screener.at`: nothing is built again)."""
    global _default
    if _default is None:
        # (Imported here: it imports this package.)
        from bot.core.screening_cache import cache_dirs, cached_screener

        dirs = cache_dirs() if cache_dir is None else [*cache_dirs(), cache_dir]
        _default = cached_screener(dirs)
    return _default.at(sensitivity)


# The screener's code as this process imported it, for the key of the copy kept on disk: read
# now, not when the screener is first asked for (`screening_cache.RUNNING_CODE`).
from bot.core import screening_cache as _screening_cache  # noqa: E402, F401
