"""档案核查: file-audit sessions, the cases drawn into them and the checklist answers.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("team", sa.JSON(), nullable=False),
        sa.Column("snapshot_id", sa.String(length=64), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=True),
        sa.Column("rectify_due", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_audit_sessions_run_id_runs")
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"], ["snapshots.id"], name=op.f("fk_audit_sessions_snapshot_id_snapshots")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_sessions")),
    )
    with op.batch_alter_table("audit_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_sessions_month"), ["month"], unique=False)

    op.create_table(
        "audit_answers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("item", sa.String(length=60), nullable=False),
        sa.Column("result", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["audit_sessions.id"],
            name=op.f("fk_audit_answers_session_id_audit_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_answers")),
        sa.UniqueConstraint(
            "session_id", "case_id", "item", name=op.f("uq_audit_answers_session_id")
        ),
    )
    with op.batch_alter_table("audit_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audit_answers_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "audit_cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.String(length=100), nullable=False),
        sa.Column("street", sa.String(length=100), nullable=True),
        sa.Column("household_id", sa.String(length=100), nullable=True),
        sa.Column("assistance_type", sa.String(length=100), nullable=True),
        sa.Column("handler_id", sa.String(length=100), nullable=True),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=True),
        sa.Column("draw_key", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["audit_sessions.id"],
            name=op.f("fk_audit_cases_session_id_audit_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_cases")),
        sa.UniqueConstraint("session_id", "case_id", name=op.f("uq_audit_cases_session_id")),
    )
    with op.batch_alter_table("audit_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_cases_session_id"), ["session_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_cases_session_id"))

    op.drop_table("audit_cases")
    with op.batch_alter_table("audit_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_answers_session_id"))

    op.drop_table("audit_answers")
    with op.batch_alter_table("audit_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_sessions_month"))

    op.drop_table("audit_sessions")
