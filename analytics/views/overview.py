"""总览: the district at a glance and the ranking of the ten street offices, from a run's
indicators.csv and findings.csv, and the funnel of the follow-up loop from the workspace.

:func:`overview` is the one call the page makes; the ``*_table`` functions give what the data
grids and the Excel export show (Chinese headers, formatted values), the ``*_html`` functions the
static blocks of the landing view (headline figures, the ranking coloured as a heat map).
Nothing here holds personal data: every figure is a count or a sum over a street office.
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from html import escape

import polars as pl

from analytics import schema
from analytics.indicators import BY_NAME, DISTRICT, INDICATORS, component_scores
from analytics.reference import load_settings

LEVELS = {"month": "月度", "quarter": "季度", "year": "年度"}
# The columns of the ranking, in order; the composite score leads.
RANKED = ("composite_score", "approval_on_time_rate", "disbursement_on_time_rate",
          "funds_findings_per_1000", "money_at_risk", "visit_compliance_rate", "integrity_leads",
          "dynamic_leads", "rectification_on_time_rate", "recurrence_rate",
          "file_audit_pass_rate", "trainings_held")
# The heat map shows the indicators that score (0–100, higher better), composite last.
HEAT = ("approval_on_time_rate", "disbursement_on_time_rate", "funds_findings_per_1000",
        "visit_compliance_rate", "integrity_leads", "dynamic_leads",
        "rectification_on_time_rate", "recurrence_rate", "file_audit_pass_rate",
        "composite_score")
# Indicators of the follow-up loop: computed only for a run in a workspace, blank otherwise.
WORKFLOW_INDICATORS = ("rectification_on_time_rate", "recurrence_rate", "file_audit_pass_rate")
NOT_COMPUTED = "未计算"
NOT_COMPUTED_NOTE = ("整改按期率、整改复发率、档案核查合格率只在工作区中运行的检查计算（取运行时的"
                     "处置记录和已签发的档案核查），本次检查结果未计算，以“未计算”表示，不按0分计。")
# Indicators a trend can follow, the composite score first (the page's default).
TRENDED = ("composite_score",
           *(i.name for i in INDICATORS
             if i.name != "composite_score" and not i.name.startswith("circle_")))
TRAINING_SHORT = "未达标"
TRAINING_OK = "达标"
# Red (poor) through yellow to green (good) on the 0–100 scores: the heat map and the landing
# table colour alike.
SCORE_SCALE = ((0.0, "#d73027"), (0.5, "#fee08b"), (1.0, "#1a9850"))
SCORE_BAR = "#9ebfe3"
SHORT_STYLE = "background-color: #fbd5d2; color: #a50f15; font-weight: 600"


# --- periods and formatting --------------------------------------------------------------------

def level_of(period: str) -> str:
    if "Q" in period:
        return "quarter"
    return "month" if "-" in period else "year"


def period_label(period: str) -> str:
    """'2026-03' -> '2026年3月', '2026Q1' -> '2026年第1季度', '2026' -> '2026年'."""
    level = level_of(period)
    if level == "month":
        return f"{period[:4]}年{int(period[5:7])}月"
    if level == "quarter":
        return f"{period[:4]}年第{period[-1]}季度"
    return f"{period}年"


def period_bounds(period: str) -> tuple[date, date]:
    """The first and last day of a period: '2026-03', '2026Q1' or '2026'."""
    year, level = int(period[:4]), level_of(period)
    if level == "month":
        first = last = int(period[5:7])
    elif level == "quarter":
        last = 3 * int(period[-1])
        first = last - 2
    else:
        first, last = 1, 12
    return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])


def period_options(indicators: pl.DataFrame) -> dict[str, list[str]]:
    """The periods of each level present in indicators.csv, latest first."""
    periods = indicators.get_column("period").unique().to_list()
    return {level: sorted((p for p in periods if level_of(p) == level), reverse=True)
            for level in LEVELS}


def last_month(period: str) -> str:
    level = level_of(period)
    if level == "month":
        return period
    if level == "quarter":
        return f"{period[:4]}-{3 * int(period[-1]):02d}"
    return f"{period}-12"


def format_value(indicator: str, value: float | None) -> str:
    """A value as the screen and the PDF print it: rates in %, money in yuan."""
    if value is None:
        return "—"
    unit = BY_NAME[indicator].unit
    if unit == "比率":
        return f"{value * 100:.1f}%"
    if unit == "元":
        return f"{value:,.2f}"
    if unit in ("每千笔", "分"):
        return f"{value:.1f}"
    return f"{int(round(value)):,}"


def indicator_title(indicator: str) -> str:
    ind = BY_NAME[indicator]
    suffix = {"比率": "（%）", "元": "（元）", "每千笔": "（每千笔）", "分": "（分）"}.get(ind.unit, "")
    return ind.title + suffix


def display_value(indicator: str, value: pl.Expr | None = None) -> pl.Expr:
    """``value`` (default: the column ``value``) as the tables show it: rates in percent with one
    decimal, money with two, scores and per-thousand rates with one, counts whole."""
    value = pl.col("value") if value is None else value
    unit = BY_NAME[indicator].unit
    if unit == "比率":
        return (value * 100).round(1)
    if unit == "元":
        return value.round(2)
    if unit in ("每千笔", "分"):
        return value.round(1)
    return value.round(0).cast(pl.Int64)


def _street_rank(street: pl.Expr) -> pl.Expr:
    order = {s: i for i, s in enumerate((DISTRICT, *schema.STREETS))}
    return street.replace_strict(order, default=len(order), return_dtype=pl.Int32)


def _visible(frame: pl.DataFrame, streets: Collection[str] | None) -> pl.DataFrame:
    """Access rule: a viewer limited to some streets sees those (and no district total)."""
    if streets is None:
        return frame
    return frame.filter(pl.col("street").is_in(list(streets)))


# --- the parts -----------------------------------------------------------------------------------

def values_at(indicators: pl.DataFrame, period: str) -> pl.DataFrame:
    """street, then one column per indicator: the values of one period, ten streets and 全区."""
    rows = indicators.filter(pl.col("period") == period)
    wide = (rows.pivot(on="indicator", index="street", values="value", aggregate_function=None)
            if rows.height else pl.DataFrame({"street": []}, schema={"street": pl.String}))
    for name in BY_NAME:
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    return wide.select("street", *BY_NAME).sort(_street_rank(pl.col("street")))


def uncomputed(indicators: pl.DataFrame, period: str) -> frozenset[str]:
    """The follow-up indicators this run did not compute for ``period`` (a run outside a
    workspace): blank numerators for every street. A computed one with no rectification in a
    street has a numerator of 0 and a blank value, shown as —."""
    rows = indicators.filter((pl.col("period") == period)
                             & pl.col("indicator").is_in(list(WORKFLOW_INDICATORS)))
    return frozenset(name for name in WORKFLOW_INDICATORS
                     if rows.filter(pl.col("indicator") == name)["numerator"].is_null().all())


def shown_value(indicator: str, value: float | None, numerator: float | None = 0.0) -> str:
    """format_value, except that a follow-up indicator with no numerator reads 未计算."""
    if indicator in WORKFLOW_INDICATORS and value is None and numerator is None:
        return NOT_COMPUTED
    return format_value(indicator, value)


def training_marks(indicators: pl.DataFrame, year: str) -> pl.DataFrame:
    """street, trainings_year, training_mark: each street's trainings in ``year`` against the
    yearly minimum of the settings file; blank where no trainings table was read."""
    required = load_settings().trainings_per_year
    rows = indicators.filter((pl.col("period") == year)
                             & (pl.col("indicator") == "trainings_held"))
    return rows.select(
        "street", pl.col("value").alias("trainings_year"),
        pl.when(pl.col("value").is_null()).then(None)
        .when(pl.col("value") < required).then(pl.lit(TRAINING_SHORT))
        .otherwise(pl.lit(TRAINING_OK)).alias("training_mark"))


def ranking(indicators: pl.DataFrame, period: str) -> pl.DataFrame:
    """The ten streets by composite score (highest first; equal scores share a rank; no score
    last), each ranked indicator beside it, and the trainings mark of the period's year."""
    wide = values_at(indicators, period).filter(pl.col("street") != DISTRICT)
    marks = training_marks(indicators, period[:4])
    return (wide.select("street", *RANKED)
            .join(marks, on="street", how="left", validate="1:1")
            .with_columns(pl.col("composite_score").rank("min", descending=True)
                          .cast(pl.Int64).alias("rank"))
            .sort(pl.col("rank"), _street_rank(pl.col("street")), nulls_last=True)
            .select("rank", "street", *RANKED, "trainings_year", "training_mark"))


