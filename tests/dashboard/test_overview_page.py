"""The 总览 and 街镇 pages on a run's outputs, with and without a workspace: AppTest page by page,
and the running app in headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import pipeline
from analytics.indicators import compute
from analytics.views import overview as overview_view
from tests.analytics.test_views_followup import A, workflow_of
from tests.dashboard.test_followup_page import scenario_workspace

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "screens"


@pytest.fixture
def out_dir(small_drop, tmp_path, monkeypatch) -> Path:
    """The small drop checked, its outputs written, and the pages pointed at them."""
    out = tmp_path / "out"
    pipeline.write_outputs(pipeline.run(small_drop), out)
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    monkeypatch.setenv("AIDWATCH_DROP", str(small_drop))
    return out


def page(name: str) -> AppTest:
    return AppTest.from_file(str(PAGES / name), default_timeout=30).run()


def html_text(html: str) -> str:
    """The visible text of an HTML block, each element's text on its own line."""
    return "\n".join(t for t in re.split(r"<[^>]+>", html) if t.strip())


def test_overview_lands_on_the_static_view(out_dir):
    at = page("overview.py")
    assert not at.exception
    assert at.title[0].value == "总览"
    metrics, glance = (h.proto.body for h in at.html)
    lines = html_text(metrics).splitlines()
    for label, value in [
        ("在册案件（件） ⓘ", "1"),
        ("实发金额（元） ⓘ", "1,550.00"),
        ("审批流程（条） ⓘ", "1"),
    ]:  # the small drop's one late approval
        assert lines[lines.index(label) + 1] == value
    assert at.segmented_control(key="overview_view").value == "glance"
    # The landing view holds no chart and no data grid: their browser code is fetched only when
    # a view that draws them is opened.
    assert not at.get("plotly_chart") and not at.dataframe
    assert 'class="aidwatch-glance"' in glance
    table = html_text(glance).splitlines()
    # each header's unit on a line of its own
    assert table[:6] == ["排名", "街镇", "综合得分", "（分）", "审批及时率", "（%）"]
    assert table[table.index("培训达标") + 1 :][:2] == ["1", "华阳路街道"]
    assert at.caption[1].value.startswith("**2026年3月** · 全区")
    assert at.caption[2].value.startswith("2026年3月。排名按综合得分从高到低")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["导出本页表格（Excel）", "生成并下载 PDF 报告"]


def test_overview_period_filter_changes_the_view(out_dir):
    at = page("overview.py")
    at.segmented_control(key="overview_level").set_value("year").run()
    assert not at.exception
    assert at.pills(key="overview_period_year").value == "2026"
    assert "2026年成功拨付的金额合计" in at.html[0].proto.body
    assert at.caption[1].value.startswith("**2026年** · 全区")
    assert "2026年。排名" in at.caption[2].value


@pytest.mark.parametrize(
    ("shown", "columns"),
    [
        ("ranking", ["排名", "街镇"]),
        ("heat", ["街镇", "审批及时率（%）"]),
        ("trend", ["月份", "全区（分）"]),
        ("leads", ["类别", "线索数"]),
    ],
)
def test_overview_views_draw_their_chart_and_table(out_dir, shown, columns):
    at = page("overview.py")
    at.segmented_control(key="overview_view").set_value(shown).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1
    assert list(at.dataframe[0].value.columns[:2]) == columns
    assert 'class="aidwatch-glance"' not in "".join(h.proto.body for h in at.html)


def test_trend_indicator_is_kept_while_another_view_is_open(out_dir):
    at = page("overview.py")
    at.segmented_control(key="overview_view").set_value("trend").run()
    at.selectbox(key="overview_trend").set_value("approval_on_time_rate").run()
    rates = at.dataframe[0].value
    at.segmented_control(key="overview_view").set_value("glance").run()
    at.segmented_control(key="overview_view").set_value("trend").run()
    assert not at.exception
    assert at.selectbox(key="overview_trend").value == "approval_on_time_rate"
    assert at.dataframe[0].value.equals(rates)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["layout"]["title"]["text"] == "审批及时率（%）月度趋势"


def test_overview_definitions_drawn_once_opened(out_dir):
    at = page("overview.py")
    assert len(at.html) == 2  # the figures and the landing table, no definitions yet
    at.session_state["overview_definitions"] = True
    at.run()
    assert not at.exception
    definitions = html_text(at.html[-1].proto.body).splitlines()
    assert definitions[:7] == ["指标", "单位", "方向", "口径", "定义", "分子", "分母"]
    assert "在册案件数" in definitions and "cases_active" not in definitions
    # settings are written as what they mean and their value, never as their key
    text = at.html[-1].proto.body
    assert "payment_due_day" not in text and "trainings_per_year" not in text
    assert "indicators.weights" not in text and "visit_cycle_months" not in text
    assert "当月规定发放日（现定为每月" in text
    assert "min-width: 20em" in text  # the definition column is not squeezed


