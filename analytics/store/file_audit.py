"""档案核查 sessions in the workflow database: the sample drawn, the answers, the sign-off.

A session is a row of the run log too (kind ``file_audit``): its failures are findings like any
other (check ``file_audit_failure``, family ``file_audit``), first seen by the session's run.
Answers are one row per case and checklist item, written with optimistic versions, so that
several people working through one session's cases at once never lose each other's answers.

Closing a session signs it off: every case must be answered in full; the session becomes
read-only, and in the same transaction each 不符合 item becomes a finding ordered rectified by
the street by the session's deadline (a case and item that failed before and was rectified
has recurred: a new rectification cycle of the same finding), and an item found 符合 again
marks its earlier finding no longer found.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
from polars._typing import PolarsDataType
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from analytics.store.audit import audited
from analytics.store.db import Store, rowcount
from analytics.store.findings import ConcurrentEditError
from analytics.store.models import (
    AuditAnswer,
    AuditCase,
    AuditSession,
    CheckRecipe,
    Finding,
    FindingEvent,
    Occurrence,
    Run,
    utcnow,
)
from analytics.workflow import file_audit as fa
from analytics.workflow.triage import CLOSED, after_seen

RECIPE = "1:" + ",".join(sorted(fa.RECIPE_KEYS))
SESSION_STATES = {"open": "进行中", "closed": "已结束"}


def finding_id(case_id: str, item: str) -> str:
    """The same id for the same case and checklist item in every session (a failure found
    again is the same finding), made as the checks make theirs."""
    from checks.engine import finding_id as make

    return make(fa.CHECK_ID, {"case_id": case_id, "item": item})


@dataclass(frozen=True)
class SessionInfo:
    id: int
    month: str
    held_on: date
    title: str
    team: tuple[str, ...]
    snapshot_id: str
    run_id: int
    params: fa.SampleParams
    checklist: tuple[fa.ChecklistItem, ...]
    state: str
    created_by: str
    created_at: datetime
    closed_on: date | None
    closed_by: str | None
    rectify_due: date | None
    version: int

    @property
    def closed(self) -> bool:
        return self.state == "closed"


def _info(row: AuditSession) -> SessionInfo:
    return SessionInfo(
        id=row.id,
        month=row.month,
        held_on=row.held_on,
        title=row.title,
        team=tuple(row.team or ()),
        snapshot_id=row.snapshot_id,
        run_id=row.run_id,
        params=fa.SampleParams.from_dict(row.params),
        checklist=fa.checklist_from(row.checklist),
        state=row.state,
        created_by=row.created_by,
        created_at=row.created_at,
        closed_on=row.closed_on,
        closed_by=row.closed_by,
        rectify_due=row.rectify_due,
        version=row.version,
    )


# --- sessions -----------------------------------------------------------------------------------


@audited(
    "file_audit",
    lambda sid, **kw: (
        f"档案核查第 {sid} 期",
        {"event": "start", "month": kw["params"].month, "cases": kw["sample"].height},
    ),
)
def create_session(
    store: Store,
    *,
    sample: pl.DataFrame,
    params: fa.SampleParams,
    checklist: tuple[fa.ChecklistItem, ...],
    snapshot_id: str,
    held_on: date,
    title: str,
    team: list[str],
    by: str,
    origin: str = "browser",
) -> int:
    """Store a session with the sample drawn for it (analytics.workflow.file_audit.draw_sample)
    and its row in the run log; its id."""
    title = title.strip()
    team = [t.strip() for t in team if t and t.strip()]
    if not title:
        raise fa.FileAuditError("请填写核查名称")
    if not team:
        raise fa.FileAuditError("请填写核查组成员")
    if sample.height == 0:
        raise fa.FileAuditError("按所给参数没有抽到任何案件，请检查抽取范围")
    with store.session() as s:
        run = Run(
            kind="file_audit",
            origin=origin,
            snapshot_id=snapshot_id,
            by=by,
            status="running",
            only=[],
            reference={},
            input_files=[],
            rows={},
            checks={},
        )
        s.add(run)
        s.flush()
        session = AuditSession(
            month=params.month,
            held_on=held_on,
            title=title,
            team=team,
            snapshot_id=snapshot_id,
            run_id=run.id,
            seed=params.seed,
            params=params.to_dict(),
            checklist=[{"code": i.code, "label": i.label, "guide": i.guide} for i in checklist],
            state="open",
            created_by=by,
            version=1,
        )
        s.add(session)
        s.flush()
        s.add_all(AuditCase(session_id=session.id, **row) for row in sample.iter_rows(named=True))
        return session.id


def get_session(store: Store, session_id: int) -> SessionInfo:
    with store.session() as s:
        row = s.get(AuditSession, session_id)
        if row is None:
            raise fa.FileAuditError("找不到这次档案核查")
        return _info(row)


SESSIONS_SCHEMA: dict[str, PolarsDataType] = {
    "id": pl.Int64,
    "month": pl.String,
    "held_on": pl.Date,
    "title": pl.String,
    "team": pl.String,
    "state": pl.String,
    "created_by": pl.String,
    "created_at": pl.Datetime("us"),
    "closed_on": pl.Date,
    "closed_by": pl.String,
    "rectify_due": pl.Date,
    "snapshot_id": pl.String,
    "seed": pl.Int64,
    "cases": pl.Int64,
    "answered_cases": pl.Int64,
    "items": pl.Int64,
}


def sessions_frame(store: Store) -> pl.DataFrame:
    """Every session, newest first, with its cases and how many are answered in full."""
    with store.engine.connect() as conn:
        sessions = conn.execute(
            select(
                AuditSession.id,
                AuditSession.month,
                AuditSession.held_on,
                AuditSession.title,
                AuditSession.team,
                AuditSession.state,
                AuditSession.created_by,
                AuditSession.created_at,
                AuditSession.closed_on,
                AuditSession.closed_by,
                AuditSession.rectify_due,
                AuditSession.snapshot_id,
                AuditSession.seed,
                AuditSession.checklist,
            ).order_by(AuditSession.id.desc())
        ).all()
        cases = dict(
            conn.execute(
                select(AuditCase.session_id, func.count()).group_by(AuditCase.session_id)
            ).all()
        )
        answered = conn.execute(
            select(AuditAnswer.session_id, AuditAnswer.case_id, func.count()).group_by(
                AuditAnswer.session_id, AuditAnswer.case_id
            )
        ).all()
    items = {r.id: len(r.checklist or []) for r in sessions}
    # cases answered in full, per session: one pass over the answer counts
    done = Counter(sid for sid, _, n in answered if n >= items.get(sid, 0))
    rows = [
        (
            r.id,
            r.month,
            r.held_on,
            r.title,
            "、".join(r.team or []),
            r.state,
            r.created_by,
            r.created_at,
            r.closed_on,
            r.closed_by,
            r.rectify_due,
            r.snapshot_id,
            r.seed,
            cases.get(r.id, 0),
            done[r.id],
            items[r.id],
        )
        for r in sessions
    ]
    return pl.DataFrame(rows, schema=SESSIONS_SCHEMA, orient="row")


def sample_frame(store: Store, session_id: int) -> pl.DataFrame:
    """The session's cases (analytics.workflow.file_audit.SAMPLE_SCHEMA), in sample order."""
    with store.engine.connect() as conn:
        return _sample(conn, session_id)


