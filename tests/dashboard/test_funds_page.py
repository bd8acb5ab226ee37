"""The 资金比对 page: AppTest runs of the page file on a small run, and the running app in
headless Chromium."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
from stdnum.cn import ric
from streamlit.testing.v1 import AppTest

from analytics import amounts, formats, pipeline
from analytics.export import md_escape
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.schema import STREETS
from analytics.views import funds as view
from checks.registry import select

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "funds.py")


def make_id(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


A1 = make_id("31010519800101123")
A2 = make_id("31010519751212002")
A3 = make_id("31010519660303004")
STAFF = make_id("31010519700707031")
ACC1, ACC2, ACC3 = "6222020200112233445", "6217000011112222333", "6228480012345678901"
ACC9 = "6212260011223344556"
RAW = (A1, A2, A3, STAFF, ACC1, ACC2, ACC3, ACC9)
H, J = "华阳路街道", "江苏路街道"


def write_drop(folder: Path) -> Path:
    """Two streets, two months: a duplicate, a wrong amount to a wrong account paid late, a
    payment after termination, a returned payment never re-paid, and the control totals."""
    files = {
        "staff.csv": ["staff_id,name,id_number,role,street", f"S001,王芳,{STAFF},街镇经办,{H}"],
        "persons.csv": [
            "id_number,name,household_id,street",
            f"{A1},李明,H1,{H}",
            f"{A2},张丽,H2,{J}",
            f"{A3},赵强,H3,{J}",
        ],
        "cases.csv": [
            "case_id,household_id,applicant_id_number,street,assistance_type,status,"
            "accepted_date,decided_date,termination_date",
            f"C1,H1,{A1},{H},最低生活保障,在册,2025-01-02,2025-01-20,",
            f"C2,H2,{A2},{J},最低生活保障,在册,2025-01-02,2025-01-20,",
            f"C3,H3,{A3},{J},最低生活保障,终止,2025-01-02,2025-01-20,2026-02-15",
        ],
        "accounts.csv": [
            "case_id,account_no,holder_id_number",
            f"C1,{ACC1},{A1}",
            f"C2,{ACC2},{A2}",
            f"C3,{ACC3},{A3}",
        ],
        "entitlements.csv": [
            "month,case_id,id_number,item,kind,amount,account_no",
            f"2026-02,C1,{A1},低保金,正常,1550.00,{ACC1}",
            f"2026-03,C1,{A1},低保金,正常,1550.00,{ACC1}",
            f"2026-02,C2,{A2},低保金,正常,1200.00,{ACC2}",
            f"2026-03,C2,{A2},低保金,正常,1200.00,{ACC2}",
        ],
        "ledger.csv": [
            "txn_id,batch_id,month,pay_date,street,fund_code,item,case_id,payee_id,payee_name,"
            "account_no,amount,status",
            f"T1,B02,2026-02,2026-02-10,{H},JZ01,低保金,C1,{A1},李明,{ACC1},1550.00,成功",
            f"T2,B03,2026-03,2026-03-10,{H},JZ01,低保金,C1,{A1},李明,{ACC1},1550.00,成功",
            f"T3,B03,2026-03,2026-03-12,{H},JZ01,低保金,C1,{A1},李明,{ACC1},1550.00,成功",
            f"T4,B03,2026-03,2026-03-20,{J},JZ01,低保金,C2,{A2},张丽,{ACC9},1000.00,成功",
            f"T5,B03,2026-03,2026-03-10,{J},JZ01,低保金,C3,{A3},赵强,{ACC3},800.00,成功",
            f"T6,B02,2026-02,2026-02-10,{J},JZ01,低保金,C2,{A2},张丽,{ACC2},1200.00,退票",
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in files.items():
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def funds_run(tmp_path_factory) -> tuple[Path, Path]:
    """(drop folder, output folder) of a funds-only run, made as the CLI makes it."""
    base = tmp_path_factory.mktemp("funds")
    drop, out = write_drop(base / "drop"), base / "out"
    pipeline.write_outputs(pipeline.run(drop, only=["funds"]), out)
    return drop, out


def expected(out: Path) -> pl.DataFrame:
    return view.funds_findings(load_findings(out))


def run_page(monkeypatch, drop: Path, out: Path, finding: str | None = None) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    if finding:
        at.query_params["finding"] = finding
    at.run()
    assert not at.exception, at.exception
    return at


def evidence_sections(at: AppTest) -> int:
    """How many grids the chosen finding's evidence draws, last on the page."""
    from analytics import evidence

    pick = [s for s in at.selectbox if s.key == "funds_pick"]
    if not pick:
        return 0
    chosen = expected(Path(os.environ["AIDWATCH_OUT"])).filter(
        pl.col("finding_id") == pick[0].value
    )
    return len(evidence.sections(chosen["evidence"][0])) if chosen.height else 0


