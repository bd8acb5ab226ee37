"""总览 and 街镇 on a generated district (AppTest, page by page): a run of one family of checks,
the street × indicator tables, the trend's choices, the period 街镇 takes over from 总览, and the
choices kept when the user leaves a page and comes back. Also the definitions on 检查规则."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import pipeline
from analytics.generate import generate
from analytics.indicators import DISTRICT
from analytics.views import overview as overview_view
from dashboard import ui

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "screens"
XJ, JS = "新泾镇", "江苏路街道"


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> dict[str, Path]:
    """A generated district checked twice: every check, and only the funds family."""
    base = tmp_path_factory.mktemp("pages")
    drop = base / "drop"
    generate(drop, households=300, seed=7)
    pipeline.write_outputs(pipeline.run(drop), base / "full")
    pipeline.write_outputs(pipeline.run(drop, only=["funds"]), base / "funds")
    return {"drop": drop, "full": base / "full", "funds": base / "funds"}


@pytest.fixture
def full(district, monkeypatch) -> Path:
    monkeypatch.setenv("AIDWATCH_OUT", str(district["full"]))
    monkeypatch.setenv("AIDWATCH_DROP", str(district["drop"]))
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(district["drop"].parent / "ws"))
    return district["full"]


@pytest.fixture
def funds_only(district, monkeypatch) -> Path:
    monkeypatch.setenv("AIDWATCH_OUT", str(district["funds"]))
    monkeypatch.setenv("AIDWATCH_DROP", str(district["drop"]))
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(district["drop"].parent / "ws"))
    return district["funds"]


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / name), default_timeout=60).run()


def html_text(html: str) -> list[str]:
    return [t for t in re.split(r"<[^>]+>", html) if t.strip()]


def figure(at: AppTest, label: str) -> str:
    """The value under a headline figure's label on 总览."""
    lines = html_text(at.html[0].proto.body)
    return lines[lines.index(f"{label} ⓘ") + 1]


def grid(at: AppTest, column: str) -> pl.DataFrame:
    return next(pl.from_pandas(df.value) for df in at.dataframe if column in df.value.columns)


def come_back(at: AppTest, name: str) -> AppTest:
    """The user went to another page of the session and comes back to ``name``: the widgets'
    values are forgotten, what the pages kept in the session (ui.keep) is not."""
    again = AppTest.from_file(str(PAGES / name), default_timeout=60)
    for key in at.session_state.keys():
        if key.startswith(ui.KEEP_PREFIX) or key == "street_followed_overview":
            again.session_state[key] = at.session_state[key]
    return again.run()


# --- a run of one family -----------------------------------------------------------------------


def test_overview_of_a_run_of_one_family_says_unchecked(funds_only):
    at = page("overview.py")
    assert not at.exception
    assert figure(at, "廉洁风险（条）") == figure(at, "动态管理（条）") == "未检查"
    assert figure(at, "资金比对（条）") != "未检查"
    glance = html_text(at.html[1].proto.body)
    header = glance[: glance.index("培训达标") + 1]
    assert header[header.index("廉洁风险线索") + 1] == "（个）"
    assert glance.count("未检查") == 2 * 10  # two indicators, ten streets; never a 0
    caption = next(c.value for c in at.caption if "排名按综合得分" in c.value)
    assert "本次检查未运行廉洁风险、动态管理、审批流程类检查" in caption
    assert "全区综合得分未计入：" in caption and "动态管理线索（未检查）" in caption
    at.segmented_control(key="overview_view").set_value("ranking").run()
    ranking = grid(at, "综合得分未计入")
    row = ranking.filter(pl.col("街镇") == JS).row(0, named=True)
    assert row["廉洁风险线索（个）"] is None and "廉洁风险线索（未检查）" in row["综合得分未计入"]