def heat(indicators: pl.DataFrame, period: str) -> pl.DataFrame:
    """street, indicator, title, value, score (0–100, higher better) for the heat map: the ten
    streets × the scored indicators and the composite."""
    rows = indicators.filter((pl.col("period") == period) & (pl.col("street") != DISTRICT))
    scores = component_scores(rows, [n for n in HEAT if n != "composite_score"])
    composite = rows.filter(pl.col("indicator") == "composite_score").select(
        "street", "period", "indicator", pl.col("value").alias("score"))
    order = {n: i for i, n in enumerate(HEAT)}
    titles = {n: indicator_title(n) for n in HEAT}
    return (pl.concat([scores, composite])
            .join(rows.select("street", "indicator", "value"), on=["street", "indicator"],
                  how="left", validate="1:1")
            .with_columns(pl.col("indicator").replace_strict(titles).alias("title"))
            .sort(_street_rank(pl.col("street")), pl.col("indicator").replace_strict(order))
            .select("street", "indicator", "title", "value", "score"))


def trends(indicators: pl.DataFrame, indicator: str) -> pl.DataFrame:
    """period, street, value: ``indicator`` month by month for 全区 and the ten streets."""
    return (indicators.filter((pl.col("indicator") == indicator)
                              & pl.col("period").str.contains("-"))
            .select("period", "street", "value")
            .sort("period", _street_rank(pl.col("street"))))


