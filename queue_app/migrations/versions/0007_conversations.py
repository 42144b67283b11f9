"""conversations: the staff inbox of patients' messages, quick replies, late patients

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import queue_app.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('late', sa.Boolean(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('held_until', queue_app.models.UTCDateTime(), nullable=True))
    op.create_table('conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('telegram_chat_id', sa.String(length=40), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('assigned_to', sa.String(length=80), nullable=True),
    sa.Column('unread', sa.Integer(), nullable=False),
    sa.Column('preview', sa.String(length=120), nullable=False),
    sa.Column('last_message_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('created_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('after_hours_replied_on', sa.Date(), nullable=True),
    sa.Column('callback', sa.Boolean(), nullable=False),
    sa.Column('preferred_time', sa.String(length=80), nullable=True),
    sa.Column('erased_at', queue_app.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_conversations_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_status_last', ['status', 'last_message_at'], unique=False)
        batch_op.create_index('ix_conversations_phone', ['phone'], unique=False)
        batch_op.create_index('ix_conversations_telegram_chat_id', ['telegram_chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_ticket_id'), ['ticket_id'], unique=False)
    op.create_table('conversation_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=80), nullable=False),
    sa.Column('provider_id', sa.String(length=120), nullable=True),
    sa.Column('keyword', sa.String(length=16), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', queue_app.models.UTCDateTime(), nullable=True),
    sa.Column('lease_until', queue_app.models.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_messages')),
    sa.UniqueConstraint('provider_id', name=op.f('uq_conversation_messages_provider_id'))
    )
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_messages_due', ['direction', 'status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_messages_conversation_id'), ['conversation_id'], unique=False)
    op.create_table('reply_templates',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('texts', sa.Text(), nullable=False),
    sa.Column('updated_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates'))
    )


def downgrade() -> None:
    op.drop_table('reply_templates')
    with op.batch_alter_table('conversation_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_messages_conversation_id'))
        batch_op.drop_index('ix_conversation_messages_due')
    op.drop_table('conversation_messages')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversations_ticket_id'))
        batch_op.drop_index('ix_conversations_telegram_chat_id')
        batch_op.drop_index('ix_conversations_phone')
        batch_op.drop_index('ix_conversations_status_last')
    op.drop_table('conversations')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('held_until')
        batch_op.drop_column('late')
