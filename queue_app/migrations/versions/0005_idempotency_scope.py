"""idempotency keys scoped to their caller and day; phone look-ups for one open ticket per number

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idempotency_scope', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('idempotency_fingerprint', sa.String(length=64), nullable=True))
        batch_op.drop_constraint('uq_tickets_idempotency_key', type_='unique')
        batch_op.create_unique_constraint(
            'uq_tickets_idempotency_scope_key', ['clinic_day', 'idempotency_scope', 'idempotency_key']
        )
        batch_op.create_index('ix_tickets_phone_day', ['phone', 'clinic_day'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_phone_day')
        batch_op.drop_constraint('uq_tickets_idempotency_scope_key', type_='unique')
        batch_op.create_unique_constraint('uq_tickets_idempotency_key', ['idempotency_key'])
        batch_op.drop_column('idempotency_fingerprint')
        batch_op.drop_column('idempotency_scope')
