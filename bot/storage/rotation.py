"""Key rotation: every encrypted value re-encrypted under the newest key, so an old key can be
removed from `PEERBOT_SECRET_KEY`.

Run it after every bot process already has the new key first in its list (then everything
the bot writes meanwhile is under the new key already). It is safe while the bot runs:
- each batch is its own short transaction (on SQLite, behind the bot's urgent writers);
- a value is replaced only if it is still the one read (compare-and-set on the stored
  token): a row the bot changed in between already holds a new-key value, and a deleted row
  is simply gone;
- it is resumable: values already under the newest key are skipped (a check, not a write),
  so an interrupted run is simply run again.
Keyed pseudonyms that can be recomputed (askers, authors of escalations still naming them)
are rewritten under the newest key too; those of erased people cannot be (the id is gone)
and stop matching anyone once the old key is removed, which is what erasure wants anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, Text, bindparam, select, type_coerce, update
from sqlmodel import SQLModel

from bot.storage.crypto import CryptoError, decrypt, is_current, pseudonym, rotate
from bot.storage.types import EncryptedText
from bot.storage.uow import Database

ROTATE_BATCH = 500

# Pseudonym columns and where their Telegram id comes from (a column, encrypted or plain).
_PSEUDONYMS: dict[str, tuple[str, str, bool]] = {
    "question_asker": ("asker_ref", "asker", True),
    "ask_mute": ("asker_ref", "asker", True),
    "escalation": ("author_ref", "author_telegram_id", False),
}


@dataclass
class Rotation:
    """What a run did, per table and in total."""

    rotated: dict[str, int] = field(default_factory=dict)
    current: int = 0  # values already under the newest key
    pseudonyms: int = 0

    @property
    def total(self) -> int:
        return sum(self.rotated.values())


def encrypted_tables() -> list[tuple[Table, Column[Any], list[Column[Any]]]]:
    """(table, its primary key, its encrypted columns) for every table with one."""
    found = []
    for table in SQLModel.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, EncryptedText)]
        if columns:
            (key,) = table.primary_key.columns
            found.append((table, key, columns))
    return found


def _compare_and_set(table: Table, key: Column[Any], column: Column[Any]) -> Any:
    """Replace a stored token only if it is still the one read: a value the bot rewrote in
    between (already under the newest key) is left as the bot wrote it."""
    return (
        update(table)
        .where(key == bindparam("b_key"), _raw(column) == bindparam("b_old", type_=Text))
        .values({column.name: bindparam("b_new", type_=Text)})
    )


def _raw(column: Column[Any]) -> Any:
    """The column as stored: the token, not decrypted."""
    return type_coerce(column, Text)


async def rotate_keys(
    db: Database,
    *,
    batch: int = ROTATE_BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> Rotation:
    """Re-encrypt every encrypted value under the newest installed key."""
    report = Rotation()
    for table, key, columns in encrypted_tables():
        report.rotated[table.name] = 0
        after: Any = None
        while True:
            async with db.uow() as uow:
                stmt = select(key, *(_raw(c).label(c.name) for c in columns)).order_by(key)
                if after is not None:
                    stmt = stmt.where(key > after)
                rows = (await uow.session.execute(stmt.limit(batch))).all()
                for index, column in enumerate(columns, start=1):
                    changes = []
                    for row in rows:
                        token = row[index]
                        if token is None or is_current(token):
                            report.current += token is not None
                        else:
                            changes.append(
                                {"b_key": row[0], "b_old": token, "b_new": rotate(token)}
                            )
                    if changes:  # one statement, executed for every change (executemany)
                        await uow.session.execute(_compare_and_set(table, key, column), changes)
                        report.rotated[table.name] += len(changes)
                report.pseudonyms += await _repseudonymise(uow, table, key, rows)
                await uow.commit()
            if rows:
                after = rows[-1][0]
                if progress is not None:
                    progress(table.name, report.rotated[table.name])
            if len(rows) < batch:
                break
    return report


async def _repseudonymise(uow: Any, table: Table, key: Column[Any], rows: Any) -> int:
    spec = _PSEUDONYMS.get(table.name)
    if spec is None or not rows:
        return 0
    ref_name, source_name, encrypted = spec
    ref, source = table.c[ref_name], table.c[source_name]
    ids = [row[0] for row in rows]
    stmt = select(key, _raw(source) if encrypted else source, ref).where(key.in_(ids))
    changed = 0
    for pk, value, current in (await uow.session.execute(stmt)).all():
        if value is None:
            continue
        try:
            telegram_id = int(decrypt(value) if encrypted else value)
        except (ValueError, CryptoError):
            continue
        if not telegram_id:
            continue  # an erased author: nothing to recompute it from
        wanted = pseudonym(telegram_id)
        if current != wanted:
            await uow.session.execute(update(table).where(key == pk).values({ref_name: wanted}))
            changed += 1
    return changed


async def stale_values(db: Database) -> int:
    """How many stored values are not under the newest key (0: the old keys can go)."""
    stale = 0
    async with db.uow(read_only=True) as uow:
        for _table, _key, columns in encrypted_tables():
            for column in columns:
                stmt = select(_raw(column)).where(column.is_not(None))
                for token in (await uow.session.execute(stmt)).scalars():
                    stale += not is_current(token)
    return stale
