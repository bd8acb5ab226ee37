"""总览 and 街镇 service functions and their figures, on a hand-written indicators.csv."""

from __future__ import annotations

import polars as pl
import pytest

from analytics.charts import overview as charts
from analytics.indicators import DISTRICT, INDICATORS
from analytics.schema import INDICATORS_SCHEMA, STREETS
from analytics.views import overview as view
from analytics.views import street as street_view

A, B, C = STREETS[0], STREETS[1], STREETS[2]  # 华阳路街道, 江苏路街道, 新华路街道


def indicators_frame(cells: dict[tuple[str, str, str], tuple]) -> pl.DataFrame:
    """Every street × period × indicator row, blank unless given as (value, num, den)."""
    periods = ["2026-02", "2026-03", "2026Q1", "2026"]
    rows = []
    for street in (DISTRICT, *STREETS):
        for period in periods:
            for ind in INDICATORS:
                if ind.name.startswith("circle_") and period == "2026-02":
                    continue
                value, num, den = cells.get((street, period, ind.name), (None, None, None))
                rows.append((street, period, ind.name, value, num, den))
    return pl.DataFrame(rows, schema=INDICATORS_SCHEMA, orient="row")


CELLS = {
    # composite: B best, A and C tied, the other streets have none
    (A, "2026-03", "composite_score"): (70.0, 70.0, 1.0),
    (B, "2026-03", "composite_score"): (90.0, 90.0, 1.0),
    (C, "2026-03", "composite_score"): (70.0, 70.0, 1.0),
    (DISTRICT, "2026-03", "composite_score"): (75.0, 75.0, 1.0),
    (A, "2026-03", "approval_on_time_rate"): (0.5, 1, 2),
    (B, "2026-03", "approval_on_time_rate"): (1.0, 3, 3),
    (A, "2026-03", "funds_findings_per_1000"): (20.0, 2, 100),
    (B, "2026-03", "funds_findings_per_1000"): (5.0, 1, 200),
    (C, "2026-03", "funds_findings_per_1000"): (0.0, 0, 50),
    (A, "2026-03", "dynamic_leads"): (4.0, 4, 2),    # 2 per case
    (B, "2026-03", "dynamic_leads"): (4.0, 4, 8),    # 0.5 per case
    (DISTRICT, "2026-03", "cases_active"): (12.0, 12.0, None),
    (DISTRICT, "2026-03", "money_paid"): (12345.6, 12345.6, None),
    (DISTRICT, "2026-03", "money_at_risk"): (300.0, 300.0, None),
    (DISTRICT, "2026-02", "money_paid"): (9000.0, 9000.0, None),
    (A, "2026-02", "composite_score"): (60.0, 60.0, 1.0),
    (DISTRICT, "2026-02", "composite_score"): (65.0, 65.0, 1.0),
    # trainings in the year: A held one, B none; the rest blank (no trainings table): no mark
    (A, "2026", "trainings_held"): (1.0, 1.0, None),
    (B, "2026", "trainings_held"): (0.0, 0.0, None),
    (A, "2026-03", "circle_1"): (3.0, 3.0, 10.0),
    (A, "2026-03", "circle_4"): (7.0, 7.0, 10.0),
}
IND = indicators_frame(CELLS)
FINDINGS = pl.DataFrame(
    [
        ("approval_overdue", "process", A, "2026-03", "C1", None, None, "案件C1审批超时。"),
        ("visit_overdue", "dynamic", A, "2026-02", "C2", None, None, "案件C2探访逾期。"),
        ("employment_found", "dynamic", A, "2026-03", "C3", "310105198001010013", None, "就业。"),
        ("relative_not_filed", "integrity", B, None, None, "310105197512120025", None, "未备案。"),
        ("late_disbursement", "funds", B, "2026-03", "C9", None, "6222020200112233445", "迟发。"),
    ],
    schema={"check_id": pl.String, "family": pl.String, "street": pl.String, "month": pl.String,
            "case_id": pl.String, "id_number": pl.String, "account_no": pl.String,
            "summary": pl.String},
    orient="row",
).with_columns(amount_fen=pl.lit(None, pl.Int64))