def frames(at: AppTest) -> list[pl.DataFrame]:
    """The page's grids, without the evidence sections (tests/analytics/test_evidence.py)."""
    every = [pl.from_pandas(df.value) for df in at.dataframe]
    return every[: len(every) - evidence_sections(at)]


def findings_frame(at: AppTest) -> pl.DataFrame:
    (table,) = [f for f in frames(at) if "编号" in f.columns]
    return table


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_page_shows_metrics_charts_tables_and_the_top_finding(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    at = run_page(monkeypatch, drop, out)

    assert at.title[0].value == "资金比对"
    assert metrics(at) == {
        "发现数": str(funds.height),
        "资金类线索涉及金额（元）": formats.money_fen(amounts.money_at_risk_fen(funds)),
        # eight fired; every funds check ran but 身故后仍拨付 (no events table)
        "发现问题的检查项": f"8 / {len(select(['funds'])) - 1}",
        "跳过的检查项": "1",
    }
    assert "身故后仍拨付" in at.warning[0].value and "部门共享信息" in at.warning[0].value
    assert len(at.get("plotly_chart")) == 3
    by_check, by_street, matrix, table, entitled, paid = frames(at)
    assert by_check.height == len(select(["funds"]))  # every funds check, fired or not
    assert by_street["街镇"].to_list() == list(STREETS)
    assert matrix.columns[0] == "街镇"
    assert table["编号"].to_list() == funds["finding_id"].to_list()

    top = funds.row(0, named=True)
    assert at.selectbox(key="funds_pick").value == top["finding_id"]
    assert at.info[0].value == md_escape(top["summary"])
    assert top["check_id"] == "duplicate_payment"
    assert paid.select("流水号", "本条", "差异").rows() == [("T2", "", ""), ("T3", "●", "流水号")]
    assert entitled["救助编号"].to_list() == ["C1"]
    assert json.loads(at.json[0].value)["finding_id"] == top["finding_id"]
    assert [b.label for b in at.get("download_button")] == ["导出 Excel", "下载原始证据（JSON）"]


def test_filters_narrow_metrics_and_table(monkeypatch, funds_run):
    drop, out = funds_run
    at = run_page(monkeypatch, drop, out)

    at.multiselect(key="funds_streets").set_value([H]).run()
    assert not at.exception
    assert findings_frame(at)["街镇"].to_list() == [H, H]
    assert metrics(at)["发现数"] == "2"

    at.multiselect(key="funds_checks").set_value(["control_total_mismatch"]).run()
    table = findings_frame(at)
    assert table["检查项"].to_list() == ["汇总金额不符"]
    assert at.info[0].value == md_escape(table["摘要"][0])


def test_picking_a_finding_shows_its_rows_side_by_side(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    mismatch = funds.filter(pl.col("check_id") == "amount_mismatch").row(0, named=True)
    at = run_page(monkeypatch, drop, out)

    at.selectbox(key="funds_pick").set_value(mismatch["finding_id"]).run()

    assert not at.exception
    assert at.info[0].value == md_escape(mismatch["summary"])
    *_, entitled, paid = frames(at)
    assert entitled.select("救助编号", "差异").rows() == [("C2", "应发金额（元）、银行账号")]
    assert paid.select("流水号", "差异").rows() == [("T4", "金额（元）、银行账号")]
    assert any("案件C2" in c.value for c in at.caption)


def test_a_link_naming_a_finding_opens_it(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    last = funds.row(funds.height - 1, named=True)
    at = run_page(monkeypatch, drop, out, finding=last["finding_id"])
    assert at.selectbox(key="funds_pick").value == last["finding_id"]
    assert at.info[0].value == md_escape(last["summary"])
    # Another finding picked by hand stays picked: the link does not win it back.
    first = funds.row(0, named=True)
    at.selectbox(key="funds_pick").set_value(first["finding_id"]).run()
    assert at.info[0].value == md_escape(first["summary"])


def test_a_long_list_draws_its_first_rows_and_exports_both(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    assert funds.height > 2
    monkeypatch.setattr(view, "MAX_ROWS", 2)
    last = funds.row(funds.height - 1, named=True)
    at = run_page(monkeypatch, drop, out, finding=last["finding_id"])
    assert findings_frame(at)["编号"].to_list() == funds["finding_id"].head(2).to_list()
    assert [b.label for b in at.get("download_button")] == [
        "导出本页显示的 2 条（Excel）",
        f"导出全部 {funds.height:,} 条筛选结果（Excel）",
        "下载原始证据（JSON）",
    ]
    assert any("前 2 条" in c.value for c in at.caption)
    assert at.selectbox(key="funds_pick").value == last["finding_id"]
    assert at.info[0].value == md_escape(last["summary"])


def test_nothing_unmasked_reaches_the_page(monkeypatch, funds_run):
    drop, out = funds_run
    at = run_page(monkeypatch, drop, out)
    funds = expected(out)
    shown = []
    for fid in funds["finding_id"]:
        at.selectbox(key="funds_pick").set_value(fid).run()
        shown += [" ".join(str(v) for c in f.columns for v in f[c]) for f in frames(at)]
        shown += [e.value for e in (*at.markdown, *at.caption, *at.info, *at.warning, *at.json)]
    shown += at.selectbox(key="funds_pick").options
    text = " ".join(shown)
    assert "310105********" in text and "6212 **** ****" in text
    assert not any(raw in text for raw in RAW)


def test_without_a_run_the_page_says_how_to_make_one(monkeypatch, funds_run, tmp_path):
    drop, _ = funds_run
    at = run_page(monkeypatch, drop, tmp_path / "empty")
    assert "还没有检查结果" in at.info[0].value and "aidwatch check" in at.info[0].value
    assert not at.dataframe and not at.metric


def test_without_the_drop_the_finding_still_shows_with_its_evidence(
    monkeypatch, funds_run, tmp_path
):
    _, out = funds_run
    at = run_page(monkeypatch, tmp_path / "gone", out)
    assert any("找不到数据文件夹" in w.value for w in at.warning)
    assert at.info[0].value == md_escape(expected(out)["summary"][0])
    # three chart tables and the findings; no comparison; the evidence as its rows
    assert evidence_sections(at) > 0
    assert len(frames(at)) == 4
    assert at.json


@pytest.mark.browser
def test_funds_page_in_headless_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, tmp_path
):
    drop, out = write_drop(tmp_path / "drop"), tmp_path / "out"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics.cli",
            "check",
            str(drop),
            "--out",
            str(out),
            "--only",
            "funds",
            "--quiet",
        ],
        cwd=PROJECT_ROOT,
        check=True,
        capture_output=True,
    )
    funds = expected(out)
    base_url = run_dashboard(drop, out)
    page = browser_page

    # The entrypoint first (the login): it registers the page list before a page is opened by its
    # path, in a new page load that the login cookie keeps logged in.
    browser_login(page, base_url)
    page.wait_for_function("() => document.cookie.includes('aidwatch_session=')")
    page.goto(f"{base_url}/funds")
    wait_for_app(page)

    page.get_by_role("heading", name="资金比对").wait_for()
    info = page.locator('[data-testid="stAlertContentInfo"]')
    info.filter(has_text=funds["summary"][0]).wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    grid = page.locator(".st-key-funds_table [aria-rowcount]")
    rows_on_screen = int(grid.get_attribute("aria-rowcount")) - 1  # less the header row
    assert rows_on_screen == funds.height

    with page.expect_download() as download:
        page.get_by_role("button", name="导出 Excel").click()
    content = Path(download.value.path()).read_bytes()
    exported = pl.read_excel(io.BytesIO(content), sheet_name=view.SHEET, infer_schema_length=0)
    assert exported.height == rows_on_screen
    assert exported["编号"].to_list() == funds["finding_id"].to_list()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = b"".join(archive.read(name) for name in archive.namelist()).decode("utf-8")
    assert not any(raw in xml for raw in RAW)

    # Ticking the last row's box opens that finding below the table.
    row_height = 35
    page.locator(".st-key-funds_table .dvn-scroller").click(
        position={"x": 15, "y": row_height * rows_on_screen + row_height // 2}
    )
    wait_for_app(page)
    info.filter(has_text=funds["summary"][-1]).wait_for()