def open_leads(findings: pl.DataFrame, period: str, as_of_month: str | None) -> pl.DataFrame:
    """family, family_title, findings: leads arisen by the period's end (a finding without a
    month counts from the run's latest month), by family in registry order. Money at risk is the
    money_at_risk indicator, which counts a payment behind several findings once."""
    from checks.registry import FAMILIES

    end = last_month(period)
    month = pl.col("month").fill_null(as_of_month or end)
    counts = (findings.filter(month <= end)
              .group_by("family").agg(pl.len().cast(pl.Int64).alias("findings")))
    return (pl.DataFrame({"family": list(FAMILIES), "family_title": list(FAMILIES.values())})
            .join(counts, on="family", how="left", validate="1:1")
            .with_columns(pl.col("findings").fill_null(0)))


def leads_by_street(findings: pl.DataFrame, period: str, as_of_month: str | None
                    ) -> pl.DataFrame:
    """street, then one column of lead counts per family title, and total: the leads of
    :func:`open_leads` for each of the ten streets (findings without a street are left out)."""
    from checks.registry import FAMILIES

    end = last_month(period)
    month = pl.col("month").fill_null(as_of_month or end)
    rows = findings.filter((month <= end) & pl.col("street").is_in(list(schema.STREETS)))
    counts = [(pl.col("family") == f).sum().cast(pl.Int64).alias(t) for f, t in FAMILIES.items()]
    per_street = rows.group_by("street").agg(*counts, pl.len().cast(pl.Int64).alias("total"))
    return (pl.DataFrame({"street": list(schema.STREETS)})
            .join(per_street, on="street", how="left", validate="1:1")
            .with_columns(pl.exclude("street").fill_null(0)))


