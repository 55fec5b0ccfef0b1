"""escalation not meant

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 20:40:00.000000

After the crisis reply a member may press "That's not what I meant" (issue 12): when they did
is kept on the escalation (`not_meant_at`). It never closes the escalation by itself; the
coordinators see it on the alert and in a monthly false-alarm figure.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('not_meant_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_column('not_meant_at')
