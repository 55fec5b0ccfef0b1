"""alert rows grouped by escalation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 15:20:00.000000

Alert rows in the outbox get the (indexed) batch `esc:{escalation id}`, so acknowledging an
escalation finds them by index instead of scanning keys with LIKE.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.text("SELECT id, key FROM outbox WHERE kind = 'alert' AND batch IS NULL")
    ).all()
    for row_id, key in rows:
        parts = str(key).split(":")
        if len(parts) > 1 and parts[0] == "esc" and parts[1].isdigit():
            bind.execute(
                sa.text("UPDATE outbox SET batch = :batch WHERE id = :id"),
                {"batch": f"esc:{parts[1]}", "id": row_id},
            )


def downgrade() -> None:
    op.execute("UPDATE outbox SET batch = NULL WHERE kind = 'alert'")
