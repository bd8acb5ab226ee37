"""失信名单 in the workspace database: records, their due process, edits, member queries.

The rules are analytics.workflow.dishonesty's; this module only keeps and reads. Every move and
every edit writes a history row in the same transaction as the change, and bumps the record's
version (a stale version is refused, as for findings). A member unit's query is logged with who,
when, why and how many numbers, never the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import date

import polars as pl
from polars._typing import PolarsDataType
from sqlalchemy import func, select, update

from analytics.calendar import CalendarError
from analytics.store.audit import audited
from analytics.store.db import Store, rowcount
from analytics.store.models import (
    DishonestyEvent,
    DishonestyRecord,
    Finding,
    MemberQuery,
    utcnow,
)
from analytics.workflow import dishonesty as rules
from analytics.workflow.dishonesty import DueProcessError, Given, Record

EDITABLE = (
    "name",
    "household_id",
    "case_id",
    "street",
    "conduct",
    "description",
    "severity",
    "basis",
    "money_obtained_fen",
    "money_recovered_fen",
    "issuing_body",
)


class StaleRecordError(DueProcessError):
    """The record changed since the person opened it: nothing was written."""


def _as_rule_record(r: DishonestyRecord) -> Record:
    return Record(
        state=r.state,
        severity=r.severity,
        notified_on=r.notified_on,
        objection_from=r.objection_from,
        objection_raised_on=r.objection_raised_on,
        decision_date=r.decision_date,
        term_months=r.term_months,
        money_obtained_fen=r.money_obtained_fen or 0,
        money_recovered_fen=r.money_recovered_fen or 0,
    )


def _row(r: DishonestyRecord) -> dict:
    return {
        c: (v.isoformat() if isinstance(v, date) else v)
        for c, v in ((c, getattr(r, c)) for c in EDITABLE)
    }


@audited("dishonesty", lambda rid, **kw: (f"失信记录 {rid}", {"move": "create"}))
def create_record(
    store: Store,
    *,
    by: str,
    today: date,
    id_number: str,
    name: str,
    conduct: str,
    description: str,
    severity: str,
    basis: str,
    money_obtained_fen: int = 0,
    money_recovered_fen: int = 0,
    household_id: str | None = None,
    case_id: str | None = None,
    street: str | None = None,
    finding_id: str | None = None,
    issuing_body: str | None = None,
) -> int:
    """A new record, 拟列入, by hand or from a verified finding (``finding_id``); its id."""
    if conduct not in rules.CONDUCTS:
        raise DueProcessError("失信行为应为：" + "、".join(rules.CONDUCTS))
    if severity not in rules.SEVERITIES:
        raise DueProcessError("严重程度应为：" + "、".join(rules.SEVERITIES))
    if not description.strip() or not basis.strip():
        raise DueProcessError("请填写失信行为的事实和列入依据")
    if money_obtained_fen < 0 or money_recovered_fen < 0:
        raise DueProcessError("金额不能为负数")
    with store.session() as s:
        record = DishonestyRecord(
            reference="",
            id_number=id_number,
            name=name.strip(),
            household_id=household_id,
            case_id=case_id,
            street=street,
            conduct=conduct,
            description=description.strip(),
            severity=severity,
            basis=basis.strip(),
            money_obtained_fen=money_obtained_fen,
            money_recovered_fen=money_recovered_fen,
            finding_id=finding_id,
            issuing_body=issuing_body,
            state="proposed",
            version=1,
            created_by=by,
        )
        s.add(record)
        s.flush()
        record.reference = f"SX{today.year}{record.id:06d}"
        s.add(
            DishonestyEvent(
                record_id=record.id,
                on_date=today,
                by=by,
                move="create",
                from_state=None,
                to_state="proposed",
                data={},
                version=1,
            )
        )
        return record.id


@audited(
    "dishonesty",
    lambda version, record_id, move, *a, **kw: (
        f"失信记录 {record_id}",
        {"move": move, "version": version},
    ),
)
def apply(
    store: Store,
    record_id: int,
    move: str,
    given: Given,
    *,
    by: str,
    expected_version: int,
    today: date,
    calendar,
    settings: rules.Rules | None = None,
) -> int:
    """One move of due process; the new version. Raises DueProcessError (not allowed, something
    missing, a window still open) or StaleRecordError."""
    settings = settings or rules.Rules()
    with store.session() as s:
        record = s.get(DishonestyRecord, record_id)
        if record is None:
            raise DueProcessError("找不到这条失信记录")
        if record.version != expected_version:
            raise StaleRecordError("这条记录刚被他人修改过，请刷新后查看最新状态再操作")
        target, changes = rules.plan(
            _as_rule_record(record), move, given, today=today, calendar=calendar, rules=settings
        )
        values = dict(changes, state=target, version=expected_version + 1, updated_at=utcnow())
        done = s.execute(
            update(DishonestyRecord)
            .where(DishonestyRecord.id == record_id, DishonestyRecord.version == expected_version)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) != 1:
            raise StaleRecordError("这条记录刚被他人修改过，请刷新后查看最新状态再操作")
        s.add(
            DishonestyEvent(
                record_id=record_id,
                on_date=today,
                by=by,
                move=move,
                from_state=record.state,
                to_state=target,
                reason=given.reason,
                data={
                    k: (v.isoformat() if isinstance(v, date) else v)
                    for k, v in asdict(given).items()
                    if v is not None and k != "reason"
                },
                version=expected_version + 1,
            )
        )
        return expected_version + 1


@audited(
    "dishonesty",
    lambda result, record_id, changes, *a, **kw: (
        f"失信记录 {record_id}",
        {"move": "edit", "fields": sorted(changes)},
    ),
)
def edit(
    store: Store,
    record_id: int,
    changes: dict,
    *,
    by: str,
    reason: str,
    expected_version: int,
    today: date,
) -> int:
    """Correct a record's facts; the record as it was is kept in the history (a published
    record's earlier versions stay readable). Only EDITABLE fields."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise DueProcessError("不能修改的字段：" + "、".join(sorted(unknown)))
    if not reason.strip():
        raise DueProcessError("修改记录需要填写理由")
    with store.session() as s:
        record = s.get(DishonestyRecord, record_id)
        if record is None:
            raise DueProcessError("找不到这条失信记录")
        if record.state in rules.ENDED:
            raise DueProcessError("已撤回、已修复或已撤销的记录不能再修改")
        before = _row(record)
        done = s.execute(
            update(DishonestyRecord)
            .where(DishonestyRecord.id == record_id, DishonestyRecord.version == expected_version)
            .values(**changes, version=expected_version + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if rowcount(done) != 1:
            raise StaleRecordError("这条记录刚被他人修改过，请刷新后查看最新状态再操作")
        s.add(
            DishonestyEvent(
                record_id=record_id,
                on_date=today,
                by=by,
                move="edit",
                from_state=record.state,
                to_state=record.state,
                reason=reason,
                data={k: (v.isoformat() if isinstance(v, date) else v) for k, v in changes.items()},
                before=before,
                version=expected_version + 1,
            )
        )
        return expected_version + 1


RECORD_SCHEMA: dict[str, PolarsDataType] = {
    "record_id": pl.Int64,
    "reference": pl.String,
    "id_number": pl.String,
    "name": pl.String,
    "household_id": pl.String,
    "case_id": pl.String,
    "street": pl.String,
    "conduct": pl.String,
    "description": pl.String,
    "severity": pl.String,
    "basis": pl.String,
    "money_obtained_fen": pl.Int64,
    "money_recovered_fen": pl.Int64,
    "finding_id": pl.String,
    "issuing_body": pl.String,
    "state": pl.String,
    "notified_on": pl.Date,
    "notify_method": pl.String,
    "objection_from": pl.String,
    "objection_raised_on": pl.Date,
    "decision_no": pl.String,
    "decision_date": pl.Date,
    "term_months": pl.Int64,
    "returned_on": pl.Date,
    "commitment_on": pl.Date,
    "publication_no": pl.String,
    "version": pl.Int64,
}


def records_frame(store: Store) -> pl.DataFrame:
    """Every record as stored (state as stored: see with_status for what it is today)."""
    columns = [getattr(DishonestyRecord, "id" if c == "record_id" else c) for c in RECORD_SCHEMA]
    with store.engine.connect() as conn:
        rows = conn.execute(select(*columns).order_by(DishonestyRecord.id)).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=RECORD_SCHEMA, orient="row")


def with_status(
    records: pl.DataFrame, today: date, calendar, settings: rules.Rules | None = None
) -> pl.DataFrame:
    """Records with what each is today, computed from its dates: ``status`` (a SHOWN key),
    ``status_label``, ``window_end``, ``objection_due``, ``term_end`` and ``listed``."""
    settings = settings or rules.Rules()
    out = []
    for r in records.iter_rows(named=True):
        rec = Record(
            state=r["state"],
            severity=r["severity"],
            notified_on=r["notified_on"],
            objection_from=r["objection_from"],
            objection_raised_on=r["objection_raised_on"],
            decision_date=r["decision_date"],
            term_months=r["term_months"],
        )
        try:
            window = rules.window_end(rec, calendar, settings)
            due = rules.objection_due(rec, calendar, settings)
            shown = rules.status(rec, today, calendar, settings)
        except CalendarError:  # a year the calendar lacks: unknown, never guessed
            window = due = None
            shown = rec.state
        out.append(
            (
                shown,
                rules.SHOWN[shown],
                window,
                due,
                rules.term_end(rec),
                rules.is_listed(rec, today),
            )
        )
    extra = pl.DataFrame(
        out,
        schema={
            "status": pl.String,
            "status_label": pl.String,
            "window_end": pl.Date,
            "objection_due": pl.Date,
            "term_end": pl.Date,
            "listed": pl.Boolean,
        },
        orient="row",
    )
    return pl.concat([records, extra], how="horizontal")


def history_frame(store: Store, record_id: int) -> pl.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                DishonestyEvent.at,
                DishonestyEvent.on_date,
                DishonestyEvent.by,
                DishonestyEvent.move,
                DishonestyEvent.from_state,
                DishonestyEvent.to_state,
                DishonestyEvent.reason,
                DishonestyEvent.version,
                DishonestyEvent.before,
            )
            .where(DishonestyEvent.record_id == record_id)
            .order_by(DishonestyEvent.id)
        ).all()
    return pl.DataFrame(
        [(*r[:8], r[8] is not None) for r in rows],
        schema={
            "at": pl.Datetime("us"),
            "on_date": pl.Date,
            "by": pl.String,
            "move": pl.String,
            "from_state": pl.String,
            "to_state": pl.String,
            "reason": pl.String,
            "version": pl.Int64,
            "edited": pl.Boolean,
        },
        orient="row",
    )