# --- the funnel of the follow-up loop ----------------------------------------------------------

# The workflow's frames, read from the workspace (dashboard.data.workflow_frames): findings,
# history and recoveries as analytics.store.findings gives them.
Workflow = Mapping[str, pl.DataFrame]
FUNNEL_NOTE = ("各环节按发生日期归期：发现线索按检查运行日，核实属实、整改完成按登记日，"
               "追回资金按到账日；前三个环节的金额为线索涉及金额，追回资金为实际追回的金额"
               "（分次追回累加）。")


def scoped_workflow(workflow: Workflow, streets: Collection[str] | None) -> dict[str, pl.DataFrame]:
    """The workflow's frames limited to the findings of ``streets`` (None: all of them)."""
    findings = workflow["findings"]
    if streets is None:
        return {"findings": findings, "history": workflow["history"],
                "recoveries": workflow["recoveries"]}
    findings = findings.filter(pl.col("street").is_in(list(streets)))
    ids = findings.select("finding_id")
    return {"findings": findings,
            "history": workflow["history"].join(ids, on="finding_id", how="semi"),
            "recoveries": workflow["recoveries"].join(ids, on="finding_id", how="semi")}


def funnel_of(workflow: Workflow, period: str | None = None,
              streets: Collection[str] | None = None) -> pl.DataFrame:
    """stage, label, count, amount_fen: leads found, verified, rectified and money recovered in
    ``period`` (None: ever), over the findings of ``streets`` (None: every street)."""
    from analytics.workflow.followup import funnel

    start, end = period_bounds(period) if period else (None, None)
    scoped = scoped_workflow(workflow, streets)
    return funnel(scoped["findings"], scoped["history"], scoped["recoveries"],
                  start=start, end=end)


def funnel_by_street(workflow: Workflow, period: str | None = None) -> pl.DataFrame:
    """street, stage, label, count, amount_fen: the district's funnel (全区) and each street's,
    the ten streets in order, then findings of no known street."""
    from analytics.workflow.followup import UNASSIGNED_STREET

    findings = workflow["findings"].with_columns(pl.col("street").fill_null(UNASSIGNED_STREET))
    present = set(findings["street"].to_list())
    others = sorted(present - set(schema.STREETS))
    frames = [funnel_of(workflow, period).select(pl.lit(DISTRICT).alias("street"), pl.all())]
    named = {**workflow, "findings": findings}
    for street in (*schema.STREETS, *others):
        frames.append(funnel_of(named, period, [street])
                      .select(pl.lit(street).alias("street"), pl.all()))
    return pl.concat(frames)


