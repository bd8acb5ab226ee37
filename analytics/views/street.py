"""街镇: one street office's indicators over time, its findings by check, its overdue items and
its four circles, from a run's indicators.csv and findings.csv; and the funnel of its leads
(found, verified, rectified, money recovered) from the workspace.

:func:`street_view` is the one call the page makes, for one period (a month, quarter or year);
the ``*_table`` functions give what the screen and the Excel export show, with ID numbers and
accounts masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

from analytics import amounts, schema
from analytics.indicators import INDICATORS, blank_unchecked, load_circles, unchecked_indicators
from analytics.masking import mask_account_expr, mask_id_expr
from analytics.views.overview import (
    NOT_CHECKED,
    NOT_COMPUTED,
    WORKFLOW_INDICATORS,
    checks_of,
    display_value,
    funnel_of,
    funnel_table,
    indicator_title,
    last_month,
    period_bounds,
    period_label,
    period_options,
    shown_value,
)

# The deadline checks whose findings the page lists as overdue items.
OVERDUE_CHECKS = ("approval_overdue", "visit_overdue")
# Overdue items the page draws at most; its export holds them all.
MAX_ROWS = 2_000
# The indicators shown over time and as headline metrics, in this order.
SHOWN = tuple(i.name for i in INDICATORS if not i.name.startswith("circle_"))
RATES = ("approval_on_time_rate", "disbursement_on_time_rate", "visit_compliance_rate")
# The headline figures: (indicator, short label); the label's help says the full title and the
# previous period's value.
HEADLINE = (
    ("composite_score", "综合得分"),
    ("approval_on_time_rate", "审批及时率"),
    ("disbursement_on_time_rate", "发放及时率"),
    ("visit_compliance_rate", "探访合规率"),
    ("funds_findings_per_1000", "资金线索率"),
    ("dynamic_leads", "动态管理线索"),
)
OVERDUE_NOTE = (
    "超期事项指本期（{start} 至 {end}）内处于超期状态的事项：审批超时为审批时限早于期末、"
    "期初时尚未审批的案件（本期内超期后才审批的，和到期末仍未审批的）；探访逾期为应探访"
    "日期早于期末、检查基准日仍未探访的案件。以本次检查结果为准：期末后、检查基准日前已补"
    "探访的案件不再列出；本期以前已经（超期）审批的不列出。"
)
FINDINGS_NOTE = (
    "本期线索按线索所属月份归期（未填月份的廉洁风险等线索计入检查基准日所在月份）；涉及金额按"
    "统一口径：同一笔流水被多项检查命中只计一次（计入金额最大的一项），"
    "“汇总金额不符”不重复计入，合计即本街镇本期涉及金额。"
)


@dataclass(frozen=True)
class StreetView:
    street: str
    level: str
    period: str  # the period shown (default: the latest of the level)
    label: str
    latest: pl.DataFrame  # indicator, title, value, shown (text), previous (text)
    over_time: pl.DataFrame  # period, indicator, value
    by_check: pl.DataFrame  # check_id, title, family_title, findings, amount_fen
    overdue: pl.DataFrame  # findings rows of OVERDUE_CHECKS overdue at the period's end
    circles: pl.DataFrame  # circle, name, households, share
    funnel: pl.DataFrame | None = None  # the street's funnel in ``period``; None: no workspace
    start: date | None = None  # the period's first and last day: overdue items are those
    end: date | None = None  # overdue at some time between them
    # indicator -> family title, for the indicators of families of checks the run did not include
    unchecked: Mapping[str, str] = field(default_factory=dict)


def street_options(indicators: pl.DataFrame, viewer=None) -> list[str]:
    """The street offices with indicators that this viewer may see (every one without one)."""
    from analytics import access

    present = set(indicators.get_column("street").unique().to_list())
    return [
        s
        for s in schema.STREETS
        if s in present and (viewer is None or access.may_see_street(viewer, s))
    ]


def _by_check(findings: pl.DataFrame, checks: list[str] | None = None) -> pl.DataFrame:
    """Findings and 涉及金额 per check: each ledger row counted once, for the check with its
    largest amount, and 汇总金额不符 not again (analytics.amounts), so that the column adds up
    to the street's 涉及金额. A check the run did not include (``checks``: those it did; None:
    every one) has no count, never 0."""
    from checks.registry import FINDING_FAMILIES, kinds

    specs = pl.DataFrame(
        [(c, title, FINDING_FAMILIES[f]) for c, title, f in kinds()],
        schema=["check_id", "title", "family_title"],
        orient="row",
    )
    counts = findings.group_by("check_id").agg(pl.len().cast(pl.Int64).alias("findings"))
    money = (
        amounts.at_risk_rows(findings)
        .group_by("check_id")
        .agg(pl.col("amount_fen").sum().cast(pl.Int64))
        .collect()
    )
    from checks.registry import REGISTRY

    run = (
        pl.lit(True)
        if checks is None
        else (pl.col("check_id").is_in(checks) | ~pl.col("check_id").is_in(list(REGISTRY)))
    )
    return (
        specs.join(counts, on="check_id", how="left", validate="1:1")
        .join(money, on="check_id", how="left", validate="1:1")
        .with_columns(
            pl.when(run).then(pl.col(c).fill_null(0)).alias(c) for c in ("findings", "amount_fen")
        )
        .with_row_index("_order")
        .sort(pl.col("findings"), pl.col("_order"), descending=[True, False], nulls_last=True)
        .drop("_order")
    )


def _circles(indicators: pl.DataFrame, street: str) -> pl.DataFrame:
    rows = indicators.filter(
        (pl.col("street") == street) & pl.col("indicator").str.starts_with("circle_")
    )
    _, circles = load_circles()
    names = pl.DataFrame(
        [(c.number, f"{c.name}（{c.label}）") for c in circles],
        schema={"circle": pl.Int64, "name": pl.String},
        orient="row",
    )
    if rows.height == 0:
        return names.with_columns(
            households=pl.lit(None, pl.Float64), share=pl.lit(None, pl.Float64)
        )
    # Circles are reported for the as-of month and the quarter and year ending with it.
    period = rows.filter(pl.col("period").str.contains("-")).get_column("period").max()
    rows = rows.filter(pl.col("period") == period).select(
        pl.col("indicator").str.strip_prefix("circle_").cast(pl.Int64).alias("circle"),
        pl.col("value").alias("households"),
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator"))
        .alias("share"),
    )
    return names.join(rows, on="circle", how="left", validate="1:1")


def in_period(findings: pl.DataFrame, period: str, as_of_month: str | None) -> pl.DataFrame:
    """The findings of ``period`` by their month; a finding without one belongs to the month of
    the check date (``as_of_month``), as the indicators count it."""
    first, last = period_bounds(period)
    month = pl.col("month").fill_null(as_of_month or last_month(period))
    return findings.filter(
        month.is_between(pl.lit(first.strftime("%Y-%m")), pl.lit(last.strftime("%Y-%m")))
    )


def _evidence_date(key: str) -> pl.Expr:
    return pl.col("evidence").str.json_path_match(f"$.{key}").str.to_date("%Y-%m-%d", strict=False)


def overdue_in(findings: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """The approval and visit findings overdue at some time from ``start`` to ``end``: the
    deadline (审批时限, 应探访日期) before ``end`` and, for an approval, not decided before
    ``start`` (a visit finding is still not visited on the check date). Findings without the
    dates in their evidence (results of an older format) count by their month: a visit due by
    the period's end, an approval in the period."""
    rows = findings.filter(pl.col("check_id").is_in(list(OVERDUE_CHECKS)))
    first, last = start.strftime("%Y-%m"), end.strftime("%Y-%m")
    # A visit finding is still not visited; an approval's may have been decided long ago.
    by_month = (pl.col("month") <= pl.lit(last)) & (
        (pl.col("check_id") == "visit_overdue") | (pl.col("month") >= pl.lit(first))
    )
    if "evidence" not in rows.columns:
        return rows.filter(by_month)
    deadline = pl.coalesce(_evidence_date("deadline"), _evidence_date("due"))
    decided = _evidence_date("decided_date")
    return rows.filter(
        pl.when(deadline.is_null())
        .then(by_month)
        .otherwise(
            (deadline < end)
            & ((pl.col("check_id") != "approval_overdue") | decided.is_null() | (decided >= start))
        )
    )


