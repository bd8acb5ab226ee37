"""街镇: one street office's indicators over time, its findings by check, its overdue items and
its four circles, from a run's indicators.csv and findings.csv; and the funnel of its leads
(found, verified, rectified, money recovered) from the workspace.

:func:`street_view` is the one call the page makes; the ``*_table`` functions give what the screen
and the Excel export show, with ID numbers and accounts masked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from analytics import schema
from analytics.indicators import INDICATORS, load_circles
from analytics.masking import mask_account_expr, mask_id_expr
from analytics.views.overview import (NOT_COMPUTED, WORKFLOW_INDICATORS, display_value,
                                      funnel_of, funnel_table, indicator_title, period_label,
                                      period_options, shown_value)

# The deadline checks whose findings the page lists as overdue items.
OVERDUE_CHECKS = ("approval_overdue", "visit_overdue")
# Overdue items the page draws at most; its export holds them all.
MAX_ROWS = 2_000
# The indicators shown over time and as headline metrics, in this order.
SHOWN = tuple(i.name for i in INDICATORS if not i.name.startswith("circle_"))
RATES = ("approval_on_time_rate", "disbursement_on_time_rate", "visit_compliance_rate")


@dataclass(frozen=True)
class StreetView:
    street: str
    level: str
    period: str               # the latest period of the level
    label: str
    latest: pl.DataFrame      # indicator, title, value, shown (text), previous (text)
    over_time: pl.DataFrame   # period, indicator, value
    by_check: pl.DataFrame    # check_id, title, family_title, findings, amount_fen
    overdue: pl.DataFrame     # findings rows of OVERDUE_CHECKS
    circles: pl.DataFrame     # circle, name, households, share
    funnel: pl.DataFrame | None = None  # the street's funnel in ``period``; None: no workspace


def street_options(indicators: pl.DataFrame, viewer=None) -> list[str]:
    """The street offices with indicators that this viewer may see (every one without one)."""
    from analytics import access

    present = set(indicators.get_column("street").unique().to_list())
    return [s for s in schema.STREETS if s in present
            and (viewer is None or access.may_see_street(viewer, s))]


def _by_check(findings: pl.DataFrame) -> pl.DataFrame:
    from checks.registry import FINDING_FAMILIES, kinds

    specs = pl.DataFrame([(c, title, FINDING_FAMILIES[f]) for c, title, f in kinds()],
                         schema=["check_id", "title", "family_title"], orient="row")
    counts = findings.group_by("check_id").agg(pl.len().cast(pl.Int64).alias("findings"),
                                                pl.col("amount_fen").sum().alias("amount_fen"))
    return (specs.join(counts, on="check_id", how="left", validate="1:1")
            .with_columns(pl.col("findings", "amount_fen").fill_null(0))
            .with_row_index("_order")
            .sort(pl.col("findings"), pl.col("_order"), descending=[True, False])
            .drop("_order"))


def _circles(indicators: pl.DataFrame, street: str) -> pl.DataFrame:
    rows = indicators.filter((pl.col("street") == street)
                             & pl.col("indicator").str.starts_with("circle_"))
    _, circles = load_circles()
    names = pl.DataFrame([(c.number, f"{c.name}（{c.label}）") for c in circles],
                         schema={"circle": pl.Int64, "name": pl.String}, orient="row")
    if rows.height == 0:
        return names.with_columns(households=pl.lit(None, pl.Float64),
                                  share=pl.lit(None, pl.Float64))
    # Circles are reported for the as-of month and the quarter and year ending with it.
    period = rows.filter(pl.col("period").str.contains("-")).get_column("period").max()
    rows = rows.filter(pl.col("period") == period).select(
        pl.col("indicator").str.strip_prefix("circle_").cast(pl.Int64).alias("circle"),
        pl.col("value").alias("households"),
        pl.when(pl.col("denominator") > 0)
        .then(pl.col("numerator") / pl.col("denominator")).alias("share"))
    return names.join(rows, on="circle", how="left", validate="1:1")


def street_view(indicators: pl.DataFrame, findings: pl.DataFrame, street: str,
                level: str = "month",
                workflow: Mapping[str, pl.DataFrame] | None = None) -> StreetView:
    """Everything the 街镇 page shows for ``street``, its indicators by ``level`` period.

    ``workflow``: the workspace's frames (dashboard.data.workflow_frames), for the street's
    funnel in the latest period of the level; None: no funnel."""
    periods = sorted(period_options(indicators)[level])
    rows = indicators.filter((pl.col("street") == street) & pl.col("period").is_in(periods)
                             & pl.col("indicator").is_in(list(SHOWN)))
    over_time = rows.select("period", "indicator", "value").sort("period")
    numerators = rows.select("period", "indicator", "numerator")
    latest_period = periods[-1] if periods else ""
    previous_period = periods[-2] if len(periods) > 1 else None

    def at(period: str | None, column: str = "value") -> dict[str, float | None]:
        if period is None:
            return {}
        sel = (over_time if column == "value" else numerators).filter(pl.col("period") == period)
        return dict(zip(sel["indicator"], sel[column]))

    now, before = at(latest_period), at(previous_period)
    now_num, before_num = at(latest_period, "numerator"), at(previous_period, "numerator")
    latest = pl.DataFrame(
        [(n, indicator_title(n), now.get(n), shown_value(n, now.get(n), now_num.get(n)),
          shown_value(n, before.get(n), before_num.get(n)) if previous_period else None)
         for n in SHOWN],
        schema={"indicator": pl.String, "title": pl.String, "value": pl.Float64,
                "shown": pl.String, "previous": pl.String}, orient="row")
    own = findings.filter(pl.col("street") == street)
    overdue = (own.filter(pl.col("check_id").is_in(list(OVERDUE_CHECKS)))
               .sort("check_id", "month", "case_id", nulls_last=True))
    return StreetView(street=street, level=level, period=latest_period,
                      label=period_label(latest_period) if latest_period else "",
                      latest=latest, over_time=over_time, by_check=_by_check(own),
                      overdue=overdue, circles=_circles(indicators, street),
                      funnel=(funnel_of(workflow, latest_period or None, [street])
                              if workflow is not None else None))


def rectification_metrics(view: StreetView) -> list[tuple[str, str, str]]:
    """The follow-up indicators of the latest period as (title, shown, help): 未计算 for a run
    outside a workspace, — where no rectification was completed in the period."""
    latest = view.latest.filter(pl.col("indicator").is_in(list(WORKFLOW_INDICATORS)))
    out = []
    for row in latest.iter_rows(named=True):
        if row["shown"] == NOT_COMPUTED:
            note = "只在工作区中运行的检查计算，本次结果未计算"
        elif row["value"] is None:
            note = ("本期没有已签发的档案核查" if row["indicator"] == "file_audit_pass_rate"
                    else "本期没有完成整改的线索")
        else:
            note = f"上一期：{row['previous']}" if row["previous"] else "按整改完成日期归期"
        out.append((row["title"], row["shown"], note))
    return out


# --- tables for the screen and the export ---------------------------------------------------------

def over_time_table(view: StreetView) -> pl.DataFrame:
    """Periods down, indicators across, display values."""
    names = [n for n in SHOWN if n in set(view.over_time["indicator"])]
    if not names:
        return pl.DataFrame(schema={"期间": pl.String})
    wide = view.over_time.pivot(on="indicator", index="period", values="value",
                                aggregate_function=None)
    return wide.select(pl.col("period").alias("期间"),
                       *[display_value(n, pl.col(n)).alias(indicator_title(n)) for n in names])


def by_check_table(view: StreetView) -> pl.DataFrame:
    return view.by_check.select(pl.col("family_title").alias("类别"), pl.col("title").alias("检查项"),
                                pl.col("findings").alias("线索数"),
                                (pl.col("amount_fen") / 100).round(2).alias("涉及金额（元）"))


def overdue_table(view: StreetView) -> pl.DataFrame:
    """The overdue items, ID numbers and accounts masked."""
    from checks.registry import REGISTRY, load_all

    load_all()
    titles = {c: REGISTRY[c].title for c in OVERDUE_CHECKS}
    return view.overdue.select(
        pl.col("check_id").replace_strict(titles, return_dtype=pl.String).alias("检查项"),
        pl.col("case_id").alias("救助编号"), pl.col("month").alias("月份"),
        mask_id_expr("id_number").alias("身份证号"),
        mask_account_expr("account_no").alias("银行账号"),
        pl.col("summary").alias("摘要"))


def circles_table(view: StreetView) -> pl.DataFrame:
    return view.circles.select(pl.col("name").alias("圈层"),
                               pl.col("households").cast(pl.Int64).alias("户数"),
                               (pl.col("share") * 100).round(1).alias("占比（%）"))


def excel_sheets(view: StreetView) -> dict[str, pl.DataFrame]:
    sheets = {"指标趋势": over_time_table(view), "各检查项线索": by_check_table(view),
              "超期事项": overdue_table(view), "四个圈层": circles_table(view)}
    if view.funnel is not None:
        sheets["处置漏斗"] = funnel_table(view.funnel)
    return sheets