@pytest.mark.parametrize(("period", "level", "label", "last"), [
    ("2026-03", "month", "2026年3月", "2026-03"),
    ("2026Q1", "quarter", "2026年第1季度", "2026-03"),
    ("2026Q4", "quarter", "2026年第4季度", "2026-12"),
    ("2026", "year", "2026年", "2026-12"),
])
def test_periods(period, level, label, last):
    assert (view.level_of(period), view.period_label(period), view.last_month(period)) == (
        level, label, last)


def test_period_options_latest_first():
    assert view.period_options(IND) == {"month": ["2026-03", "2026-02"], "quarter": ["2026Q1"],
                                        "year": ["2026"]}


@pytest.mark.parametrize(("indicator", "value", "text"), [
    ("approval_on_time_rate", 0.9524, "95.2%"), ("money_paid", 1234.5, "1,234.50"),
    ("funds_findings_per_1000", 12.345, "12.3"), ("dynamic_leads", 3.0, "3"),
    ("composite_score", None, "—"),
])
def test_format_value(indicator, value, text):
    assert view.format_value(indicator, value) == text


def test_ranking_orders_by_score_ties_share_a_rank_blank_last():
    r = view.ranking(IND, "2026-03")
    assert r.height == 10
    assert r["street"].to_list()[:3] == [B, A, C]
    assert r["rank"].to_list()[:3] == [1, 2, 2]
    assert r["rank"][3] is None
    marks = dict(zip(r["street"], r["training_mark"]))
    assert (marks[A], marks[B], marks[C]) == ("达标", "未达标", None)


def test_heat_scores():
    h = view.heat(IND, "2026-03")
    score = {(s, i): v for s, i, v in h.select("street", "indicator", "score").iter_rows()}
    assert score[(A, "approval_on_time_rate")] == pytest.approx(50)
    # funds findings per 1000: worst street 20 -> 100 x (1 - x / 20)
    assert score[(A, "funds_findings_per_1000")] == pytest.approx(0)
    assert score[(B, "funds_findings_per_1000")] == pytest.approx(75)
    assert score[(C, "funds_findings_per_1000")] == pytest.approx(100)
    # dynamic leads per case: A 2, B 0.5 -> B scores 100 x (1 - 0.5 / 2)
    assert score[(B, "dynamic_leads")] == pytest.approx(75)
    assert score[(B, "composite_score")] == pytest.approx(90)
    assert DISTRICT not in set(h["street"])


def test_overview_headline_and_leads():
    ov = view.overview(IND, FINDINGS, "2026-03")
    assert (ov.headline.cases_active, ov.headline.money_paid, ov.headline.money_at_risk,
            ov.headline.composite_score) == (12, 12345.6, 300, 75)
    leads = dict(zip(ov.leads["family"], ov.leads["findings"]))
    assert leads == {"funds": 1, "integrity": 1, "dynamic": 2, "process": 1}
    assert ov.headline.open_leads == 5
    # February: only the February finding has arisen by then; the one without a month counts
    # from the run's latest month (2026-03), so not yet.
    feb = view.overview(IND, FINDINGS, "2026-02")
    assert dict(zip(feb.leads["family"], feb.leads["findings"]))["dynamic"] == 1
    assert feb.headline.open_leads == 1 and feb.headline.money_paid == 9000


def test_overview_for_a_viewer_limited_to_one_street():
    ov = view.overview(IND, FINDINGS, "2026-03", streets=[A])
    assert set(ov.ranking["street"]) == {A}
    assert ov.headline.open_leads == 3 and ov.headline.composite_score is None


def test_trends_are_monthly():
    t = view.trends(IND, "composite_score")
    assert t["period"].unique().sort().to_list() == ["2026-02", "2026-03"]
    table = view.trend_table(t.filter(pl.col("street").is_in([DISTRICT, A])), "composite_score")
    assert table.columns == ["月份", DISTRICT, A]
    assert table.row(0) == ("2026-02", 65.0, 60.0)