def street_view(
    indicators: pl.DataFrame,
    findings: pl.DataFrame,
    street: str,
    level: str = "month",
    workflow: Mapping[str, pl.DataFrame] | None = None,
    period: str | None = None,
    summary: pl.DataFrame | None = None,
) -> StreetView:
    """Everything the 街镇 page shows for ``street`` in ``period`` (default: the latest period
    of ``level``), its indicators over the periods of that level.

    ``workflow``: the workspace's frames (dashboard.data.workflow_frames), for the street's
    funnel in the period; None: no funnel. ``summary``: the run's checks.csv: indicators of
    families of checks the run did not include read 未检查."""
    checks, skipped = checks_of(summary)
    indicators = blank_unchecked(indicators, checks, skipped)
    unchecked = unchecked_indicators(checks, skipped)
    periods = sorted(period_options(indicators)[level])
    if period not in periods:
        period = periods[-1] if periods else ""
    rows = indicators.filter(
        (pl.col("street") == street)
        & pl.col("period").is_in(periods)
        & pl.col("indicator").is_in(list(SHOWN))
    )
    over_time = rows.select("period", "indicator", "value").sort("period")
    numerators = rows.select("period", "indicator", "numerator")
    position = periods.index(period) if period else -1
    previous_period = periods[position - 1] if position > 0 else None

    def at(when: str | None, column: str = "value") -> dict[str, float | None]:
        if when is None:
            return {}
        sel = (over_time if column == "value" else numerators).filter(pl.col("period") == when)
        return dict(zip(sel["indicator"], sel[column], strict=True))

    now, before = at(period or None), at(previous_period)
    now_num, before_num = at(period or None, "numerator"), at(previous_period, "numerator")
    latest = pl.DataFrame(
        [
            (
                n,
                indicator_title(n),
                now.get(n),
                shown_value(n, now.get(n), now_num.get(n), unchecked),
                shown_value(n, before.get(n), before_num.get(n), unchecked)
                if previous_period
                else None,
            )
            for n in SHOWN
        ],
        schema={
            "indicator": pl.String,
            "title": pl.String,
            "value": pl.Float64,
            "shown": pl.String,
            "previous": pl.String,
        },
        orient="row",
    )
    months = indicators.filter(pl.col("period").str.contains("-"))["period"]
    as_of_month = str(months.max()) if months.len() else None
    own = findings.filter(pl.col("street") == street)
    start: date | None = None
    end: date | None = None
    if period:
        start, end = period_bounds(period)
        overdue = overdue_in(own, start, end)
    else:
        overdue = own.clear()
    overdue = overdue.filter(pl.col("check_id").is_in(list(OVERDUE_CHECKS))).sort(
        "check_id", "month", "case_id", nulls_last=True
    )
    return StreetView(
        street=street,
        level=level,
        period=period,
        label=period_label(period) if period else "",
        latest=latest,
        over_time=over_time,
        by_check=_by_check(in_period(own, period, as_of_month) if period else own, checks),
        overdue=overdue,
        circles=_circles(indicators, street),
        funnel=(funnel_of(workflow, period or None, [street]) if workflow is not None else None),
        start=start,
        end=end,
        unchecked=unchecked,
    )


