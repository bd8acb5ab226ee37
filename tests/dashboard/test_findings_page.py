"""The 线索清单 page: AppTest runs of the page file on a generated district's run (outside the
workspace, and recorded in one on SQLite and PostgreSQL for the triage moves), and the running
app in headless Chromium."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import pipeline, tracking
from analytics.access import Viewer
from analytics.export import md_escape
from analytics.generate import generate
from analytics.reader import read_drop
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.store import Workspace
from analytics.store.findings import apply_move, history_frame, states_frame
from analytics.views import findings as view
from analytics.views import triage
from analytics.workflow.triage import MoveInput
from tests.dashboard.conftest import login

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "findings.py")
# Who works the findings in the triage tests: a district supervisor, by the name the records keep.
ZHANG = Viewer(name="张三", role="civil_affairs", account="zhangsan")
STREET = "华阳路街道"
STREET_USER = Viewer(name="街镇经办（测试）", role="street", street=STREET, account="street")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("findings-page")
    drop, out = base / "drop", base / "out"
    generate(drop, households=600, seed=7)
    pipeline.write_outputs(pipeline.run(drop), out)
    return drop, out


def open_page(
    monkeypatch, drop: Path, out: Path, viewer: Viewer | None = None, **params: str
) -> AppTest:
    """The page run on its own, with the link's query parameters (finding=..., street=...),
    logged in as ``viewer`` (else as the conftest's supervisor)."""
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    if viewer is not None:
        login(at, viewer)
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
    for family, title in (
        ("funds", "资金比对"),
        ("integrity", "廉洁风险"),
        ("dynamic", "动态管理"),
        ("process", "审批流程"),
    ):
        assert metrics[title] == f"{findings.filter(pl.col('family') == family).height:,}"
    first = findings.row(0, named=True)
    assert at.info[0].value == md_escape(first["summary"])
    assert any(m.value.startswith("**规则**：") for m in at.markdown)
    assert at.json
    assert [b.label for b in at.get("download_button")] == [
        "导出 Excel",
        "导出核查单（PDF）",
        "下载原始证据（JSON）",
    ]


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
    raw = json.loads(row["evidence"])["member_events"][0]["id_number"]
    (events,) = [
        pl.from_pandas(df.value)
        for df in at.dataframe
        if list(df.value.columns) == ["身份证号", "发生日期", "来源部门"]
    ]
    assert events["身份证号"].to_list() == [raw[:6] + "********" + raw[-4:]]
    # the JSON offered beside it is masked too
    assert raw not in at.json[0].value
    assert json.loads(at.json[0].value)["member_events"][0]["id_number"] == events["身份证号"][0]


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
def test_findings_page_in_headless_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, district, tmp_path
):
    drop, out = district
    findings = view.visible_findings(load_findings(out))
    base_url = run_dashboard(drop, out)
    page = browser_page

    browser_login(page, base_url)  # a district supervisor: every street's findings
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
        has_text=integrity["summary"][:20]
    ).first.wait_for()
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
    assert any(
        f"共 {findings.height:,} 条" in c.value and "前 25 条" in c.value for c in at.caption
    )
    assert at.selectbox(key="findings_pick").value == last["finding_id"]
    assert at.info[0].value == md_escape(last["summary"])


# --- triage: the district's run recorded in a workspace -------------------------------------------


@pytest.fixture
def workspace_run(monkeypatch, tmp_path, db_url, district) -> tuple[Path, Path, Workspace]:
    """(drop, the run's outputs, the workspace) of the district checked in a workspace of its
    own, on each database; the page opens that workspace."""
    drop, _ = district
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "ws"))
    ws = Workspace.open(tmp_path / "ws")
    recorded = tracking.record_check(ws, drop, read_drop(drop), by="测试", origin="test")
    yield drop, recorded.out, ws
    ws.close()


def state_of(ws: Workspace, fid: str) -> dict:
    return states_frame(ws.store).filter(pl.col("finding_id") == fid).row(0, named=True)


def moved(
    ws: Workspace, fid: str, name: str, by: str = "王五", today: date | None = None, **given
) -> None:
    """A move made by someone else, straight into the database."""
    apply_move(
        ws.store,
        fid,
        name,
        MoveInput(**given),
        by=by,
        expected_version=state_of(ws, fid)["version"],
        today=today or date.today(),
        default_due=date.today() + timedelta(days=14),
    )


def labelled(elements, label: str):
    (found,) = [e for e in elements if e.label == label]
    return found


