"""What coordinators read about an escalation: the alert (and every re-alert), with why it was
flagged, and the note that the member said it was not what they meant. Each in the reader's
language; no storage here, the safety service queues what this writes."""

from __future__ import annotations

import html
import itertools
from datetime import datetime, timedelta

from bot.core import callbacks
from bot.core.outgoing import OutgoingMessage
from bot.core.safety_context import CONTEXT, is_short_reply, screen_with_context
from bot.core.screening import Level, Match, Screener
from bot.locales import Catalogue, Markup
from bot.storage.models import Escalation

# How many matched phrases an alert shows (the strongest reasons come first).
EVIDENCE_SHOWN = 3
# Between the messages of one escalation, as stored and shown on the alert.
JOINED = "\n---\n"


def alert_batch(escalation_id: int) -> str:
    """The outbox batch of an escalation's alerts (found again to mark them acknowledged)."""
    return f"esc:{escalation_id}"


def note_batch(escalation_id: int) -> str:
    """The notes sent after the alerts (kept apart, so acknowledging edits only the alerts)."""
    return f"esc:{escalation_id}:note"


def stamp(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"


_EVIDENCE_KEY: dict[object, str] = {
    CONTEXT: "safety.evidence_context",
    True: "safety.evidence_learned",
    False: "safety.evidence_phrase",
}


class AlertWriter:
    def __init__(self, texts: Catalogue, screener: Screener, realert_after: timedelta) -> None:
        self.texts = texts
        self.screener = screener
        self.realert_after = realert_after

    def alert(
        self,
        escalation: Escalation,
        *,
        first: bool,
        lang: str,
        evidence: list[Match],
        not_meant_at: datetime | None,
    ) -> OutgoingMessage:
        assert escalation.id is not None
        t = self.texts.t
        who = Markup(
            f'<a href="tg://user?id={escalation.author_telegram_id}">'
            f"{html.escape(escalation.author_name or '?')}</a>"
        )
        where = escalation.chat_title or t(lang, "safety.private_chat")
        text = t(
            lang, "safety.alert", who=who, where=where, text=escalation.text[:800],
            id=escalation.id, time=stamp(escalation.created_at),
        )  # fmt: skip
        if evidence:
            text = f"{text}\n{self._why(evidence, lang)}"
        if not_meant_at is not None:  # a re-alert after the member's word still says it
            text = f"{text}\n\n{self.not_meant(lang, escalation.id, not_meant_at)}"
        if not first:
            minutes = int(self.realert_after.total_seconds() // 60) * escalation.alerts
            text = self.texts.tn(lang, "safety.realert", minutes, minutes=minutes) + "\n" + text
        buttons = ((
            (t(lang, "safety.ack_button"),
             callbacks.encode(callbacks.ESCALATION_ACK, escalation.id)),
            (t(lang, "safety.resolve_button"),
             callbacks.encode(callbacks.ESCALATION_RESOLVE, escalation.id)),
        ),)  # fmt: skip
        return OutgoingMessage(text, buttons=buttons)

    def not_meant(self, lang: str, escalation_id: int, at: datetime) -> str:
        """The member pressed "That's not what I meant": said plainly, with what it does not
        change (the escalation stays open and re-alerts go on until someone acknowledges)."""
        return self.texts.t(lang, "safety.not_meant_alert", id=escalation_id, time=stamp(at))

    def evidence(self, escalation: Escalation) -> list[Match]:
        """Why it was flagged, in words a person can check: the phrases that matched, and for
        the learned stage the words that weighed most. Screened again from the stored words
        (the same words give the same matches), so a re-alert shows it too, and an erased
        member's escalation, whose words are gone, shows none. A short reply that made an
        earlier message urgent comes first ("the reply “yes” right after it")."""
        if not escalation.text:
            return []
        parts = escalation.text.split(JOINED)
        replies = [
            match
            for before, after in itertools.pairwise(parts)
            if is_short_reply(after)
            for match in screen_with_context(self.screener, before, after, None).matches
            if match.reason == CONTEXT
        ]
        shown: list[Match] = []
        for match in [*replies, *self.screener.screen(escalation.text).matches]:
            if match.level is not Level.NONE and all(m.phrase != match.phrase for m in shown):
                shown.append(match)
        return shown[:EVIDENCE_SHOWN]

    def _why(self, evidence: list[Match], lang: str) -> str:
        t = self.texts.t
        phrases = [t(lang, _EVIDENCE_KEY[m.reason if m.reason == CONTEXT else m.learned],
                     phrase=m.phrase) for m in evidence]  # fmt: skip
        return t(lang, "safety.evidence", phrases=Markup("; ".join(phrases)))