def headline_metrics(view: StreetView) -> list[tuple[str, str, str]]:
    """The headline figures as (short label, value, help): the help names the indicator with
    its unit and gives the previous period's value."""
    shown = {r["indicator"]: r for r in view.latest.iter_rows(named=True)}
    out = []
    for name, label in HEADLINE:
        row = shown[name]
        help_ = row["title"]
        if row["shown"] == NOT_CHECKED:
            help_ += f"：本次检查未运行{view.unchecked.get(name, '')}类检查"
        elif row["previous"]:
            help_ += f"；上一期：{row['previous']}"
        out.append((label, row["shown"], help_))
    return out


def rectification_metrics(view: StreetView) -> list[tuple[str, str, str]]:
    """The follow-up indicators of the period as (title, shown, help): 未计算 for a run
    outside a workspace, — where no rectification was completed in the period."""
    latest = view.latest.filter(pl.col("indicator").is_in(list(WORKFLOW_INDICATORS)))
    out = []
    for row in latest.iter_rows(named=True):
        if row["shown"] == NOT_COMPUTED:
            note = "只在工作区中运行的检查计算，本次结果未计算"
        elif row["value"] is None:
            note = (
                "本期没有已签发的档案核查"
                if row["indicator"] == "file_audit_pass_rate"
                else "本期没有完成整改的线索"
            )
        else:
            note = f"上一期：{row['previous']}" if row["previous"] else "按整改完成日期归期"
        out.append((row["title"], row["shown"], note))
    return out


