"""replicas and the leader lease

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 17:30:00.000000

Several bot processes on one PostgreSQL database: each announces itself in `replica` (a
heartbeat), one holds the `lease` named 'leader'. Claimed inbound and outbox rows name the
replica that holds them, so recovery touches only rows whose holder is gone.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'replica',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('boot_id', sa.String(length=64), nullable=False),
        sa.Column('pid', sa.Integer(), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    lease = op.create_table(
        'lease',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('holder', sa.String(length=36), nullable=True),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )
    op.bulk_insert(lease, [{'name': 'leader', 'holder': None, 'expires_at': None}])
    with op.batch_alter_table('inbound', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=36), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('owner')
    with op.batch_alter_table('inbound', schema=None) as batch_op:
        batch_op.drop_column('owner')
    op.drop_table('lease')
    op.drop_table('replica')
