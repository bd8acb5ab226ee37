"""失信名单: dishonesty records, their due process and edits, and member units' queries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "member_queries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("numbers", sa.Integer(), nullable=False),
        sa.Column("listed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_queries")),
    )
    with op.batch_alter_table("member_queries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_queries_at"), ["at"], unique=False)

    op.create_table(
        "dishonesty_records",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("reference", sa.String(length=40), nullable=False),
        sa.Column("id_number", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("household_id", sa.String(length=100), nullable=True),
        sa.Column("case_id", sa.String(length=100), nullable=True),
        sa.Column("street", sa.String(length=100), nullable=True),
        sa.Column("conduct", sa.String(length=10), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("money_obtained_fen", sa.BigInteger(), nullable=False),
        sa.Column("money_recovered_fen", sa.BigInteger(), nullable=False),
        sa.Column("finding_id", sa.String(length=40), nullable=True),
        sa.Column("issuing_body", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("notified_on", sa.Date(), nullable=True),
        sa.Column("notify_method", sa.String(length=20), nullable=True),
        sa.Column("objection_from", sa.String(length=20), nullable=True),
        sa.Column("objection_raised_on", sa.Date(), nullable=True),
        sa.Column("decision_no", sa.String(length=100), nullable=True),
        sa.Column("decision_date", sa.Date(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("returned_on", sa.Date(), nullable=True),
        sa.Column("commitment_on", sa.Date(), nullable=True),
        sa.Column("publication_no", sa.String(length=60), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_dishonesty_records_finding_id_findings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dishonesty_records")),
        sa.UniqueConstraint("reference", name=op.f("uq_dishonesty_records_reference")),
    )
    with op.batch_alter_table("dishonesty_records", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dishonesty_records_id_number"), ["id_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_dishonesty_records_state"), ["state"], unique=False)

    op.create_table(
        "dishonesty_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("on_date", sa.Date(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("move", sa.String(length=20), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["dishonesty_records.id"],
            name=op.f("fk_dishonesty_events_record_id_dishonesty_records"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dishonesty_events")),
    )
    with op.batch_alter_table("dishonesty_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_dishonesty_events_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("dishonesty_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dishonesty_events_record_id"))

    op.drop_table("dishonesty_events")
    with op.batch_alter_table("dishonesty_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dishonesty_records_state"))
        batch_op.drop_index(batch_op.f("ix_dishonesty_records_id_number"))

    op.drop_table("dishonesty_records")
    with op.batch_alter_table("member_queries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_queries_at"))

    op.drop_table("member_queries")
