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
from dataclasses import dataclass, field
from datetime import date
from html import escape
from itertools import pairwise

import polars as pl

from analytics import formats, schema
from analytics.indicators import (
    BY_NAME,
    DISTRICT,
    FAMILY_LEADS,
    INDICATORS,
    blank_unchecked,
    component_scores,
    left_out,
    unchecked_families,
    unchecked_indicators,
)
from analytics.reference import load_settings

LEVELS = {"month": "月度", "quarter": "季度", "year": "年度"}
# The columns of the ranking, in order; the composite score leads.
RANKED = (
    "composite_score",
    "approval_on_time_rate",
    "disbursement_on_time_rate",
    "funds_findings_per_1000",
    "money_at_risk",
    "visit_compliance_rate",
    "integrity_leads",
    "dynamic_leads",
    "rectification_on_time_rate",
    "recurrence_rate",
    "file_audit_pass_rate",
    "trainings_held",
)
# The heat map shows the indicators that score (0–100, higher better), composite last.
HEAT = (
    "approval_on_time_rate",
    "disbursement_on_time_rate",
    "funds_findings_per_1000",
    "visit_compliance_rate",
    "integrity_leads",
    "dynamic_leads",
    "rectification_on_time_rate",
    "recurrence_rate",
    "file_audit_pass_rate",
    "composite_score",
)
# Indicators of the follow-up loop: computed only for a run in a workspace, blank otherwise.
WORKFLOW_INDICATORS = ("rectification_on_time_rate", "recurrence_rate", "file_audit_pass_rate")
NOT_COMPUTED = "未计算"
NOT_COMPUTED_NOTE = (
    "整改按期率、整改复发率、档案核查合格率只在工作区中运行的检查计算（取运行时的"
    "处置记录和已签发的档案核查），本次检查结果未计算，以“未计算”表示，不按0分计。"
)
# Indicators of a family of checks the run did not include (analytics.indicators.FAMILY_INDICATORS)
NOT_CHECKED = "未检查"
# Indicators a trend can follow, the composite score first (the page's default).
TRENDED = (
    "composite_score",
    *(
        i.name
        for i in INDICATORS
        if i.name != "composite_score" and not i.name.startswith("circle_")
    ),
)
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
    return {
        level: sorted((p for p in periods if level_of(p) == level), reverse=True)
        for level in LEVELS
    }


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
        return formats.DASH
    unit = BY_NAME[indicator].unit
    if unit == "比率":
        return formats.rate(value)
    if unit == "元":
        return formats.money(value)
    if unit == "分":
        return formats.score(value)
    if unit == "每千笔":
        return formats.per_thousand(value)
    return formats.count(value)


def unit_suffix(indicator: str) -> str:
    """The unit of an indicator as a header's suffix: （%） for rates (shown ×100), （元）,
    （每千笔）, （分） and the count's own unit (（件）, （个）, （次）, （户））."""
    unit = BY_NAME[indicator].unit
    return "（%）" if unit == "比率" else f"（{unit}）"


def indicator_title(indicator: str) -> str:
    """The indicator's title with its unit: the header of its column in every table, which is
    how the grids and the Excel export know how to write its numbers (analytics.formats)."""
    return BY_NAME[indicator].title + unit_suffix(indicator)


def score_title(indicator: str) -> str:
    """The header of an indicator's 0–100 score: never under the indicator's own unit."""
    if indicator == "composite_score":
        return "综合得分（分）"
    return f"{BY_NAME[indicator].title}得分（分）"


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
    wide = (
        rows.pivot(on="indicator", index="street", values="value", aggregate_function=None)
        if rows.height
        else pl.DataFrame({"street": []}, schema={"street": pl.String})
    )
    for name in BY_NAME:
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    return wide.select("street", *BY_NAME).sort(_street_rank(pl.col("street")))


def uncomputed(indicators: pl.DataFrame, period: str) -> frozenset[str]:
    """The follow-up indicators this run did not compute for ``period`` (a run outside a
    workspace): blank numerators for every street. A computed one with no rectification in a
    street has a numerator of 0 and a blank value, shown as —."""
    rows = indicators.filter(
        (pl.col("period") == period) & pl.col("indicator").is_in(list(WORKFLOW_INDICATORS))
    )
    return frozenset(
        name
        for name in WORKFLOW_INDICATORS
        if rows.filter(pl.col("indicator") == name)["numerator"].is_null().all()
    )


