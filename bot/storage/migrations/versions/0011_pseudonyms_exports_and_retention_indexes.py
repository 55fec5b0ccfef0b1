"""pseudonyms, exports and retention indexes

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 18:10:00.000000

Members' data rights (issue 13): rows that point at a person without naming them carry a
keyed pseudonym (`escalation.author_ref`, `question_asker.asker_ref`, `ask_mute.asker_ref`,
`audit_event.subject_ref`); an escalation whose author's data was erased says when
(`erased_at`); `member.exported_at` keeps /mydata to once an hour; and the retention job finds
old rows by time through indexes. Rows stored before this have no pseudonym: they are matched by
decrypting them (few), and given one when found.
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subject_ref', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_audit_event_at', ['at'], unique=False)
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author_ref', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_escalation_author_ref', ['author_ref'], unique=False)
        batch_op.create_index('ix_escalation_created', ['created_at'], unique=False)
    with op.batch_alter_table('escalation_action', schema=None) as batch_op:
        batch_op.create_index('ix_escalation_action_at', ['at'], unique=False)
    with op.batch_alter_table('question_asker', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asker_ref', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_question_asker_asker_ref', ['asker_ref'], unique=False)
    with op.batch_alter_table('ask_mute', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asker_ref', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_ask_mute_asker_ref', ['asker_ref'], unique=False)
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.create_index('ix_question_created', ['created_at'], unique=False)
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.create_index('ix_checkin_answered_at', ['answered_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('checkin', schema=None) as batch_op:
        batch_op.drop_index('ix_checkin_answered_at')
    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index('ix_question_created')
    with op.batch_alter_table('ask_mute', schema=None) as batch_op:
        batch_op.drop_index('ix_ask_mute_asker_ref')
        batch_op.drop_column('asker_ref')
    with op.batch_alter_table('question_asker', schema=None) as batch_op:
        batch_op.drop_index('ix_question_asker_asker_ref')
        batch_op.drop_column('asker_ref')
    with op.batch_alter_table('escalation_action', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_action_at')
    with op.batch_alter_table('escalation', schema=None) as batch_op:
        batch_op.drop_index('ix_escalation_created')
        batch_op.drop_index('ix_escalation_author_ref')
        batch_op.drop_column('erased_at')
        batch_op.drop_column('author_ref')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_at')
        batch_op.drop_column('subject_ref')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('exported_at')