def grid_with(at: AppTest, column: str) -> pl.DataFrame:
    (grid,) = [pl.from_pandas(df.value) for df in at.dataframe if column in df.value.columns]
    return grid


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in at.get(kind)]


def test_a_run_outside_the_workspace_lists_its_findings_as_unregistered(monkeypatch, district):
    drop, out = district
    at = open_page(monkeypatch, drop, out)
    assert set(listed(at)["状态"]) == {"未登记"}
    assert listed(at).columns[:6] == ["编号", "状态", "承办", "期限", "逾期", "发现情况"]
    assert any("未登记到当前工作区" in c for c in texts(at, "caption"))
    assert triage.NOT_REGISTERED + "。" in texts(at, "info")
    assert not [r for r in at.radio if r.key == "findings_move"]
    assert not [b for b in at.button if b.key == "findings_move_submit"]


def test_the_list_shows_each_state_and_filters_by_state_assignee_and_due_date(
    monkeypatch, workspace_run
):
    drop, out, ws = workspace_run
    ids = view.visible_findings(load_findings(out))["finding_id"].to_list()
    late, soon, dismissed = ids[:3]
    moved(
        ws,
        late,
        "assign",
        assignee_street="华阳路街道",
        today=date(2026, 1, 5),
        due_date=date(2026, 1, 9),
    )
    moved(ws, soon, "assign", assignee="李四", due_date=date.today() + timedelta(days=3))
    moved(ws, dismissed, "dismiss", reason="重复记录")
    at = open_page(monkeypatch, drop, out)

    table = listed(at)
    assert table["编号"].to_list() == ids
    states = dict(zip(table["编号"], table["状态"], strict=True))
    assert (states[late], states[soon], states[dismissed]) == ("核实中", "核实中", "不属实")
    assert set(table["状态"][3:]) == {"待核实"}
    first = table.row(0, named=True)
    assert (first["承办"], first["逾期"]) == ("华阳路街道", "是")
    assert table.row(1, named=True)["承办"] == "李四" and table.row(1, named=True)["逾期"] is None

    at.multiselect(key="findings_states").set_value(["verifying"]).run()
    assert listed(at)["编号"].to_list() == [late, soon]
    assert at.metric[0].value == "2"
    at.multiselect(key="findings_assignees").set_value(["李四"]).run()
    assert listed(at)["编号"].to_list() == [soon]
    at.multiselect(key="findings_assignees").set_value([]).run()
    at.selectbox(key="findings_due").set_value("overdue").run()
    assert listed(at)["编号"].to_list() == [late]
    at.selectbox(key="findings_due").set_value("week").run()
    assert listed(at)["编号"].to_list() == [soon]
    at.multiselect(key="findings_states").set_value(["unfounded"]).run()
    at.selectbox(key="findings_due").set_value("all").run()
    assert listed(at)["编号"].to_list() == [dismissed]
    assert "未登记" not in at.multiselect(key="findings_states").options

    # The export holds the state columns of the rows on screen.
    exported = pl.read_excel(
        io.BytesIO(
            view.findings_excel(
                triage.with_states(
                    view.visible_findings(load_findings(out)),
                    states_frame(ws.store),
                    today=date.today(),
                )
            )
        ),
        sheet_name=view.SHEET,
        infer_schema_length=0,
    )
    assert exported.columns[:6] == ["编号", "状态", "承办", "期限", "逾期", "发现情况"]
    assert exported["状态"].to_list()[:3] == ["核实中", "核实中", "不属实"]