def answers_frame(store: Store, session_id: int) -> pl.DataFrame:
    """The session's answers (ANSWER_SCHEMA), one row per case and item answered."""
    with store.engine.connect() as conn:
        return _answers(conn, session_id)


# --- answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    result: str  # pass | fail | na
    note: str | None = None


@audited(
    "file_audit",
    lambda written, session_id, case_id, answers, **kw: (
        f"档案核查第 {session_id} 期",
        {"event": "answer", "case_id": case_id, "written": written},
    ),
)
def save_answers(
    store: Store,
    session_id: int,
    case_id: str,
    answers: dict[str, Answer],
    *,
    by: str,
    expected: dict[str, int | None],
) -> int:
    """Record one case's answers, all or none. ``expected``: each item's version as the person
    read it (None: not answered then); an item someone else changed since raises
    ConcurrentEditError and nothing is written. An unchanged answer is not written again.
    Returns how many answers were written."""
    written = 0
    with store.session() as s:
        session = s.get(AuditSession, session_id)
        if session is None:
            raise fa.FileAuditError("找不到这次档案核查")
        if session.state != "open":
            raise fa.FileAuditError("这次档案核查已结束，不能再修改")
        in_sample = s.scalar(
            select(func.count())
            .select_from(AuditCase)
            .where(AuditCase.session_id == session_id, AuditCase.case_id == case_id)
        )
        if not in_sample:
            raise fa.FileAuditError("这个案件不在本次核查的样本中")
        labels = {i["code"]: i["label"] for i in session.checklist}
        for item, answer in answers.items():
            if item not in labels:
                raise fa.FileAuditError(f"核查清单中没有“{item}”这一项")
            if answer.result not in fa.RESULTS:
                raise fa.FileAuditError(f"“{labels[item]}”的结论应为符合、不符合或不适用")
            if answer.result == "fail" and not (answer.note or "").strip():
                raise fa.FileAuditError(f"“{labels[item]}”不符合，请在说明中写明问题")
        current = {
            a.item: a
            for a in s.scalars(
                select(AuditAnswer).where(
                    AuditAnswer.session_id == session_id, AuditAnswer.case_id == case_id
                )
            )
        }
        for item, answer in answers.items():
            note = (answer.note or "").strip() or None
            row = current.get(item)
            version = None if row is None else row.version
            if expected.get(item) != version:
                raise ConcurrentEditError(
                    f"“{labels[item]}”刚被他人修改过，请刷新后查看最新结论再保存"
                )
            if row is not None and row.result == answer.result and row.note == note:
                continue
            if row is None:
                s.add(
                    AuditAnswer(
                        session_id=session_id,
                        case_id=case_id,
                        item=item,
                        result=answer.result,
                        note=note,
                        by=by,
                        version=1,
                    )
                )
            else:
                done = s.execute(
                    update(AuditAnswer)
                    .where(AuditAnswer.id == row.id, AuditAnswer.version == row.version)
                    .values(
                        result=answer.result, note=note, by=by, at=utcnow(), version=row.version + 1
                    )
                    .execution_options(synchronize_session=False)
                )
                if rowcount(done) != 1:
                    raise ConcurrentEditError(
                        f"“{labels[item]}”刚被他人修改过，请刷新后查看最新结论再保存"
                    )
            written += 1
        if written:  # the session's figures changed: a sign-off drawn before is stale
            s.execute(
                update(AuditSession)
                .where(AuditSession.id == session_id)
                .values(version=AuditSession.version + 1)
                .execution_options(synchronize_session=False)
            )
        try:
            s.flush()
        except IntegrityError:
            raise ConcurrentEditError(
                "这个案件的结论刚被他人填写过，请刷新后查看最新结论再保存"
            ) from None
    return written


