"""check-in plans and answers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 20:29:30.688744
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('checkin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('prompt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('mood', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('member_id', 'prompt_at', name='uq_checkin_per_prompt')
    )
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_member_at', ['member_id', 'answered_at'], unique=False)

    op.create_table('checkin_plan',
    sa.Column('member_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('rhythm', sa.String(length=8), nullable=False),
    sa.Column('at_local', sa.String(length=5), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('next_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id')
    )
    with op.batch_alter_table('checkin_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_checkin_plan_next_at'), ['next_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('checkin_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_checkin_plan_next_at'))

    op.drop_table('checkin_plan')
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_member_at')

    op.drop_table('checkin')