def test_assign_then_confirm_through_the_form(monkeypatch, workspace_run):
    drop, out, ws = workspace_run
    fid = view.visible_findings(load_findings(out))["finding_id"][3]
    at = open_page(monkeypatch, drop, out, ZHANG, finding=fid)
    assert "**当前状态**：待核实" in texts(at, "markdown")
    radio = at.radio(key="findings_move")
    assert radio.options == ["分派核实", "核实不属实"] and radio.value == "assign"
    # No 操作人 box: the move is recorded under the logged-in user's name.
    assert not at.sidebar.text_input

    labelled(at.selectbox, "分派给街镇").set_value("江苏路街道")
    labelled(at.text_input, "或核实人").input("李四")
    labelled(at.date_input, "期限").set_value(date.today() + timedelta(days=14))
    at.button(key="findings_move_submit").click().run()
    assert not at.exception and not texts(at, "error")
    assert "已执行“分派核实”：待核实 → 核实中。" in texts(at, "success")
    assert any(
        m.startswith("**当前状态**：核实中 · 承办：江苏路街道 · 李四 · 期限：")
        for m in texts(at, "markdown")
    )
    row = listed(at).filter(pl.col("编号") == fid).row(0, named=True)
    assert (row["状态"], row["承办"]) == ("核实中", "江苏路街道 · 李四")

    at.radio(key="findings_move").set_value("confirm").run()
    labelled(at.text_area, "备注（选填）").input("入户核实，情况属实")
    at.button(key="findings_move_submit").click().run()
    assert "已执行“核实属实”：核实中 → 属实。" in texts(at, "success")
    assert state_of(ws, fid)["state"] == "confirmed"
    history = grid_with(at, "操作人")
    assert history["操作"].to_list() == ["发现线索", "分派核实", "核实属实"]
    assert history["操作人"].to_list() == ["系统（检查运行）", "张三", "张三"]
    assert history["状态变化"].to_list()[-1] == "核实中 → 属实"
    assert history["备注"].to_list()[-1] == "入户核实，情况属实"
    occurrences = grid_with(at, "情况")
    assert occurrences["情况"].to_list() == ["首次发现"]
    # A confirmed finding goes on to a disposition of its family.
    assert "责令整改" in at.radio(key="findings_move").options


def test_a_change_made_meanwhile_refuses_the_move_and_shows_the_latest_state(
    monkeypatch, workspace_run
):
    drop, out, ws = workspace_run
    fid = view.visible_findings(load_findings(out))["finding_id"][0]
    at = open_page(monkeypatch, drop, out, ZHANG, finding=fid)
    at.radio(key="findings_move").set_value("dismiss").run()
    labelled(at.text_area, "理由（必填）").input("重复记录")

    moved(ws, fid, "assign", by="王五", assignee="王五")  # someone else, meanwhile
    at.button(key="findings_move_submit").click().run()
    (error,) = texts(at, "error")
    assert error.startswith("这条线索刚被他人修改过") and "最新状态：核实中（王五 于" in error
    assert any(m.startswith("**当前状态**：核实中 · 承办：王五") for m in texts(at, "markdown"))
    assert state_of(ws, fid)["state"] == "verifying"
    assert history_frame(ws.store, fid)["by"].to_list() == ["系统（检查运行）", "王五"]

    # Drawn again on the latest state, the same person's move goes through.
    labelled(at.text_area, "理由（必填）").input("重复记录")
    at.button(key="findings_move_submit").click().run()
    assert not texts(at, "error")
    assert state_of(ws, fid)["state"] == "unfounded"


def test_bulk_dismiss_refuses_the_one_it_does_not_suit(monkeypatch, workspace_run):
    drop, out, ws = workspace_run
    ids = view.visible_findings(load_findings(out))["finding_id"].to_list()
    moved(ws, ids[1], "dismiss", reason="已核实")
    at = open_page(monkeypatch, drop, out, ZHANG)
    at.session_state["findings_table"] = {
        "selection": {"rows": [0, 1, 2], "columns": [], "cells": []}
    }
    at.run()
    assert "批量处理" in texts(at, "subheader")
    bulk = at.radio(key="findings_bulk_move")
    assert bulk.options == ["分派核实", "核实不属实", "重新打开"]
    bulk.set_value("dismiss").run()
    labelled(at.text_area, "理由（必填）").input("档案核查：系统误报")
    at.button(key="findings_bulk_submit").click().run()

    assert "“核实不属实”已执行 2 条，1 条未执行：" in texts(at, "success")
    refused = grid_with(at, "原因")
    assert refused["编号"].to_list() == [ids[1]]
    assert "不能执行" in refused["原因"][0]
    assert [state_of(ws, f)["state"] for f in ids[:3]] == ["unfounded"] * 3
    assert history_frame(ws.store, ids[0])["reason"].to_list()[-1] == "档案核查：系统误报"
    assert history_frame(ws.store, ids[0])["by"].to_list()[-1] == "张三"
    assert history_frame(ws.store, ids[1])["by"].to_list()[-1] == "王五"
    # The grid is unticked after the move: its rows may have moved.
    assert list(at.session_state["findings_table"]["selection"]["rows"]) == []
    assert "批量处理" not in texts(at, "subheader")