def test_street_page_shows_overdue_items_masked(out_dir):
    at = page("street.py")
    assert not at.exception
    assert at.selectbox(key="street_name").value == "华阳路街道"
    # The small drop's one late approval was decided in February: not overdue in March.
    assert at.pills(key="street_period_month").value == "2026-03"
    overdue = next(df.value for df in at.dataframe if "摘要" in df.value.columns)
    assert len(overdue) == 0
    at.segmented_control(key="street_level").set_value("year").run()
    tables = [df.value for df in at.dataframe]
    overdue = next(t for t in tables if "摘要" in t.columns)
    assert overdue.iloc[0]["检查项"] == "审批超时"
    assert "第20个工作日为" in overdue.iloc[0]["摘要"]
    at.selectbox(key="street_name").set_value("新泾镇").run()
    assert not at.exception
    overdue = next(df.value for df in at.dataframe if "摘要" in df.value.columns)
    assert len(overdue) == 0


def test_street_page_draws_the_first_overdue_items_of_a_long_list(out_dir, monkeypatch):
    from analytics.views import street as street_view

    at = page("street.py")
    at.segmented_control(key="street_level").set_value("year").run()
    whole = next(df.value for df in at.dataframe if "摘要" in df.value.columns)
    assert len(whole) >= 1
    monkeypatch.setattr(street_view, "MAX_ROWS", 0)
    at.run()
    assert not at.exception
    drawn = next(df.value for df in at.dataframe if "摘要" in df.value.columns)
    assert len(drawn) == 0
    assert any(f"共 {len(whole):,} 件，本页显示前 0 件" in c.value for c in at.caption)


@pytest.mark.parametrize("name", ["overview.py", "street.py"])
def test_pages_without_a_run_say_what_to_do(name, tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_OUT", str(tmp_path / "nothing"))
    at = page(name)
    assert not at.exception
    assert "aidwatch check" in at.info[0].value


# --- the follow-up loop: the funnel and the rectification indicators ----------------------------


@pytest.fixture
def workspace(tmp_path, monkeypatch, small_drop):
    """The small drop's run taken into a workspace on 31 March 2026, then two months of work
    (tests.analytics.test_views_followup); the pages pointed at both."""
    ws = scenario_workspace(tmp_path, monkeypatch, small_drop)
    yield ws
    ws.store.dispose()


def funnel_rows(at: AppTest) -> list[tuple]:
    grid = next(df.value for df in at.dataframe if df.value.columns[0] == "环节")
    return [tuple(row) for row in grid.itertuples(index=False)]


def expected_rows(frame: pl.DataFrame) -> list[tuple]:
    return overview_view.funnel_table(frame).rows()


def test_overview_shows_the_funnel_of_the_period(workspace):
    at = page("overview.py")
    assert not at.exception
    march = overview_view.funnel_of(workflow_of(workspace.store), "2026-03")
    # the run's late approval and the six leads of March, five verified, one rectified,
    # 300 yuan recovered
    assert march["count"].to_list() == [7, 5, 1, 1]
    assert not at.get("plotly_chart") and not at.dataframe  # the landing view stays static
    at.segmented_control(key="overview_view").set_value("funnel").run()
    assert not at.exception
    assert funnel_rows(at) == expected_rows(march)
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert figure["data"][0]["type"] == "funnel" and figure["data"][0]["x"] == [7, 5, 1, 1]
    assert figure["layout"]["title"]["text"] == "2026年3月线索处置漏斗"
    # the year: April's new lead, two more rectified, the other 200 yuan
    at.segmented_control(key="overview_level").set_value("year").run()
    year = overview_view.funnel_of(workflow_of(workspace.store), "2026")
    assert year["count"].to_list() == [8, 5, 3, 1]
    assert funnel_rows(at) == expected_rows(year)
    assert funnel_rows(at)[-1] == ("追回资金", 1, 500.0)


@pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) is not installed"
)
def test_the_yearly_report_holds_the_years_funnel(workspace, downloads, tmp_path):
    at = page("overview.py")
    assert not at.exception
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(downloads["街镇绩效评价_2026.pdf"]())
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    flat = " ".join(text.split())
    assert (
        "2026年全区发现线索 8 条（涉及金额 930.00 元），核实属实 5 条，整改完成 3 条，"
        "追回资金 500.00 元（1 条线索）。"
    ) in flat
    assert "整改按期率" in text and "整改复发率" in text


def test_street_page_shows_its_own_funnel(workspace):
    at = page("street.py")
    assert not at.exception
    assert at.selectbox(key="street_name").value == A
    mine = overview_view.funnel_of(workflow_of(workspace.store), "2026-03", [A])
    # A's leads: the run's late approval, F1, F2, F7; F1 and F7 verified, F7 rectified
    assert mine["count"].to_list() == [4, 2, 1, 1]
    assert funnel_rows(at) == expected_rows(mine)
    figure = json.loads(
        next(c.proto.spec for c in at.get("plotly_chart") if '"funnel"' in c.proto.spec)
    )
    assert figure["data"][0]["x"] == [4, 2, 1, 1]
    at.selectbox(key="street_name").set_value("新泾镇").run()
    theirs = overview_view.funnel_of(workflow_of(workspace.store), "2026-03", ["新泾镇"])
    assert funnel_rows(at) == expected_rows(theirs)
    assert theirs["count"].to_list() == [3, 3, 0, 0]


