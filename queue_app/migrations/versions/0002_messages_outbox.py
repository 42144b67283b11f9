"""messages outbox and patient contact details

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
import queue_app.models


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('opt_outs',
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('at', queue_app.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('phone', 'channel', name=op.f('pk_opt_outs'))
    )
    op.create_table('messages',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('dedupe_key', sa.String(length=80), nullable=False),
    sa.Column('route', sa.String(length=16), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('lease_until', queue_app.models.UTCDateTime(), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('variables', sa.Text(), nullable=False),
    sa.Column('provider_id', sa.String(length=120), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('cost', sa.Double(), nullable=False),
    sa.Column('created_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('sent_at', queue_app.models.UTCDateTime(), nullable=True),
    sa.Column('delivered_at', queue_app.models.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_messages_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_messages_dedupe_key'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_provider_id'), ['provider_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('message_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_attempts_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_attempts'))
    )
    with op.batch_alter_table('message_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_message_attempts_message_id'), ['message_id'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transfer_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('consent', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('email', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('telegram_chat_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('telegram_code', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('push_subscription', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('needs_call', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_unique_constraint(batch_op.f('uq_tickets_telegram_code'), ['telegram_code'])



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_tickets_telegram_code'), type_='unique')
        batch_op.drop_column('needs_call')
        batch_op.drop_column('push_subscription')
        batch_op.drop_column('telegram_code')
        batch_op.drop_column('telegram_chat_id')
        batch_op.drop_column('email')
        batch_op.drop_column('consent')
        batch_op.drop_column('transfer_count')

    with op.batch_alter_table('message_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_message_attempts_message_id'))

    op.drop_table('message_attempts')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_messages_sent_at'))
        batch_op.drop_index(batch_op.f('ix_messages_provider_id'))
        batch_op.drop_index('ix_messages_due')

    op.drop_table('messages')
    op.drop_table('opt_outs')