def funnel_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`funnel_of` for the screen and the export."""
    return frame.select(pl.col("label").alias("环节"), pl.col("count").alias("线索数（条）"),
                        (pl.col("amount_fen") / 100).round(2).alias("金额（元）"))


@dataclass(frozen=True)
class Headline:
    cases_active: float | None
    money_paid: float | None          # yuan, in the period (the month on a monthly view)
    money_at_risk: float | None       # yuan, in the period
    open_leads: int
    composite_score: float | None


@dataclass(frozen=True)
class Overview:
    period: str
    label: str
    headline: Headline
    leads: pl.DataFrame       # open_leads
    ranking: pl.DataFrame     # ranking
    heat: pl.DataFrame        # heat
    trend_indicator: str
    trends: pl.DataFrame      # trends
    uncomputed: frozenset[str] = frozenset()   # follow-up indicators not computed: uncomputed()
    funnel: pl.DataFrame | None = None          # funnel_of the period; None: no workspace read


def overview(indicators: pl.DataFrame, findings: pl.DataFrame, period: str | None = None,
             trend_indicator: str = "composite_score",
             streets: Collection[str] | None = None,
             workflow: Workflow | None = None) -> Overview:
    """Everything the 总览 page shows for ``period`` (default: the latest month).

    ``streets``: the street offices this viewer may see; None: every one and the district.
    ``workflow``: the workspace's frames, for the funnel of the period; None: no funnel."""
    options = period_options(indicators)
    if period is None:
        period = options["month"][0] if options["month"] else ""
    months = indicators.filter(pl.col("period").str.contains("-"))["period"]
    as_of_month = months.max() if months.len() else None
    at = values_at(indicators, period)
    district = at.filter(pl.col("street") == DISTRICT)
    area = _visible(at, streets) if streets is not None else district

    def total(name: str) -> float | None:
        col = area.get_column(name).drop_nulls()
        if not col.len():
            return None
        return float(col.sum()) if streets is not None else float(col[0])

    visible_findings = _visible(findings, streets)
    leads = open_leads(visible_findings, period, as_of_month)
    composite = district.get_column("composite_score") if streets is None else None
    headline = Headline(
        cases_active=total("cases_active"), money_paid=total("money_paid"),
        money_at_risk=total("money_at_risk"), open_leads=int(leads["findings"].sum()),
        composite_score=(float(composite[0]) if composite is not None and composite.len()
                         and composite[0] is not None else None))
    return Overview(
        period=period, label=period_label(period) if period else "", headline=headline,
        leads=leads,
        ranking=_visible(ranking(indicators, period), streets),
        heat=_visible(heat(indicators, period), streets),
        trend_indicator=trend_indicator,
        trends=_visible(trends(indicators, trend_indicator), streets),
        uncomputed=uncomputed(indicators, period),
        funnel=(funnel_of(workflow, period or None, streets) if workflow is not None else None))


Metric = tuple[str, str, str | None]  # label, value, help


def headline_metrics(view: Overview) -> list[list[Metric]]:
    """The headline figures above the page's views, in two rows: the district's cases, money paid
    and at risk, open leads and composite score; then the open leads of each family of checks."""
    h, label = view.headline, view.label
    return [
        [("在册案件数", format_value("cases_active", h.cases_active), "期末处于救助期的案件"),
         (f"{label}实发金额（元）", format_value("money_paid", h.money_paid), None),
         ("未处理线索（条）", f"{h.open_leads:,}", "截至期末已发生的各类线索"),
         (f"{label}涉及金额（元）", format_value("money_at_risk", h.money_at_risk),
          "同一笔拨付触发多项检查时只计一次"),
         ("全区综合得分", format_value("composite_score", h.composite_score), None)],
        [(f"{title}线索", f"{count:,}", None)
         for title, count in view.leads.select("family_title", "findings").iter_rows()],
    ]


# --- tables for the screen and the export ---------------------------------------------------------

def ranking_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`ranking` with Chinese headers and display values."""
    return frame.select(
        pl.col("rank").alias("排名"), pl.col("street").alias("街镇"),
        *[display_value(n, pl.col(n)).alias(indicator_title(n)) for n in RANKED],
        pl.col("trainings_year").cast(pl.Int64).alias("本年培训次数"),
        pl.col("training_mark").alias("培训达标"))


def heat_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`heat` as a street × indicator table of scores (0–100)."""
    titles = [indicator_title(n) for n in HEAT]
    if frame.height == 0:
        return pl.DataFrame(schema={"街镇": pl.String, **{t: pl.Float64 for t in titles}})
    wide = frame.with_columns(pl.col("score").round(1)).pivot(
        on="title", index="street", values="score", aggregate_function=None)
    for t in titles:
        if t not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(t))
    return wide.select(pl.col("street").alias("街镇"), *titles)


def trend_table(frame: pl.DataFrame, indicator: str) -> pl.DataFrame:
    """:func:`trends` as a month × street table of display values."""
    if frame.height == 0:
        return pl.DataFrame(schema={"月份": pl.String})
    streets = frame.select(pl.col("street").unique(maintain_order=True))["street"].to_list()
    wide = (frame.with_columns(display_value(indicator).alias("shown"))
            .pivot(on="street", index="period", values="shown", aggregate_function=None))
    return wide.select(pl.col("period").alias("月份"), *streets).sort("月份")


