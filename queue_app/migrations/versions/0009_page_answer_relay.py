"""page answers: seen on the phone page, or relayed on the patient's channels

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import queue_app.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_at', queue_app.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('relay_id', sa.String(length=36), nullable=True))
        batch_op.create_index(batch_op.f('ix_conversation_messages_relay_id'), ['relay_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_conversation_messages_relay_id_messages'), 'messages', ['relay_id'], ['id'],
            ondelete='SET NULL',
        )


def downgrade() -> None:
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_conversation_messages_relay_id_messages'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_conversation_messages_relay_id'))
        batch_op.drop_column('relay_id')
        batch_op.drop_column('seen_at')
