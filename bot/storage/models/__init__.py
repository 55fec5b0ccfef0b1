"""The tables.

Which one the code is: SQLAlchemy, with SQLModel only as the way a table is declared. Every
query is SQLAlchemy's (`select`, `update`, `delete` from `sqlalchemy`, run on SQLAlchemy's
`AsyncSession`; `sqlmodel.col` only types a column for them), and no table is validated by
pydantic (SQLModel does not validate `table=True` classes). SQLModel stays for what it gives
here: one class is the table, its typed attributes and its constructor. So a column is said
with SQLModel's own field arguments (`sa_type`, `primary_key`, `foreign_key`, `ondelete`,
`unique`, `index`; NULL follows the annotation, `X | None`), never with `sa_column=Column(...)`.
What SQLModel has no argument for goes in `sa_column_kwargs` (a key that is not an identity
column, a server default), and indexes or constraints over several columns in
`__table_args__`. The migrations (bot/storage/migrations) are the schema:
tests/integration/test_storage.py compares these classes with them on SQLite and PostgreSQL.

Free text is `EncryptedText`; timestamps are UTC (`UTCDateTime`); statuses are the `StrEnum`s
of bot.core.statuses, stored as their plain strings (`EnumText`, a VARCHAR) and read back as
members.

What is stored is the least the bot needs: a member is a Telegram id, a chosen display name
(encrypted), a timezone and a language, and what they consented to and when.
"""

from bot.storage.models.common import utcnow
from bot.storage.models.delivery import Inbound, Lease, Outbox, Replica
from bot.storage.models.meetings import Checkin, CheckinPlan, Meeting, ReminderMute, Rsvp
from bot.storage.models.people import AuditEvent, Member, Membership, PeerGroup
from bot.storage.models.questions import AskMute, Broadcast, Question, QuestionAsker
from bot.storage.models.safety import Escalation, EscalationAction

__all__ = [
    "AskMute",
    "AuditEvent",
    "Broadcast",
    "Checkin",
    "CheckinPlan",
    "Escalation",
    "EscalationAction",
    "Inbound",
    "Lease",
    "Meeting",
    "Member",
    "Membership",
    "Outbox",
    "PeerGroup",
    "Question",
    "QuestionAsker",
    "ReminderMute",
    "Replica",
    "Rsvp",
    "utcnow",
]
