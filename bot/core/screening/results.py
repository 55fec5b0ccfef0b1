"""What screening says: a level, and the matches that made it (each says why it was lowered,
if it was)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


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
    # risk cue: review, not a page), "unconfirmed" (at a quiet sensitivity, a lexicon match the
    # learned stage does not score as a crisis: review, not a page); "" if it was not.
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


class Sensitivity(StrEnum):
    """How readily a coordinator is paged (`PEERBOT_SCREEN_SENSITIVITY`): the learned stage's
    thresholds, and whether its score alone, on a message with no risk cue a person can see,
    may page (see `screening_model.SENSITIVITIES`). The lexicon's matches are the same at every
    setting."""

    CAUTIOUS = "cautious"  # pages more, to miss fewer crises
    BALANCED = "balanced"  # the default
    QUIET = "quiet"  # pages less: a score alone, with no risk cue, goes to review