def test_what_people_type_is_shown_as_typed(monkeypatch, workspace_run):
    """Names and reasons typed by people are data like any other: escaped in Markdown,
    neutralised in grids."""
    drop, out, ws = workspace_run
    fid = view.visible_findings(load_findings(out))["finding_id"][0]
    name = '=HYPERLINK("http://evil.example/a","点")'
    person = "<b>李四</b>[核实](http://evil.example/p)"
    moved(ws, fid, "assign", by=name, assignee=person)
    at = open_page(monkeypatch, drop, out, ZHANG, finding=fid)
    status = "**当前状态**：" + md_escape(f"核实中 · 承办：{person} · 期限：")
    assert any(m.startswith(status) for m in texts(at, "markdown"))
    assert grid_with(at, "操作人")["操作人"].to_list()[-1] == "'" + name
    assert listed(at).row(0, named=True)["承办"] == person

    # the stale message names who changed it, escaped
    at.radio(key="findings_move").set_value("dismiss").run()
    labelled(at.text_area, "理由（必填）").input("[点此](http://evil.example/r)")
    moved(ws, fid, "extend", by=name, reason="延期", due_date=date.today() + timedelta(days=30))
    at.button(key="findings_move_submit").click().run()
    (error,) = texts(at, "error")
    assert md_escape(name) in error and name not in error


# --- login and roles ---------------------------------------------------------------------------


def page_text(at: AppTest) -> str:
    """Everything the page drew, as text: every element's message (labels, values, options,
    Markdown, JSON, the grids' data) and the grids' cells."""
    parts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    parts += [df.value.to_csv() for df in at.dataframe]
    return "\n".join(parts)


def test_a_move_needs_a_login(monkeypatch, workspace_run):
    """With nobody logged in the page shows only that one must log in, and a form drawn before
    the login ended writes nothing."""
    drop, out, ws = workspace_run
    fid = view.visible_findings(load_findings(out))["finding_id"][0]
    at = open_page(monkeypatch, drop, out, ZHANG, finding=fid)
    at.radio(key="findings_move").set_value("dismiss").run()
    labelled(at.text_area, "理由（必填）").input("重复记录")
    login(at, None)  # the login ends (logged out, expired) before the form is sent
    at.button(key="findings_move_submit").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["请先登录。"]
    assert not at.title and not at.dataframe and not at.radio and not at.button
    assert not [
        e
        for kind in ("markdown", "caption", "info", "success", "warning")
        for e in getattr(at, kind)
    ]
    assert fid not in page_text(at)
    assert state_of(ws, fid)["state"] == "new"
    assert history_frame(ws.store, fid)["by"].to_list() == ["系统（检查运行）"]


def test_a_member_unit_may_not_open_the_list(monkeypatch, district):
    drop, out = district
    member = Viewer(name="成员单位（测试）", role="member_unit", unit="区住房保障局")
    at = open_page(monkeypatch, drop, out, member)
    assert [e.value for e in at.error] == ["当前账号无权查看本页。"]
    assert not at.title and not at.dataframe and not at.metric and not at.json
    text = page_text(at)
    assert not any(fid in text for fid in load_findings(out)["finding_id"])


def test_a_street_sees_only_its_own_findings(monkeypatch, district):
    drop, out = district
    findings = view.visible_findings(load_findings(out))
    own = findings.filter(pl.col("street") == STREET)
    others = findings.filter((pl.col("street") != STREET) | pl.col("street").is_null())
    assert own.height and others.height
    # A link naming another street's finding does not open it.
    foreign = others.row(0, named=True)
    at = open_page(monkeypatch, drop, out, STREET_USER, finding=foreign["finding_id"])
    assert not at.exception and not at.error
    assert listed(at)["编号"].to_list() == own["finding_id"].to_list()
    assert {m.label: m.value for m in at.metric}["线索"] == f"{own.height:,}"
    assert at.multiselect(key="findings_streets").options == [STREET]
    assert at.selectbox(key="findings_pick").value == own["finding_id"][0]
    assert at.info[0].value == md_escape(own["summary"][0])
    text = page_text(at)
    assert own["finding_id"][0] in text  # the page's text is all there
    leaked = [fid for fid in others["finding_id"] if fid in text]
    assert not leaked
    assert foreign["summary"] not in text


def test_a_district_supervisor_sees_every_street(monkeypatch, district):
    """The street test's counterpart: the same page text holds other streets' findings for a
    district role, so their absence above is the role's doing."""
    drop, out = district
    findings = view.visible_findings(load_findings(out))
    at = open_page(monkeypatch, drop, out)
    assert listed(at)["编号"].to_list() == findings["finding_id"].to_list()
    text = page_text(at)
    assert all(fid in text for fid in findings["finding_id"])
