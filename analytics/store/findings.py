"""Findings across runs: the run log, taking in a run's findings, and applying triage moves.

A run's findings are matched to the stored ones by their stable id. What the run did with each
goes into ``occurrences`` (new, seen, recurred, gone, seen_closed); the finding keeps its
workflow state, which only people change, except that a rectified finding found again has
recurred. "No longer found" is set only by a run that judged the finding's check completely
(no ``--only``, not skipped, no part left out): presence is not a decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import polars as pl
from polars._typing import PolarsDataType
from sqlalchemy import Table, bindparam, func, insert, select, update

from analytics.store.audit import audited
from analytics.store.db import Store
from analytics.store.models import (
    Base,
    CheckRecipe,
    Finding,
    FindingEvent,
    Occurrence,
    Recovery,
    Run,
    utcnow,
)
from analytics.workflow.triage import MoveError, MoveInput, after_seen, plan_move

SYSTEM = "系统（检查运行）"
_CHUNK = 5000  # rows per executemany: bounded memory at city scale


def _table(model: type[Base]) -> Table:
    """A model's table, for core statements run once per batch of rows (executemany)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class ConcurrentEditError(MoveError):
    """The finding changed since the person opened it: nothing was written."""


# --- the run log ------------------------------------------------------------------------------


def start_run(store: Store, **fields) -> int:
    """A row of the run log for an import or a check run that is starting; its id."""
    with store.session() as s:
        run = Run(status="running", **fields)
        s.add(run)
        s.flush()
        return run.id


def finish_run(store: Store, run_id: int, **fields) -> None:
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(finished_at=utcnow(), **fields))


