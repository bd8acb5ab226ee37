"""档案核查 as the page shows it: starting a session (drawing its sample from a snapshot), the
sample with why each case was drawn, a case's checklist, the progress, and the report's tables.

The page only renders what these functions return and passes what people type to them.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl

from analytics import access, reference
from analytics.access import Viewer
from analytics.store import file_audit as stored
from analytics.store.workspace import Workspace
from analytics.workflow import file_audit as fa

SAMPLE_HEADERS = {
    "position": "序号",
    "street": "街镇",
    "case_id": "救助编号",
    "assistance_type": "救助类别",
    "handler_id": "经办人工号",
    "why": "抽取原因",
    "weight": "抽取权重",
    "progress": "核查进度",
    "verdict": "结论",
}
SESSION_HEADERS = {
    "id": "编号",
    "month": "核查月份",
    "held_on": "核查日期",
    "title": "名称",
    "team": "核查组",
    "state_label": "状态",
    "progress": "进度",
    "created_by": "发起人",
    "closed_on": "结束日期",
}


def checklist() -> tuple[fa.ChecklistItem, ...]:
    """The checklist an administrator keeps in data/checklist.toml."""
    return fa.load_checklist(reference.checklist_path())


def default_params(month: str, seed: int | None = None, **overrides) -> fa.SampleParams:
    """The settings' [file_audit] defaults for ``month``, a fresh random seed unless given."""
    settings = reference.load_settings().file_audit
    values: dict[str, Any] = dict(
        month=month,
        seed=seed if seed is not None else new_seed(),
        per_street=settings.per_street,
        share=settings.share,
        min_per_street=settings.min_per_street,
        new_handler_months=settings.new_handler_months,
        statuses=settings.statuses,
        risk_weights=dict(settings.risk_weights),
    )
    values.update(overrides)
    return fa.SampleParams(**values)