def test_pages_without_a_workspace_say_so_and_leave_the_indicators_uncomputed(out_dir):
    at = page("street.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["整改按期率（%）"] == metrics["整改复发率（%）"] == "未计算"
    assert any("工作区中还没有线索处置记录" in i.value for i in at.info)
    at = page("overview.py")
    glance = html_text(at.html[1].proto.body).splitlines()
    assert "整改按期率" in glance and "未计算" in glance
    assert "本次检查结果未计算" in at.caption[2].value
    at.segmented_control(key="overview_view").set_value("funnel").run()
    assert not at.exception
    assert "工作区中还没有线索处置记录" in at.info[0].value


def test_an_unreachable_workspace_leaves_the_rest_of_the_pages(out_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv(
        "AIDWATCH_DATABASE_URL", "postgresql+psycopg://aidwatch:secret@127.0.0.1:1/aidwatch"
    )
    at = page("overview.py")
    assert not at.exception and not at.warning  # the landing view does not read it
    at.segmented_control(key="overview_view").set_value("funnel").run()
    assert not at.exception
    assert "无法读取工作区的处置记录" in at.warning[0].value
    assert "secret" not in at.warning[0].value
    at = page("street.py")
    assert not at.exception
    assert "无法读取工作区的处置记录" in at.warning[0].value
    assert any("摘要" in df.value.columns for df in at.dataframe)  # the overdue items still


def test_pages_show_the_rectification_indicators_of_a_workspace_run(
    small_drop, tmp_path, monkeypatch
):
    """A run in a workspace: 华阳路街道 completed two rectifications in March, one on time;
    新泾镇 one, on time, which recurred; the other streets none."""
    outcome = pipeline.run(small_drop)
    facts = pl.DataFrame(
        {
            "street": [A, A, "新泾镇"],
            "month": ["2026-03"] * 3,
            "on_time": [True, False, True],
            "recurred": [False, False, True],
        }
    )
    out = tmp_path / "out"
    pipeline.write_outputs(
        dataclasses.replace(outcome, indicators=compute(outcome.drop, outcome.findings, facts)), out
    )
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    monkeypatch.setenv("AIDWATCH_DROP", str(small_drop))
    at = page("street.py")
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["整改按期率（%）"], metrics["整改复发率（%）"]) == ("50.0%", "0.0%")
    at.selectbox(key="street_name").set_value("江苏路街道").run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["整改按期率（%）"] == "—"  # none completed: blank, never 0
    at = page("overview.py")
    glance = html_text(at.html[1].proto.body).splitlines()
    row = glance[glance.index(A) :]
    assert "50.0%" in row[:14] and "未计算" not in glance
    assert "未计算" not in at.caption[2].value
    at.segmented_control(key="overview_view").set_value("heat").run()
    values = next(df.value for df in at.dataframe if "整改复发率（%）" in df.value.columns)
    rates = dict(zip(values["街镇"], values["整改复发率（%）"], strict=True))
    assert rates["新泾镇"] == 100.0 and rates[A] == 0.0  # the rates themselves, in %
    scores = next(df.value for df in at.dataframe if "整改复发率得分（分）" in df.value.columns)
    scores = dict(zip(scores["街镇"], scores["整改复发率得分（分）"], strict=True))
    assert scores["新泾镇"] == 0.0 and scores[A] == 100.0  # lower is better


@pytest.mark.browser
def test_overview_in_headless_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, small_drop, tmp_path
):
    out = tmp_path / "out"
    pipeline.write_outputs(pipeline.run(small_drop), out)
    base_url = run_dashboard(small_drop, out)
    p = browser_page
    browser_login(p, base_url)
    # 总览 is the landing page, its static view first.
    p.get_by_role("heading", name="总览").wait_for()
    p.get_by_text("实发金额（元）").wait_for()
    period = p.get_by_test_id("stCaptionContainer").filter(has_text="· 全区")
    assert period.inner_text().startswith("2026年3月 · 全区")  # the period above the figures
    glance = p.locator("table.aidwatch-glance")
    assert glance.locator("tbody tr").first.locator("td").nth(1).inner_text() == "华阳路街道"
    assert p.locator(".js-plotly-plot").count() == 0
    p.get_by_text("年度", exact=True).click()
    wait_for_app(p)
    p.get_by_test_id("stCaptionContainer").filter(has_text="2026年 · 全区").wait_for()
    assert p.locator('[data-testid="stException"]').count() == 0
    p.get_by_text("街镇 × 指标", exact=True).click()
    wait_for_app(p)
    p.locator(".js-plotly-plot .heatmaplayer").wait_for()
    assert glance.count() == 0
    p.get_by_text("指标定义").click()
    wait_for_app(p)
    p.locator("table.aidwatch-definitions").get_by_text("在册案件数").first.wait_for()
    p.get_by_test_id("stSidebarNav").get_by_role("link", name="街镇").click()
    wait_for_app(p)
    p.get_by_role("heading", name="超期事项").wait_for()
    assert p.locator('[data-testid="stException"]').count() == 0
