"""The workflow database's tables (SQLAlchemy 2 declarative, typed).

Times are naive UTC (``utcnow()``) on every dialect; dates are calendar dates. Money is integer
fen. Nothing here is SQLite- or PostgreSQL-specific.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Constraint names fixed, so that migrations name the same things on every dialect.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Snapshot(Base):
    """One imported drop, kept as Parquet under the workspace; its id is a digest of its files."""

    __tablename__ = "snapshots"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(500))
    path: Mapped[str] = mapped_column(String(500))  # relative to the workspace
    files: Mapped[list[Any]] = mapped_column(JSON)  # name, table, size, sha256, rows
    rows: Mapped[dict[str, Any]] = mapped_column(JSON)  # table -> rows kept
    rejects: Mapped[int] = mapped_column(Integer, default=0)


class Run(Base):
    """The run log: every import and every check run, from the CLI or the browser."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(20))  # import | check | replay
    origin: Mapped[str] = mapped_column(String(20))  # cli | browser | test
    snapshot_id: Mapped[str | None] = mapped_column(ForeignKey("snapshots.id"))
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | failed
    error: Mapped[str | None] = mapped_column(Text)
    as_of: Mapped[date | None] = mapped_column(Date)
    only: Mapped[list[Any]] = mapped_column(JSON, default=list)
    complete: Mapped[bool] = mapped_column(Boolean, default=False)  # every check, none --only
    # The reference data in force (settings, catalogue, circles, calendar): each file's text,
    # so that a replay runs with exactly these, and their digests to compare at a glance.
    reference: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # path -> text
    settings_sha: Mapped[str | None] = mapped_column(String(64))
    catalogue_sha: Mapped[str | None] = mapped_column(String(64))
    calendar_sha: Mapped[str | None] = mapped_column(String(64))
    code_version: Mapped[str | None] = mapped_column(String(100))
    input_files: Mapped[list[Any]] = mapped_column(JSON, default=list)  # name, size, sha256
    rows: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # table -> rows kept
    rejects: Mapped[int] = mapped_column(Integer, default=0)
    findings: Mapped[int] = mapped_column(Integer, default=0)
    checks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per check counts
    out_dir: Mapped[str | None] = mapped_column(String(500))  # relative or absolute
    replay_of: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))


class CheckRecipe(Base):
    """How each check's finding ids are made (version and key columns), as last ingested: a
    change of keys must not silently orphan the findings made with the old recipe."""

    __tablename__ = "check_recipes"

    check_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    recipe: Mapped[str] = mapped_column(String(500))
    since_run: Mapped[int] = mapped_column(ForeignKey("runs.id"))