def overdue_note(view: StreetView) -> str:
    """What 超期 means on the page, with the period's last day."""
    if view.start is None or view.end is None:
        return ""
    return OVERDUE_NOTE.format(start=view.start.isoformat(), end=view.end.isoformat())


# --- tables for the screen and the export ---------------------------------------------------------


def over_time_table(view: StreetView) -> pl.DataFrame:
    """Periods down, indicators across, display values."""
    names = [n for n in SHOWN if n in set(view.over_time["indicator"])]
    if not names:
        return pl.DataFrame(schema={"期间": pl.String})
    wide = view.over_time.pivot(
        on="indicator", index="period", values="value", aggregate_function=None
    )
    return wide.select(
        pl.col("period").alias("期间"),
        *[display_value(n, pl.col(n)).alias(indicator_title(n)) for n in names],
    )


def by_check_table(view: StreetView) -> pl.DataFrame:
    """Findings and money per check; a check the run did not include says so."""
    return view.by_check.select(
        pl.col("family_title").alias("类别"),
        pl.col("title").alias("检查项"),
        pl.col("findings").alias("线索数"),
        (pl.col("amount_fen") / 100).round(2).alias("涉及金额（元）"),
        pl.when(pl.col("findings").is_null())
        .then(pl.lit("本次未运行，未检查"))
        .otherwise(pl.lit(""))
        .alias("说明"),
    )


def overdue_table(view: StreetView) -> pl.DataFrame:
    """The overdue items, ID numbers and accounts masked."""
    from checks.registry import REGISTRY, load_all

    load_all()
    titles = {c: REGISTRY[c].title for c in OVERDUE_CHECKS}
    return view.overdue.select(
        pl.col("check_id").replace_strict(titles, return_dtype=pl.String).alias("检查项"),
        pl.col("case_id").alias("救助编号"),
        pl.col("month").alias("月份"),
        mask_id_expr("id_number").alias("身份证号"),
        mask_account_expr("account_no").alias("银行账号"),
        pl.col("summary").alias("摘要"),
    )


def circles_table(view: StreetView) -> pl.DataFrame:
    return view.circles.select(
        pl.col("name").alias("圈层"),
        pl.col("households").round(0).cast(pl.Int64).alias("户数"),
        (pl.col("share") * 100).round(1).alias("占比（%）"),
    )


def excel_sheets(view: StreetView) -> dict[str, pl.DataFrame]:
    sheets = {
        "指标趋势": over_time_table(view),
        "各检查项线索": by_check_table(view),
        "超期事项": overdue_table(view),
        "四个圈层": circles_table(view),
    }
    if view.funnel is not None:
        sheets["处置漏斗"] = funnel_table(view.funnel)
    return sheets


def unchecked_note(view: StreetView) -> str:
    """A sentence on the indicators the run did not check, or ''."""
    if not view.unchecked:
        return ""
    families = "、".join(dict.fromkeys(view.unchecked.values()))
    return (
        f"本次检查未运行{families}类检查，相关指标显示为“{NOT_CHECKED}”，不按0计，"
        "也不计入综合得分。"
    )
