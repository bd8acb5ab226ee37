"""Every spreadsheet AidWatch writes, and every grid and text a page shows, over a drop whose free
text holds formulas, Markdown and HTML (see conftest.py): no cell is a live formula or a link, no
raw identifier leaves a masked export, and no data reaches Markdown unescaped."""

from __future__ import annotations

import ast
import io
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from contextlib import contextmanager
from datetime import date
from html import unescape
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import export
from analytics.linkgraph import build_link_graph
from analytics.reader import read_drop
from analytics.reference import PROJECT_ROOT, load_settings
from analytics.results import load_findings, load_indicators
from analytics.views import findings as findings_view
from analytics.views import followup as followup_view
from analytics.views import funds as funds_view
from analytics.views import graph as graph_view
from analytics.views import overview as overview_view
from analytics.views import rules as rules_view
from analytics.views import street as street_view
from dashboard import ui

SCREENS = PROJECT_ROOT / "dashboard" / "screens"
FORMULA = re.compile(r"[=+\-@\t\r]")
# Downloads that are PDF documents, not spreadsheets.
DOCUMENTS = {"findings_sheet", "overview_report", "dishonesty_pdf", "file_audit_pdf"}


# --- reading what was written ---------------------------------------------------------------------


def _unxml(fragment: str) -> str:
    text = unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", fragment, re.S)))
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def xlsx_texts(content: bytes, where: str) -> list[str]:
    """Every text cell of every sheet, read from the workbook's XML (no spreadsheet library);
    fails on any formula or hyperlink."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        shared = (
            archive.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in names else ""
        )
        strings = [_unxml(s) for s in re.findall(r"<si>(.*?)</si>", shared, re.S)]
        texts = []
        for name in names:
            body = archive.read(name).decode("utf-8", "replace")
            if name.endswith(".rels"):
                assert "hyperlink" not in body.lower(), (where, name)
            if not re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                continue
            assert not re.search(r"<f[ >/]", body), f"{where}: a formula in {name}"
            assert "<hyperlink" not in body, f"{where}: a hyperlink in {name}"
            for attrs, cell in re.findall(r"<c ([^>]*?)(?:/>|>(.*?)</c>)", body, re.S):
                value = re.search(r"<v>(.*?)</v>", cell or "")
                if 't="s"' in attrs:
                    texts.append(strings[int(value.group(1))])
                elif 't="inlineStr"' in attrs or 't="str"' in attrs:
                    texts.append(_unxml(cell))
    return texts


def csv_texts(path: Path) -> list[str]:
    frame = pl.read_csv(path, infer_schema=False)
    return [*frame.columns, *(v for c in frame.columns for v in frame[c].drop_nulls())]


def assert_inert(texts: list[str], where: str) -> None:
    live = [t for t in texts if FORMULA.match(t) and not re.fullmatch(export.PLAIN_NUMBER, t)]
    assert live == [], f"{where}: formula-like cells {live[:5]}"


def assert_masked(texts: list[str], identifiers: frozenset, where: str) -> None:
    blob = "\n".join(texts)
    leaked = sorted(i for i in identifiers if i in blob)
    assert leaked == [], f"{where}: raw identifiers {leaked[:3]}"


# --- every export of the pages ------------------------------------------------------------------


def page_exports(run) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """Every Excel download of every page, as the pages build them: name -> (download key,
    builder). Periods, streets and clusters: all of them."""
    findings = load_findings(run.out)
    indicators = load_indicators(run.out)
    visible = findings_view.visible_findings(findings)
    funds = funds_view.funds_findings(findings)
    exports: dict[str, tuple[str, Callable[[], bytes]]] = {
        "线索清单": ("findings_download", lambda: findings_view.findings_excel(visible)),
        "资金比对（本页）": (
            "funds_download",
            lambda: funds_view.findings_excel(funds.head(funds_view.MAX_ROWS)),
        ),
        "资金比对（全部）": ("funds_download_all", lambda: funds_view.findings_excel(funds)),
        "检查规则": ("rules_download", lambda: rules_view.rules_excel(load_settings())),
        "拒收记录": (
            "import_rejects_download",
            lambda: ui.excel_bytes(
                {"拒收记录": ui.rejects_for_display(read_drop(run.drop).rejects)}
            ),
        ),
    }
    from analytics import pipeline

    graph = build_link_graph(pipeline.make_drop(read_drop(run.drop)))
    for cluster in graph_view.rank_clusters(graph, findings)["cluster"].unique().sort():
        exports[f"线索群{cluster}"] = (
            "graph_export_download",
            lambda c=cluster: graph_view.cluster_excel(graph, findings, c),
        )
    for periods in overview_view.period_options(indicators).values():
        for period in periods:
            exports[f"总览_{period}"] = (
                "overview_download",
                lambda p=period: ui.excel_bytes(
                    overview_view.excel_sheets(overview_view.overview(indicators, findings, p))
                ),
            )
    with followup_workspace(run) as frames:
        view = followup_view.followup_view(
            frames["findings"], frames["history"], today=date(2026, 12, 5)
        )
    with open_workspace(run) as workspace:
        from analytics.views import dishonesty as listing

        records = listing.records_today(workspace.store, date(2026, 11, 3))
        for number, on in listing.publications(workspace.store).select("number", "on").iter_rows():
            table = listing.publication_table(listing.publication_records(records, number))
            exports[f"失信公布_{number}"] = (
                "dishonesty_xlsx",
                lambda t=table, n=number, d=on: listing.publication_excel(t, n, d),
            )
        from analytics.store import dishonesty as records
        from analytics.views import member_query

        listed = records.records_frame(workspace.store)["id_number"].to_list()
        asked = member_query.parse_typed(listed[0])
        answers = records.member_query(
            workspace.store,
            asked.numbers,
            unit="=区住房保障局",
            purpose="保障性住房资格审核",
            by="@测试",
            today=date(2026, 11, 3),
        )
        table = member_query.answers_table(asked, answers)
        assert table["查询结果"].to_list() == ["已列入"]
        exports["失信查询"] = (
            "member_query_download",
            lambda t=table: ui.excel_bytes({"查询结果": t}),
        )
        from analytics.access import Viewer
        from analytics.views import audit_log

        # the hostile run's imports, runs and moves are in the log, by hostile names
        log = audit_log.entries(workspace.store, Viewer(name=run.name, role="discipline"))
        assert log.height > 0
        exports["审计日志"] = ("audit_export", lambda t=log: ui.excel_bytes({"审计日志": t}))
        from analytics import file_audit_report
        from analytics.store import file_audit as audits
        from analytics.views import file_audit as audit

        for sid in audits.sessions_frame(workspace.store)["id"].to_list():
            session = audit.session_view(workspace, sid)
            exports[f"档案核查_{sid}"] = (
                "file_audit_xlsx",
                lambda s=session: file_audit_report.session_excel(s),
            )
    for street in followup_view.street_choices(view):
        exports[f"回头看_{street}"] = (
            "followup_download",
            lambda s=street, v=view: followup_view.answer_excel(v, s),
        )
    for street in street_view.street_options(indicators):
        for level in overview_view.LEVELS:
            exports[f"街镇_{street}_{level}"] = (
                "street_download",
                lambda s=street, lv=level: ui.excel_bytes(
                    street_view.excel_sheets(street_view.street_view(indicators, findings, s, lv))
                ),
            )
    return exports


@contextmanager
def open_workspace(run):
    from analytics.store import Workspace

    workspace = Workspace(run.workspace)
    try:
        yield workspace
    finally:
        workspace.close()


@contextmanager
def followup_workspace(run):
    """The workflow frames of the run's workspace (its findings are there, to be followed)."""
    from analytics.store import Workspace
    from analytics.store import findings as stored

    workspace = Workspace(run.workspace)
    try:
        yield {
            "findings": stored.findings_frame(workspace.store),
            "history": stored.history_frame(workspace.store),
        }
    finally:
        workspace.close()


