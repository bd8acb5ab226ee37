"""关系图谱 page: AppTest runs of the page file, and a real headless Chromium visit."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import pipeline
from analytics.parse import id18_check_digit
from analytics.reference import PROJECT_ROOT

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "graph.py")


def _id(body17: str) -> str:
    return body17 + id18_check_digit(body17)


STAFF = _id("31010519750606031")
A, B = _id("31010519800101001"), _id("31010519820305022")
X, Y, Z = _id("31010519651212003"), _id("31010519900202004"), _id("31010519930303005")
PARENT = _id("31010519500101006")
ACC1, ACC2, ACC3 = "6222020200112233445", "6217000011112222333", "6228480402564890018"
PHONE = "13812345678"
RAW = (STAFF, A, B, X, Y, Z, PARENT, ACC1, ACC2, ACC3, PHONE)


def write_integrity_drop(folder: Path) -> Path:
    """A staff member whose sibling's case he handles, whose spouse's card his parent keeps, who
    holds a recipient's account and shares a phone with another recipient."""
    folder.mkdir(parents=True, exist_ok=True)
    street = "天山路街道"
    tables = {
        "staff.csv": [
            "staff_id,name,id_number,role,street,phone,address,salary_account",
            f"S1,王芳,{STAFF},街镇经办,{street},{PHONE},天山路100弄5号301,{ACC3}",
            f"S2,李强,{_id('31010519810909042')},街镇审核,{street},,,",
        ],
        "persons.csv": [
            "id_number,name,household_id,street,phone,address",
            f"{A},甲,H1,{street},{PHONE},",
            f"{B},乙,H1,{street},,上海市长宁区天山路100弄5号301室",
            f"{X},丙,H2,{street},,",
            f"{Y},丁,H3,{street},,",
            f"{Z},戊,H4,{street},,",
        ],
        "cases.csv": [
            "case_id,household_id,applicant_id_number,street,assistance_type,status,"
            "accepted_date,decided_date,handler_id,reviewer_id"
        ]
        + [
            f"C{i},H{i},{who},{street},最低生活保障,在册,2025-01-02,2025-01-20,{h},S2"
            for i, who, h in ((1, A, "S1"), (2, X, "S1"), (3, Y, "S2"), (4, Z, "S2"))
        ],
        "accounts.csv": [
            "case_id,account_no,holder_id_number,custodian_id_number",
            f"C1,{ACC1},{A},{PARENT}",
            f"C2,{ACC1},{STAFF},",
            f"C3,{ACC2},{Y},{PARENT}",
            f"C4,{ACC3},{Z},{PARENT}",
        ],
        "entitlements.csv": ["month,case_id,id_number,item,kind,amount,account_no"]
        + [
            f"2026-03,C{i},{who},低保金,正常,1550.00,{acc}"
            for i, who, acc in ((1, A, ACC1), (2, X, ACC1), (3, Y, ACC2), (4, Z, ACC3))
        ],
        "ledger.csv": [
            "txn_id,month,pay_date,street,fund_code,item,case_id,payee_id,account_no,amount,status"
        ]
        + [
            f"T{i},2026-03,2026-03-10,{street},JZ01,低保金,C{i},{who},{acc},1550.00,成功"
            for i, who, acc in ((1, A, ACC1), (2, X, ACC1), (3, Y, ACC2), (4, Z, ACC3))
        ],
        "relations.csv": [
            "id_number_a,id_number_b,relation",
            f"{PARENT},{STAFF},父母",
            f"{PARENT},{X},父母",
            f"{STAFF},{Y},配偶",
        ],
        "relative_filings.csv": ["staff_id,relative_id_number,filed_date"],
        "custody_filings.csv": ["account_no,custodian_id_number,filed_date,valid_to"],
    }
    for name, lines in tables.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def integrity_run(tmp_path) -> tuple[Path, Path, pl.DataFrame]:
    drop = write_integrity_drop(tmp_path / "drop")
    out = tmp_path / "out"
    outcome = pipeline.run(drop)
    assert outcome.read.rejects.height == 0
    pipeline.write_outputs(outcome, out)
    from analytics.results import load_findings

    return drop, out, load_findings(out)


def _finding(findings: pl.DataFrame, check_id: str) -> str:
    return findings.filter(pl.col("check_id") == check_id).get_column("finding_id")[0]


def run_page(monkeypatch, drop, out, finding=None) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    if finding:
        at.query_params["finding"] = finding
    at.run()
    assert not at.exception, at.exception
    return at


def _figures(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def _shown(at) -> str:
    text = " ".join(
        str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.metric)
    )
    for df in at.dataframe:
        text += " " + df.value.to_csv()
    for fig in _figures(at):
        text += json.dumps(fig, ensure_ascii=False)
    return text


