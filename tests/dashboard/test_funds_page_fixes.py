"""资金比对 as a supervisor reads it: the money figure under its own label with its definition,
every street in the charts (zero where nothing was found), the two sides of a comparison one
above the other with their amounts formatted, the export holding the rows shown, the finding box
naming the finding shown after a filter change, a link to no finding saying so, and the filters
kept across pages. AppTest runs of the page file, and one run in headless Chromium."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from stdnum.cn import ric
from streamlit.testing.v1 import AppTest

from analytics import amounts, formats, pipeline
from analytics.access import Viewer
from analytics.export import md_escape
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.schema import STREETS
from analytics.views import funds as view
from tests.dashboard.conftest import login

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "funds.py")
H, J = "华阳路街道", "江苏路街道"
MONEY_GRID = formats.GRID_FORMAT[formats.MONEY]


def make_id(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


A1, A2, A3 = (make_id(b) for b in ("31010519800101123", "31010519751212002", "31010519660303004"))
STAFF = make_id("31010519700707031")
ACC1, ACC2, ACC3 = "6222020200112233445", "6217000011112222333", "6228480012345678901"
ACC9 = "6212260011223344556"


def write_drop(folder: Path) -> Path:
    """Two streets, two months: a duplicate, a wrong amount to a wrong account paid late (one
    payment two checks flag), a payment after termination and without entitlement (another),
    a returned payment never re-paid, and the control totals that re-count them."""
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
    base = tmp_path_factory.mktemp("funds_fixes")
    drop, out = write_drop(base / "drop"), base / "out"
    pipeline.write_outputs(pipeline.run(drop, only=["funds"]), out)
    return drop, out


def expected(out: Path) -> pl.DataFrame:
    return view.funds_findings(load_findings(out))


def open_page(
    monkeypatch, drop: Path, out: Path, viewer: Viewer | None = None, finding: str | None = None
) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(out))
    at = AppTest.from_file(PAGE, default_timeout=60)
    if viewer is not None:
        login(at, viewer)
    if finding:
        at.query_params["finding"] = finding
    at.run()
    assert not at.exception, at.exception
    return at


def grid(at: AppTest, first_column: str, *, index: int = 0):
    """The index-th grid whose first column is ``first_column``."""
    return [d for d in at.dataframe if list(d.value.columns)[:1] == [first_column]][index]


def frame_of(element) -> pl.DataFrame:
    return pl.from_pandas(element.value)


def config_of(element) -> dict:
    return json.loads(element.proto.columns)


def street_chart(at: AppTest) -> dict:
    (chart,) = [
        c
        for c in at.get("plotly_chart")
        if "各街镇" in json.loads(c.proto.spec)["layout"]["title"]["text"]
    ]
    return json.loads(chart.proto.spec)


def label_of(finding: dict) -> str:
    return f"{finding['title']} · {finding['summary']}"


def drawn_label(at: AppTest) -> str:
    """The label the browser shows in the finding box after this run: the value the page sent
    with the box (the browser keeps its own otherwise)."""
    box = at.selectbox(key="funds_pick")
    assert box.proto.set_value, "the page left the browser to show what it had"
    return box.proto.raw_value


# --- the money figure ----------------------------------------------------------------------------


def test_the_money_figure_is_the_one_definition_under_a_label_that_says_funds(
    monkeypatch, funds_run
):
    drop, out = funds_run
    funds = expected(out)
    at = open_page(monkeypatch, drop, out)
    (figure,) = [m for m in at.metric if "涉及金额" in m.label]
    assert figure.label == "资金类线索涉及金额（元）"
    at_risk = amounts.money_at_risk_fen(funds)
    assert figure.value == formats.money_fen(at_risk)
    # the control totals and the payments two checks flag are not counted twice
    assert at_risk < int(funds["amount_fen"].sum())
    assert amounts.HELP in figure.proto.help and "线索清单" in figure.proto.help
    # a filtered view: the figure of the findings shown
    at.multiselect(key="funds_streets").set_value([J]).run()
    (figure,) = [m for m in at.metric if "涉及金额" in m.label]
    assert figure.value == formats.money_fen(
        amounts.money_at_risk_fen(funds.filter(pl.col("street") == J))
    )


# --- every street ---------------------------------------------------------------------------------


def test_every_street_shows_in_the_charts_and_tables_with_zero(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    at = open_page(monkeypatch, drop, out)

    streets = frame_of(grid(at, "街镇"))
    assert streets["街镇"].to_list() == list(STREETS)
    quiet = streets.filter(~pl.col("街镇").is_in([H, J]))
    assert quiet.height == 8 and set(quiet["发现数"]) == {0}
    assert {float(v) for v in quiet["涉及金额（元）"]} == {0.0}
    j = streets.filter(pl.col("街镇") == J).row(0, named=True)
    assert float(j["涉及金额（元）"]) * 100 == amounts.money_at_risk_fen(
        funds.filter(pl.col("street") == J)
    )

    counts, money = street_chart(at)["data"]
    assert counts["y"] == money["y"] == list(STREETS)
    assert [counts["x"][counts["y"].index(s)] for s in STREETS if s not in (H, J)] == [0] * 8
    # a zero bar writes its 0 beside it
    assert counts["textposition"][STREETS.index("新泾镇")] == "outside"
    heatmap = frame_of(grid(at, "街镇", index=1))
    assert heatmap["街镇"].to_list() == list(STREETS)

    # the streets chosen in the filter, and no other
    at.multiselect(key="funds_streets").set_value([J]).run()
    assert frame_of(grid(at, "街镇"))["街镇"].to_list() == [J]
    assert street_chart(at)["data"][0]["y"] == [J]


def test_a_street_user_sees_their_street_only(monkeypatch, funds_run):
    drop, out = funds_run
    at = open_page(monkeypatch, drop, out, Viewer(name="街镇用户", role="street", street=H))
    assert frame_of(grid(at, "街镇"))["街镇"].to_list() == [H]
    assert street_chart(at)["data"][0]["y"] == [H]


# --- the grids ------------------------------------------------------------------------------------


def test_money_columns_are_formatted_in_every_grid(monkeypatch, funds_run):
    drop, out = funds_run
    at = open_page(monkeypatch, drop, out)
    money_columns = 0
    for element in at.dataframe:
        config = config_of(element)
        for column in element.value.columns:
            if column.endswith("（元）"):
                money_columns += 1
                assert config[column]["type_config"]["format"] == MONEY_GRID, column
            elif column.endswith(("（条）", "数")):
                assert config[column]["type_config"]["format"] == "%,d", column
    # by check, by street, the findings, both sides of the comparison
    assert money_columns >= 5  # the page's own five, and any in the finding's evidence


def test_the_comparison_is_stacked_with_its_amounts_in_view(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    mismatch = funds.filter(pl.col("check_id") == "amount_mismatch").row(0, named=True)
    at = open_page(monkeypatch, drop, out)
    at.selectbox(key="funds_pick").set_value(mismatch["finding_id"]).run()

    entitled, paid = grid(at, "差异"), grid(at, "差异", index=1)
    assert list(paid.value.columns)[:3] == ["差异", "流水号", "发放月份"]
    # one above the other, across the page: no grid of the page sits in a column
    assert all(len(column.dataframe) == 0 for column in at.columns)
    # the amounts come right after the fields that match the rows, wide enough, as money
    for element, header in ((entitled, "应发金额（元）"), (paid, "金额（元）")):
        columns = list(element.value.columns)
        assert columns.index(header) <= 5, columns
        config = config_of(element)[header]
        assert config["width"] >= 100  # px: 1,234,567.89 in full
        assert config["type_config"]["format"] == MONEY_GRID
        assert config_of(element)["差异"]["width"] >= 140
    assert frame_of(paid).select("流水号", "差异").rows() == [("T4", "金额（元）、银行账号")]
    assert [float(v) for v in frame_of(entitled)["应发金额（元）"]] == [1200.0]


# --- the export ----------------------------------------------------------------------------------


def test_the_export_holds_the_comparison_shown_with_money_as_numbers(
    monkeypatch, funds_run, downloads
):
    drop, out = funds_run
    funds = expected(out)
    dup = funds.filter(pl.col("check_id") == "duplicate_payment").row(0, named=True)
    at = open_page(monkeypatch, drop, out)
    at.selectbox(key="funds_pick").set_value(dup["finding_id"]).run()
    assert not at.exception

    book = openpyxl.load_workbook(io.BytesIO(downloads["资金比对发现.xlsx"]()))
    assert book.sheetnames == [view.SHEET, view.ENTITLED_SHEET, view.PAID_SHEET]
    paid = book[view.PAID_SHEET]
    header = [c.value for c in paid[1]]
    assert header[:4] == ["编号", "本条", "差异", "流水号"]
    rows = [[c.value for c in row] for row in paid.iter_rows(min_row=2)]
    assert [(r[0], r[3]) for r in rows] == [(dup["finding_id"], "T2"), (dup["finding_id"], "T3")]
    money = header.index("金额（元）")
    for row in paid.iter_rows(min_row=2):
        assert row[money].value == 1550 and row[money].number_format == "#,##0.00"
    entitled = book[view.ENTITLED_SHEET]
    first = [c.value for c in entitled[2]]
    assert (first[0], first[2], first[3]) == (dup["finding_id"], "2026-03", "C1")
    # the findings sheet: each amount a number formatted as money, its counting said in words
    sheet = book[view.SHEET]
    header = [c.value for c in sheet[1]]
    amount, counted = header.index("涉及金额（元）"), header.index("计入合计")
    cells = list(sheet.iter_rows(min_row=2))
    assert len(cells) == funds.height
    assert all(
        isinstance(r[amount].value, (int, float)) and r[amount].number_format == "#,##0.00"
        for r in cells
    )
    assert {r[counted].value for r in cells} == {"是", "否（汇总数）", "否（同一流水已计）"}
    # the button says what it holds
    (button,) = [b for b in at.get("download_button") if b.label == "导出 Excel"]
    assert "应发名册与实发明细" in button.proto.help


# --- the finding box and links --------------------------------------------------------------------


def test_after_a_filter_change_the_box_names_the_finding_shown(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    in_j = funds.filter(pl.col("street") == J)
    picked = in_j.row(in_j.height - 1, named=True)
    at = open_page(monkeypatch, drop, out)
    at.selectbox(key="funds_pick").set_value(picked["finding_id"]).run()
    assert drawn_label(at) == label_of(picked)

    # the finding opened is filtered out: the first of the new list is opened, and named
    at.multiselect(key="funds_streets").set_value([H]).run()
    first = funds.filter(pl.col("street") == H).row(0, named=True)
    assert at.selectbox(key="funds_pick").value == first["finding_id"]
    assert at.info[0].value == md_escape(first["summary"])
    assert drawn_label(at) == label_of(first)


def test_a_link_to_no_finding_says_so_in_chinese(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    at = open_page(monkeypatch, drop, out, finding="Fnosuchfinding00")
    assert [w.value for w in at.warning if "链接" in w.value] == [view.LINK_NOT_FOUND]
    assert view.LINK_NOT_FOUND.startswith("链接中的线索编号不在当前结果中")
    assert "Fnosuchfinding00" not in " ".join(w.value for w in at.warning)
    first = funds.row(0, named=True)
    assert at.selectbox(key="funds_pick").value == first["finding_id"]
    assert at.info[0].value == md_escape(first["summary"])

    # another street's finding reads the same
    other = funds.filter(pl.col("street") == J).row(0, named=True)
    at = open_page(
        monkeypatch,
        drop,
        out,
        Viewer(name="街镇用户", role="street", street=H),
        finding=other["finding_id"],
    )
    assert [w.value for w in at.warning if "链接" in w.value] == [view.LINK_NOT_FOUND]

    # a good link: no warning, its finding opened
    at = open_page(monkeypatch, drop, out, finding=funds["finding_id"][2])
    assert not [w for w in at.warning if "链接" in w.value]
    assert at.selectbox(key="funds_pick").value == funds["finding_id"][2]


def test_a_link_to_a_finding_the_filters_hide_opens_it_and_says_so(monkeypatch, funds_run):
    drop, out = funds_run
    funds = expected(out)
    hidden = funds.filter(pl.col("street") == J).row(0, named=True)
    at = open_page(monkeypatch, drop, out)
    at.multiselect(key="funds_streets").set_value([H]).run()
    at.query_params["finding"] = hidden["finding_id"]
    at.run()
    assert not at.exception
    assert at.selectbox(key="funds_pick").value == hidden["finding_id"]
    assert at.info[0].value == md_escape(hidden["summary"])
    assert any(c.value == view.LINK_FILTERED for c in at.caption)


def test_the_filters_are_kept_across_pages(monkeypatch, funds_run):
    drop, out = funds_run
    at = open_page(monkeypatch, drop, out)
    at.multiselect(key="funds_streets").set_value([J]).run()
    at.multiselect(key="funds_months").set_value(["2026-03"]).run()
    # what Streamlit does when the user opens another page and comes back: the page's widget
    # values are dropped, everything else the session holds stays
    widgets = {"funds_months", "funds_streets", "funds_checks", "funds_pick", "funds_table"}
    held = {k: v for k, v in at._session_state._state.filtered_state.items() if k not in widgets}
    back = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in held.items():
        back.session_state[key] = value
    back.run()
    assert not back.exception
    assert back.multiselect(key="funds_streets").value == [J]
    assert back.multiselect(key="funds_months").value == ["2026-03"]
    assert set(frame_of(grid(back, "编号"))["街镇"]) == {J}


# --- in a browser ---------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_box_shows_the_finding_shown_after_a_filter_change_in_chromium(
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
    browser_login(page, base_url)
    page.wait_for_function("() => document.cookie.includes('aidwatch_session=')")
    page.goto(f"{base_url}/funds")
    wait_for_app(page)

    in_j = funds.filter(pl.col("street") == J)
    picked = in_j.row(in_j.height - 1, named=True)
    box = page.get_by_role("combobox", name="查看发现")
    box.click()
    box.fill(picked["summary"][-12:])
    page.get_by_role("option", name=label_of(picked), exact=True).click()
    wait_for_app(page)
    assert box.input_value() == label_of(picked)

    street = page.get_by_role("combobox", name="街镇")
    street.click()
    street.fill(H)
    page.get_by_role("option", name=H, exact=True).click()
    page.keyboard.press("Escape")
    wait_for_app(page)
    first = funds.filter(pl.col("street") == H).row(0, named=True)
    page.locator('[data-testid="stAlertContentInfo"]').filter(has_text=first["summary"]).wait_for()
    assert box.input_value() == label_of(first)