def download_keys() -> set[str]:
    """The key of every download button the pages draw (st.download_button, ui.download_excel)."""
    keys = set()
    for path in SCREENS.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("download_button", "download_excel")
            ):
                (key,) = [k.value.value for k in node.keywords if k.arg == "key"]
                keys.add(key)
    return keys


def test_every_page_download_is_covered_here(hostile_run):
    covered = {key for key, _ in page_exports(hostile_run).values()}
    assert download_keys() - DOCUMENTS == covered


def test_no_page_export_holds_a_formula_a_link_or_a_raw_identifier(hostile_run):
    exports = page_exports(hostile_run)
    assert len(exports) > 40
    planted = []
    for name, (_, build) in exports.items():
        texts = xlsx_texts(build(), name)
        assert_inert(texts, name)
        assert_masked(texts, hostile_run.identifiers, name)
        planted += [t for t in texts if t.startswith("'")]
    # The hostile items, case, staff and transaction numbers and rejected values were exported,
    # neutralised; a rejected negative amount stays the plain number it is.
    for text in (
        '\'=HYPERLINK("http://evil.example/f","点我")',
        "'=cmd|' /C calc'!A0",
        "'+1+1",
        "'@SUM(1)",
        "'-2+3",
        "'=1+1",
        "'@LS(1)",
    ):
        assert text in planted, text
    rejects = xlsx_texts(exports["拒收记录"][1](), "拒收记录")
    assert "-12.50" in rejects and "'=1+1" in rejects
    # the 档案核查 session's hostile case number, notes, title and team
    audit = xlsx_texts(exports[f"档案核查_{hostile_run.audit_session}"][1](), "档案核查")
    for text in (
        "'" + hostile_run.case_id,
        '\'=HYPERLINK("http://evil.example/f","点我")',
        hostile_run.markup,
        "'@SUM(1)",
        "'" + hostile_run.name,
        f"'{hostile_run.name}、+1+1",
    ):
        assert text in audit, text


