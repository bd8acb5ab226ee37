"""Streamlit's own words in Chinese in headless Chromium (dashboard/locale.py): on 数据导入 and
线索清单 of the dashboard, logged in; and on a page of every widget whose words Streamlit writes,
with key figures that stay whole at 1280 px and at 820 px."""

from __future__ import annotations

import os
import re
import time

import pytest

from analytics import tracking
from analytics.generate import generate
from analytics.reader import read_drop
from analytics.store import Workspace
from dashboard import serve
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.browser

ENGLISH = (
    "Browse files",
    "Drag and drop",
    "200MB",
    "per file",
    "Choose an option",
    "Choose options",
    "Select all",
    "Deploy",
    "Upload",
    "Press Enter",
    "Running...",
    "Stop",
    "Skip to main content",
)


def visible_text(page) -> str:
    return page.evaluate("() => document.body.innerText")


def placeholders(page) -> list[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('[placeholder]'),"
        " (e) => e.getAttribute('placeholder'))"
    )


def assert_no_english(page, where: str) -> str:
    text = visible_text(page)
    for english in ENGLISH:
        assert english not in text, (where, english)
    for placeholder in placeholders(page):
        assert placeholder not in ("Choose an option", "Choose options"), where
    return text


@pytest.fixture
def workspace_run(tmp_path):
    """A generated district checked in a workspace of its own: (drop, outputs, workspace)."""
    drop = tmp_path / "drop"
    generate(drop, households=300, seed=7)
    ws = Workspace.open(tmp_path / "ws")
    out = tracking.record_check(ws, drop, read_drop(drop), by="测试", origin="test").out
    ws.close()
    return drop, out, tmp_path / "ws"


