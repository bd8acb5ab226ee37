"""回头看 and the funnel: plain functions over the workflow's frames (analytics.store.findings).

Everything is computed from dates whenever it is read, never stored as a status that goes stale
when nobody touches a finding: what is overdue, what is due for a re-check, which exception is
about to expire. The funnel is built from events, bucketed by the day each move happened, and
money recovered is the sum of recorded payments (partial recoveries add up).

Frames: ``findings`` as findings_frame (finding_id, check_id, family, street, amount_fen, state,
present, due_date, expires_on, cycle, ...), ``history`` as history_frame (finding_id, on_date,
move, to_state, due_before, ...), ``recoveries`` as recoveries_frame (finding_id, paid_on,
amount_fen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from analytics import amounts
from analytics.workflow.triage import CLOSED, STATES

UNASSIGNED_STREET = "（未注明街镇）"

FUNNEL_STAGES = (
    ("leads", "发现线索"),
    ("verified", "核实属实"),
    ("rectified", "整改完成"),
    ("recovered", "追回资金"),
)


@dataclass(frozen=True)
class FollowupRules:
    """From the settings' [workflow] section."""

    recheck_after_months: int = 3  # 回头看: months after a rectification is completed
    exception_warning_days: int = 30  # an exception is flagged this many days before it ends


def _between(col: str, start: date | None, end: date | None) -> pl.Expr:
    cond = pl.lit(True)
    if start is not None:
        cond = cond & (pl.col(col) >= start)
    if end is not None:
        cond = cond & (pl.col(col) <= end)
    return cond


