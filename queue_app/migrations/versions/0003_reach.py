"""reaching patients: lead time, provider results, numbers skipped for a while

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import queue_app.models


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lead_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('result_check_at', queue_app.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('result_checks', sa.Integer(), nullable=False, server_default='0'))
        batch_op.create_index(batch_op.f('ix_messages_result_check_at'), ['result_check_at'], unique=False)
    with op.batch_alter_table('opt_outs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=16), nullable=False, server_default='stop'))
        batch_op.add_column(sa.Column('until', queue_app.models.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('opt_outs', schema=None) as batch_op:
        batch_op.drop_column('until')
        batch_op.drop_column('reason')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_result_check_at'))
        batch_op.drop_column('result_checks')
        batch_op.drop_column('result_check_at')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('lead_minutes')