def shown_value(
    indicator: str,
    value: float | None,
    numerator: float | None = 0.0,
    unchecked: Collection[str] = (),
) -> str:
    """format_value, except that a follow-up indicator with no numerator reads 未计算 and an
    indicator of a family of checks the run did not include (``unchecked``) 未检查."""
    if indicator in unchecked:
        return NOT_CHECKED
    if indicator in WORKFLOW_INDICATORS and value is None and numerator is None:
        return NOT_COMPUTED
    return format_value(indicator, value)


def checks_of(summary: pl.DataFrame | None) -> tuple[list[str] | None, list[str]]:
    """(checks the run included, checks it skipped for a missing table) from its checks.csv;
    (None, []) when there is none (results from before it was written): every check."""
    if summary is None or summary.height == 0:
        return None, []
    return (
        summary["check_id"].to_list(),
        summary.filter(pl.col("skipped").is_not_null())["check_id"].to_list(),
    )


def training_marks(indicators: pl.DataFrame, year: str) -> pl.DataFrame:
    """street, trainings_year, training_mark: each street's trainings in ``year`` against the
    yearly minimum of the settings file; blank where no trainings table was read."""
    required = load_settings().trainings_per_year
    rows = indicators.filter((pl.col("period") == year) & (pl.col("indicator") == "trainings_held"))
    return rows.select(
        "street",
        pl.col("value").alias("trainings_year"),
        pl.when(pl.col("value").is_null())
        .then(None)
        .when(pl.col("value") < required)
        .then(pl.lit(TRAINING_SHORT))
        .otherwise(pl.lit(TRAINING_OK))
        .alias("training_mark"),
    )


def ranking(indicators: pl.DataFrame, period: str) -> pl.DataFrame:
    """The ten streets by composite score (highest first; equal scores share a rank; no score
    last), each ranked indicator beside it, the trainings mark of the period's year and the
    weighted indicators its composite score left out (``left_out``, a list of names)."""
    wide = values_at(indicators, period).filter(pl.col("street") != DISTRICT)
    marks = training_marks(indicators, period[:4])
    missing = left_out(indicators.filter(pl.col("period") == period)).select("street", "left_out")
    return (
        wide.select("street", *RANKED)
        .join(marks, on="street", how="left", validate="1:1")
        .join(missing, on="street", how="left", validate="1:1")
        .with_columns(
            pl.col("composite_score").rank("min", descending=True).cast(pl.Int64).alias("rank")
        )
        .sort(pl.col("rank"), _street_rank(pl.col("street")), nulls_last=True)
        .select("rank", "street", *RANKED, "trainings_year", "training_mark", "left_out")
    )


def heat(indicators: pl.DataFrame, period: str) -> pl.DataFrame:
    """street, indicator, title, value, per_case, score for the heat map: the ten streets × the
    scored indicators and the composite. ``score`` (0–100, higher better) colours a cell,
    ``value`` is the indicator's own value written in it, ``per_case`` the leads per active case
    the score of 廉洁风险线索 and 动态管理线索 compares (blank for the others)."""
    rows = indicators.filter((pl.col("period") == period) & (pl.col("street") != DISTRICT))
    scores = component_scores(rows, [n for n in HEAT if n != "composite_score"])
    composite = rows.filter(pl.col("indicator") == "composite_score").select(
        "street", "period", "indicator", pl.col("value").alias("score")
    )
    order = {n: i for i, n in enumerate(HEAT)}
    titles = {n: indicator_title(n) for n in HEAT}
    per_case = pl.when(
        pl.col("indicator").is_in(list(FAMILY_LEADS)) & (pl.col("denominator") > 0)
    ).then(pl.col("numerator") / pl.col("denominator"))
    return (
        pl.concat([scores, composite])
        .join(
            rows.select("street", "indicator", "value", per_case.alias("per_case")),
            on=["street", "indicator"],
            how="left",
            validate="1:1",
        )
        .with_columns(pl.col("indicator").replace_strict(titles).alias("title"))
        .sort(_street_rank(pl.col("street")), pl.col("indicator").replace_strict(order))
        .select("street", "indicator", "title", "value", "per_case", "score")
    )


HEAT_NOTE = (
    "颜色表示该项得分（0–100分，红差、黄中、绿好），格内数字是指标本身的值。得分：审批及时率、"
    "发放及时率、探访合规率、整改按期率、档案核查合格率为比率×100；整改复发率为(1−比率)×100；"
    "资金线索率为100×(1−本街镇值÷十个街镇中的最大值)；廉洁风险线索、动态管理线索先除以本街镇"
    "期末在册案件数（每案件线索数，见悬停提示），再与十个街镇中的最大者同样比较，所以线索数"
    "相同、在册案件数不同的街镇颜色不同；综合得分格按综合得分着色。空白格没有值（未计算、"
    "未检查或本期没有可计算的分母），不着色。"
)