class Finding(Base):
    """A lead across runs, keyed by its stable id. Presence (did the latest complete run of its
    check find it) is kept apart from the workflow state, which only people change."""

    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    recipe: Mapped[str] = mapped_column(String(500))
    check_id: Mapped[str] = mapped_column(String(100), index=True)
    family: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(4))
    street: Mapped[str | None] = mapped_column(String(100), index=True)
    month: Mapped[str | None] = mapped_column(String(7))
    case_id: Mapped[str | None] = mapped_column(String(100))
    txn_id: Mapped[str | None] = mapped_column(String(100))
    id_number: Mapped[str | None] = mapped_column(String(40))
    account_no: Mapped[str | None] = mapped_column(String(40))
    staff_id: Mapped[str | None] = mapped_column(String(100))
    item: Mapped[str | None] = mapped_column(String(200))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # as the latest run found it
    summary: Mapped[str] = mapped_column(Text)
    first_run: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_run: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    present: Mapped[bool] = mapped_column(Boolean, default=True)
    gone_run: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))  # found no more by
    seen_while_closed: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(20), index=True)
    assignee_street: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(200))
    due_date: Mapped[date | None] = mapped_column(Date)  # to verify, or to rectify by
    expires_on: Mapped[date | None] = mapped_column(Date)  # an exception's expiry
    cycle: Mapped[int] = mapped_column(Integer, default=1)  # rectification cycle
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class Occurrence(Base):
    """What one run did with one finding: new, seen, recurred, gone, seen_closed."""

    __tablename__ = "occurrences"
    __table_args__ = (UniqueConstraint("run_id", "finding_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[str | None] = mapped_column(Text)


class FindingEvent(Base):
    """The history of a finding: every move, by a person or by a run."""

    __tablename__ = "finding_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    on_date: Mapped[date] = mapped_column(Date, index=True)  # the day the move counts for
    by: Mapped[str] = mapped_column(String(200))
    move: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    version: Mapped[int] = mapped_column(Integer)  # the finding's version after it


class Recovery(Base):
    """Money recovered for a finding: payments that add up, never a flag."""

    __tablename__ = "recoveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    finding_id: Mapped[str] = mapped_column(ForeignKey("findings.id"), index=True)
    paid_on: Mapped[date] = mapped_column(Date)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """A file attached to a move, kept under the workspace by its digest."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    by: Mapped[str] = mapped_column(String(200))


Index("ix_findings_state_street", Finding.state, Finding.street)


class DishonestyRecord(Base):
    """失信记录 kept by the joint-meeting office; its due process in dishonesty_events."""

    __tablename__ = "dishonesty_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)  # 失信记录编号
    id_number: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(100))
    household_id: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[str | None] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(100))
    conduct: Mapped[str] = mapped_column(String(10))  # 虚报 / 隐瞒 / 欺骗 / 其他
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))  # 轻微 / 一般 / 严重
    basis: Mapped[str] = mapped_column(Text)  # the law and article relied on
    money_obtained_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    money_recovered_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    finding_id: Mapped[str | None] = mapped_column(ForeignKey("findings.id"))
    issuing_body: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), index=True)
    notified_on: Mapped[date | None] = mapped_column(Date)
    notify_method: Mapped[str | None] = mapped_column(String(20))
    objection_from: Mapped[str | None] = mapped_column(String(20))
    objection_raised_on: Mapped[date | None] = mapped_column(Date)
    decision_no: Mapped[str | None] = mapped_column(String(100))
    decision_date: Mapped[date | None] = mapped_column(Date)
    term_months: Mapped[int | None] = mapped_column(Integer)
    returned_on: Mapped[date | None] = mapped_column(Date)
    commitment_on: Mapped[date | None] = mapped_column(Date)
    publication_no: Mapped[str | None] = mapped_column(String(60))  # the document it went out in
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DishonestyEvent(Base):
    """Every move of a record's due process, and every edit with the record as it was."""

    __tablename__ = "dishonesty_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("dishonesty_records.id"), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    on_date: Mapped[date] = mapped_column(Date)
    by: Mapped[str] = mapped_column(String(200))
    move: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the record before an edit
    version: Mapped[int] = mapped_column(Integer)


class MemberQuery(Base):
    """A member unit's 他处受限 query: who, when, why, how many numbers; never the numbers."""

    __tablename__ = "member_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    by: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(200))
    numbers: Mapped[int] = mapped_column(Integer)
    listed: Mapped[int] = mapped_column(Integer)


class AuditSession(Base):
    """档案核查: one month's file-audit session. The sample is drawn from a snapshot with a
    stored seed and parameters (drawn again, it is the same); the checklist is copied in, so that
    an administrator's later edit of data/checklist.toml changes no session already started."""

    __tablename__ = "audit_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    month: Mapped[str] = mapped_column(String(7), index=True)  # the month audited
    held_on: Mapped[date] = mapped_column(Date)  # the day of the session
    title: Mapped[str] = mapped_column(String(200))
    team: Mapped[list[Any]] = mapped_column(JSON)  # names of the auditors
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("snapshots.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))  # the session in the run log
    seed: Mapped[int] = mapped_column(BigInteger)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # how the sample was drawn
    checklist: Mapped[list[Any]] = mapped_column(JSON)  # code, label, guide
    state: Mapped[str] = mapped_column(String(10), default="open")  # open | closed
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_by: Mapped[str | None] = mapped_column(String(200))
    closed_on: Mapped[date | None] = mapped_column(Date)
    rectify_due: Mapped[date | None] = mapped_column(Date)  # given to the failures
    version: Mapped[int] = mapped_column(Integer, default=1)


class AuditCase(Base):
    """A case drawn into a session, with why it was drawn."""

    __tablename__ = "audit_cases"
    __table_args__ = (UniqueConstraint("session_id", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("audit_sessions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # order in the sample
    case_id: Mapped[str] = mapped_column(String(100))
    street: Mapped[str | None] = mapped_column(String(100))
    household_id: Mapped[str | None] = mapped_column(String(100))
    assistance_type: Mapped[str | None] = mapped_column(String(100))
    handler_id: Mapped[str | None] = mapped_column(String(100))
    manual: Mapped[bool] = mapped_column(Boolean, default=False)  # added by a supervisor
    reasons: Mapped[list[Any]] = mapped_column(JSON)  # risk factor codes
    weight: Mapped[float | None] = mapped_column(Float)
    draw_key: Mapped[float | None] = mapped_column(Float)


class AuditAnswer(Base):
    """One checklist item of one case: 符合 / 不符合 / 不适用 with a note. One row per item, so
    that people answering different cases (or items) at once never overwrite each other; a row
    changed since it was read is refused (optimistic version)."""

    __tablename__ = "audit_answers"
    __table_args__ = (UniqueConstraint("session_id", "case_id", "item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("audit_sessions.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(100))
    item: Mapped[str] = mapped_column(String(60))  # checklist code
    result: Mapped[str] = mapped_column(String(10))  # pass | fail | na
    note: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)


class User(Base):
    """A local account (the embedded default; a deployment may log in through OIDC instead).
    The password is kept only as an argon2 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))  # analytics.access.ROLES
    street: Mapped[str | None] = mapped_column(String(100))  # a 街镇 account's street
    unit: Mapped[str | None] = mapped_column(String(200))  # a 成员单位 account's unit
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoginSession(Base):
    """A logged-in browser session: kept by the digest of its token (the token itself lives only
    in the browser session); it expires when idle too long and at an absolute limit."""

    __tablename__ = "login_sessions"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditEntry(Base):
    """The audit log: append-only, each row holding the hash of the one before it, so that an
    edited, inserted or deleted row breaks the chain (analytics.store.audit.verify). On
    PostgreSQL a trigger refuses UPDATE, DELETE and TRUNCATE. Identifiers in ``detail`` are
    masked before they are written."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(40), index=True)
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
