"""The figures of 总览 and 街镇 on a generated district: indicators of checks a run left out,
the street × indicator tables, the trend table and chart, the period of 街镇, the four circles
and the definitions."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from analytics import formats, pipeline
from analytics.charts import overview as charts
from analytics.export import excel_bytes
from analytics.generate import generate
from analytics.indicators import (
    BY_NAME,
    DISTRICT,
    INDICATORS,
    blank_unchecked,
    component_scores,
    compute,
    definitions_table,
    household_circles,
    load_circles,
    unchecked_indicators,
)
from analytics.minidrop import mini_drop
from analytics.reference import load_settings
from analytics.views import overview as view
from analytics.views import street as street_view

XJ, JS = "新泾镇", "江苏路街道"
LEADS = ("integrity_leads", "dynamic_leads")


@dataclass(frozen=True)
class Runs:
    drop: Path
    full: pipeline.RunOutcome
    funds: pipeline.RunOutcome  # `aidwatch check --only funds`
    funds_out: Path  # its outputs, as the current pipeline writes them


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Runs:
    base = tmp_path_factory.mktemp("district")
    drop = base / "drop"
    generate(drop, households=300, seed=7)
    full = pipeline.run(drop)
    funds = pipeline.run(drop, only=["funds"])
    pipeline.write_outputs(funds, base / "funds")
    return Runs(drop, full, funds, base / "funds")


def checks_run(outcome: pipeline.RunOutcome) -> list[str]:
    return outcome.summary["check_id"].to_list()


def cell(table: pl.DataFrame, street: str, period: str, indicator: str) -> dict:
    return table.filter(
        (pl.col("street") == street)
        & (pl.col("period") == period)
        & (pl.col("indicator") == indicator)
    ).row(0, named=True)


# --- 1. a run of some families: the others 未检查, the composite over what was checked ----------


def test_a_run_of_one_family_leaves_the_others_unchecked(runs):
    checks = checks_run(runs.funds)
    assert set(runs.funds.summary["family"]) == {"funds"}
    assert unchecked_indicators(checks) == {
        "integrity_leads": "廉洁风险",
        "dynamic_leads": "动态管理",
    }
    table = compute(runs.funds.drop, runs.funds.findings, checks=checks)
    rows = table.filter(pl.col("indicator").is_in(LEADS))
    assert rows.height > 0
    assert rows.select(pl.col("value", "numerator", "denominator").is_null().all()).row(0) == (
        True,
        True,
        True,
    )
    # the family that ran is counted as before; so are the indicators that read no findings
    kept = pl.col("indicator").is_in(
        ["funds_findings_per_1000", "approval_on_time_rate", "visit_compliance_rate", "money_paid"]
    )
    assert table.filter(kept).equals(runs.full.indicators.filter(kept))
    # without the list of checks every check is taken as run: nothing is blanked
    assert compute(runs.full.drop, runs.full.findings).equals(runs.full.indicators)


def test_the_composite_is_weighted_over_the_checked_indicators(runs):
    checks = checks_run(runs.funds)
    table = compute(runs.funds.drop, runs.funds.findings, checks=checks)
    weights = load_settings().indicator_weights
    others = table.filter(pl.col("indicator") != "composite_score")
    scores = (
        component_scores(others, list(weights))
        .filter(pl.col("score").is_not_null())
        .with_columns(
            pl.col("indicator").replace_strict(weights, return_dtype=pl.Float64).alias("w")
        )
    )
    expected = scores.group_by("street", "period").agg(
        ((pl.col("score") * pl.col("w")).sum() / pl.col("w").sum()).alias("want")
    )
    got = table.filter(pl.col("indicator") == "composite_score").join(
        expected, on=["street", "period"], how="inner"
    )
    assert got.height == table.filter(pl.col("indicator") == "composite_score").height
    assert (got["value"] - got["want"]).abs().max() < 1e-4  # indicators.csv keeps 6 decimals
    # the leads scored no 100 for a family never run: none of them is among the weighted scores
    assert not scores.filter(pl.col("indicator").is_in(LEADS)).height
    # and the score moved: what the run without those families showed before was inflated
    inflated = compute(runs.funds.drop, runs.funds.findings)  # as if every family had run
    old = cell(inflated, JS, "2026-10", "composite_score")["value"]
    new = cell(table, JS, "2026-10", "composite_score")["value"]
    assert new < old
    assert cell(table, JS, "2026-10", "composite_score")["denominator"] == pytest.approx(
        sum(
            weights[n]
            for n in (
                "approval_on_time_rate",
                "disbursement_on_time_rate",
                "funds_findings_per_1000",
                "visit_compliance_rate",
            )
        )
    )


def test_the_pipeline_writes_the_unchecked_indicators_blank(runs):
    """`aidwatch check --only funds` writes indicators.csv with the other families 未检查."""
    checks = checks_run(runs.funds)
    assert runs.funds.indicators.equals(
        compute(runs.funds.drop, runs.funds.findings, checks=checks)
    )
    written = pl.read_csv(runs.funds_out / "indicators.csv")
    leads = written.filter(pl.col("indicator").is_in(LEADS))
    assert leads.height and leads["value"].is_null().all()


def test_results_written_before_are_corrected_from_their_checks_csv(runs):
    """indicators.csv of a run of one family, written with the families not run as 0 (what the
    pipeline wrote before): the pages blank them from the run's checks.csv, and get the same
    composite as a run that knew."""
    checks = checks_run(runs.funds)
    known = compute(runs.funds.drop, runs.funds.findings, checks=checks)
    written_before = compute(runs.funds.drop, runs.funds.findings)
    fixed = blank_unchecked(written_before, checks)
    joined = known.join(fixed, on=["street", "period", "indicator"], suffix="_fixed")
    assert joined.height == known.height
    assert (joined["value"].is_null() == joined["value_fixed"].is_null()).all()
    assert (joined["value"] - joined["value_fixed"]).abs().max() < 1e-4
    assert blank_unchecked(known, checks).equals(known)  # nothing left to correct


def test_overview_says_what_was_not_checked_and_left_out(runs):
    indicators = runs.funds.indicators  # as written: the families not run at 0
    ov = view.overview(indicators, runs.funds.findings, "2026-10", summary=runs.funds.summary)
    assert ov.unchecked_families == {
        "integrity": "廉洁风险",
        "dynamic": "动态管理",
        "process": "审批流程",
    }
    ranking = ov.ranking.filter(pl.col("street") == JS).row(0, named=True)
    assert ranking["integrity_leads"] is None and ranking["dynamic_leads"] is None
    assert "integrity_leads" in ranking["left_out"] and "dynamic_leads" in ranking["left_out"]
    # the family counts: blank for the families not run, never 0
    leads = dict(zip(ov.leads["family"], ov.leads["findings"], strict=True))
    assert leads["integrity"] is None and leads["process"] is None and leads["funds"] > 0
    bars = charts.leads_bars(ov.leads).data[0]
    assert list(bars.text)[1:] == ["未检查"] * 3
    metrics = dict((label, value) for row in view.headline_metrics(ov) for label, value, _ in row)
    assert metrics["廉洁风险（条）"] == metrics["审批流程（条）"] == "未检查"
    note = view.scope_note(ov)
    assert "本次检查未运行廉洁风险、动态管理、审批流程类检查" in note
    assert "全区综合得分未计入：" in note and "廉洁风险线索（未检查）" in note
    table = view.ranking_table(ov.ranking, ov)
    row = table.filter(pl.col("街镇") == JS).row(0, named=True)
    assert "廉洁风险线索（未检查）" in row["综合得分未计入"]
    assert "整改按期率（未计算）" in row["综合得分未计入"]
    glance = view.glance_html(ov.ranking, ov.heat, ov.uncomputed, ov.unchecked)
    assert glance.count(">未检查<") == 2 * ov.ranking.height
    # the composite on the page is the one over the checked indicators
    known = compute(runs.funds.drop, runs.funds.findings, checks=checks_run(runs.funds))
    assert ranking["composite_score"] == pytest.approx(
        cell(known, JS, "2026-10", "composite_score")["value"], abs=1e-4
    )
    assert ov.headline.composite_score == pytest.approx(
        cell(known, DISTRICT, "2026-10", "composite_score")["value"], abs=1e-4
    )


def test_street_metrics_read_unchecked(runs):
    sv = street_view.street_view(
        runs.funds.indicators,
        runs.funds.findings,
        JS,
        "month",
        period="2026-10",
        summary=runs.funds.summary,
    )
    metrics = {label: (value, tip) for label, value, tip in street_view.headline_metrics(sv)}
    assert metrics["动态管理线索"][0] == "未检查"
    assert "未运行动态管理类检查" in metrics["动态管理线索"][1]
    assert "未检查" in street_view.unchecked_note(sv)
    # the checks not run have no count on 各检查项线索, never 0
    table = street_view.by_check_table(sv)
    approval = table.filter(pl.col("检查项") == "审批超时").row(0, named=True)
    assert approval["线索数"] is None and approval["说明"] == "本次未运行，未检查"
    assert table.filter(pl.col("类别") == "资金比对")["线索数"].null_count() == 0


# --- 3. the street × indicator tables: values under units, scores under 得分（分） -------------


def test_heat_tables_show_values_under_units_and_scores_apart(runs):
    indicators = runs.full.indicators
    ov = view.overview(indicators, runs.full.findings, "2026-10")
    values, scores = view.heat_table(ov.heat), view.score_table(ov.heat)
    for street in (JS, XJ):
        row = values.filter(pl.col("街镇") == street).row(0, named=True)
        funds = cell(indicators, street, "2026-10", "funds_findings_per_1000")["value"]
        assert row["资金线索率（每千笔）"] == pytest.approx(round(funds, 1))
        rate = cell(indicators, street, "2026-10", "approval_on_time_rate")["value"]
        assert row["审批及时率（%）"] == (
            None if rate is None else pytest.approx(round(rate * 100, 1))
        )
        leads = cell(indicators, street, "2026-10", "dynamic_leads")
        assert row["动态管理线索（个）"] == leads["value"]
        # the score of the leads is per active case against the worst street: its own table
        score = scores.filter(pl.col("街镇") == street).row(0, named=True)
        heat = ov.heat.filter(
            (pl.col("street") == street) & (pl.col("indicator") == "dynamic_leads")
        ).row(0, named=True)
        assert heat["per_case"] == pytest.approx(leads["numerator"] / leads["denominator"])
        assert score["动态管理线索得分（分）"] == pytest.approx(round(heat["score"], 1))
    assert values.columns[1:] == [view.indicator_title(n) for n in view.HEAT]
    assert scores.columns[1:] == [view.score_title(n) for n in view.HEAT]
    assert "资金线索率得分（分）" in scores.columns and "资金线索率（每千笔）" not in scores.columns
    # the workbook: the values sheet holds the values, the scores sheet the scores
    sheets = view.excel_sheets(ov)
    assert sheets["街镇指标值"].equals(values) and sheets["街镇指标得分"].equals(scores)


def test_heat_map_colour_is_the_score_and_its_text_the_value(runs):
    ov = view.overview(runs.full.indicators, runs.full.findings, "2026-10")
    fig = charts.heatmap(ov.heat)
    hm = fig.data[0]
    streets, titles = list(hm.y), list(hm.x)
    col = titles.index(view.indicator_title("dynamic_leads"))
    row = streets.index(XJ)
    heat = ov.heat.filter((pl.col("street") == XJ) & (pl.col("indicator") == "dynamic_leads")).row(
        0, named=True
    )
    assert hm.z[row][col] == pytest.approx(heat["score"])
    assert hm.text[row][col] == view.format_value("dynamic_leads", heat["value"])
    assert "每个在册案件线索数" in hm.customdata[row][col]
    assert "颜色为得分，数字为指标值" in fig.layout.title.text
    assert "每案件线索数" in view.HEAT_NOTE and "格内数字是指标本身的值" in view.HEAT_NOTE


# --- 4. the trend: whole numbers in the table, the district emphasised, axes in 万 -------------


def test_trend_table_of_money_is_whole_and_formatted(runs):
    indicators = runs.full.indicators
    ov = view.overview(indicators, runs.full.findings, "2026-10", "money_paid", trend_streets=[XJ])
    assert set(ov.trends["street"]) == {DISTRICT, XJ}  # the district and the streets picked
    table = view.trend_table(ov.trends, "money_paid")
    assert table.columns == ["月份", "全区（元）", f"{XJ}（元）"]
    october = table.filter(pl.col("月份") == "2026-10").row(0, named=True)
    assert october["全区（元）"] == cell(indicators, DISTRICT, "2026-10", "money_paid")["value"]
    assert october["全区（元）"] > 100_000
    # the grid and the workbook write money whole, with separators and two decimals
    assert formats.grid_formats(table) == {"全区（元）": "%,.2f", f"{XJ}（元）": "%,.2f"}
    book = pl.read_excel(io.BytesIO(excel_bytes({"月度趋势": table})), sheet_name="月度趋势")
    assert book.filter(pl.col("月份") == "2026-10")["全区（元）"].item() == october["全区（元）"]
    # every street without a pick
    every = view.overview(indicators, runs.full.findings, "2026-10", "money_paid")
    assert every.trends["street"].n_unique() == 11


def test_trend_chart_emphasises_the_district_and_writes_money_in_wan(runs):
    ov = view.overview(
        runs.full.indicators, runs.full.findings, "2026-10", "money_paid", trend_streets=[XJ, JS]
    )
    fig = charts.trend_lines(ov.trends, "money_paid")
    district = fig.data[-1]
    assert district.name == DISTRICT and district.line.width == 5
    assert all(t.line.width == 1.5 for t in fig.data[:-1])
    assert len({t.line.color for t in fig.data}) == len(fig.data)
    labels = list(fig.layout.yaxis.ticktext)
    assert any(label.endswith("万") for label in labels)
    assert not any(label.endswith(("M", "k")) for label in labels)
    assert "%{y:,.2f}" in district.hovertemplate


# --- 5. 街镇: its period, its findings and overdue items of that period --------------------------


def test_street_lists_only_the_findings_and_overdue_items_of_its_period(runs):
    findings = runs.full.findings
    march = findings.filter((pl.col("street") == XJ) & (pl.col("check_id") == "approval_overdue"))
    assert march["month"].to_list() == ["2026-03"]  # decided late in March
    october = street_view.street_view(runs.full.indicators, findings, XJ, "month", period="2026-10")
    assert october.period == "2026-10" and october.label == "2026年10月"
    assert october.overdue.filter(pl.col("check_id") == "approval_overdue").height == 0
    # the findings by check are those of October only
    own = findings.filter(pl.col("street") == XJ)
    in_october = own.filter(pl.col("month").fill_null("2026-10") == "2026-10").height
    assert int(october.by_check["findings"].sum()) == in_october < own.height
    # its quarter Q1 held the late approval; the year too
    year = street_view.street_view(runs.full.indicators, findings, XJ, "year", period="2026")
    assert year.overdue.filter(pl.col("check_id") == "approval_overdue").height == 1
    assert "期初时尚未审批" in street_view.overdue_note(year)
    assert "2026-01-01 至 2026-12-31" in street_view.overdue_note(year)
    # the indicators shown are those of the period chosen, with the one before
    september = street_view.street_view(
        runs.full.indicators, findings, XJ, "month", period="2026-09"
    )
    shown = dict(zip(september.latest["indicator"], september.latest["shown"], strict=True))
    value = cell(runs.full.indicators, XJ, "2026-09", "approval_on_time_rate")["value"]
    assert shown["approval_on_time_rate"] == view.format_value("approval_on_time_rate", value)
    previous = dict(zip(october.latest["indicator"], october.latest["previous"], strict=True))
    assert previous["approval_on_time_rate"] == shown["approval_on_time_rate"]


def test_overdue_items_as_of_the_period():
    findings = pl.DataFrame(
        {
            "check_id": [
                "approval_overdue",
                "approval_overdue",
                "approval_overdue",
                "visit_overdue",
                "visit_overdue",
            ],
            "month": ["2026-03", "2026-09", "2026-10", "2024-05", "2026-10"],
            "evidence": [
                '{"deadline":"2026-03-12","decided_date":"2026-03-13"}',
                '{"deadline":"2026-09-20","decided_date":null}',
                '{"deadline":"2026-10-30","decided_date":null}',
                '{"due":"2024-05-31","last_visit":null}',
                '{"due":"2026-10-30","last_visit":"2026-04-30"}',
            ],
        }
    )
    from datetime import date

    def kept(start, end):
        return street_view.overdue_in(findings, start, end)["month"].to_list()

    october = kept(date(2026, 10, 1), date(2026, 10, 31))
    assert october == ["2026-09", "2026-10", "2024-05", "2026-10"]  # not March's
    assert kept(date(2026, 9, 1), date(2026, 9, 30)) == ["2026-09", "2024-05"]
    assert kept(date(2026, 3, 1), date(2026, 3, 31)) == ["2026-03", "2024-05"]


# --- 6. the four circles --------------------------------------------------------------------------

FIRST_CIRCLE = (
    "特困人员",
    "最低生活保障",
    "重残无业",
    "低保边缘",
    "刚性支出困难",
    "困境儿童",
    "社会散居孤儿",
)


def one_household_per_type(types, status="在册", termination=None):
    cases = [
        dict(
            case_id=f"C{i}",
            household_id=f"H{i}",
            applicant_id_number=f"P{i}",
            street=XJ,
            assistance_type=kind,
            status=status,
            accepted_date="2025-01-05",
            decided_date="2025-01-20",
            termination_date=termination,
        )
        for i, kind in enumerate(types)
    ]
    return mini_drop(as_of="2026-03-31", cases=cases)


def test_every_first_circle_assistance_type_lands_in_circle_one():
    _, circles = load_circles()
    first = {t for rule in circles[0].rules for t in rule["assistance_type"]}
    assert first == set(FIRST_CIRCLE)
    out = household_circles(one_household_per_type(FIRST_CIRCLE))
    assert dict(zip(out["household_id"], out["circle"], strict=True)) == {
        f"H{i}": 1 for i in range(len(FIRST_CIRCLE))
    }
    # temporary assistance and services are the second circle
    second = household_circles(one_household_per_type(("临时救助", "小金额救助", "救助服务")))
    assert set(second["circle"]) == {2}
    # a first-circle case terminated in the last two years: the third, like 低保
    ended = household_circles(
        one_household_per_type(("低保边缘", "最低生活保障"), "终止", "2026-01-31")
    )
    assert set(ended["circle"]) == {3}


def test_circle_households_are_whole_numbers_on_the_street_page(runs):
    sv = street_view.street_view(runs.full.indicators, runs.full.findings, XJ)
    table = street_view.circles_table(sv)
    assert table.schema["户数"] == pl.Int64
    fig = charts.circle_bars(sv.circles)
    assert all("." not in text for text in fig.data[0].text)


# --- 13. the definitions: settings by their meaning and value, never their key -------------------


def test_definitions_write_settings_as_meaning_and_value():
    settings = load_settings()
    table = definitions_table(settings)
    assert table.columns == ["指标", "单位", "方向", "口径", "定义", "分子", "分母", "代码"]
    text = " ".join(table["定义"].to_list())
    for key in (
        "payment_due_day",
        "trainings_per_year",
        "visit_cycle_months",
        "indicators.weights",
        "{",
        "}",
    ):
        assert key not in text
    by_code = dict(zip(table["代码"], table["定义"], strict=True))
    assert (
        f"当月规定发放日（现定为每月{settings.payment_due_day}日）"
        in by_code["disbursement_on_time_rate"]
    )
    assert f"高{settings.visit_cycle_months['高']}个月" in by_code["visit_compliance_rate"]
    assert (
        f"第{settings.approval_deadline_working_days}个工作日" in by_code["approval_on_time_rate"]
    )
    assert (
        f"审批及时率 {settings.indicator_weights['approval_on_time_rate']:g}"
        in by_code["composite_score"]
    )
    # the PDF reads the same sentence through Indicator.definition
    assert BY_NAME["composite_score"].definition == by_code["composite_score"]
    html = view.definitions_html()
    assert "min-width: 20em" in html and 'class="aidwatch-definitions"' in html


@pytest.mark.parametrize(
    ("indicator", "value", "text"),
    [
        ("money_at_risk", 804530, "804,530.00"),
        ("cases_active", 1376.0, "1,376"),
        ("circle_1", 124.0, "124"),
        ("composite_score", 89, "89.0"),
        ("approval_on_time_rate", 1.0, "100.0%"),
    ],
)
def test_values_are_written_one_way(indicator, value, text):
    assert view.format_value(indicator, value) == text


def test_every_indicator_header_says_its_unit():
    for ind in INDICATORS:
        assert formats.kind_of(view.indicator_title(ind.name)) is not None, ind.name