def trends(
    indicators: pl.DataFrame, indicator: str, streets: Collection[str] | None = None
) -> pl.DataFrame:
    """period, street, value: ``indicator`` month by month for 全区 and the ten streets, or for
    全区 and ``streets`` only."""
    rows = indicators.filter(
        (pl.col("indicator") == indicator) & pl.col("period").str.contains("-")
    )
    if streets is not None:
        rows = rows.filter(pl.col("street").is_in([DISTRICT, *streets]))
    return rows.select("period", "street", "value").sort("period", _street_rank(pl.col("street")))


def open_leads(
    findings: pl.DataFrame, period: str, as_of_month: str | None, unchecked: Collection[str] = ()
) -> pl.DataFrame:
    """family, family_title, findings: leads arisen by the period's end (a finding without a
    month counts from the run's latest month), by family in registry order; blank for the
    families the run did not check (``unchecked``: family names), never 0. Money at risk is the
    money_at_risk indicator, which counts a payment behind several findings once."""
    from checks.registry import FAMILIES

    end = last_month(period)
    month = pl.col("month").fill_null(as_of_month or end)
    counts = (
        findings.filter(month <= end)
        .group_by("family")
        .agg(pl.len().cast(pl.Int64).alias("findings"))
    )
    return (
        pl.DataFrame({"family": list(FAMILIES), "family_title": list(FAMILIES.values())})
        .join(counts, on="family", how="left", validate="1:1")
        .with_columns(
            pl.when(pl.col("family").is_in(list(unchecked)))
            .then(None)
            .otherwise(pl.col("findings").fill_null(0))
            .alias("findings")
        )
    )


def leads_by_street(findings: pl.DataFrame, period: str, as_of_month: str | None) -> pl.DataFrame:
    """street, then one column of lead counts per family title, and total: the leads of
    :func:`open_leads` for each of the ten streets (findings without a street are left out)."""
    from checks.registry import FAMILIES

    end = last_month(period)
    month = pl.col("month").fill_null(as_of_month or end)
    rows = findings.filter((month <= end) & pl.col("street").is_in(list(schema.STREETS)))
    counts = [(pl.col("family") == f).sum().cast(pl.Int64).alias(t) for f, t in FAMILIES.items()]
    per_street = rows.group_by("street").agg(*counts, pl.len().cast(pl.Int64).alias("total"))
    return (
        pl.DataFrame({"street": list(schema.STREETS)})
        .join(per_street, on="street", how="left", validate="1:1")
        .with_columns(pl.exclude("street").fill_null(0))
    )


# --- the funnel of the follow-up loop ----------------------------------------------------------

# The workflow's frames, read from the workspace (dashboard.data.workflow_frames): findings,
# history and recoveries as analytics.store.findings gives them.
Workflow = Mapping[str, pl.DataFrame]
FUNNEL_NOTE = (
    "各环节按发生日期归期：发现线索按检查运行日，核实属实、整改完成按登记日，"
    "追回资金按到账日；前三个环节的金额为线索涉及金额，追回资金为实际追回的金额"
    "（分次追回累加）。"
)


def scoped_workflow(workflow: Workflow, streets: Collection[str] | None) -> dict[str, pl.DataFrame]:
    """The workflow's frames limited to the findings of ``streets`` (None: all of them)."""
    findings = workflow["findings"]
    if streets is None:
        return {
            "findings": findings,
            "history": workflow["history"],
            "recoveries": workflow["recoveries"],
        }
    findings = findings.filter(pl.col("street").is_in(list(streets)))
    ids = findings.select("finding_id")
    return {
        "findings": findings,
        "history": workflow["history"].join(ids, on="finding_id", how="semi"),
        "recoveries": workflow["recoveries"].join(ids, on="finding_id", how="semi"),
    }


def funnel_of(
    workflow: Workflow, period: str | None = None, streets: Collection[str] | None = None
) -> pl.DataFrame:
    """stage, label, count, amount_fen: leads found, verified, rectified and money recovered in
    ``period`` (None: ever), over the findings of ``streets`` (None: every street)."""
    from analytics.workflow.followup import funnel

    start, end = period_bounds(period) if period else (None, None)
    scoped = scoped_workflow(workflow, streets)
    return funnel(scoped["findings"], scoped["history"], scoped["recoveries"], start=start, end=end)