def leads_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`open_leads` for the screen."""
    return frame.select(pl.col("family_title").alias("类别"), pl.col("findings").alias("线索数"))


def definitions_table() -> pl.DataFrame:
    from analytics.indicators import definitions_table as table

    return table()


def excel_sheets(view: Overview) -> dict[str, pl.DataFrame]:
    """The workbook the page exports: every table it shows, one sheet each."""
    sheets = {"街镇排名": ranking_table(view.ranking), "指标热力图": heat_table(view.heat),
              "月度趋势": trend_table(view.trends, view.trend_indicator),
              "线索分类": leads_table(view.leads)}
    if view.funnel is not None:
        sheets["处置漏斗"] = funnel_table(view.funnel)
    return {**sheets, "指标定义": definitions_table()}


# --- static tables: HTML drawn without any of the browser's chart or data-grid code -------------

def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def score_colour(score: pl.Expr) -> pl.Expr:
    """CSS declarations colouring a cell by a 0–100 score on :data:`SCORE_SCALE`, linear between
    its stops, with white text on the darker ends; null where there is no score."""
    t = score.clip(0, 100) / 100
    stops = [(at, _rgb(colour)) for at, colour in SCORE_SCALE]

    def channel(i: int) -> pl.Expr:
        expr = pl.lit(float(stops[-1][1][i]))
        for (lo, c_lo), (hi, c_hi) in reversed(list(zip(stops, stops[1:]))):
            expr = pl.when(t <= hi).then(c_lo[i] + (c_hi[i] - c_lo[i]) * (t - lo) / (hi - lo)
                                          ).otherwise(expr)
        return expr.round(0).cast(pl.Int64)

    red, green, blue = channel(0), channel(1), channel(2)
    # Perceived brightness (ITU-R BT.601 weights) decides the text colour.
    dark = (0.299 * red + 0.587 * green + 0.114 * blue) < 150
    text = pl.when(dark).then(pl.lit("#ffffff")).otherwise(pl.lit("#222222"))
    return pl.when(score.is_not_null()).then(
        pl.format("background-color: rgb({}, {}, {}); color: {}", red, green, blue, text))


def score_bar(score: pl.Expr) -> pl.Expr:
    """CSS declarations drawing a 0–100 score as a bar filling that share of the cell."""
    width = score.clip(0, 100).round(1)
    return pl.format("background: linear-gradient(90deg, {} {}%, transparent {}%)",
                     pl.lit(SCORE_BAR), width, width)


WRAP_AT = 12
_ELLIPSIS = "white-space: nowrap; overflow: hidden; text-overflow: ellipsis"
_LABEL = f"font-size: 0.875rem; opacity: 0.8; {_ELLIPSIS}"
_VALUE = f"font-size: 2rem; line-height: 1.3; {_ELLIPSIS}"
_TABLE = ("border-collapse: collapse; width: 100%; font-size: 0.875rem; "
          "font-variant-numeric: tabular-nums")
_TH = ("padding: 0.35rem 0.5rem; border-bottom: 2px solid rgba(128, 128, 128, 0.5); "
       "text-align: {align}; vertical-align: bottom; font-weight: 600")
_TD = ("padding: 0.3rem 0.5rem; border-bottom: 1px solid rgba(128, 128, 128, 0.2); "
       "text-align: {align}; vertical-align: top")


def _html(name: str, headers: list[tuple[str, str]],
          rows: list[list[tuple[str, str | None]]], wrap: Collection[int] = ()) -> str:
    """A table: ``headers`` as (text, align), each row as (text, extra CSS) per cell; the cells of
    the columns in ``wrap`` (positions) wrap, the others keep to one line."""
    cell_css = [_TD.format(align=align) + ("" if i in wrap else "; white-space: nowrap")
                for i, (_, align) in enumerate(headers)]
    head = "".join(f'<th style="{_TH.format(align=align)}">{escape(text)}</th>'
                   for text, align in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td style="{css}{"; " + style if style else ""}">{escape(text)}</td>'
            for (text, style), css in zip(row, cell_css)) + "</tr>"
        for row in rows)
    return (f'<div style="overflow-x: auto"><table class="aidwatch-{name}" style="{_TABLE}">'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>")


def glance_html(ranking_frame: pl.DataFrame, heat_frame: pl.DataFrame,
                not_computed: Collection[str] = ()) -> str:
    """The landing table: :func:`ranking` with each indicator beside the composite score, the
    score drawn as a bar in its cell, each scored indicator's cell coloured by its heat-map score
    (:func:`heat`) and a street short of trainings marked; cells show the indicators' own values,
    those of ``not_computed`` (:func:`uncomputed`) 未计算.

    Static HTML with inline styles, so the browser draws it without a chart or data grid."""
    scored = [n for n in HEAT if n != "composite_score"]
    scores = (heat_frame.filter(pl.col("indicator").is_in(scored))
              .pivot(on="indicator", index="street", values="score", aggregate_function=None)
              if heat_frame.height else pl.DataFrame(schema={"street": pl.String}))
    for name in scored:
        if name not in scores.columns:
            scores = scores.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    styled = (ranking_frame.join(scores.select("street", *(pl.col(n).alias(f"{n}:score")
                                                           for n in scored)),
                                 on="street", how="left", validate="1:1")
              .with_columns(*(score_colour(pl.col(f"{n}:score")).alias(f"{n}:style")
                              for n in scored),
                            score_bar(pl.col("composite_score")).alias("composite_score:style"),
                            pl.when(pl.col("training_mark") == TRAINING_SHORT)
                            .then(pl.lit(SHORT_STYLE)).alias("training_mark:style")))
    headers = [("排名", "right"), ("街镇", "left"), *((indicator_title(n), "right") for n in RANKED),
               ("本年培训次数", "right"), ("培训达标", "center")]
    rows = []  # ten street offices at most
    for row in styled.iter_rows(named=True):
        trainings = row["trainings_year"]
        rows.append([
            ("—" if row["rank"] is None else str(row["rank"]), None),
            (row["street"], None),
            *((NOT_COMPUTED if n in not_computed else format_value(n, row[n]),
               row.get(f"{n}:style")) for n in RANKED),
            ("—" if trainings is None else f"{int(trainings):,}", None),
            (row["training_mark"] or "—", row["training_mark:style"])])
    return _html("glance", headers, rows)


def table_html(frame: pl.DataFrame) -> str:
    """Any small frame of text and numbers as a static table; a column holding text longer than
    :data:`WRAP_AT` characters wraps, the others keep to one line."""
    headers = [(c, "left" if frame.schema[c] == pl.String else "right") for c in frame.columns]
    rows = [[("—" if v is None else str(v), None) for v in row] for row in frame.iter_rows()]
    longest = [max((len(text) for text, _ in column), default=0) for column in zip(*rows)]
    return _html("table", headers, rows, wrap={i for i, n in enumerate(longest) if n > WRAP_AT})


def metrics_html(rows: list[list[Metric]]) -> str:
    """Headline figures drawn like st.metric (label above, large value below, the help as the
    label's tooltip), each row's figures side by side, all in one static block."""
    def figure(label: str, value: str, help_: str | None) -> str:
        tip = f' title="{escape(help_)}"' if help_ else ""
        return ('<div style="min-width: 0">'
                f'<div style="{_LABEL}"{tip}>{escape(label)}{" ⓘ" if help_ else ""}</div>'
                f'<div style="{_VALUE}" title="{escape(value)}">{escape(value)}</div></div>')

    return ('<div class="aidwatch-metrics">' + "".join(
        '<div style="display: grid; gap: 1rem; margin-bottom: 0.75rem; '
        f'grid-template-columns: repeat({len(row)}, minmax(0, 1fr))">'
        + "".join(figure(*m) for m in row) + "</div>"
        for row in rows if row) + "</div>")