def test_tables_have_chinese_headers_and_display_values():
    table = view.ranking_table(view.ranking(IND, "2026-03"))
    assert table.columns[:4] == ["排名", "街镇", "综合得分（分）", "审批及时率（%）"]
    row = table.row(0, named=True)
    assert (row["街镇"], row["审批及时率（%）"], row["培训达标"]) == (B, 100.0, "未达标")
    sheets = view.excel_sheets(view.overview(IND, FINDINGS, "2026-03"))
    assert list(sheets) == ["街镇排名", "指标热力图", "月度趋势", "线索分类", "指标定义"]
    assert sheets["指标热力图"].height == 10


def test_leads_by_street():
    t = view.leads_by_street(FINDINGS, "2026", "2026-03")
    a = t.filter(pl.col("street") == A).row(0, named=True)
    assert (a["动态管理"], a["审批流程"], a["total"]) == (2, 1, 3)


# --- 街镇 ----------------------------------------------------------------------------------------

def test_street_view():
    sv = street_view.street_view(IND, FINDINGS, A, "month")
    assert sv.period == "2026-03" and sv.label == "2026年3月"
    latest = dict(zip(sv.latest["indicator"], sv.latest["shown"]))
    previous = dict(zip(sv.latest["indicator"], sv.latest["previous"]))
    assert (latest["composite_score"], previous["composite_score"]) == ("70.0", "60.0")
    counts = dict(zip(sv.by_check["check_id"], sv.by_check["findings"]))
    assert counts["approval_overdue"] == 1 and counts["late_disbursement"] == 0
    assert sv.by_check["findings"][0] == 1
    assert sv.overdue["check_id"].to_list() == ["approval_overdue", "visit_overdue"]
    circles = street_view.circles_table(sv)
    assert circles["户数"].to_list() == [3, None, None, 7]
    assert circles["占比（%）"].to_list()[0] == 30.0


def test_street_tables_mask_personal_data():
    findings = FINDINGS.with_columns(pl.lit("approval_overdue").alias("check_id"))
    sv = street_view.street_view(IND, findings, A)
    table = street_view.overdue_table(sv)
    assert table["身份证号"].drop_nulls().to_list() == ["310105********0013"]
    sheets = street_view.excel_sheets(sv)
    text = str(sheets)
    assert "310105198001010013" not in text


def test_street_over_time_table():
    sv = street_view.street_view(IND, FINDINGS, A, "month")
    table = street_view.over_time_table(sv)
    assert table["期间"].to_list() == ["2026-02", "2026-03"]
    assert table["审批及时率（%）"].to_list() == [None, 50.0]


# --- figures -----------------------------------------------------------------------------------

def test_ranking_bars_mark_trainings():
    fig = charts.ranking_bars(view.ranking(IND, "2026-03"))
    bar = fig.data[0]
    assert list(bar.y) == [f"1. {B}", f"2. {A}", f"2. {C}"]
    assert list(bar.marker.color) == [charts.SHORT_COLOUR, charts.BAR_COLOUR, charts.BAR_COLOUR]


def test_heatmap_cells():
    fig = charts.heatmap(view.heat(IND, "2026-03"))
    hm = fig.data[0]
    assert list(hm.y)[:3] == [A, B, C]
    col = list(hm.x).index(view.indicator_title("funds_findings_per_1000"))
    assert hm.z[1][col] == pytest.approx(75) and hm.text[1][col] == "5.0"


def test_trend_lines_draw_the_district_bold():
    fig = charts.trend_lines(view.trends(IND, "approval_on_time_rate"), "approval_on_time_rate")
    district = next(t for t in fig.data if t.name == DISTRICT)
    assert district.line.width == 4
    a = next(t for t in fig.data if t.name == A)
    assert list(a.y) == [None, 50.0]


@pytest.mark.parametrize("build", [
    lambda: charts.ranking_bars(view.ranking(IND, "2026Q1")),
    lambda: charts.leads_bars(view.open_leads(FINDINGS.clear(), "2026-03", "2026-03")),
    lambda: charts.check_bars(street_view.street_view(IND, FINDINGS.clear(), A).by_check),
])
def test_empty_figures_say_so(build):
    fig = build()
    assert fig.layout.annotations[0].text == charts.EMPTY