def funnel_by_street(workflow: Workflow, period: str | None = None) -> pl.DataFrame:
    """street, stage, label, count, amount_fen: the district's funnel (全区) and each street's,
    the ten streets in order, then findings of no known street."""
    from analytics.workflow.followup import UNASSIGNED_STREET

    findings = workflow["findings"].with_columns(pl.col("street").fill_null(UNASSIGNED_STREET))
    present = set(findings["street"].to_list())
    others = sorted(present - set(schema.STREETS))
    frames = [funnel_of(workflow, period).select(pl.lit(DISTRICT).alias("street"), pl.all())]
    named = {**workflow, "findings": findings}
    frames.extend(
        funnel_of(named, period, [street]).select(pl.lit(street).alias("street"), pl.all())
        for street in (*schema.STREETS, *others)
    )
    return pl.concat(frames)


def funnel_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`funnel_of` for the screen and the export."""
    return frame.select(
        pl.col("label").alias("环节"),
        pl.col("count").alias("线索数（条）"),
        (pl.col("amount_fen") / 100).round(2).alias("金额（元）"),
    )


@dataclass(frozen=True)
class Headline:
    cases_active: float | None
    money_paid: float | None  # yuan, in the period (the month on a monthly view)
    money_at_risk: float | None  # yuan, in the period: analytics.amounts' 涉及金额
    open_leads: int
    composite_score: float | None


@dataclass(frozen=True)
class Overview:
    period: str
    label: str
    headline: Headline
    leads: pl.DataFrame  # open_leads
    ranking: pl.DataFrame  # ranking
    heat: pl.DataFrame  # heat
    trend_indicator: str
    trends: pl.DataFrame  # trends
    uncomputed: frozenset[str] = frozenset()  # follow-up indicators not computed: uncomputed()
    funnel: pl.DataFrame | None = None  # funnel_of the period; None: no workspace read
    # The families of checks the run did not include (family -> title) and the indicators
    # they leave unchecked (indicator -> family title): 未检查, never 0.
    unchecked_families: Mapping[str, str] = field(default_factory=dict)
    unchecked: Mapping[str, str] = field(default_factory=dict)
    # The weighted indicators the district's composite score left out (names, weights' order).
    district_left_out: tuple[str, ...] = ()


def overview(
    indicators: pl.DataFrame,
    findings: pl.DataFrame,
    period: str | None = None,
    trend_indicator: str = "composite_score",
    streets: Collection[str] | None = None,
    workflow: Workflow | None = None,
    summary: pl.DataFrame | None = None,
    trend_streets: Collection[str] | None = None,
) -> Overview:
    """Everything the 总览 page shows for ``period`` (default: the latest month).

    ``streets``: the street offices this viewer may see; None: every one and the district.
    ``workflow``: the workspace's frames, for the funnel of the period; None: no funnel.
    ``summary``: the run's checks.csv: the indicators of families of checks it did not include
    are blank (未检查) and the composite score is weighted over the others, also for results
    written before indicators.csv knew this. ``trend_streets``: the streets whose trend is drawn
    beside 全区 (None: every one)."""
    checks, skipped = checks_of(summary)
    indicators = blank_unchecked(indicators, checks, skipped)
    families = unchecked_families(checks, skipped)
    options = period_options(indicators)
    if period is None:
        period = options["month"][0] if options["month"] else ""
    months = indicators.filter(pl.col("period").str.contains("-"))["period"]
    as_of_month = str(months.max()) if months.len() else None
    at = values_at(indicators, period)
    district = at.filter(pl.col("street") == DISTRICT)
    area = _visible(at, streets) if streets is not None else district

    def total(name: str) -> float | None:
        col = area.get_column(name).drop_nulls()
        if not col.len():
            return None
        return float(col.sum()) if streets is not None else float(col[0])

    visible_findings = _visible(findings, streets)
    leads = open_leads(visible_findings, period, as_of_month, families)
    composite = district.get_column("composite_score") if streets is None else None
    headline = Headline(
        cases_active=total("cases_active"),
        money_paid=total("money_paid"),
        money_at_risk=total("money_at_risk"),
        open_leads=int(leads["findings"].fill_null(0).sum()),
        composite_score=(
            float(composite[0])
            if composite is not None and composite.len() and composite[0] is not None
            else None
        ),
    )
    district_missing = left_out(
        indicators.filter((pl.col("period") == period) & (pl.col("street") == DISTRICT))
    )
    shown_streets = trend_streets
    if streets is not None:
        shown_streets = [s for s in (trend_streets or streets) if s in set(streets)]
    return Overview(
        period=period,
        label=period_label(period) if period else "",
        headline=headline,
        leads=leads,
        ranking=_visible(ranking(indicators, period), streets),
        heat=_visible(heat(indicators, period), streets),
        trend_indicator=trend_indicator,
        trends=_visible(trends(indicators, trend_indicator, shown_streets), streets),
        uncomputed=uncomputed(indicators, period),
        funnel=(funnel_of(workflow, period or None, streets) if workflow is not None else None),
        unchecked_families=families,
        unchecked=unchecked_indicators(checks, skipped),
        district_left_out=(
            tuple(district_missing["left_out"][0]) if district_missing.height else ()
        ),
    )


def left_out_text(names: Collection[str], view: Overview) -> str:
    """The indicators a composite score left out, each with why: 未检查 (its family of checks
    was not run), 未计算 (a follow-up indicator outside a workspace) or 本期无数据."""

    def why(name: str) -> str:
        if name in view.unchecked:
            return NOT_CHECKED
        if name in view.uncomputed:
            return NOT_COMPUTED
        return "本期无数据"

    return "、".join(f"{BY_NAME[n].title}（{why(n)}）" for n in names)


def scope_note(view: Overview) -> str:
    """What the page's figures leave out, in a sentence or two: the families of checks the run
    did not include and the indicators the district's composite score did not count."""
    notes = []
    if view.unchecked_families:
        families = "、".join(view.unchecked_families.values())
        notes.append(
            f"本次检查未运行{families}类检查：这些类别的线索数和相关指标显示为“{NOT_CHECKED}”，"
            "不按0计；涉及金额只含已运行的检查。"
        )
    if view.district_left_out:
        notes.append(
            f"全区综合得分未计入：{left_out_text(view.district_left_out, view)}，"
            "权重按计入的各项重新归一。"
        )
    return "".join(notes)