def runs_frame(store: Store) -> pl.DataFrame:
    """The run log, newest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Run.id,
                Run.kind,
                Run.origin,
                Run.status,
                Run.started_at,
                Run.finished_at,
                Run.by,
                Run.as_of,
                Run.only,
                Run.complete,
                Run.snapshot_id,
                Run.rows,
                Run.rejects,
                Run.findings,
                Run.code_version,
                Run.replay_of,
                Run.out_dir,
                Run.checks,
            ).order_by(Run.id.desc())
        ).all()
    return pl.DataFrame(
        [r._asdict() for r in rows],
        schema={
            "id": pl.Int64,
            "kind": pl.String,
            "origin": pl.String,
            "status": pl.String,
            "started_at": pl.Datetime("us"),
            "finished_at": pl.Datetime("us"),
            "by": pl.String,
            "as_of": pl.Date,
            "only": pl.Object,
            "complete": pl.Boolean,
            "snapshot_id": pl.String,
            "rows": pl.Object,
            "rejects": pl.Int64,
            "findings": pl.Int64,
            "code_version": pl.String,
            "replay_of": pl.Int64,
            "out_dir": pl.String,
            "checks": pl.Object,
        },
        orient="row",
    )


def get_run(store: Store, run_id: int) -> Run | None:
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is not None:
            s.expunge(run)
        return run


# --- taking in a run's findings ----------------------------------------------------------------


@dataclass
class Ingested:
    counts: dict[str, int] = field(default_factory=dict)  # occurrence event -> findings
    warnings: list[str] = field(default_factory=list)  # Chinese


_KEYS = ("street", "month", "case_id", "txn_id", "id_number", "account_no", "staff_id", "item")


def ingest(
    store: Store,
    run_id: int,
    findings: pl.DataFrame,
    *,
    recipes: dict[str, str],
    complete_checks: Iterable[str],
    on_date: date,
    at: datetime | None = None,
) -> Ingested:
    """Take in one run's findings (the engine's frame: finding_id, check_id, family, severity,
    key columns, amount_fen, summary, evidence). ``recipes``: check id -> its finding-id recipe;
    ``complete_checks``: the checks this run judged completely over the whole drop."""
    at = at or utcnow()
    out = Ingested()
    findings = findings.unique(subset=["finding_id"], keep="first", maintain_order=True)
    complete = set(complete_checks)
    with store.session() as s:
        stored_recipes = {r.check_id: r.recipe for r in s.scalars(select(CheckRecipe))}
        changed = {c for c, r in recipes.items() if c in stored_recipes and stored_recipes[c] != r}
        for check_id in sorted(changed):
            out.warnings.append(
                f"检查项 {check_id} 的线索编号规则已改变（{stored_recipes[check_id]} → "
                f"{recipes[check_id]}），按旧规则编号的线索无法与本次结果对应，已保留原状态，"
                "不标记为“不再发现”"
            )
        for check_id, recipe in recipes.items():
            if check_id not in stored_recipes:
                s.add(CheckRecipe(check_id=check_id, recipe=recipe, since_run=run_id))
            elif check_id in changed:
                s.execute(
                    update(CheckRecipe)
                    .where(CheckRecipe.check_id == check_id)
                    .values(recipe=recipe, since_run=run_id)
                )
        s.flush()

        existing = _stored(s, findings["finding_id"].to_list())
        run = findings.join(existing, left_on="finding_id", right_on="id", how="left")
        new = run.filter(pl.col("state").is_null())
        seen = run.filter(pl.col("state").is_not_null())

        # new leads
        rows = [
            dict(
                id=r["finding_id"],
                recipe=recipes.get(r["check_id"], ""),
                check_id=r["check_id"],
                family=r["family"],
                severity=r["severity"],
                amount_fen=r["amount_fen"],
                summary=r["summary"] or "",
                first_run=run_id,
                first_seen_at=at,
                last_run=run_id,
                present=True,
                state="new",
                cycle=1,
                version=1,
                updated_at=at,
                **{k: r[k] for k in _KEYS},
            )
            for r in new.iter_rows(named=True)
        ]
        _chunked(s, insert(_table(Finding)), rows)
        _chunked(
            s,
            insert(_table(FindingEvent)),
            [
                dict(
                    finding_id=r["id"],
                    at=at,
                    on_date=on_date,
                    by=SYSTEM,
                    move="found",
                    from_state=None,
                    to_state="new",
                    run_id=run_id,
                    version=1,
                    data={},
                    attachments=[],
                )
                for r in rows
            ],
        )
        out.counts["new"] = len(rows)

        # seen again
        moved = [(r, *after_seen(r["state"])) for r in seen.iter_rows(named=True)]
        _chunked(
            s,
            update(_table(Finding))
            .where(Finding.id == bindparam("b_id"))
            .values(
                last_run=run_id,
                present=True,
                gone_run=None,
                amount_fen=bindparam("b_amount"),
                summary=bindparam("b_summary"),
                state=bindparam("b_state"),
                version=bindparam("b_version"),
                seen_while_closed=bindparam("b_closed"),
                updated_at=bindparam("b_at"),
            ),
            [
                dict(
                    b_id=r["finding_id"],
                    b_amount=r["amount_fen"],
                    b_summary=r["summary"] or "",
                    b_state=state,
                    b_version=r["version"] + (state != r["state"]),
                    b_closed=r["seen_while_closed"] or event == "seen_closed",
                    b_at=at if state != r["state"] else r["updated_at"],
                )
                for r, state, event in moved
            ],
        )
        _chunked(
            s,
            insert(_table(FindingEvent)),
            [
                dict(
                    finding_id=r["finding_id"],
                    at=at,
                    on_date=on_date,
                    by=SYSTEM,
                    move="recur",
                    from_state=r["state"],
                    to_state=state,
                    run_id=run_id,
                    version=r["version"] + 1,
                    reason=f"第 {run_id} 次运行再次发现",
                    data={},
                    attachments=[],
                )
                for r, state, event in moved
                if event == "recurred"
            ],
        )
        events = {r["finding_id"]: event for r, _, event in moved}
        events.update({r["id"]: "new" for r in rows})
        for event in ("seen", "recurred", "seen_closed"):
            out.counts[event] = sum(1 for e in events.values() if e == event)

        _chunked(
            s,
            insert(_table(Occurrence)),
            [
                dict(
                    run_id=run_id,
                    finding_id=r["finding_id"],
                    event=events[r["finding_id"]],
                    amount_fen=r["amount_fen"],
                    summary=r["summary"],
                    evidence=r["evidence"],
                )
                for r in findings.iter_rows(named=True)
            ],
        )

        # no longer found: only by a complete judgement of the same check, same recipe
        judged = sorted(complete - changed)
        found = set(findings["finding_id"].to_list())
        gone = (
            [
                fid
                for (fid,) in s.execute(
                    select(Finding.id).where(
                        Finding.present.is_(True), Finding.check_id.in_(judged)
                    )
                )
                if fid not in found
            ]
            if judged
            else []
        )
        _chunked(
            s,
            update(_table(Finding))
            .where(Finding.id == bindparam("b_id"))
            .values(present=False, gone_run=run_id),
            [dict(b_id=fid) for fid in gone],
        )
        _chunked(
            s,
            insert(_table(Occurrence)),
            [dict(run_id=run_id, finding_id=fid, event="gone") for fid in gone],
        )
        out.counts["gone"] = len(gone)
    return out


def _stored(s, ids: list[str]) -> pl.DataFrame:
    schema: dict[str, PolarsDataType] = {
        "id": pl.String,
        "state": pl.String,
        "version": pl.Int64,
        "cycle": pl.Int64,
        "seen_while_closed": pl.Boolean,
        "updated_at": pl.Datetime("us"),
    }
    rows = []
    for i in range(0, len(ids), _CHUNK):
        rows += s.execute(
            select(
                Finding.id,
                Finding.state,
                Finding.version,
                Finding.cycle,
                Finding.seen_while_closed,
                Finding.updated_at,
            ).where(Finding.id.in_(ids[i : i + _CHUNK]))
        ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def _chunked(s, statement, rows: list[dict]) -> None:
    for i in range(0, len(rows), _CHUNK):
        s.execute(statement, rows[i : i + _CHUNK])


# --- triage moves -------------------------------------------------------------------------------


@audited(
    "state_change",
    lambda version, finding_id, move, *a, **kw: (finding_id, {"move": move, "version": version}),
)
def apply_move(
    store: Store,
    finding_id: str,
    move: str,
    given: MoveInput,
    *,
    by: str,
    expected_version: int,
    today: date,
    default_due: date | None = None,
    max_exception_days: int | None = None,
) -> int:
    """Apply one move to one finding, or raise MoveError (not allowed, something missing) or
    ConcurrentEditError (someone changed it since ``expected_version``). Returns the new
    version. The state, the history row and any recovery are written in one transaction."""
    with store.session() as s:
        return _apply(
            s,
            finding_id,
            move,
            given,
            by=by,
            expected_version=expected_version,
            today=today,
            default_due=default_due,
            max_exception_days=max_exception_days,
        )


def apply_bulk(
    store: Store,
    versions: dict[str, int],
    move: str,
    given: MoveInput,
    *,
    by: str,
    today: date,
    default_due: date | None = None,
    max_exception_days: int | None = None,
) -> tuple[list[str], dict[str, str]]:
    """One move, one reason, many findings: each through the same rules as a single move, each
    in its own transaction. (done ids, {refused id: Chinese reason})."""
    done, refused = [], {}
    for finding_id, version in versions.items():
        try:
            apply_move(
                store,
                finding_id,
                move,
                given,
                by=by,
                expected_version=version,
                today=today,
                default_due=default_due,
                max_exception_days=max_exception_days,
            )
            done.append(finding_id)
        except MoveError as exc:
            refused[finding_id] = str(exc)
    return done, refused


def _apply(
    s,
    finding_id: str,
    move: str,
    given: MoveInput,
    *,
    by: str,
    expected_version: int,
    today: date,
    default_due: date | None,
    max_exception_days: int | None,
) -> int:
    finding = s.get(Finding, finding_id)
    if finding is None:
        raise MoveError("找不到这条线索")
    if finding.version != expected_version:
        raise ConcurrentEditError("这条线索刚被他人修改过，请刷新后查看最新状态再操作")
    plan = plan_move(
        finding.state,
        finding.family,
        move,
        given,
        today=today,
        default_due=default_due,
        max_exception_days=max_exception_days,
    )
    values = {k: v for k, v in plan.changes.items() if k != "cycle_bump"}
    if plan.changes.get("cycle_bump"):
        values["cycle"] = finding.cycle + 1
    values.update(
        state=plan.to_state, version=expected_version + 1, updated_at=utcnow(), updated_by=by
    )
    result = s.execute(
        update(Finding)
        .where(Finding.id == finding_id, Finding.version == expected_version)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise ConcurrentEditError("这条线索刚被他人修改过，请刷新后查看最新状态再操作")
    data = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in plan.changes.items()
        if k != "cycle_bump"
    }
    if finding.due_date is not None:  # the deadline this move was made against (on time?)
        data["due_before"] = finding.due_date.isoformat()
    if finding.assignee_street or finding.assignee:
        data.setdefault("assignee_before", finding.assignee_street or finding.assignee)
    if plan.recovery:
        paid_on, amount = plan.recovery
        s.add(
            Recovery(
                finding_id=finding_id, paid_on=paid_on, amount_fen=amount, by=by, note=given.note
            )
        )
        data.update(paid_on=paid_on.isoformat(), amount_fen=amount)
    s.add(
        FindingEvent(
            finding_id=finding_id,
            on_date=today,
            by=by,
            move=move,
            from_state=plan.from_state,
            to_state=plan.to_state,
            reason=given.reason,
            note=given.note,
            data=data,
            attachments=list(given.attachments),
            version=expected_version + 1,
        )
    )
    return expected_version + 1


# --- reading ------------------------------------------------------------------------------------


def workflow_stamp(store: Store) -> tuple[int, int, int]:
    """Changes whenever the workflow does (a move, a run taken in, a payment recorded): the
    newest event, run and recovery ids. Cheap, so that readers can cache on it."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(
                select(func.coalesce(func.max(FindingEvent.id), 0)).scalar_subquery(),
                select(func.coalesce(func.max(Run.id), 0)).scalar_subquery(),
                select(func.coalesce(func.max(Recovery.id), 0)).scalar_subquery(),
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