def earlier_versions(store: Store, record_id: int) -> list[dict]:
    """The record's facts before each edit, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(DishonestyEvent.before, DishonestyEvent.version)
            .where(DishonestyEvent.record_id == record_id, DishonestyEvent.before.is_not(None))
            .order_by(DishonestyEvent.id)
        ).all()
    return [dict(before, version=version - 1) for before, version in rows]


# --- member units: listed or not ---------------------------------------------------------------

ANSWER_SCHEMA: dict[str, PolarsDataType] = {
    "query_index": pl.Int64,
    "listed": pl.Boolean,
    "reference": pl.String,
    "term_start": pl.Date,
    "term_end": pl.Date,
    "disputed": pl.Boolean,
}


@audited(
    "member_query",
    lambda frame, *a, **kw: (
        kw.get("unit"),
        {
            "purpose": kw.get("purpose"),
            "numbers": frame.height,
            "listed": int(frame.get_column("listed").sum()) if "listed" in frame.columns else None,
        },
    ),
)
def member_query(
    store: Store,
    id_numbers: Iterable[str],
    *,
    unit: str,
    purpose: str,
    by: str,
    today: date,
    settings=None,
) -> pl.DataFrame:
    """For each number asked, in order: listed or not and, when listed, the record's reference,
    term and whether it is disputed; nothing else about the person. The query is logged with
    who, the unit, when, why and how many numbers; the numbers themselves are not kept."""
    from analytics.reference import load_settings

    settings = settings or load_settings().dishonesty
    numbers = [n.strip().upper() for n in id_numbers]
    if purpose not in settings.query_purposes:
        raise DueProcessError("请选择查询用途：" + "、".join(settings.query_purposes))
    if not numbers:
        raise DueProcessError("请至少输入一个身份证号")
    if len(numbers) > settings.query_max_numbers:
        raise DueProcessError(f"一次最多查询 {settings.query_max_numbers} 个身份证号")
    with store.session() as s:
        records = s.scalars(
            select(DishonestyRecord).where(
                DishonestyRecord.id_number.in_(sorted(set(numbers))),
                DishonestyRecord.state.in_(["published", "objected"]),
            )
        ).all()
        found: dict[str, tuple] = {}
        for r in records:
            rec = _as_rule_record(r)
            if rules.is_listed(rec, today):
                found[r.id_number] = (
                    r.reference,
                    r.decision_date,
                    rules.term_end(rec),
                    r.state == "objected",
                )
        answers = [
            (i, n in found, *(found.get(n) or (None, None, None, None)))
            for i, n in enumerate(numbers)
        ]
        s.add(
            MemberQuery(
                by=by,
                unit=unit,
                purpose=purpose,
                numbers=len(numbers),
                listed=sum(1 for a in answers if a[1]),
            )
        )
    frame = pl.DataFrame(answers, schema=ANSWER_SCHEMA, orient="row")
    return frame.with_columns(pl.col("disputed").fill_null(False))


def query_log(store: Store) -> pl.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                MemberQuery.at,
                MemberQuery.by,
                MemberQuery.unit,
                MemberQuery.purpose,
                MemberQuery.numbers,
                MemberQuery.listed,
            ).order_by(MemberQuery.id.desc())
        ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "at": pl.Datetime("us"),
            "by": pl.String,
            "unit": pl.String,
            "purpose": pl.String,
            "numbers": pl.Int64,
            "listed": pl.Int64,
        },
        orient="row",
    )


def published_for_check(store: Store) -> pl.DataFrame:
    """Published records as the dishonesty table of a drop (id_number, name, start_date,
    end_date), for blacklisted_recipient: a record published this month flags next month's
    approvals. A record under an objection after publication counts as published until decided."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                DishonestyRecord.id_number,
                DishonestyRecord.name,
                DishonestyRecord.decision_date,
                DishonestyRecord.term_months,
                DishonestyRecord.state,
                DishonestyRecord.objection_from,
            ).where(
                DishonestyRecord.state.in_(["published", "objected"]),
                DishonestyRecord.decision_date.is_not(None),
            )
        ).all()
    out = []
    for id_number, name, decided, months, state, came_from in rows:
        if state == "objected" and came_from != "published":
            continue
        end = rules.term_end(
            Record(state="published", severity="一般", decision_date=decided, term_months=months)
        )
        out.append((id_number, name, decided, end))
    return pl.DataFrame(
        out,
        schema={
            "id_number": pl.String,
            "name": pl.String,
            "start_date": pl.Date,
            "end_date": pl.Date,
        },
        orient="row",
    )


