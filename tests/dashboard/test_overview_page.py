"""The 总览 and 街镇 pages on a run's outputs: AppTest page by page, and the running app in
headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics import pipeline

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "pages"


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


def test_overview_renders_metrics_charts_and_tables(out_dir):
    at = page("overview.py")
    assert not at.exception
    assert at.title[0].value == "总览"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["在册案件数"] == "1"
    assert metrics["2026年3月实发金额（元）"] == "1,550.00"
    assert metrics["审批流程线索"] == "1"  # the small drop's one late approval
    # Only the open tab draws: the ranking, its chart and its table.
    assert [t.label for t in at.tabs] == ["街镇排名", "街镇 × 指标", "月度趋势", "线索分类"]
    assert len(at.get("plotly_chart")) == 1
    ranking = at.dataframe[0].value
    assert list(ranking.columns[:3]) == ["排名", "街镇", "综合得分（分）"]
    assert ranking.iloc[0]["街镇"] == "华阳路街道"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["导出本页表格（Excel）", "生成并下载 PDF 报告"]


def test_overview_period_filter_changes_the_view(out_dir):
    at = page("overview.py")
    at.radio(key="overview_level").set_value("year").run()
    assert not at.exception
    assert at.selectbox(key="overview_period_year").value == "2026"
    assert "2026年实发金额（元）" in {m.label for m in at.metric}


@pytest.mark.parametrize(("tab", "columns"), [
    ("街镇 × 指标", ["街镇", "审批及时率（%）"]),
    ("月度趋势", ["月份", "全区"]),
    ("线索分类", ["类别", "线索数"]),
])
def test_overview_tabs_draw_their_chart_and_table(out_dir, tab, columns):
    at = page("overview.py")
    at.selectbox(key="overview_trend").set_value("approval_on_time_rate").run()
    at.session_state["overview_tab"] = tab
    at.run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 1
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == columns


def test_street_page_shows_overdue_items_masked(out_dir):
    at = page("street.py")
    assert not at.exception
    assert at.selectbox(key="street_name").value == "华阳路街道"
    tables = [df.value for df in at.dataframe]
    overdue = next(t for t in tables if "摘要" in t.columns)
    assert overdue.iloc[0]["检查项"] == "审批超时"
    assert "第20个工作日为" in overdue.iloc[0]["摘要"]
    at.selectbox(key="street_name").set_value("新泾镇").run()
    assert not at.exception
    overdue = next(df.value for df in at.dataframe if "摘要" in df.value.columns)
    assert len(overdue) == 0


@pytest.mark.parametrize("name", ["overview.py", "street.py"])
def test_pages_without_a_run_say_what_to_do(name, tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_OUT", str(tmp_path / "nothing"))
    at = page(name)
    assert not at.exception
    assert "aidwatch check" in at.info[0].value


@pytest.mark.browser
def test_overview_in_headless_chromium(run_dashboard, browser_page, wait_for_app, small_drop,
                                       tmp_path):
    out = tmp_path / "out"
    pipeline.write_outputs(pipeline.run(small_drop), out)
    base_url = run_dashboard(small_drop, out)
    p = browser_page
    p.goto(base_url)
    wait_for_app(p)
    # 总览 is the landing page.
    p.get_by_role("heading", name="总览").wait_for()
    p.get_by_text("2026年3月实发金额（元）").wait_for()
    p.get_by_text("年度", exact=True).click()
    wait_for_app(p)
    p.get_by_text("2026年实发金额（元）").wait_for()
    assert p.locator('[data-testid="stException"]').count() == 0
    p.get_by_role("tab", name="街镇 × 指标").click()
    wait_for_app(p)
    p.locator(".js-plotly-plot .heatmaplayer").wait_for()
    p.get_by_test_id("stSidebarNav").get_by_role("link", name="街镇").click()
    wait_for_app(p)
    p.get_by_role("heading", name="超期事项").wait_for()
    assert p.locator('[data-testid="stException"]').count() == 0