# --- closing: the sign-off, and failures into the follow-up loop --------------------------------


@dataclass(frozen=True)
class Closed:
    new: int  # failures that became new findings
    recurred: int  # failures of a case and item rectified before
    seen: int  # failures already being followed up
    gone: int  # earlier failures found 符合 this time


@audited(
    "file_audit",
    lambda closed, session_id, **kw: (
        f"档案核查第 {session_id} 期",
        {
            "event": "close",
            "new": closed.new,
            "recurred": closed.recurred,
            "seen": closed.seen,
            "gone": closed.gone,
            "rectify_due": kw["rectify_due"].isoformat(),
        },
    ),
)
def close_session(
    store: Store, session_id: int, *, by: str, today: date, rectify_due: date, expected_version: int
) -> Closed:
    """Sign the session off (read-only from now on) and take its failures into the workflow,
    all in one transaction. Every case must be answered in full."""
    if rectify_due < today:
        raise fa.FileAuditError("整改期限不能早于今天")
    at = utcnow()
    with store.session() as s:
        session = s.get(AuditSession, session_id)
        if session is None:
            raise fa.FileAuditError("找不到这次档案核查")
        if session.state != "open":
            raise fa.FileAuditError("这次档案核查已经结束")
        if session.version != expected_version:
            raise ConcurrentEditError(
                "这次档案核查的结论刚被他人修改过，请刷新后查看最新结果再签发"
            )
        info = _info(session)
        sample = _sample(s, session_id)
        answers = _answers(s, session_id)
        status = fa.case_status(sample, answers, info.checklist)
        undone = status.filter(~pl.col("done"))
        if undone.height:
            raise fa.FileAuditError(
                f"还有 {undone.height} 个案件没有填完核查清单，填完后才能结束核查"
            )
        labels = {i.code: i.label for i in info.checklist}
        failed = fa.failures(sample, answers, info.checklist)
        passed = answers.filter(pl.col("result") == "pass")
        counts = {"new": 0, "recurred": 0, "seen": 0, "gone": 0}
        if s.get(CheckRecipe, fa.CHECK_ID) is None:
            s.add(CheckRecipe(check_id=fa.CHECK_ID, recipe=RECIPE, since_run=info.run_id))
        reason = f"{info.title}（档案核查）不符合"
        for row in failed.iter_rows(named=True):
            fid = finding_id(row["case_id"], row["item"])
            summary = fa.failure_summary(
                info.title, row["case_id"], labels[row["item"]], row["note"]
            )
            evidence = json.dumps(
                {
                    "finding_id": fid,
                    "session": info.id,
                    "session_title": info.title,
                    "held_on": info.held_on.isoformat(),
                    "audit_item": labels[row["item"]],
                    "audit_note": row["note"],
                    "audited_by": row["by"],
                    "team": "、".join(info.team),
                },
                ensure_ascii=False,
            )
            finding = s.get(Finding, fid)
            if finding is None:
                event = "new"
                s.add(
                    Finding(
                        id=fid,
                        recipe=RECIPE,
                        check_id=fa.CHECK_ID,
                        family=fa.FAMILY,
                        severity=fa.SEVERITY,
                        street=row["street"],
                        month=info.month,
                        case_id=row["case_id"],
                        staff_id=row["handler_id"],
                        summary=summary,
                        first_run=info.run_id,
                        first_seen_at=at,
                        last_run=info.run_id,
                        present=True,
                        state="rectifying",
                        assignee_street=row["street"],
                        due_date=rectify_due,
                        cycle=1,
                        version=3,
                        updated_at=at,
                        updated_by=by,
                    )
                )
                s.flush()
                steps = [
                    ("found", None, "new"),
                    ("confirm", "new", "confirmed"),
                    ("rectify", "confirmed", "rectifying"),
                ]
                for version, (move, before, after) in enumerate(steps, start=1):
                    s.add(
                        FindingEvent(
                            finding_id=fid,
                            at=at,
                            on_date=today,
                            by=by,
                            move=move,
                            from_state=before,
                            to_state=after,
                            reason=reason,
                            run_id=info.run_id,
                            version=version,
                            attachments=[],
                            data={
                                "due_date": rectify_due.isoformat(),
                                "assignee_street": row["street"],
                            }
                            if move == "rectify"
                            else {},
                        )
                    )
            else:
                state, event = after_seen(finding.state)
                values: dict[str, Any] = dict(
                    last_run=info.run_id,
                    present=True,
                    gone_run=None,
                    summary=summary,
                    month=info.month,
                    updated_at=at,
                )
                version = finding.version
                if event == "recurred":
                    # found wanting again after it was rectified: a new cycle, ordered rectified
                    values.update(
                        state="rectifying",
                        cycle=finding.cycle + 1,
                        due_date=rectify_due,
                        assignee_street=row["street"],
                        updated_by=by,
                    )
                    s.add(
                        FindingEvent(
                            finding_id=fid,
                            at=at,
                            on_date=today,
                            by=by,
                            move="recur",
                            from_state=finding.state,
                            to_state="recurred",
                            reason=reason,
                            run_id=info.run_id,
                            version=version + 1,
                            attachments=[],
                            data={},
                        )
                    )
                    s.add(
                        FindingEvent(
                            finding_id=fid,
                            at=at,
                            on_date=today,
                            by=by,
                            move="rectify",
                            from_state="recurred",
                            to_state="rectifying",
                            reason=reason,
                            run_id=info.run_id,
                            version=version + 2,
                            attachments=[],
                            data={
                                "due_date": rectify_due.isoformat(),
                                "assignee_street": row["street"],
                            },
                        )
                    )
                    values["version"] = version + 2
                elif event == "seen_closed":
                    values["seen_while_closed"] = True
                s.execute(
                    update(Finding)
                    .where(Finding.id == fid)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
            counts["recurred" if event == "recurred" else "new" if event == "new" else "seen"] += 1
            s.add(
                Occurrence(
                    run_id=info.run_id,
                    finding_id=fid,
                    event=event,
                    summary=summary,
                    evidence=evidence,
                )
            )
        # judged 符合 this time: an earlier failure of the same case and item is no longer found
        for row in passed.iter_rows(named=True):
            fid = finding_id(row["case_id"], row["item"])
            finding = s.get(Finding, fid)
            if finding is not None and finding.present:
                s.execute(
                    update(Finding)
                    .where(Finding.id == fid)
                    .values(present=False, gone_run=info.run_id)
                    .execution_options(synchronize_session=False)
                )
                s.add(Occurrence(run_id=info.run_id, finding_id=fid, event="gone"))
                counts["gone"] += 1
        s.execute(
            update(AuditSession)
            .where(AuditSession.id == session_id)
            .values(
                state="closed",
                closed_at=at,
                closed_by=by,
                closed_on=today,
                rectify_due=rectify_due,
                version=session.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        s.execute(
            update(Run)
            .where(Run.id == info.run_id)
            .values(status="ok", finished_at=at, as_of=today, findings=failed.height, complete=True)
            .execution_options(synchronize_session=False)
        )
    return Closed(**counts)


def _sample(s, session_id: int) -> pl.DataFrame:
    rows = s.execute(
        select(*(getattr(AuditCase, c) for c in fa.SAMPLE_SCHEMA))
        .where(AuditCase.session_id == session_id)
        .order_by(AuditCase.position)
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=fa.SAMPLE_SCHEMA, orient="row")


def _answers(s, session_id: int) -> pl.DataFrame:
    rows = s.execute(
        select(*(getattr(AuditAnswer, c) for c in fa.ANSWER_SCHEMA))
        .where(AuditAnswer.session_id == session_id)
        .order_by(AuditAnswer.id)
    ).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=fa.ANSWER_SCHEMA, orient="row")


# --- what others read ---------------------------------------------------------------------------


def recorded_findings(store: Store) -> pl.DataFrame:
    """The file-audit findings in the shape of a run's findings (analytics.results
    .load_findings), with the evidence of the session that last found each: the 线索清单 shows
    them beside the run's findings."""
    from analytics.schema import FINDINGS_SCHEMA

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
                Finding.staff_id,
                Finding.summary,
                Finding.last_run,
                Finding.present,
            ).where(Finding.check_id == fa.CHECK_ID)
        ).all()
        evidence = dict(
            ((r.finding_id, r.run_id), r.evidence)
            for r in conn.execute(
                select(Occurrence.finding_id, Occurrence.run_id, Occurrence.evidence)
                .join(Finding, Finding.id == Occurrence.finding_id)
                .where(Finding.check_id == fa.CHECK_ID, Occurrence.evidence.is_not(None))
            )
        )
    out = pl.DataFrame(
        [
            {
                **{c: None for c in FINDINGS_SCHEMA},
                "check_id": r.check_id,
                "severity": r.severity,
                "street": r.street,
                "month": r.month,
                "case_id": r.case_id,
                "staff_id": r.staff_id,
                "summary": r.summary,
                "evidence": evidence.get((r.id, r.last_run)),
                "finding_id": r.id,
                "family": r.family,
                "title": TITLE,
                "amount_fen": None,
            }
            for r in rows
            if r.present
        ],
        schema={
            **FINDINGS_SCHEMA,
            "finding_id": pl.String,
            "family": pl.String,
            "title": pl.String,
            "amount_fen": pl.Int64,
        },
        orient="row",
    )
    return out.sort("street", "case_id", "finding_id", nulls_last=True)