Metric = tuple[str, str, str | None]  # label, value, help


def headline_metrics(view: Overview) -> list[list[Metric]]:
    """The headline figures above the page's views, in two rows: the district's cases, money paid
    and at risk, open leads and composite score; then the open leads of each family of checks.
    Labels are short (the period is said above them); what each counts is its help."""
    from analytics import amounts

    h, label = view.headline, view.label
    composite_help = "十个街镇综合得分的计算见“指标定义”。"
    if view.district_left_out:
        composite_help = (
            f"未计入：{left_out_text(view.district_left_out, view)}；权重按计入的各项重新归一。"
        )
    leads_help = "截至期末已发生的各类线索"
    if view.unchecked_families:
        leads_help += f"（未含未运行的{'、'.join(view.unchecked_families.values())}类检查）"
    return [
        [
            (
                "在册案件（件）",
                format_value("cases_active", h.cases_active),
                f"{label}期末处于救助期的案件",
            ),
            (
                "实发金额（元）",
                format_value("money_paid", h.money_paid),
                f"{label}成功拨付的金额合计（退票不计）",
            ),
            (
                "涉及金额（元）",
                format_value("money_at_risk", h.money_at_risk),
                f"{label}的线索。{amounts.HELP}",
            ),
            ("未处理线索（条）", formats.count(h.open_leads), leads_help),
            ("综合得分（分）", format_value("composite_score", h.composite_score), composite_help),
        ],
        [
            (
                f"{title}（条）",
                NOT_CHECKED if count is None else formats.count(count),
                "本次检查未运行该类检查"
                if count is None
                else f"截至{label}末已发生的{title}类线索",
            )
            for title, count in view.leads.select("family_title", "findings").iter_rows()
        ],
    ]


# --- tables for the screen and the export ---------------------------------------------------------


def ranking_table(frame: pl.DataFrame, view: Overview | None = None) -> pl.DataFrame:
    """:func:`ranking` with Chinese headers and display values; 综合得分未计入 names the
    weighted indicators each street's score left out, and why (with ``view``)."""

    def names(row: list[str] | None) -> str:
        if not row:
            return ""
        if view is None:
            return "、".join(BY_NAME[n].title for n in row)
        return left_out_text(row, view)

    rows = frame["left_out"].to_list() if "left_out" in frame.columns else [None] * frame.height
    missing = pl.Series("left_out", [names(r) for r in rows], pl.String)  # ten rows at most
    return frame.select(
        pl.col("rank").alias("排名"),
        pl.col("street").alias("街镇"),
        *[display_value(n, pl.col(n)).alias(indicator_title(n)) for n in RANKED],
        pl.col("trainings_year").cast(pl.Int64).alias("本年培训（次）"),
        pl.col("training_mark").alias("培训达标"),
        missing.alias("综合得分未计入"),
    )


