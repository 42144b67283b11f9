"""appointments: booked visits, their reminders in the outbox, and the ticket they arrive as

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
import queue_app.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('service_id', sa.String(length=40), nullable=False),
    sa.Column('starts_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('clinic_day', sa.Date(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('preparation', sa.String(length=40), nullable=True),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', queue_app.models.UTCDateTime(), nullable=False),
    sa.Column('status_at', queue_app.models.UTCDateTime(), nullable=True),
    sa.Column('status_by', sa.String(length=80), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_appointments_service_id_services')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_appointments_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('token', name=op.f('uq_appointments_token')),
    sa.UniqueConstraint('reference', 'starts_at', name='uq_appointments_reference_starts_at')
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index('ix_appointments_day_phone', ['clinic_day', 'phone'], unique=False)
        batch_op.create_index('ix_appointments_status_starts_at', ['status', 'starts_at'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_at', queue_app.models.UTCDateTime(), nullable=True))

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('kind', existing_type=sa.String(length=20), type_=sa.String(length=40))
        batch_op.create_index(batch_op.f('ix_messages_appointment_id'), ['appointment_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_messages_appointment_id_appointments'), 'appointments', ['appointment_id'], ['id'],
            ondelete='CASCADE',
        )


def downgrade() -> None:
    op.execute("DELETE FROM messages WHERE ticket_id IS NULL")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_messages_appointment_id_appointments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_messages_appointment_id'))
        batch_op.alter_column('kind', existing_type=sa.String(length=40), type_=sa.String(length=20))
        batch_op.alter_column('ticket_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('appointment_id')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('appointment_at')
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index('ix_appointments_status_starts_at')
        batch_op.drop_index('ix_appointments_day_phone')
    op.drop_table('appointments')
