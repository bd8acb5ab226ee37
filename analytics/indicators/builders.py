"""How each indicator is counted from a drop: one builder per indicator (:data:`BUILDERS`), each
giving the numerator and denominator per street and period, on a few building blocks that sum
facts over the periods (flows) or at the periods' ends (stocks)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from analytics import amounts
from analytics.indicators.circles import household_circles
from analytics.indicators.definitions import DISHONESTY_MOVES, DISTRICT, LEVELS
from analytics.indicators.periods import period_of
from analytics.model import Drop
from analytics.schema import STREETS
from checks.common import due_date, paid_rows
from checks.dynamic import visit_due
from checks.funds import paid as in_scope_paid
from checks.process import approval_assessment


@dataclass
class Context:
    drop: Drop
    findings: pl.DataFrame
    periods: pl.DataFrame
    # A run in a workspace: rectifications completed (workflow.followup) and, in rows whose
    # dishonesty_move is set, the 失信名单 records' moves (analytics.tracking.dishonesty_facts)
    workflow: pl.DataFrame | None = None

    @property
    def as_of_month(self) -> str:
        return self.drop.as_of.strftime("%Y-%m")

    def finding_months(self) -> pl.Expr:
        return pl.col("month").fill_null(self.as_of_month)


Part = pl.DataFrame | None  # street, period, numerator, denominator; None: cannot be computed


def _with_district(facts: pl.LazyFrame) -> pl.LazyFrame:
    return pl.concat([facts, facts.with_columns(pl.lit(DISTRICT).alias("street"))])


def _flow(ctx: Context, facts: pl.LazyFrame) -> pl.DataFrame:
    """facts: street, month, num, den -> sums per street and period."""
    facts = _with_district(
        facts.select(
            "street", "month", pl.col("num").cast(pl.Float64), pl.col("den").cast(pl.Float64)
        )
    )
    by_level = pl.concat(
        [facts.with_columns(period_of(pl.col("month"), lv).alias("period")) for lv in LEVELS]
    )
    return (
        by_level.join(ctx.periods.lazy().select("period"), on="period", how="semi")
        .group_by("street", "period")
        .agg(pl.col("num").sum().alias("numerator"), pl.col("den").sum().alias("denominator"))
        .collect()
    )


def _stock(ctx: Context, facts: pl.LazyFrame) -> pl.DataFrame:
    """facts: street, end, num, den (one row per fact and period end) -> sums per period."""
    facts = _with_district(
        facts.select(
            "street", "end", pl.col("num").cast(pl.Float64), pl.col("den").cast(pl.Float64)
        )
    )
    return (
        facts.join(ctx.periods.lazy().select("period", "end"), on="end", how="inner")
        .group_by("street", "period")
        .agg(pl.col("num").sum().alias("numerator"), pl.col("den").sum().alias("denominator"))
        .collect()
    )


def _ends(ctx: Context) -> pl.LazyFrame:
    return ctx.periods.lazy().select("end").unique()


def active_at_ends(drop: Drop, ends: pl.LazyFrame) -> pl.LazyFrame:
    """Cases in their assistance period at each end date: decided by then, and 在册 now or
    terminated after it. Columns of cases plus ``end``."""
    cases = drop["cases"].filter(
        pl.col("status").is_in(["在册", "终止"]) & pl.col("decided_date").is_not_null()
    )
    return cases.join(ends, how="cross").filter(
        (pl.col("decided_date") <= pl.col("end"))
        & ((pl.col("status") == "在册") | (pl.col("termination_date") > pl.col("end")))
    )


# --- the builders, one per indicator ----------------------------------------------------------


def _cases_active(ctx: Context) -> Part:
    facts = active_at_ends(ctx.drop, _ends(ctx)).select("street", "end", num=pl.lit(1), den=None)
    return _stock(ctx, facts)


def _money_paid(ctx: Context) -> Part:
    facts = paid_rows(ctx.drop).select("street", "month", num=pl.col("amount") / 100, den=None)
    return _flow(ctx, facts)


def _approval_on_time(ctx: Context) -> Part:
    judged = (
        approval_assessment(ctx.drop)
        .filter(~pl.col("pending") | pl.col("overdue"))
        .select("street", "month", num=(~pl.col("overdue")).cast(pl.Int64), den=pl.lit(1))
    )
    return _flow(ctx, judged)


def _disbursement_on_time(ctx: Context) -> Part:
    due = due_date(pl.col("month"), ctx.drop.settings.payment_due_day)
    on_time = (pl.col("pay_date") <= due).cast(pl.Int64)
    facts = in_scope_paid(ctx.drop).select("street", "month", num=on_time, den=pl.lit(1))
    return _flow(ctx, facts)


def _funds_findings_per_1000(ctx: Context) -> Part:
    leads = (
        ctx.findings.lazy()
        .filter(pl.col("family") == "funds")
        .select("street", ctx.finding_months().alias("month"), num=pl.lit(1), den=pl.lit(0))
    )
    rows = paid_rows(ctx.drop).select("street", "month", num=pl.lit(0), den=pl.lit(1))
    return _flow(ctx, pl.concat([leads, rows]))


def _money_at_risk(ctx: Context) -> Part:
    rows = amounts.at_risk_rows(ctx.findings).with_columns(ctx.finding_months().alias("month"))
    return _flow(ctx, rows.select("street", "month", num=pl.col("amount_fen") / 100, den=None))


def _visit_compliance(ctx: Context) -> Part:
    if "visits" not in ctx.drop.tables:
        return None
    cases = active_at_ends(ctx.drop, _ends(ctx))
    due = visit_due(cases, ctx.drop["visits"], pl.col("end"), ctx.drop.settings.visit_cycle_months)
    facts = due.select(
        "street", "end", num=(pl.col("due") >= pl.col("end")).cast(pl.Int64), den=pl.lit(1)
    )
    return _stock(ctx, facts)


def _leads(family: str) -> Callable[[Context], Part]:
    def build(ctx: Context) -> Part:
        # A family not run, or every check of it lacking a table: compute() leaves it blank.
        ends = _ends(ctx).with_columns(pl.col("end").dt.strftime("%Y-%m").alias("end_month"))
        counts = (
            ctx.findings.lazy()
            .filter(pl.col("family") == family)
            .with_columns(ctx.finding_months().alias("month"))
            .group_by("street", "month")
            .agg(pl.len().alias("num"))
        )
        leads = (
            counts.join(ends, how="cross")
            .filter(pl.col("month") <= pl.col("end_month"))
            .select("street", "end", "num", den=pl.lit(0))
        )
        cases = active_at_ends(ctx.drop, ends.select("end")).select(
            "street", "end", num=pl.lit(0), den=pl.lit(1)
        )
        return _stock(ctx, pl.concat([leads, cases], how="vertical_relaxed"))

    return build


def _workflow_rows(workflow: pl.DataFrame, dishonesty: bool) -> pl.LazyFrame:
    """The rectification rows of the workspace facts, or its 失信名单 rows."""
    facts = workflow.lazy()
    if "audit_cases" in workflow.columns:  # 档案核查 rows are neither
        facts = facts.filter(pl.col("audit_cases").is_null())
    if "dishonesty_move" not in workflow.columns:
        return (
            facts
            if not dishonesty
            else facts.head(0).with_columns(
                pl.lit(None, pl.String).alias("dishonesty_move"),
                pl.lit(None, pl.Int64).alias("records"),
            )
        )
    moved = pl.col("dishonesty_move").is_not_null()
    return facts.filter(moved if dishonesty else ~moved)


def _file_audit(ctx: Context) -> Part:
    if ctx.workflow is None:
        return None  # no workspace: unknown, not zero
    # computed, if on no session: every street has a count of 0 (blank, never "not computed")
    zero = pl.LazyFrame(
        {
            "street": list(STREETS),
            "month": [ctx.as_of_month] * len(STREETS),
            "num": [0] * len(STREETS),
            "den": [0] * len(STREETS),
        },
        schema={"street": pl.String, "month": pl.String, "num": pl.Int64, "den": pl.Int64},
    )
    if "audit_cases" not in ctx.workflow.columns:
        return _flow(ctx, zero)
    facts = (
        ctx.workflow.lazy()
        .filter(
            pl.col("audit_cases").is_not_null()
            & pl.col("street").is_in(STREETS)
            & (pl.col("month") <= ctx.as_of_month)
        )
        .select(
            "street",
            "month",
            num=pl.col("audit_passed").cast(pl.Int64),
            den=pl.col("audit_cases").cast(pl.Int64),
        )
    )
    return _flow(ctx, pl.concat([facts, zero]))


def _rectification(column: str) -> Callable[[Context], Part]:
    def build(ctx: Context) -> Part:
        if ctx.workflow is None:
            return None  # no workspace: unknown, not zero
        facts = (
            _workflow_rows(ctx.workflow, dishonesty=False)
            .filter(pl.col("street").is_in(STREETS))
            .select("street", "month", num=pl.col(column).cast(pl.Int64), den=pl.lit(1))
        )
        return _flow(ctx, facts)

    return build


def _dishonesty(name: str) -> Callable[[Context], Part]:
    def build(ctx: Context) -> Part:
        if ctx.workflow is None:
            return None  # no workspace: unknown, not zero
        facts = (
            _workflow_rows(ctx.workflow, dishonesty=True)
            .filter(
                (pl.col("dishonesty_move") == DISHONESTY_MOVES[name])
                & (pl.col("month") <= ctx.as_of_month)
            )
            .select("street", "month", num=pl.col("records").cast(pl.Int64), den=None)
        )
        return _flow(ctx, facts)

    return build


def _trainings(ctx: Context) -> Part:
    if "trainings" not in ctx.drop.tables:
        return None
    facts = ctx.drop["trainings"].select(
        "street", pl.col("date").dt.strftime("%Y-%m").alias("month"), num=pl.lit(1), den=None
    )
    return _flow(ctx, facts)


def circle_parts(ctx: Context) -> dict[str, Part]:
    households = household_circles(ctx.drop)
    at = ctx.periods.filter(pl.col("end") == ctx.drop.as_of).select("period")
    facts = _with_district(households.lazy().select("street", "circle"))
    total = facts.group_by("street").agg(pl.len().cast(pl.Float64).alias("denominator"))
    out: dict[str, Part] = {}
    for n in (1, 2, 3, 4):
        counts = (
            facts.group_by("street")
            .agg((pl.col("circle") == n).sum().cast(pl.Float64).alias("numerator"))
            .join(total, on="street")
        )
        out[f"circle_{n}"] = counts.join(at.lazy(), how="cross").collect()
    return out


BUILDERS: dict[str, Callable[[Context], Part]] = {
    "cases_active": _cases_active,
    "money_paid": _money_paid,
    "approval_on_time_rate": _approval_on_time,
    "disbursement_on_time_rate": _disbursement_on_time,
    "funds_findings_per_1000": _funds_findings_per_1000,
    "money_at_risk": _money_at_risk,
    "visit_compliance_rate": _visit_compliance,
    "integrity_leads": _leads("integrity"),
    "dynamic_leads": _leads("dynamic"),
    "rectification_on_time_rate": _rectification("on_time"),
    "recurrence_rate": _rectification("recurred"),
    "file_audit_pass_rate": _file_audit,
    **{name: _dishonesty(name) for name in DISHONESTY_MOVES},
    "trainings_held": _trainings,
}
