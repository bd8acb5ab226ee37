"""A whole check run: read a drop, run the checks, compute the indicators, write the outputs.

The CLI and the dashboard both call :func:`run`; nothing here prints.
"""

from __future__ import annotations

import calendar as _cal
from collections.abc import Callable
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


def default_as_of(tables: dict[str, pl.DataFrame | pl.LazyFrame]) -> date:
    """The last day of the latest month in entitlements and ledger (contract section 4)."""
    months = []
    for name in ("entitlements", "ledger"):
        frame = tables.get(name)
        if frame is None:
            continue
        latest = frame.lazy().select(pl.col("month").max()).collect().item()
        if latest:
            months.append(latest)
    if not months:
        raise DropError("应发名册和资金实发明细中没有可用的发放月份，无法确定检查基准日，请用 --as-of 指定")
    y, m = (int(x) for x in max(months).split("-"))
    return date(y, m, _cal.monthrange(y, m)[1])


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


def compute_indicators(drop: Drop, findings: pl.DataFrame,
                       workflow: pl.DataFrame | None = None) -> pl.DataFrame:
    """The street indicators. ``workflow``: the rectifications completed so far
    (analytics.workflow.followup.rectification_facts), for a run in a workspace; without it the
    rectification indicators are blank."""
    try:
        from analytics import indicators
    except ImportError:
        return pl.DataFrame(schema=INDICATORS_SCHEMA)
    return indicators.compute(drop, findings, workflow)


def run(data_dir: Path, *, as_of: date | None = None, only: list[str] | None = None,
        progress: Progress | None = None) -> RunOutcome:
    from analytics.reader import read_drop

    def sub(lo: float, hi: float) -> Progress | None:
        if progress is None:
            return None
        return lambda msg, frac: progress(msg, lo + (hi - lo) * frac)

    read = read_drop(data_dir, progress=sub(0.0, 0.4))
    return run_read(read, source=Path(data_dir), as_of=as_of, only=only,
                    progress=sub(0.4, 1.0))


def run_read(read: ReadResult, *, source: Path | None = None, as_of: date | None = None,
             only: list[str] | None = None, progress: Progress | None = None,
             workflow: pl.DataFrame | None = None) -> RunOutcome:
    """The checks and indicators over a drop already read. ``workflow``: the workspace's
    rectifications completed before the run (analytics.tracking.workflow_facts); None outside a
    workspace, which leaves the rectification indicators blank."""
    from checks.engine import run_checks

    drop = make_drop(read, as_of, source)
    result = run_checks(drop, only, progress=(
        None if progress is None else lambda msg, frac: progress(msg, 0.85 * frac)))
    if progress:
        progress("计算绩效指标", 0.85)
    indicators = compute_indicators(drop, result.findings, workflow)
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
