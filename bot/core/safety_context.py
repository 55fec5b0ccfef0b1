"""Screening a short reply together with the member's own concern-level message just before it.

"yes", "tonight" or "I have them here" mean nothing alone, and everything right after "I've
been thinking about suicide". The service finds that earlier message (same member, same chat,
within `CONTEXT_WINDOW`); this decides what the two say together. Pure: no storage, no text kept.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.screening import Level, Match, Screener, Screening, message_words

# Ten minutes: a reply to "are you safe?" or "do you have a plan?" comes within minutes in a
# chat; after that the member has usually moved on, and old words should not colour new ones.
CONTEXT_WINDOW = timedelta(minutes=10)
# "Short" is a reply, not a new message: "I have them here" is four words, "sí, esta noche" three.
# Anything longer says enough on its own to be screened alone.
SHORT_REPLY_WORDS = 6
SHORT_REPLY_CHARS = 60

# What the earlier message must be about for an affirming reply to page: the member's own
# thoughts of dying or of hurting themselves, matched by a phrase (not lowered as past, about
# someone else, a joke, or the learned stage alone).
CONTEXT_CATEGORIES = frozenset(
    {"passive_ideation", "intent", "plan_or_means", "self_harm_urge", "self_harm_now"}
)
# Replies that confirm or give a time (normalised: lower case, no accents). English and Spanish.
AFFIRMING = frozenset(
    [
        "yes",
        "yeah",
        "yep",
        "yup",
        "yea",
        "sure",
        "definitely",
        "probably",
        "maybe",
        "tonight",
        "today",
        "now",
        "soon",
        "tomorrow",
        "pills",
        "rope",
        "knife",
        "gun",
        "si",
        "claro",
        "seguro",
        "quizas",
        "quiza",
        "hoy",
        "ahora",
        "noche",
        "manana",
        "pronto",
        "pastillas",
        "cuerda",
        "cuchillo",
        "pistola",
    ]
)
# Or say the means are at hand: "I have them here", "got it", "las tengo aquí".
HAVING = frozenset(["have", "got", "tengo", "tenemos"])
AT_HAND = frozenset(["them", "it", "here", "aqui", "las", "los", "la", "lo"])
# A match's reason when it was the reply, read after the earlier message, that made it urgent.
CONTEXT = "context"
# A reply that says no is not raised by its context ("no", "not tonight", "nunca").
DENYING = frozenset(
    ["no", "not", "nope", "nah", "never", "dont", "wont", "isnt", "nunca", "nada", "tampoco"]
)


def is_short_reply(text: str) -> bool:
    words = [w for clause in message_words(text) for w in clause]
    return 0 < len(words) <= SHORT_REPLY_WORDS and len(text.strip()) <= SHORT_REPLY_CHARS


def screen_with_context(
    screener: Screener, earlier: str, reply: str, language: str | None
) -> Screening:
    """The stronger of: the reply alone, the two read as one message, and (for an affirming
    reply after the member's own thoughts of dying or self-harm) urgent."""
    alone = screener.screen(reply, language)
    # Joined by a space: the reply continues the sentence ("...about suicide" + "tonight").
    together = screener.screen(f"{earlier} {reply}", language)
    best = together if together.level > alone.level else alone
    if best.level is Level.URGENT:
        return best
    reasons = [
        m
        for m in screener.screen(earlier, language).matches
        if m.category in CONTEXT_CATEGORIES and not m.lowered and not m.learned
    ]
    words = {w for clause in message_words(reply) for w in clause}
    affirms = bool(words & AFFIRMING) or bool(words & HAVING and words & AT_HAND)
    if reasons and affirms and not words & DENYING:
        answer = " ".join(w for clause in message_words(reply) for w in clause)
        raised = Match(reasons[0].category, Level.URGENT, answer, reason=CONTEXT)
        return Screening(Level.URGENT, (*together.matches, raised))
    return best