def counts_by_street(store: Store) -> pl.DataFrame:
    """Per street: records proposed, published (ever), repaired: for the street indicators."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                DishonestyRecord.street, DishonestyEvent.move, DishonestyEvent.on_date, func.count()
            )
            .join(DishonestyEvent, DishonestyEvent.record_id == DishonestyRecord.id)
            .where(DishonestyEvent.move.in_(["create", "publish", "repair"]))
            .group_by(DishonestyRecord.street, DishonestyEvent.move, DishonestyEvent.on_date)
        ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={"street": pl.String, "move": pl.String, "on_date": pl.Date, "records": pl.Int64},
        orient="row",
    )


# --- candidates and publication documents ------------------------------------------------------


def finding_id_numbers(store: Store, finding_ids: list[str]) -> dict[str, str]:
    """finding id -> the ID number the finding names, for those of ``finding_ids`` naming one."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(Finding.id, Finding.id_number).where(Finding.id.in_(finding_ids))
        ).all()
    return {fid: number for fid, number in rows if number}


def publish_in_document(
    store: Store,
    versions: dict[int, int],
    prefix: str,
    number_for: Callable[[int], str],
    *,
    by: str,
    day: date,
    move: str,
) -> str:
    """Put the records (record id -> the version read) into one new publication document, in one
    transaction; its number. The document is numbered ``number_for(n)``, where n - 1 documents
    numbered with ``prefix`` exist; each record's version is bumped and a history row of
    ``move`` written. A record changed since it was read: StaleRecordError, nothing written."""
    with store.session() as s:
        used = s.scalars(
            select(DishonestyRecord.publication_no)
            .where(DishonestyRecord.publication_no.like(f"{prefix}%"))
            .distinct()
        ).all()
        number = number_for(len(set(used)) + 1)
        for record_id, version in sorted(versions.items()):
            done = s.execute(
                update(DishonestyRecord)
                .where(
                    DishonestyRecord.id == record_id,
                    DishonestyRecord.version == version,
                    DishonestyRecord.state == "published",
                    DishonestyRecord.publication_no.is_(None),
                )
                .values(publication_no=number, version=version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if rowcount(done) != 1:
                raise StaleRecordError("待公布的记录刚被他人修改过，本次未公布，请刷新后重试")
            s.add(
                DishonestyEvent(
                    record_id=record_id,
                    on_date=day,
                    by=by,
                    move=move,
                    from_state="published",
                    to_state="published",
                    reason=f"编入公布文件 {number}",
                    data={"publication_no": number, "published_on": day.isoformat()},
                    version=version + 1,
                )
            )
    return number


def publication_events(store: Store, move: str) -> list[tuple[int, date, str | None]]:
    """record id, date and document number of every history row of ``move``, in order."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(DishonestyEvent.record_id, DishonestyEvent.on_date, DishonestyEvent.data)
            .where(DishonestyEvent.move == move)
            .order_by(DishonestyEvent.id)
        ).all()
    return [(r, d, (data or {}).get("publication_no")) for r, d, data in rows]