def previous_month(day: date) -> str:
    """The month a session held on ``day`` audits by default: the one before."""
    return (day.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def default_title(month: str) -> str:
    found = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", month or "")
    if not found or not 1 <= int(found.group(2)) <= 12:
        return "档案材料集中核查"
    return f"{int(found.group(1))}年{int(found.group(2))}月档案材料集中核查"


def team_names(text: str) -> list[str]:
    """The auditors' names as typed: separated by 、, commas, semicolons or lines."""
    return [name.strip() for name in re.split(r"[、,，;；\n]+", text or "") if name.strip()]


def local_time(at: datetime | None) -> str:
    """A stored time (naive UTC) in the server's time zone, to the minute."""
    return "" if at is None else at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def new_seed() -> int:
    return secrets.randbelow(10**8)


def parse_case_ids(text: str) -> tuple[str, ...]:
    """Case numbers typed or pasted by a supervisor: separated by commas, spaces or lines."""
    seen = dict.fromkeys(p for p in re.split(r"[\s,，、;；]+", text or "") if p)
    return tuple(seen)


def latest_snapshot(ws: Workspace) -> tuple[str, str] | None:
    """(id, label) of the snapshot of the latest check run that finished, else the latest
    imported; None when the workspace has none."""
    from analytics.store.findings import runs_frame

    runs = runs_frame(ws.store).filter(
        pl.col("snapshot_id").is_not_null()
        & (pl.col("status") == "ok")
        & pl.col("kind").is_in(["check", "import"])
    )
    if runs.height == 0:
        return None
    sid = runs["snapshot_id"][0]
    manifest = ws.manifest(sid) if (ws.snapshot_dir(sid)).is_dir() else {}
    return sid, str(manifest.get("label") or sid[:12])


def draw(ws: Workspace, snapshot_id: str, params: fa.SampleParams) -> pl.DataFrame:
    """The sample these parameters draw from this snapshot (nothing stored)."""
    read = ws.load_snapshot(snapshot_id)
    return fa.draw_sample(read.tables["cases"], stored.open_case_ids(ws.store), params)


def start_session(
    ws: Workspace,
    snapshot_id: str,
    params: fa.SampleParams,
    *,
    held_on: date,
    title: str,
    team: list[str],
    by: str,
    origin: str = "browser",
    viewer: Viewer | None = None,
) -> int:
    """Draw the sample and store the session; its id. With a viewer, their role must allow it."""
    if viewer is not None:
        _require(viewer, "file_audit_start")
    sample = draw(ws, snapshot_id, params)
    return stored.create_session(
        ws.store,
        sample=sample,
        params=params,
        checklist=checklist(),
        snapshot_id=snapshot_id,
        held_on=held_on,
        title=title,
        team=team,
        by=by,
        origin=origin,
    )


def sessions_table(sessions: pl.DataFrame) -> pl.DataFrame:
    return (
        sessions.with_columns(
            pl.col("state")
            .replace_strict(stored.SESSION_STATES, default=pl.col("state"))
            .alias("state_label"),
            pl.format("{} / {} 件", pl.col("answered_cases"), pl.col("cases")).alias("progress"),
        )
        .select(list(SESSION_HEADERS))
        .rename(SESSION_HEADERS)
    )


def session_choice_label(sessions: pl.DataFrame, session_id: int) -> str:
    row = sessions.filter(pl.col("id") == session_id).row(0, named=True)
    return (
        f"第 {row['id']} 期 · {row['title']} · {row['month']} · "
        f"{stored.SESSION_STATES.get(row['state'], row['state'])}"
    )


@dataclass(frozen=True)
class SessionView:
    info: stored.SessionInfo
    sample: pl.DataFrame  # SAMPLE_SCHEMA plus case_status columns
    answers: pl.DataFrame  # ANSWER_SCHEMA


def session_view(ws: Workspace, session_id: int, viewer: Viewer | None = None) -> SessionView:
    """The session with its sample and answers; with a viewer, only the cases of the streets
    they may see (a street office sees its own cases, figures and report)."""
    info = stored.get_session(ws.store, session_id)
    sample = stored.sample_frame(ws.store, session_id)
    answers = stored.answers_frame(ws.store, session_id)
    if viewer is not None:
        sample = access.scope(sample, viewer)
        answers = answers.filter(pl.col("case_id").is_in(sample["case_id"].implode()))
    return SessionView(info, fa.case_status(sample, answers, info.checklist), answers)


def _require(viewer: Viewer, action: str, street: str | None = None, row: bool = False) -> None:
    try:
        if row:
            access.require_row(viewer, action, street)
        else:
            access.require(viewer, action)
    except access.AccessError as exc:
        raise fa.FileAuditError(str(exc)) from None


def close_session(
    ws: Workspace,
    session_id: int,
    *,
    by: str,
    today: date,
    rectify_due: date,
    expected_version: int,
    viewer: Viewer | None = None,
) -> stored.Closed:
    """Sign the session off (analytics.store.file_audit.close_session), if the viewer may."""
    if viewer is not None:
        _require(viewer, "file_audit_close")
    return stored.close_session(
        ws.store,
        session_id,
        by=by,
        today=today,
        rectify_due=rectify_due,
        expected_version=expected_version,
    )


def sample_table(view: SessionView, street: str | None = None) -> pl.DataFrame:
    """The sample as the page lists it: why each case was drawn and how far it is."""
    rows = view.sample if street is None else view.sample.filter(pl.col("street") == street)
    items = len(view.info.checklist)
    why = [
        fa.reasons_text(r, m)
        for r, m in zip(rows["reasons"].to_list(), rows["manual"].to_list(), strict=True)
    ]
    return (
        rows.with_columns(
            pl.Series("why", why, pl.String),
            pl.col("weight").round(2),
            pl.format("{} / {}", pl.col("answered"), pl.lit(items)).alias("progress"),
            pl.when(~pl.col("done"))
            .then(pl.lit("未完成"))
            .when(pl.col("passed"))
            .then(pl.lit("合格"))
            .otherwise(pl.format("不合格（{} 项不符合）", pl.col("failed")))
            .alias("verdict"),
        )
        .select(list(SAMPLE_HEADERS))
        .rename(SAMPLE_HEADERS)
    )


def preview_table(sample: pl.DataFrame) -> pl.DataFrame:
    """A sample drawn but not stored, as the session's grid lists it (without its progress)."""
    why = [
        fa.reasons_text(r, m)
        for r, m in zip(sample["reasons"].to_list(), sample["manual"].to_list(), strict=True)
    ]
    headers = {c: h for c, h in SAMPLE_HEADERS.items() if c not in ("progress", "verdict")}
    return (
        sample.with_columns(pl.Series("why", why, pl.String), pl.col("weight").round(2))
        .select(list(headers))
        .rename(headers)
    )


def case_answers_table(view: SessionView, case_id: str) -> pl.DataFrame:
    """One case's checklist as answered: 核查项, 结论, 说明, 核查人, 时间 (read-only)."""
    current = case_answers(view, case_id)
    rows = []
    for item in view.info.checklist:
        answer = current.get(item.code) or {}
        rows.append(
            (
                item.label,
                fa.RESULTS.get(answer.get("result") or "", "未填写"),
                answer.get("note"),
                answer.get("by"),
                local_time(answer.get("at")) or None,
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "核查项": pl.String,
            "结论": pl.String,
            "说明": pl.String,
            "核查人": pl.String,
            "时间": pl.String,
        },
        orient="row",
    )


def case_answers(view: SessionView, case_id: str) -> dict[str, dict]:
    """item code -> {result, note, by, version} of one case, as stored now."""
    rows = view.answers.filter(pl.col("case_id") == case_id)
    return {r["item"]: r for r in rows.iter_rows(named=True)}


def save_case(
    ws: Workspace,
    session_id: int,
    case_id: str,
    given: Mapping[str, tuple[str | None, str | None]],
    versions: Mapping[str, int | None],
    *,
    by: str,
    viewer: Viewer | None = None,
) -> int:
    """Save what a person gave for one case: item code -> (result label or None, note).
    Items left without a result are not saved; versions are those the form was drawn with."""
    if not (by or "").strip():
        raise fa.FileAuditError("请先登录")
    if viewer is not None:
        street = stored.sample_frame(ws.store, session_id).filter(pl.col("case_id") == case_id)[
            "street"
        ]
        _require(viewer, "file_audit_answer", street[0] if street.len() else None, row=True)
    answers = {
        item: stored.Answer(fa.RESULT_CODES.get(label, label), note)
        for item, (label, note) in given.items()
        if label
    }
    if not answers:
        raise fa.FileAuditError("还没有填写任何核查项的结论")
    return stored.save_answers(
        ws.store,
        session_id,
        case_id,
        answers,
        by=by.strip(),
        expected={item: versions.get(item) for item in answers},
    )


def progress(view: SessionView) -> dict[str, int]:
    s = view.sample
    return {
        "cases": s.height,
        "done": int(s["done"].sum()),
        "passed": int(s["passed"].sum()),
        "failed_cases": int((s["failed"] > 0).sum()),
        "failed_items": int(s["failed"].sum()),
    }


def default_due(today: date) -> date | None:
    """The rectification deadline the settings give (working days on the calendar), if known."""
    from analytics.views.triage import Deadlines

    return Deadlines.load().default_due("rectify", None, today)


# --- the report's tables -----------------------------------------------------------------------


def _pct(col: str) -> pl.Expr:
    return (
        pl.when(pl.col(col).is_not_null())
        .then((pl.col(col) * 100).round(1).cast(pl.String) + "%")
        .otherwise(pl.lit("—"))
    )


def street_table(view: SessionView) -> pl.DataFrame:
    figures = fa.by_street(view.sample, view.answers, view.info.checklist)
    return figures.select(
        pl.col("street").alias("街镇"),
        pl.col("cases").alias("抽查案件"),
        pl.col("done").alias("已核查"),
        pl.col("passed").alias("合格案件"),
        pl.col("failed_cases").alias("不合格案件"),
        _pct("case_pass_rate").alias("案件合格率"),
        pl.col("items_pass").alias("符合项"),
        pl.col("items_fail").alias("不符合项"),
        pl.col("items_na").alias("不适用项"),
        _pct("item_pass_rate").alias("核查项符合率"),
    )


def item_table(view: SessionView) -> pl.DataFrame:
    figures = fa.by_item(view.answers, view.info.checklist)
    return figures.select(
        pl.col("label").alias("核查项"),
        pl.col("pass").alias("符合"),
        pl.col("fail").alias("不符合"),
        pl.col("na").alias("不适用"),
        _pct("pass_rate").alias("符合率"),
    )


def failures_table(view: SessionView) -> pl.DataFrame:
    rows = fa.failures(view.sample, view.answers, view.info.checklist)
    return rows.select(
        pl.col("position").alias("序号"),
        pl.col("street").alias("街镇"),
        pl.col("case_id").alias("救助编号"),
        pl.col("label").alias("核查项"),
        pl.col("note").alias("问题说明"),
        pl.col("by").alias("核查人"),
    )