FINDING_STATE_SCHEMA: dict[str, PolarsDataType] = {
    "finding_id": pl.String,
    "state": pl.String,
    "version": pl.Int64,
    "present": pl.Boolean,
    "seen_while_closed": pl.Boolean,
    "assignee": pl.String,
    "assignee_street": pl.String,
    "due_date": pl.Date,
    "expires_on": pl.Date,
    "cycle": pl.Int64,
    "first_run": pl.Int64,
    "last_run": pl.Int64,
    "gone_run": pl.Int64,
    "first_seen_at": pl.Datetime("us"),
    "updated_at": pl.Datetime("us"),
}


def states_frame(store: Store) -> pl.DataFrame:
    """Every stored finding's workflow state, to join to a run's findings by finding_id."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Finding.id,
                Finding.state,
                Finding.version,
                Finding.present,
                Finding.seen_while_closed,
                Finding.assignee,
                Finding.assignee_street,
                Finding.due_date,
                Finding.expires_on,
                Finding.cycle,
                Finding.first_run,
                Finding.last_run,
                Finding.gone_run,
                Finding.first_seen_at,
                Finding.updated_at,
            )
        ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=FINDING_STATE_SCHEMA, orient="row")


def findings_frame(store: Store) -> pl.DataFrame:
    """Every stored finding with its keys, latest amount and sentence, and its state."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Finding.id,
                Finding.check_id,
                Finding.family,
                Finding.severity,
                Finding.street,
                Finding.month,
                Finding.case_id,
                Finding.txn_id,
                Finding.amount_fen,
                Finding.summary,
            )
        ).all()
    keys = pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "finding_id": pl.String,
            "check_id": pl.String,
            "family": pl.String,
            "severity": pl.String,
            "street": pl.String,
            "month": pl.String,
            "case_id": pl.String,
            "txn_id": pl.String,
            "amount_fen": pl.Int64,
            "summary": pl.String,
        },
        orient="row",
    )
    return keys.join(states_frame(store), on="finding_id", how="left", validate="1:1")