def test_opens_on_the_finding_named_in_the_link(monkeypatch, integrity_run):
    drop, out, findings = integrity_run
    fid = _finding(findings, "handled_relative_case")
    at = run_page(monkeypatch, drop, out, finding=fid)

    assert at.title[0].value == "关系图谱"
    assert at.radio(key="graph_start").value == "从线索"
    assert at.selectbox(key="graph_finding").value == fid
    (figure,) = _figures(at)
    path = next(t for t in figure["data"] if t.get("name") == "证据路径")
    # staff -> self -> parent -> sibling -> case, and the handler's own edge: 5 segments
    assert len(path["x"]) == 5 * 3
    markdown = " ".join(m.value for m in at.markdown)
    assert "证据路径" in markdown and "父母" in markdown and "子女" in markdown


def test_a_second_link_wins_over_the_first(monkeypatch, integrity_run):
    drop, out, findings = integrity_run
    first = _finding(findings, "handled_relative_case")
    second = _finding(findings, "staff_linked_account")
    at = run_page(monkeypatch, drop, out, finding=first)
    at.query_params["finding"] = second
    at.run()
    assert at.selectbox(key="graph_finding").value == second
    # A finding picked by hand then stays picked while the link is unchanged.
    at.selectbox(key="graph_finding").set_value(first).run()
    assert at.selectbox(key="graph_finding").value == first


def test_no_raw_identifier_reaches_the_page(monkeypatch, integrity_run):
    drop, out, findings = integrity_run
    at = run_page(monkeypatch, drop, out, finding=_finding(findings, "staff_linked_account"))
    shown = _shown(at)
    assert "6222 **** **** *** 3445" in shown or "6228 **** **** *** 0018" in shown
    assert not [raw for raw in RAW if raw in shown]


@pytest.mark.parametrize(
    ("start", "key", "value"),
    [
        ("从人员", "graph_person", X),
        ("从银行账户", "graph_account", ACC1),
    ],
    ids=["person", "account"],
)
def test_start_from_a_person_or_an_account(monkeypatch, integrity_run, start, key, value):
    drop, out, _ = integrity_run
    at = run_page(monkeypatch, drop, out)
    at.radio(key="graph_start").set_value(start).run()
    at.text_input(key=key).input(value).run()
    assert not at.exception
    (figure,) = _figures(at)
    names = {t.get("name") for t in figure["data"]}
    assert {"人员", "案件"} <= names
    assert not [raw for raw in RAW if raw in _shown(at)]


def test_start_from_staff_and_unknown_person(monkeypatch, integrity_run):
    drop, out, _ = integrity_run
    at = run_page(monkeypatch, drop, out)
    at.radio(key="graph_start").set_value("从工作人员").run()
    at.selectbox(key="graph_staff").set_value("S1").run()
    assert len(_figures(at)) == 1
    at.radio(key="graph_start").set_value("从人员").run()
    at.text_input(key="graph_person").input("310105199901011234").run()
    assert "没有找到" in at.warning[0].value


def test_clusters_are_ranked_and_exportable(monkeypatch, integrity_run):
    drop, out, _ = integrity_run
    at = run_page(monkeypatch, drop, out)
    ranking = next(df.value for df in at.dataframe if "排名" in df.value.columns)
    assert ranking["排名"].tolist()[0] == 1
    assert ranking["线索数"].tolist() == sorted(ranking["线索数"].tolist(), reverse=True)
    assert [b.label for b in at.get("download_button")] == ["导出该线索群的证据（Excel）"]
    at.selectbox(key="graph_street").set_value("华阳路街道").run()
    assert any("没有包含" in i.value for i in at.info)


def test_missing_drop_folder_is_a_warning(monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path / "nowhere", tmp_path / "out")
    assert "找不到数据文件夹" in at.warning[0].value


@pytest.mark.browser
def test_page_opens_from_a_finding_in_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, integrity_run, tmp_path
):
    drop, out, findings = integrity_run
    fid = _finding(findings, "handled_relative_case")
    base_url = run_dashboard(drop, out)
    page = browser_page

    # The link is kept through the login (关系图谱 is a district role's page).
    browser_login(page, base_url, path=f"graph?finding={fid}")
    page.get_by_role("heading", name="关系图谱").wait_for()
    page.locator(".js-plotly-plot").first.wait_for()
    # The evidence path is drawn: a legend entry and a thick red line in the SVG.
    page.locator(".js-plotly-plot .legendtext", has_text="证据路径").first.wait_for()
    strokes = page.locator(".js-plotly-plot .scatterlayer path.js-line").evaluate_all(
        "els => els.map(e => e.style.stroke)"
    )
    assert "rgb(230, 25, 75)" in strokes
    page.get_by_text("证据路径：", exact=False).first.wait_for()
    body = page.locator("body").inner_text()
    assert not [raw for raw in RAW if raw in body]
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "graph.png"), full_page=True)
    assert (tmp_path / "graph.png").stat().st_size > 10_000