def funnel(
    findings: pl.DataFrame,
    history: pl.DataFrame,
    recoveries: pl.DataFrame,
    *,
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """stage, label, count, amount_fen: leads found, verified true, rectified, money recovered,
    each counted by the day it happened within [start, end]. Money of the first three stages is
    the findings' 涉及金额 (analytics.amounts: a ledger row flagged twice counted once, the
    control totals left out); of the last, the payments recorded."""
    keys = [c for c in ("finding_id", "check_id", "txn_id", "amount_fen") if c in findings.columns]
    ev = history.join(findings.select(keys), on="finding_id", how="left")

    def stage(move: str) -> tuple[int, int]:
        hit = ev.filter((pl.col("move") == move) & _between("on_date", start, end)).unique(
            subset="finding_id"
        )
        if "check_id" not in hit.columns:
            return hit.height, int(hit["amount_fen"].fill_null(0).sum())
        return hit.height, amounts.money_at_risk_fen(hit)

    paid = recoveries.filter(_between("paid_on", start, end))
    rows = [
        ("leads", *stage("found")),
        ("verified", *stage("confirm")),
        ("rectified", *stage("rectified")),
        ("recovered", paid["finding_id"].n_unique(), int(paid["amount_fen"].sum() or 0)),
    ]
    labels = dict(FUNNEL_STAGES)
    return pl.DataFrame(
        [(s, labels[s], n, fen) for s, n, fen in rows],
        schema={"stage": pl.String, "label": pl.String, "count": pl.Int64, "amount_fen": pl.Int64},
        orient="row",
    )


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of that month."""
    import calendar

    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def followup_items(
    findings: pl.DataFrame,
    history: pl.DataFrame,
    *,
    today: date,
    rules: FollowupRules = FollowupRules(),
) -> pl.DataFrame:
    """Every finding that 回头看 follows, with what it waits for and by when.

    Columns: the finding's columns, plus ``stage`` (待核实 / 核实中 / 整改中 / 待回头看 / 回头看通过
    / 回头看复发 / 免责到期), ``deadline`` (the date that matters: due date, re-check date or
    expiry), ``overdue`` (past it today), ``rectified_on`` (when its rectification was completed,
    where it was) and ``warning`` (an exception ending within the warning days)."""
    rectified_on = (
        history.filter(pl.col("move") == "rectified")
        .group_by("finding_id")
        .agg(pl.col("on_date").max().alias("rectified_on"))
    )
    frame = findings.join(rectified_on, on="finding_id", how="left")
    # calendar months, the day clamped to the month's end (as add_months)
    frame = frame.with_columns(
        recheck_on=pl.col("rectified_on").dt.offset_by(f"{rules.recheck_after_months}mo")
    )
    state = pl.col("state")
    stage = (
        pl.when(state == "new")
        .then(pl.lit("待核实"))
        .when(state == "verifying")
        .then(pl.lit("核实中"))
        .when(state.is_in(["confirmed", "recovering"]))
        .then(pl.lit("待处置"))
        .when(state == "rectifying")
        .then(pl.lit("整改中"))
        .when(state == "rectified")
        .then(pl.lit("待回头看"))
        .when(state == "recurred")
        .then(pl.lit("回头看复发"))
        .when(state == "recheck_passed")
        .then(pl.lit("回头看通过"))
        .when(state == "excused")
        .then(pl.lit("容错免责"))
    )
    deadline = (
        pl.when(state == "rectified")
        .then(pl.col("recheck_on"))
        .when(state == "excused")
        .then(pl.col("expires_on"))
        .otherwise(pl.col("due_date"))
    )
    frame = frame.with_columns(stage=stage, deadline=deadline).filter(pl.col("stage").is_not_null())
    return frame.with_columns(
        overdue=(pl.col("deadline") < today).fill_null(False)
        & ~pl.col("state").is_in(["recheck_passed"]),
        warning=(
            (pl.col("state") == "excused")
            & (pl.col("expires_on") >= today)
            & (pl.col("expires_on") <= today + _days(rules.exception_warning_days))
        ).fill_null(False),
        street=pl.col("street").fill_null(UNASSIGNED_STREET),
    ).sort("street", "deadline", "finding_id", nulls_last=True)


def _days(n: int):
    from datetime import timedelta

    return timedelta(days=n)


def street_summary(items: pl.DataFrame) -> pl.DataFrame:
    """Per street: open, overdue, rectified awaiting 回头看, re-checked, recurred, exceptions
    due for review."""
    open_ = ~pl.col("state").is_in(list(CLOSED) + ["rectified"])
    return (
        items.group_by("street")
        .agg(
            open=open_.sum(),
            overdue=(pl.col("overdue") & open_).sum(),
            rectified=(pl.col("state") == "rectified").sum(),
            recheck_due=((pl.col("state") == "rectified") & pl.col("overdue")).sum(),
            rechecked=(pl.col("state") == "recheck_passed").sum(),
            recurred=(pl.col("state") == "recurred").sum(),
            exceptions_due=(
                (pl.col("state") == "excused") & (pl.col("overdue") | pl.col("warning"))
            ).sum(),
        )
        .with_columns(pl.exclude("street").cast(pl.Int64))
        .sort("street")
    )


# The moves rectification_facts reads (a reader may fetch only these).
RECTIFICATION_MOVES = ("rectified", "recur", "recheck_fail")


def rectification_facts(findings: pl.DataFrame, history: pl.DataFrame) -> pl.DataFrame:
    """One row per rectification completed: finding_id, street, on_date, month, on_time (by its
    deadline; none set counts as on time) and recurred (a run found it again, or 回头看 failed,
    on or after that day). The street indicators read these."""
    streets = findings.select("finding_id", pl.col("street").fill_null(UNASSIGNED_STREET))
    done = history.filter(pl.col("move") == "rectified").select(
        "finding_id", "on_date", "due_before"
    )
    later = history.filter(pl.col("move").is_in(["recur", "recheck_fail"])).select(
        "finding_id", pl.col("on_date").alias("recur_on")
    )
    recurred = (
        done.join(later, on="finding_id", how="inner")
        .filter(pl.col("recur_on") >= pl.col("on_date"))
        .unique(subset=["finding_id", "on_date"])
        .select("finding_id", "on_date", pl.lit(True).alias("recurred"))
    )
    return (
        done.join(recurred, on=["finding_id", "on_date"], how="left")
        .join(streets, on="finding_id", how="left")
        .select(
            "finding_id",
            "street",
            "on_date",
            pl.col("on_date").dt.strftime("%Y-%m").alias("month"),
            on_time=(pl.col("due_before").is_null() | (pl.col("on_date") <= pl.col("due_before"))),
            recurred=pl.col("recurred").fill_null(False),
        )
    )


def rectification_rates(
    findings: pl.DataFrame,
    history: pl.DataFrame,
    *,
    start: date | None = None,
    end: date | None = None,
) -> pl.DataFrame:
    """Per street: rectifications completed in [start, end], how many by their deadline, and
    how many of them recurred afterwards (a run found them again, or 回头看 failed).

    Columns street, rectified, on_time, recurred, on_time_rate, recurrence_rate."""
    rows = rectification_facts(findings, history).filter(_between("on_date", start, end))
    out = rows.group_by("street").agg(
        rectified=pl.len().cast(pl.Int64),
        on_time=pl.col("on_time").sum().cast(pl.Int64),
        recurred=pl.col("recurred").sum().cast(pl.Int64),
    )
    return out.with_columns(
        on_time_rate=pl.col("on_time") / pl.col("rectified"),
        recurrence_rate=pl.col("recurred") / pl.col("rectified"),
    ).sort("street")


def state_labels(frame: pl.DataFrame, column: str = "state") -> pl.DataFrame:
    return frame.with_columns(
        pl.col(column).replace_strict(STATES, default=pl.col(column)).alias(f"{column}_label")
    )