TITLE = "档案核查不符合"


def pass_rate_facts(store: Store, before: datetime | None = None) -> pl.DataFrame:
    """The cases of the sessions closed (before ``before``, naive UTC, when given) as indicator
    facts: street, month audited, audit_passed (0/1), audit_cases (1)."""
    query = select(
        AuditSession.id,
        AuditSession.month,
        AuditSession.state,
        AuditSession.closed_at,
        AuditSession.checklist,
    )
    with store.engine.connect() as conn:
        sessions = conn.execute(query).all()
    frames = []
    for r in sessions:
        if r.state != "closed" or (before is not None and r.closed_at >= before):
            continue
        with store.engine.connect() as conn:
            status = fa.case_status(
                _sample(conn, r.id), _answers(conn, r.id), fa.checklist_from(r.checklist)
            )
        frames.append(status.with_columns(pl.lit(r.id, pl.Int64).alias("session_id")))
    schema = pl.Schema(
        {
            "street": pl.String,
            "month": pl.String,
            "audit_passed": pl.Int64,
            "audit_cases": pl.Int64,
        }
    )
    if not frames:
        return pl.DataFrame(schema=schema)
    sessions_df = pl.DataFrame(
        [(r.id, r.month, "closed") for r in sessions],
        schema={"id": pl.Int64, "month": pl.String, "state": pl.String},
        orient="row",
    )
    return fa.pass_rate_facts(sessions_df, pl.concat(frames)).cast(schema)


def open_case_ids(store: Store) -> set[str]:
    """Case numbers with a finding still open in the follow-up loop (a risk factor of the draw)."""
    with store.engine.connect() as conn:
        return {
            c
            for (c,) in conn.execute(
                select(Finding.case_id)
                .where(Finding.case_id.is_not(None), Finding.state.not_in(sorted(CLOSED)))
                .distinct()
            )
            if c is not None
        }