def test_the_import_and_findings_pages_speak_chinese(
    run_dashboard, browser_page, browser_login, wait_for_app, workspace_run
):
    drop, out, root = workspace_run
    base_url = run_dashboard(drop, out, root)
    page = browser_page
    browser_login(page, base_url, path="import_data")
    page.get_by_role("heading", name="数据导入").wait_for()
    page.get_by_test_id("stMain").get_by_text("上传文件", exact=True).click()
    wait_for_app(page)
    uploader = page.get_by_test_id("stFileUploader")
    uploader.get_by_text("单个文件不超过 200 MB").wait_for()
    text = assert_no_english(page, "数据导入")
    assert "上传文件" in uploader.inner_text()
    assert "跳到主要内容" in text
    # no ⋮ menu (its items are Streamlit's English), no Deploy button
    assert page.get_by_test_id("stMainMenu").is_hidden()
    assert page.get_by_test_id("stAppDeployButton").count() == 0

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="线索清单").click()
    page.wait_for_url("**/findings", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("heading", name="线索清单").wait_for()
    assert_no_english(page, "线索清单")
    # a multiselect's list offers 全选, not "Select all"
    box = page.get_by_role("combobox", name="类别")
    box.click()
    dropdown = page.get_by_test_id("stMultiSelectDropdown")
    dropdown.get_by_role("option", name="全选").wait_for()
    assert "Select all" not in dropdown.inner_text()
    assert "Select all" not in visible_text(page)
    box.fill("不存在的类别")
    dropdown.get_by_text("没有匹配项").wait_for()
    assert "No results" not in visible_text(page)
    box.press("Escape")  # clears the search text
    box.press("Escape")  # closes the list
    dropdown.wait_for(state="detached")
    # a text box's instructions while typing
    search = page.get_by_role("textbox", name="救助编号")
    search.fill("C0")
    page.get_by_test_id("InputInstructions").get_by_text("按回车键确认").wait_for()
    assert_no_english(page, "线索清单, typing")

    # a page this role may not open: Streamlit's dialog, in Chinese
    page.goto(f"{base_url}/dishonesty")
    wait_for_app(page)
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("heading", name="页面不存在").wait_for()
    assert dialog.get_by_text("所请求的页面不存在，已打开首页。").count() == 1
    assert "Page not found" not in dialog.inner_text()


GALLERY = """
import time

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from dashboard import locale

st.set_page_config(page_title="控件", layout="wide")
locale.apply()
row = st.columns(7)
figures = (("2026年10月实发金额（元）", "1,006,540.00"), ("2026年10月涉及金额（元）", "828,590.00"),
           ("未处理线索（条）", "1,376"), ("综合得分（分）", "84.8"), ("资金比对（条）", "62"),
           ("廉洁风险（条）", "56"), ("动态管理（条）", "22"))
for column, (label, value) in zip(row, figures):
    column.metric(label, value)
st.multiselect("多选", ["甲", "乙", "Select all"], key="many")   # a choice that reads like it
st.selectbox("单选", ["甲", "乙"], index=None, key="one")
st.file_uploader("上传", key="files", accept_multiple_files=True, type=["csv", "xlsx"])
st.dataframe(pl.DataFrame(schema={"编号": pl.String, "金额（元）": pl.Int64}))
st.dataframe(pl.DataFrame({"编号": ["empty"], "说明": ["数据里的 empty 原样显示"]}))
st.date_input("日期", value=None, key="day")
st.plotly_chart(go.Figure(go.Bar(x=["甲", "乙"], y=[3, 5])))
if st.button("慢"):
    time.sleep(8)
"""

FIGURES = {
    "2026年10月实发金额（元）": "1,006,540.00",
    "2026年10月涉及金额（元）": "828,590.00",
    "未处理线索（条）": "1,376",
}


@pytest.fixture
def gallery(tmp_path):
    """A page of the widgets whose words Streamlit writes, served as the dashboard is (from the
    project folder, with its .streamlit/config.toml); its address."""
    app = tmp_path / "gallery.py"
    app.write_text(GALLERY, encoding="utf-8")
    url, proc = serve.start(
        {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}, tmp_path / "server.log", app=app
    )
    try:
        yield url
    finally:
        serve.stop(proc)


# Records each text drawn on a grid's canvas: [the grid's place among the page's grids, text].
DRAWN = """() => { window.__drawn = [];
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    const grid = this.canvas.closest && this.canvas.closest('[data-testid="stDataFrame"]');
    const grids = Array.from(document.querySelectorAll('[data-testid="stDataFrame"]'));
    window.__drawn.push([grid ? grids.indexOf(grid) : null, String(text)]);
    return fillText.call(this, text, ...rest); }; }"""
EMPTY, ONE_ROW = 0, 1  # the gallery's grids

FIGURE_BOXES = """() => Array.from(document.querySelectorAll('[data-testid="stMetric"]'), (m) => {
  const label = m.querySelector('[data-testid="stMetricLabel"] p');
  const value = m.querySelector('[data-testid="stMetricValue"] p');
  const box = m.closest('[data-testid="stColumn"]').getBoundingClientRect();
  const text = (e) => { const r = document.createRange(); r.selectNodeContents(e);
                        return r.getBoundingClientRect(); };
  return {label: label.innerText, value: value.innerText,
          labelCut: getComputedStyle(label).textOverflow === "ellipsis"
                    && label.scrollWidth > label.clientWidth,
          valueCut: getComputedStyle(value).textOverflow === "ellipsis"
                    && value.scrollWidth > value.clientWidth,
          labelRight: text(label).right, valueRight: text(value).right,
          valueSize: parseFloat(getComputedStyle(value).fontSize), column: box.right}; })"""


@pytest.mark.parametrize("width", [1280, 820])
def test_streamlits_widgets_speak_chinese_and_figures_stay_whole(
    chromium, gallery, wait_for_app, width
):
    context = chromium.new_context(viewport={"width": width, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    # the texts drawn on a data grid's canvas, in the order drawn (installed before the page's
    # own script, which wraps it)
    page.add_init_script(f"({DRAWN})()")
    try:
        page.goto(gallery)
        wait_for_app(page)
        page.get_by_text("单个文件不超过 200 MB").wait_for()
        text = assert_no_english(page, "gallery")
        assert "上传文件" in text and "CSV, XLSX" in text
        assert placeholders(page)[:2] == ["请选择", "请选择"]
        # an empty st.date_input: 年/月/日, not yyyy/mm/dd
        field = page.get_by_test_id("stDateInputField")
        assert [s.strip() for s in field.get_by_role("spinbutton").all_inner_texts()] == [
            "年",
            "月",
            "日",
        ]
        # the empty grid says （无记录）; a cell whose value is "empty" is drawn as it is
        page.wait_for_function(
            f"() => window.__drawn.some(([g, t]) => g === {ONE_ROW}"
            " && t === '数据里的 empty 原样显示')",
            timeout=10_000,
        )
        drawn = page.evaluate("() => window.__drawn")
        empty_grid = {text for grid, text in drawn if grid == EMPTY}
        one_row = {text for grid, text in drawn if grid == ONE_ROW}
        assert "（无记录）" in empty_grid and "empty" not in empty_grid
        assert {"编号", "金额（元）"} <= empty_grid
        assert {"empty", "数据里的 empty 原样显示"} <= one_row and "（无记录）" not in one_row

        # a multiselect's list: its bulk choice in Chinese, a page's own choice as it is
        page.get_by_role("combobox", name="多选").click()
        choices = page.get_by_test_id("stMultiSelectDropdown").get_by_role("option")
        choices.filter(has_text="全选").wait_for()
        assert [c.strip() for c in choices.all_inner_texts()] == ["全选", "甲", "乙", "Select all"]
        page.keyboard.press("Escape")
        page.get_by_test_id("stMultiSelectDropdown").wait_for(state="detached")
        # key figures: every label and value whole, inside its column, one size per row
        figures = page.evaluate(FIGURE_BOXES)
        assert {f["label"]: f["value"] for f in figures} | FIGURES == {
            f["label"]: f["value"] for f in figures
        }
        for figure in figures:
            assert not figure["labelCut"] and not figure["valueCut"], figure
            assert figure["valueRight"] <= figure["column"] + 1, figure
            assert figure["labelRight"] <= figure["column"] + 1, figure
        assert len({f["valueSize"] for f in figures}) == 1

        # a chart's own toolbar
        page.locator(".js-plotly-plot").hover()
        titles = page.evaluate(
            "() => Array.from(document.querySelectorAll('.modebar-btn'),"
            " (e) => e.getAttribute('data-title'))"
        )
        assert {"下载为 PNG 图片", "框选放大", "平移", "自动缩放", "还原坐标轴"} <= set(titles)
        assert all(re.fullmatch(r"[^A-Za-z]*(PNG)?[^A-Za-z]*", t) for t in titles), titles

        # the status while a run takes a while
        page.get_by_role("button", name="慢").click()
        status = page.get_by_test_id("stStatusWidget")
        status.get_by_role("button", name="停止").wait_for(timeout=15_000)
        assert status.get_by_role("img", name="正在运行…").count() == 1
        assert_no_english(page, "gallery, running")
        status.get_by_role("button", name="停止").click()
        time.sleep(0.5)
    finally:
        context.close()