def _street_by_title(frame: pl.DataFrame, column: str, titles: dict[str, str]) -> pl.DataFrame:
    """A street × indicator table of ``column`` with ``titles`` (indicator -> header)."""
    if frame.height == 0:
        return pl.DataFrame(schema={"街镇": pl.String, **{t: pl.Float64 for t in titles.values()}})
    wide = frame.with_columns(pl.col("indicator").replace_strict(titles).alias("_h")).pivot(
        on="_h", index="street", values=column, aggregate_function=None
    )
    for t in titles.values():
        if t not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(t))
    return wide.select(pl.col("street").alias("街镇"), *titles.values())


def heat_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`heat` as a street × indicator table of the indicators' own values, each under its
    unit (rates in %): the numbers written in the heat map's cells."""
    shown = pl.lit(None, pl.Float64)
    for name in HEAT:
        shown = (
            pl.when(pl.col("indicator") == name)
            .then(display_value(name).cast(pl.Float64))
            .otherwise(shown)
        )
    return _street_by_title(
        frame.with_columns(shown.alias("shown")), "shown", {n: indicator_title(n) for n in HEAT}
    )


def score_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`heat` as a street × indicator table of the 0–100 scores that colour the heat map,
    under headers that say so (审批及时率得分（分）)."""
    return _street_by_title(
        frame.with_columns(pl.col("score").round(1)), "score", {n: score_title(n) for n in HEAT}
    )


def trend_table(frame: pl.DataFrame, indicator: str) -> pl.DataFrame:
    """:func:`trends` as a month × area table of display values, each area's header with the
    indicator's unit (全区（元）), so that the grid and the workbook write its numbers whole."""
    if frame.height == 0:
        return pl.DataFrame(schema={"月份": pl.String})
    streets = frame.select(pl.col("street").unique(maintain_order=True))["street"].to_list()
    wide = frame.with_columns(display_value(indicator).alias("shown")).pivot(
        on="street", index="period", values="shown", aggregate_function=None
    )
    suffix = unit_suffix(indicator)
    return wide.select(
        pl.col("period").alias("月份"), *(pl.col(s).alias(s + suffix) for s in streets)
    ).sort("月份")


