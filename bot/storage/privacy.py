"""Members' data rights in the database: everything kept about one person, found, exported
and erased; and the retention limits applied to everyone's records.

A person's rows are found by their member id (profile, memberships, RSVPs, check-ins), by
their Telegram id in plain columns (chats, escalations), or by their keyed pseudonym where a
row must point at them without naming them (who asked a question, who is muted from asking).
Rows stored before pseudonyms existed have none: they are few, matched by decrypting them,
and given their pseudonym when found.
"""

from bot.storage.erasure import Erased, Erasure
from bot.storage.retention import RETENTION_BATCH, Retention

__all__ = ["RETENTION_BATCH", "Erased", "PrivacyRepository"]


class PrivacyRepository(Erasure, Retention):
    """One person's records (finding.py, erasure.py) and everyone's retention (retention.py)."""
