"""The 线索清单 page: AppTest runs of the page file on a generated district's run, and the running
app in headless Chromium."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import pipeline
from analytics.export import md_escape
from analytics.generate import generate
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.views import findings as view

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "findings.py")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("findings-page")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, out


def open_page(monkeypatch, drop: Path, out: Path, **params: str) -> AppTest:
    """The page run on its own, with the link's query parameters (finding=..., street=...)."""
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def listed(at: AppTest) -> pl.DataFrame:
    (table,) = [pl.from_pandas(df.value) for df in at.dataframe if "编号" in df.value.columns]
    return table


def test_page_lists_every_finding_and_opens_the_first(monkeypatch, district):
    drop, out = district
    findings = view.visible_findings(load_findings(out))
    at = open_page(monkeypatch, drop, out)

    assert at.title[0].value == "线索清单"
    table = listed(at)
    assert table["编号"].to_list() == findings["finding_id"].to_list()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["线索"] == f"{findings.height:,}"
    for family, title in (("funds", "资金比对"), ("integrity", "廉洁风险"), ("dynamic", "动态管理"),
                          ("process", "审批流程")):
        assert metrics[title] == f"{findings.filter(pl.col('family') == family).height:,}"
    first = findings.row(0, named=True)
    assert at.info[0].value == md_escape(first["summary"])
    assert any(m.value.startswith("**规则**：") for m in at.markdown)
    assert at.json
    assert [b.label for b in at.get("download_button")] == ["导出 Excel", "导出核查单（PDF）"]


def test_filters_narrow_the_list(monkeypatch, district):
    drop, out = district
    findings = load_findings(out)
    at = open_page(monkeypatch, drop, out)
    at.multiselect(key="findings_families").set_value(["dynamic"]).run()
    table = listed(at)
    assert table.height == findings.filter(pl.col("family") == "dynamic").height > 0
    assert set(table["类别"]) == {"动态管理"}
    # Only the family's checks are offered once a family is chosen.
    offered = set(at.multiselect(key="findings_checks").options)
    dynamic_titles = set(findings.filter(pl.col("family") == "dynamic")["title"])
    assert offered == dynamic_titles

    at.text_input(key="findings_case").set_value("no such case").run()
    assert listed(at).height == 0
    assert "当前筛选条件下没有线索。" in [i.value for i in at.info]


def test_a_link_opens_its_finding_with_the_evidence_masked(monkeypatch, district):
    drop, out = district
    findings = load_findings(out)
    row = findings.filter(pl.col("check_id") == "employment_found").row(0, named=True)
    at = open_page(monkeypatch, drop, out, finding=row["finding_id"])
    assert at.selectbox(key="findings_pick").value == row["finding_id"]
    assert at.info[0].value == md_escape(row["summary"])
    evidence = json.loads(at.json[0].value)
    raw = json.loads(row["evidence"])["member_events"][0]["id_number"]
    assert raw not in at.json[0].value
    assert evidence["家庭成员事件"][0]["身份证号"] == raw[:6] + "********" + raw[-4:]


def test_a_link_naming_a_street_starts_the_list_on_it(monkeypatch, district):
    drop, out = district
    findings = load_findings(out)
    street = findings.drop_nulls("street")["street"][0]
    at = open_page(monkeypatch, drop, out, street=street)
    assert at.multiselect(key="findings_streets").value == [street]
    assert listed(at).height == findings.filter(pl.col("street") == street).height
    # The visitor may widen the list again; the link does not win back on the next rerun.
    at.multiselect(key="findings_streets").set_value([]).run()
    assert listed(at).height == findings.height


def test_without_a_run_the_page_says_how_to_make_one(monkeypatch, district, tmp_path):
    drop, _ = district
    at = open_page(monkeypatch, drop, tmp_path / "empty")
    assert "还没有检查结果" in at.info[0].value and "运行全部检查" in at.info[0].value
    assert not at.dataframe


@pytest.mark.browser
def test_findings_page_in_headless_chromium(run_dashboard, browser_page, wait_for_app, district,
                                            tmp_path):
    drop, out = district
    findings = view.visible_findings(load_findings(out))
    base_url = run_dashboard(drop, out)
    page = browser_page

    page.goto(base_url)
    wait_for_app(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="线索清单").click()
    page.wait_for_url("**/findings", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("heading", name="线索清单").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    grid = page.locator(".st-key-findings_table [aria-rowcount]")
    grid.wait_for(state="attached")
    rows_on_screen = int(grid.get_attribute("aria-rowcount")) - 1  # less the header row
    assert rows_on_screen == findings.height

    with page.expect_download() as download:
        page.get_by_role("button", name="导出 Excel").click()
    content = Path(download.value.path()).read_bytes()
    exported = pl.read_excel(io.BytesIO(content), sheet_name=view.SHEET, infer_schema_length=0)
    assert exported.height == rows_on_screen
    assert exported["编号"].to_list() == findings["finding_id"].to_list()

    with page.expect_download() as download:
        page.get_by_role("button", name="导出核查单（PDF）").click()
    assert download.value.suggested_filename == "线索核查单.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    # An integrity finding opened here links to its evidence path on 关系图谱.
    integrity = findings.filter(pl.col("family") == "integrity").row(0, named=True)
    page.goto(f"{base_url}/findings?finding={integrity['finding_id']}")
    wait_for_app(page)
    page.locator('[data-testid="stAlertContentInfo"]').filter(
        has_text=integrity["summary"][:20]).first.wait_for()
    page.get_by_role("link", name="在关系图谱中查看证据路径").click()
    page.wait_for_url(f"**/graph?finding={integrity['finding_id']}", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("heading", name="关系图谱").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0

    # 街镇 links to the list of its own findings.
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="街镇").click()
    page.wait_for_url("**/street", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("link", name="的全部线索及证据").click()
    page.wait_for_url("**/findings?street=*", timeout=30_000)
    wait_for_app(page)
    (street,) = parse_qs(urlparse(page.url).query)["street"]
    grid = page.locator(".st-key-findings_table [aria-rowcount]")
    grid.wait_for(state="attached")
    expected = findings.filter(pl.col("street") == street).height
    assert 0 < expected < findings.height
    assert int(grid.get_attribute("aria-rowcount")) - 1 == expected


def test_a_long_list_draws_its_first_rows_and_a_link_still_opens_any(monkeypatch, district):
    drop, out = district
    findings = view.visible_findings(load_findings(out))
    monkeypatch.setattr(view, "MAX_ROWS", 25)
    last = findings.row(findings.height - 1, named=True)
    at = open_page(monkeypatch, drop, out, finding=last["finding_id"])
    table = listed(at)
    assert table["编号"].to_list() == findings["finding_id"].head(25).to_list()
    assert any(f"共 {findings.height:,} 条" in c.value and "前 25 条" in c.value
               for c in at.caption)
    assert at.selectbox(key="findings_pick").value == last["finding_id"]
    assert at.info[0].value == md_escape(last["summary"])