def test_street_of_a_run_of_one_family_says_unchecked(funds_only):
    at = page("street.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["动态管理线索"] == "未检查"
    assert any("本次检查未运行" in c.value and "未检查" in c.value for c in at.caption)


# --- 总览's tables and trend --------------------------------------------------------------------


def test_heat_view_values_equal_the_indicators(full):
    from analytics.results import load_indicators

    indicators = load_indicators(full)
    at = page("overview.py")
    at.segmented_control(key="overview_view").set_value("heat").run()
    assert not at.exception
    values = grid(at, "资金线索率（每千笔）")
    scores = grid(at, "资金线索率得分（分）")
    assert "资金线索率（每千笔）" not in scores.columns
    period = at.pills(key="overview_period_month").value
    for street in (XJ, JS):
        want = indicators.filter(
            (pl.col("street") == street)
            & (pl.col("period") == period)
            & (pl.col("indicator") == "funds_findings_per_1000")
        )["value"]
        got = values.filter(pl.col("街镇") == street)["资金线索率（每千笔）"].item()
        assert got == pytest.approx(round(want.item(), 1))
    caption = next(c.value for c in at.caption if "颜色表示该项得分" in c.value)
    assert "每案件线索数" in caption


def test_trend_view_picks_streets_and_writes_money_whole(full):
    at = page("overview.py")
    at.segmented_control(key="overview_view").set_value("trend").run()
    at.selectbox(key="overview_trend").set_value("money_paid").run()
    assert not at.exception
    picker = at.multiselect(key="overview_trend_streets")
    assert picker.value == [] and "选择要与全区对比的街镇" in picker.proto.placeholder
    table = grid(at, "月份")
    assert list(table.columns) == ["月份", "全区（元）"]  # the district alone by default
    assert table["全区（元）"].min() > 100_000  # whole yuan, not cut
    picker.set_value([XJ]).run()
    table = grid(at, "月份")
    assert list(table.columns) == ["月份", "全区（元）", f"{XJ}（元）"]
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [t["name"] for t in chart["data"]] == [XJ, DISTRICT]
    assert chart["data"][-1]["line"]["width"] == 5
    assert any(t.endswith("万") for t in chart["layout"]["yaxis"]["ticktext"])


# --- 9. choices kept when the user leaves and comes back ---------------------------------------


def test_overview_choices_survive_leaving_the_page(full):
    at = page("overview.py")
    at.pills(key="overview_period_month").set_value("2026-09").run()
    at.segmented_control(key="overview_view").set_value("trend").run()
    at.selectbox(key="overview_trend").set_value("approval_on_time_rate").run()
    at.multiselect(key="overview_trend_streets").set_value([XJ]).run()
    assert not at.exception
    at = come_back(at, "overview.py")
    assert not at.exception
    assert at.pills(key="overview_period_month").value == "2026-09"
    assert at.segmented_control(key="overview_view").value == "trend"
    assert at.selectbox(key="overview_trend").value == "approval_on_time_rate"
    assert at.multiselect(key="overview_trend_streets").value == [XJ]
    assert "2026年9月" in at.caption[1].value


def test_street_takes_the_period_chosen_on_overview_and_keeps_its_own(full):
    overview = page("overview.py")
    overview.pills(key="overview_period_month").set_value("2026-09").run()
    overview.run()  # the choice is kept at the top of the next run of the page
    kept = {
        key: overview.session_state[key]
        for key in (ui.KEEP_PREFIX + "overview_level", ui.KEEP_PREFIX + "overview_period_month")
    }
    assert kept[ui.KEEP_PREFIX + "overview_period_month"] == "2026-09"

    street = AppTest.from_file(str(PAGES / "street.py"), default_timeout=60)
    for key, value in kept.items():  # what 总览 kept in the session
        street.session_state[key] = value
    street.run()
    assert not street.exception
    assert street.segmented_control(key="street_level").value == "month"
    assert street.pills(key="street_period_month").value == "2026-09"
    # its own choice, kept while 总览's stays as it was
    street.selectbox(key="street_name").set_value(XJ).run()
    street.pills(key="street_period_month").set_value("2026-10").run()
    street = come_back(street, "street.py")
    assert street.selectbox(key="street_name").value == XJ
    assert street.pills(key="street_period_month").value == "2026-10"
    # a new choice on 总览 is taken over
    street.session_state[ui.KEEP_PREFIX + "overview_period_month"] = "2026-08"
    street.run()
    assert street.pills(key="street_period_month").value == "2026-08"
    assert not street.exception


def test_street_lists_the_findings_and_overdue_items_of_its_period(full):
    at = page("street.py")
    at.selectbox(key="street_name").set_value(XJ).run()
    at.pills(key="street_period_month").set_value("2026-10").run()
    assert not at.exception
    assert f"{XJ} · 2026年10月" in " ".join(m.value for m in at.markdown)
    overdue = grid(at, "摘要")
    assert "2026-03" not in overdue["月份"].to_list()  # decided (late) in March
    caption = next(c.value for c in at.caption if "审批超时与探访逾期" in c.value)
    assert "2026年10月内" in caption and "期初时尚未审批" in caption
    october = grid(at, "检查项")
    at.segmented_control(key="street_level").set_value("year").run()
    assert at.pills(key="street_period_year").value == "2026"
    overdue = grid(at, "摘要")
    assert "2026-03" in overdue["月份"].to_list()
    year = grid(at, "检查项")
    assert year.filter(pl.col("检查项") == "审批超时")["线索数"].item() == 1
    assert october.filter(pl.col("检查项") == "审批超时")["线索数"].item() == 0
    assert year["线索数"].sum() > october["线索数"].sum()


def test_street_headline_figures_three_to_a_row_with_help(full):
    at = page("street.py")
    assert not at.exception
    labels = [m.label for m in at.metric][:6]
    assert labels == [
        "综合得分",
        "审批及时率",
        "发放及时率",
        "探访合规率",
        "资金线索率",
        "动态管理线索",
    ]
    helps = [m.proto.help for m in at.metric][:6]
    assert helps[1].startswith("审批及时率（%）") and "上一期：" in helps[1]
    values = dict(zip(labels, [m.value for m in at.metric][:6], strict=True))
    assert re.fullmatch(r"\d+\.\d", values["综合得分"])  # a score: one decimal
    assert re.fullmatch(r"\d+\.\d%", values["发放及时率"])  # a rate: 100.0%
    assert re.fullmatch(r"\d+\.\d%|—", values["审批及时率"])


# --- 13. 检查规则: the definitions in Chinese, with their values ---------------------------------


def test_rules_page_publishes_the_definitions_with_setting_values(full):
    at = AppTest.from_file(str(PAGES / "rules.py"), default_timeout=60).run()
    assert not at.exception
    params = pl.from_pandas(at.dataframe[0].value)
    weights = dict(zip(params["参数"], params["当前值"], strict=True))["综合得分各项权重"]
    assert weights.startswith("审批及时率 0.2、")
    at.session_state["rules_definitions"] = True
    at.run()
    body = at.html[-1].proto.body
    assert "payment_due_day" not in body and "indicators.weights" not in body
    assert "按困难程度：高1个月" in body
    assert "min-width: 20em" in body
    assert overview_view.definitions_html() == body