def history_frame(
    store: Store, finding_id: str | None = None, moves: Iterable[str] | None = None
) -> pl.DataFrame:
    """The history of one finding (or of all), oldest first; only ``moves`` when given."""
    query = select(
        FindingEvent.finding_id,
        FindingEvent.at,
        FindingEvent.on_date,
        FindingEvent.by,
        FindingEvent.move,
        FindingEvent.from_state,
        FindingEvent.to_state,
        FindingEvent.reason,
        FindingEvent.note,
        FindingEvent.run_id,
        FindingEvent.version,
        FindingEvent.data,
        FindingEvent.attachments,
    ).order_by(FindingEvent.id)
    if finding_id is not None:
        query = query.where(FindingEvent.finding_id == finding_id)
    if moves is not None:
        query = query.where(FindingEvent.move.in_(list(moves)))
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame(
        [
            (
                *r[:11],
                _date_or_none((r.data or {}).get("due_before")),
                (r.data or {}).get("due_date"),
                len(r.attachments or []),
            )
            for r in rows
        ],
        schema=HISTORY_SCHEMA,
        orient="row",
    ).with_columns(pl.col("due_after").str.to_date(strict=False))


HISTORY_SCHEMA: dict[str, PolarsDataType] = {
    "finding_id": pl.String,
    "at": pl.Datetime("us"),
    "on_date": pl.Date,
    "by": pl.String,
    "move": pl.String,
    "from_state": pl.String,
    "to_state": pl.String,
    "reason": pl.String,
    "note": pl.String,
    "run_id": pl.Int64,
    "version": pl.Int64,
    "due_before": pl.Date,
    "due_after": pl.String,
    "attachments": pl.Int64,
}


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def occurrences_frame(store: Store, finding_id: str | None = None) -> pl.DataFrame:
    query = select(
        Occurrence.run_id, Occurrence.finding_id, Occurrence.event, Occurrence.amount_fen
    ).order_by(Occurrence.run_id)
    if finding_id is not None:
        query = query.where(Occurrence.finding_id == finding_id)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "run_id": pl.Int64,
            "finding_id": pl.String,
            "event": pl.String,
            "amount_fen": pl.Int64,
        },
        orient="row",
    )


def recoveries_frame(store: Store) -> pl.DataFrame:
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(
                Recovery.finding_id, Recovery.paid_on, Recovery.amount_fen, Recovery.by
            ).order_by(Recovery.id)
        ).all()
    return pl.DataFrame(
        [tuple(r) for r in rows],
        schema={
            "finding_id": pl.String,
            "paid_on": pl.Date,
            "amount_fen": pl.Int64,
            "by": pl.String,
        },
        orient="row",
    )