def leads_table(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`open_leads` for the screen: a family not checked has no count and says so."""
    return frame.select(
        pl.col("family_title").alias("类别"),
        pl.col("findings").alias("线索数"),
        pl.when(pl.col("findings").is_null())
        .then(pl.lit("本次未运行，未检查"))
        .otherwise(pl.lit(""))
        .alias("说明"),
    )


def definitions_table() -> pl.DataFrame:
    from analytics.indicators import definitions_table as table

    return table()


def excel_sheets(view: Overview) -> dict[str, pl.DataFrame]:
    """The workbook the page exports: every table it shows, one sheet each."""
    sheets = {
        "街镇排名": ranking_table(view.ranking, view),
        "街镇指标值": heat_table(view.heat),
        "街镇指标得分": score_table(view.heat),
        "月度趋势": trend_table(view.trends, view.trend_indicator),
        "线索分类": leads_table(view.leads),
    }
    if view.funnel is not None:
        sheets["处置漏斗"] = funnel_table(view.funnel)
    return {**sheets, "指标定义": definitions_table()}


# --- static tables: HTML drawn without any of the browser's chart or data-grid code -------------


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


def score_colour(score: pl.Expr) -> pl.Expr:
    """CSS declarations colouring a cell by a 0–100 score on :data:`SCORE_SCALE`, linear between
    its stops, with white text on the darker ends; null where there is no score."""
    t = score.clip(0, 100) / 100
    stops = [(at, _rgb(colour)) for at, colour in SCORE_SCALE]

    def channel(i: int) -> pl.Expr:
        expr = pl.lit(float(stops[-1][1][i]))
        for (lo, c_lo), (hi, c_hi) in reversed(list(pairwise(stops))):
            expr = (
                pl.when(t <= hi)
                .then(c_lo[i] + (c_hi[i] - c_lo[i]) * (t - lo) / (hi - lo))
                .otherwise(expr)
            )
        return expr.round(0).cast(pl.Int64)

    red, green, blue = channel(0), channel(1), channel(2)
    # Perceived brightness (ITU-R BT.601 weights) decides the text colour.
    dark = (0.299 * red + 0.587 * green + 0.114 * blue) < 150
    text = pl.when(dark).then(pl.lit("#ffffff")).otherwise(pl.lit("#222222"))
    return pl.when(score.is_not_null()).then(
        pl.format("background-color: rgb({}, {}, {}); color: {}", red, green, blue, text)
    )


def score_bar(score: pl.Expr) -> pl.Expr:
    """CSS declarations drawing a 0–100 score as a bar filling that share of the cell."""
    width = score.clip(0, 100).round(1)
    return pl.format(
        "background: linear-gradient(90deg, {} {}%, transparent {}%)",
        pl.lit(SCORE_BAR),
        width,
        width,
    )


WRAP_AT = 12
# A label may wrap; a value keeps to one line, and the grid gives each figure room for it.
_LABEL = "font-size: 0.875rem; opacity: 0.8; line-height: 1.3"
_VALUE = "font-size: 1.75rem; line-height: 1.3; white-space: nowrap"
# The narrowest a headline figure gets: the widest value (a district's yearly money paid,
# "44,722,900.00") fits at this width; fewer figures share a row on a narrower screen.
FIGURE_MIN_WIDTH = "13.5rem"
# Compact cells: the landing table's fifteen columns fit a laptop's screen beside the sidebar.
_TABLE = (
    "border-collapse: collapse; width: 100%; font-size: 0.8125rem; "
    "font-variant-numeric: tabular-nums"
)
_TH = (
    "padding: 0.3rem 0.35rem; border-bottom: 2px solid rgba(128, 128, 128, 0.5); "
    "text-align: {align}; vertical-align: bottom; font-weight: 600"
)
_TD = (
    "padding: 0.3rem 0.35rem; border-bottom: 1px solid rgba(128, 128, 128, 0.2); "
    "text-align: {align}; vertical-align: top"
)


def _header(text: str) -> str:
    """A column header, its unit (（元）, （%）...) on a line of its own: a narrow column then
    wraps between the name and the unit rather than inside the unit."""
    name, bracket, unit = text.partition("（")
    if not bracket or not name:
        return escape(text)
    return (
        f'{escape(name)}<br><span style="font-weight: 400; opacity: 0.75; '
        f'white-space: nowrap">{escape(bracket + unit)}</span>'
    )


def _html(
    name: str,
    headers: list[tuple[str, str]],
    rows: list[list[tuple[str, str | None]]],
    wrap: Collection[int] = (),
    widths: Mapping[int, str] | None = None,
) -> str:
    """A table: ``headers`` as (text, align), each row as (text, extra CSS) per cell; the cells of
    the columns in ``wrap`` (positions) wrap, the others keep to one line; ``widths``: the
    smallest width of some columns (position -> CSS length), so that a column of long text is
    not squeezed to a few characters a line."""
    widths = widths or {}
    cell_css = [
        _TD.format(align=align) + ("" if i in wrap else "; white-space: nowrap")
        for i, (_, align) in enumerate(headers)
    ]
    head = "".join(
        f'<th style="{_TH.format(align=align)}'
        f'{"; min-width: " + widths[i] if i in widths else ""}">{_header(text)}</th>'
        for i, (text, align) in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="{css}{"; " + style if style else ""}">{escape(text)}</td>'
            for (text, style), css in zip(row, cell_css, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return (
        f'<div style="overflow-x: auto"><table class="aidwatch-{name}" style="{_TABLE}">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def glance_html(
    ranking_frame: pl.DataFrame,
    heat_frame: pl.DataFrame,
    not_computed: Collection[str] = (),
    unchecked: Collection[str] = (),
) -> str:
    """The landing table: :func:`ranking` with each indicator beside the composite score, the
    score drawn as a bar in its cell, each scored indicator's cell coloured by its heat-map score
    (:func:`heat`) and a street short of trainings marked; cells show the indicators' own values,
    those of ``not_computed`` (:func:`uncomputed`) 未计算, those of ``unchecked`` (families of
    checks the run did not include) 未检查.

    Static HTML with inline styles, so the browser draws it without a chart or data grid."""
    scored = [n for n in HEAT if n != "composite_score"]
    scores = (
        heat_frame.filter(pl.col("indicator").is_in(scored)).pivot(
            on="indicator", index="street", values="score", aggregate_function=None
        )
        if heat_frame.height
        else pl.DataFrame(schema={"street": pl.String})
    )
    for name in scored:
        if name not in scores.columns:
            scores = scores.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    styled = ranking_frame.join(
        scores.select("street", *(pl.col(n).alias(f"{n}:score") for n in scored)),
        on="street",
        how="left",
        validate="1:1",
    ).with_columns(
        *(score_colour(pl.col(f"{n}:score")).alias(f"{n}:style") for n in scored),
        score_bar(pl.col("composite_score")).alias("composite_score:style"),
        pl.when(pl.col("training_mark") == TRAINING_SHORT)
        .then(pl.lit(SHORT_STYLE))
        .alias("training_mark:style"),
    )
    headers = [
        ("排名", "right"),
        ("街镇", "left"),
        *((indicator_title(n), "right") for n in RANKED),
        ("本年培训（次）", "right"),
        ("培训达标", "center"),
    ]
    rows = []  # ten street offices at most
    for row in styled.iter_rows(named=True):
        trainings = row["trainings_year"]
        rows.append(
            [
                ("—" if row["rank"] is None else str(row["rank"]), None),
                (row["street"], None),
                *(
                    (
                        shown_value(n, row[n], 0.0, unchecked)
                        if n not in not_computed
                        else NOT_COMPUTED,
                        row.get(f"{n}:style"),
                    )
                    for n in RANKED
                ),
                (formats.count(trainings), None),
                (row["training_mark"] or "—", row["training_mark:style"]),
            ]
        )
    return _html("glance", headers, rows)


def table_html(
    frame: pl.DataFrame,
    widths: Mapping[str, str] | None = None,
    name: str = "table",
    wrap: Collection[str] = (),
) -> str:
    """Any small frame of text and numbers as a static table; a column holding text longer than
    :data:`WRAP_AT` characters wraps (and those named in ``wrap``), the others keep to one line.
    ``widths``: the smallest width of some columns (header -> CSS length). Numbers are written
    as their header's unit says (analytics.formats)."""
    headers = [(c, "left" if frame.schema[c] == pl.String else "right") for c in frame.columns]
    kinds = [formats.kind_of(c) if frame.schema[c].is_numeric() else None for c in frame.columns]
    rows: list[list[tuple[str, str | None]]] = [
        [(formats.text(kind, v), None) for kind, v in zip(kinds, row, strict=True)]
        for row in frame.iter_rows()
    ]
    longest = [
        max((len(text) for text, _ in column), default=0) for column in zip(*rows, strict=True)
    ]
    positions = {c: i for i, c in enumerate(frame.columns)}
    wrapped = {i for i, n in enumerate(longest) if n > WRAP_AT} | {
        positions[c] for c in wrap if c in positions
    }
    return _html(
        name,
        headers,
        rows,
        wrap=wrapped,
        widths={positions[c]: w for c, w in (widths or {}).items() if c in positions},
    )


# The definitions read as sentences: the definition gets most of the width, the numerator and
# denominator enough for a short phrase; the short columns keep to one line. On a laptop's
# screen the table fits beside the sidebar.
DEFINITION_WIDTHS = {"定义": "20em", "分子": "7em", "分母": "7em"}


def definitions_html() -> str:
    """The table of indicator definitions (analytics.indicators.definitions_table) as a page
    shows it, static: without the indicators' codes, which only a reader of indicators.csv
    needs (the exported workbook has them)."""
    return table_html(
        definitions_table().drop("代码"),
        DEFINITION_WIDTHS,
        name="definitions",
        wrap=("定义", "分子", "分母"),
    )


def metrics_html(rows: list[list[Metric]]) -> str:
    """Headline figures drawn like st.metric (label above, large value below, the help as the
    label's tooltip), each row's figures side by side, all in one static block. A row wraps
    onto more lines on a narrow screen rather than cut a label or a value: each figure is at
    least :data:`FIGURE_MIN_WIDTH` wide."""

    def figure(label: str, value: str, help_: str | None) -> str:
        tip = f' title="{escape(help_)}"' if help_ else ""
        return (
            '<div style="min-width: 0">'
            f'<div style="{_LABEL}"{tip}>{escape(label)}{" ⓘ" if help_ else ""}</div>'
            f'<div style="{_VALUE}">{escape(value)}</div></div>'
        )

    return (
        '<div class="aidwatch-metrics">'
        + "".join(
            '<div style="display: grid; gap: 0.75rem 1rem; margin-bottom: 0.75rem; '
            f'grid-template-columns: repeat(auto-fill, minmax({FIGURE_MIN_WIDTH}, 1fr))">'
            + "".join(figure(*m) for m in row)
            + "</div>"
            for row in rows
            if row
        )
        + "</div>"
    )
