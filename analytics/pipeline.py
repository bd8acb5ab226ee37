"""A whole check run: read a drop, run the checks, compute the indicators, write the outputs.

The CLI and the dashboard both call :func:`run`; nothing here prints.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from analytics.export import write_csv
from analytics.model import Drop, DropError, ReadResult
from analytics.reference import load_catalogue, load_settings
from analytics.schema import INDICATORS_COLUMNS, INDICATORS_SCHEMA, REJECTS_COLUMNS

Progress = Callable[[str, float], None]


@dataclass
class RunOutcome:
    read: ReadResult
    drop: Drop
    findings: pl.DataFrame
    summary: pl.DataFrame
    indicators: pl.DataFrame


def payment_months(tables: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> tuple[str, str] | None:
    """(earliest, latest) month ``YYYY-MM`` in entitlements and ledger; None when neither has
    a month."""
    firsts, lasts = [], []
    for name in ("entitlements", "ledger"):
        frame = tables.get(name)
        if frame is None:
            continue
        first, last = (
            frame.lazy()
            .select(pl.col("month").min().alias("first"), pl.col("month").max().alias("last"))
            .collect()
            .row(0)
        )
        if first:
            firsts.append(first)
        if last:
            lasts.append(last)
    if not lasts:
        return None
    return min(firsts), max(lasts)


def _month_end(month: str) -> date:
    y, m = (int(x) for x in month.split("-"))
    return date(y, m, _cal.monthrange(y, m)[1])


def default_as_of(tables: Mapping[str, pl.DataFrame | pl.LazyFrame]) -> date:
    """The last day of the latest month in entitlements and ledger (contract section 4)."""
    months = payment_months(tables)
    if months is None:
        raise DropError(
            "应发名册和资金实发明细中没有可用的发放月份，无法确定检查基准日，请用 --as-of 指定"
        )
    return _month_end(months[1])


@dataclass(frozen=True)
class AsOfNote:
    """What a chosen check date means for a drop: ``level`` "refuse" (no run on it),
    "confirm" (a run only once the user says they mean it) or "note"; ``message`` in Chinese."""

    level: str
    message: str


def as_of_note(
    tables: Mapping[str, pl.DataFrame | pl.LazyFrame], as_of: date | None
) -> AsOfNote | None:
    """Whether ``as_of`` suits the drop's payment months; None when it does (the default, the
    last day of the latest month, always does).

    The checks measure deadlines up to the check date (visits, deaths, pending approvals and
    custody filings after it are left out), but a case's status and difficulty, decisions and
    payments are as the systems exported them. So a date before the first payment month is
    refused: nothing of the drop describes that day, and every active case would be a visit
    overdue. A date inside the months needs the user's word, with what it means; a date after
    them is said to leave out what happened since the export."""
    months = payment_months(tables)
    if as_of is None or months is None:
        return None
    first, last = months
    start = date(int(first[:4]), int(first[5:7]), 1)
    end = _month_end(last)
    span = f"应发名册和资金实发明细覆盖 {first} 至 {last}"
    if as_of < start:
        return AsOfNote(
            "refuse",
            (
                f"检查基准日 {as_of.isoformat()} 早于本批数据的第一个发放月份 {first}（{span}）。"
                "这一天之前没有发放数据，而案件是否在册、探访和审批记录是导出时的情况：按这个日期检查，"
                "会把当时的在册案件几乎都报成探访逾期等不实线索。"
                f"请选择 {start.isoformat()} 至 {end.isoformat()} 之间的日期"
                f"（默认 {end.isoformat()}，即最后一个发放月份的月末）。"
            ),
        )
    if as_of < end:
        return AsOfNote(
            "confirm",
            (
                f"检查基准日 {as_of.isoformat()} 早于本批数据最后一个发放月份 {last} 的月末 "
                f"{end.isoformat()}（{span}）。探访逾期、身故仍在册、审批超时（待审批的）和卡折代管"
                "备案按此日计算，此日之后的探访、身故和备案不计入；但案件是否在册、困难程度和审批结果仍是"
                "导出时的情况，资金比对类检查也照样检查此日之后的发放。结果只反映回看此日的情况，"
                "与按默认基准日的检查不能直接比较。"
            ),
        )
    if as_of > end:
        return AsOfNote(
            "note",
            (
                f"检查基准日 {as_of.isoformat()} 晚于本批数据的截止日 {end.isoformat()}（{span}）："
                "其间的探访、审批和发放不在本批数据中，探访逾期、审批超时等按未发生计算，线索可能偏多。"
            ),
        )
    return None


def make_drop(read: ReadResult, as_of: date | None = None, source: Path | None = None) -> Drop:
    from analytics.calendar import WorkdayCalendar

    return Drop(
        tables={name: frame.lazy() for name, frame in read.tables.items()},
        settings=load_settings(),
        catalogue=load_catalogue(),
        as_of=as_of or default_as_of(read.tables),
        calendar=WorkdayCalendar.load(),
        source=source,
    )


def compute_indicators(
    drop: Drop,
    findings: pl.DataFrame,
    workflow: pl.DataFrame | None = None,
    checks: list[str] | None = None,
) -> pl.DataFrame:
    """The street indicators. ``workflow``: the rectifications completed so far
    (analytics.workflow.followup.rectification_facts), for a run in a workspace; without it the
    rectification indicators are blank. ``checks``: the check ids the run included (None:
    every check); the indicators of families not run are blank (未检查)."""
    try:
        from analytics import indicators
    except ImportError:
        return pl.DataFrame(schema=INDICATORS_SCHEMA)
    return indicators.compute(drop, findings, workflow, checks)


def run(
    data_dir: Path,
    *,
    as_of: date | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
) -> RunOutcome:
    from analytics.reader import read_drop

    def sub(lo: float, hi: float) -> Progress | None:
        if progress is None:
            return None
        return lambda msg, frac: progress(msg, lo + (hi - lo) * frac)

    read = read_drop(data_dir, progress=sub(0.0, 0.4))
    return run_read(read, source=Path(data_dir), as_of=as_of, only=only, progress=sub(0.4, 1.0))


def run_read(
    read: ReadResult,
    *,
    source: Path | None = None,
    as_of: date | None = None,
    only: list[str] | None = None,
    progress: Progress | None = None,
    workflow: pl.DataFrame | None = None,
) -> RunOutcome:
    """The checks and indicators over a drop already read. ``workflow``: the workspace's
    rectifications completed before the run (analytics.tracking.workflow_facts); None outside a
    workspace, which leaves the rectification indicators blank."""
    from checks.engine import run_checks

    drop = make_drop(read, as_of, source)
    result = run_checks(
        drop,
        only,
        progress=(None if progress is None else lambda msg, frac: progress(msg, 0.85 * frac)),
    )
    if progress:
        progress("计算绩效指标", 0.85)
    indicators = compute_indicators(
        drop, result.findings, workflow, checks=result.summary["check_id"].to_list()
    )
    if progress:
        progress("完成", 1.0)
    return RunOutcome(read, drop, result.findings, result.summary, indicators)


def write_rejects(rejects: pl.DataFrame, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(rejects.select(REJECTS_COLUMNS), out_dir / "rejects.csv")


def write_outputs(outcome: RunOutcome, out_dir: Path) -> None:
    """The run's four CSV files, each written whole (atomically) and with formula-like text
    neutralised for the spreadsheets people open them in (contract section 4)."""
    from analytics.schema import FINDINGS_COLUMNS

    out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(outcome.findings.select(FINDINGS_COLUMNS), out_dir / "findings.csv")
    write_rejects(outcome.read.rejects, out_dir)
    write_csv(outcome.indicators.select(INDICATORS_COLUMNS), out_dir / "indicators.csv")
    write_csv(outcome.summary, out_dir / "checks.csv")
