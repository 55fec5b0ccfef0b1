"""dead letters and escalations once per update

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 15:00:00.000000
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('inbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('error', sa.String(length=64), nullable=True))
    # Updates parked by earlier versions are dead letters now.
    op.execute("UPDATE inbound SET status = 'dead' WHERE status = 'failed'")
    with op.batch_alter_table('escalation_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('update_id', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint('uq_escalation_action_update_id', ['update_id'])


def downgrade() -> None:
    with op.batch_alter_table('escalation_action', schema=None) as batch_op:
        batch_op.drop_constraint('uq_escalation_action_update_id', type_='unique')
        batch_op.drop_column('update_id')
    op.execute("UPDATE inbound SET status = 'failed' WHERE status = 'dead'")
    with op.batch_alter_table('inbound', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('kind')