def test_the_cli_files_hold_no_formula(hostile_run, tmp_path):
    out = tmp_path / "cli"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics.cli",
            "check",
            str(hostile_run.drop),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    for name in ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv"):
        assert (out / name).read_bytes() == (hostile_run.out / name).read_bytes(), name
        texts = csv_texts(out / name)
        assert_inert(texts, name)
        # findings.csv and rejects.csv hold the raw keys and values by contract.
        if name in ("indicators.csv", "checks.csv"):
            assert_masked(texts, hostile_run.identifiers, name)
    findings = pl.read_csv(out / "findings.csv", infer_schema=False)
    assert "'+S1[工号](http://evil.example/staff)<b>工</b>" in findings["staff_id"].to_list()
    assert "'@SUM(1)" in findings["item"].to_list()
    # Amounts are numbers, never prefixed.
    assert findings["amount"].cast(pl.Float64).min() >= 0
    rejects = pl.read_csv(out / "rejects.csv", infer_schema=False)
    assert {"'=1+1", "-12.50"} <= set(rejects["value"])


# --- what the pages show ------------------------------------------------------------------------

RAW_MARKUP = ("[点此核实](", "![t](", "<img", "<b>", ":red[", "$x^2$", "**加粗**", "](http")


def open_page(monkeypatch, run, page: str, **params: str) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(run.drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(run.out))
    at = AppTest.from_file(str(SCREENS / f"{page}.py"), default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, at.exception
    return at


def markdown_bodies(at: AppTest) -> list[str]:
    """Every Markdown string the page handed to Streamlit, labels included."""
    bodies = [
        str(e.value)
        for kind in ("markdown", "caption", "info", "warning", "error", "success", "toast")
        for e in at.get(kind)
    ]
    bodies += [e.label for e in at.expander]
    return bodies


@pytest.mark.parametrize(
    "page",
    ["findings", "funds", "graph", "import_data", "overview", "street", "rules", "file_audit"],
)
def test_pages_show_hostile_data_only_escaped_and_grids_neutralised(monkeypatch, hostile_run, page):
    finding = {
        "findings": hostile_run.markup_finding,
        "funds": hostile_run.markup_finding,
        "graph": hostile_run.graph_finding,
    }.get(page)
    params = {"finding": finding} if finding else {}
    if page == "file_audit":  # its session is in the run's workspace
        monkeypatch.setenv("AIDWATCH_WORKSPACE", str(hostile_run.workspace))
        params = {"session": str(hostile_run.audit_session)}
    at = open_page(monkeypatch, hostile_run, page, **params)

    bodies = markdown_bodies(at)
    assert bodies
    for body in bodies:
        # An escaped punctuation character is text; what is left is Markdown syntax.
        syntax = re.sub(r"\\[!-/:-@\[-`{-~]", "\x00", body)
        assert not any(raw in syntax for raw in RAW_MARKUP), (page, body)
    grids = [pl.from_pandas(df.value) for df in at.dataframe]
    assert grids or page == "overview"  # its landing view is static HTML, escaped by its view
    for grid in grids:
        texts = [
            *grid.columns,
            *(str(v) for c in grid.columns for v in grid[c].drop_nulls() if isinstance(v, str)),
        ]
        assert_inert(texts, f"{page} grid")
    if page in ("findings", "funds"):
        shown = " ".join(bodies)
        assert export.md_escape("[点此核实](http://evil.example/link)") in shown
    if page == "graph":
        assert export.md_escape("+S1[工号](http://evil.example/staff)<b>工</b>") in " ".join(bodies)
    if page == "import_data":
        assert export.md_escape(hostile_run.header) in " ".join(bodies)
    if page == "file_audit":
        assert export.md_escape(hostile_run.name) in " ".join(bodies)
        assert [s.value for s in at.subheader][0] == export.md_escape(hostile_run.name)


def test_every_grid_goes_through_show_table():
    """Pages never call st.dataframe themselves: ui.show_table neutralises what the grid holds
    (and what its own CSV download writes)."""
    calls = [
        (path.name, n)
        for path in SCREENS.glob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "st.dataframe(" in line
    ]
    calls += [
        (path.name, n)
        for path in (PROJECT_ROOT / "dashboard").glob("*.py")
        if path.name != "ui.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "st.dataframe(" in line
    ]
    assert calls == []
