"""Who may see what, page by page (AppTest over the hostile district, run through a workspace):
every role against every page, and a street user against every page it may open, by URL
parameter and by export, never receiving another street's row."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import tempfile
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import access
from analytics.access import Viewer
from analytics.reference import PROJECT_ROOT
from analytics.results import load_findings
from analytics.schema import STREETS
from tests.dashboard.conftest import login
from tests.dashboard.test_hostile_exports import xlsx_texts

SCREENS = PROJECT_ROOT / "dashboard" / "screens"
PAGES = [p for p in access.PAGES if (SCREENS / f"{p}.py").exists()]
DENIED = "当前账号无权查看本页。"


def viewer_of(role: str, street: str) -> Viewer:
    return Viewer(
        name=f"矩阵{access.ROLES[role]}",
        role=role,
        street=street if role == "street" else None,
        unit="区住房保障局" if role == "member_unit" else None,
    )


@pytest.fixture(scope="module")
def hostile_run_pg(hostile_run, postgres_server, tmp_path_factory):
    """The hostile district checked again into a workspace whose database is PostgreSQL, with
    its published record and its file-audit session: (the run, the database URL)."""
    from analytics import tracking
    from analytics.reader import read_drop
    from analytics.store import Workspace
    from tests.conftest import new_postgres_database
    from tests.dashboard.conftest import audit_hostile_session, publish_hostile_record

    url = new_postgres_database(postgres_server)
    root = tmp_path_factory.mktemp("hostile-pg") / "workspace"
    patch = pytest.MonkeyPatch()
    patch.setenv("AIDWATCH_DATABASE_URL", url)
    try:
        ws = Workspace.open(root)
        try:
            out = tracking.record_check(
                ws, hostile_run.drop, read_drop(hostile_run.drop), by="测试", origin="test"
            ).out
            publish_hostile_record(ws, hostile_run.drop)
            session = audit_hostile_session(ws)
        finally:
            ws.close()
    finally:
        patch.undo()
    return dataclasses.replace(hostile_run, out=out, workspace=root, audit_session=session), url


@pytest.fixture(params=["sqlite", "postgresql"])
def run(request, hostile_run, monkeypatch):
    """The hostile run, its workflow in SQLite or in PostgreSQL."""
    if request.param == "sqlite":
        return hostile_run
    pg_run, url = request.getfixturevalue("hostile_run_pg")
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", url)
    return pg_run


@pytest.fixture
def district(monkeypatch, run):
    """The run's folders and workspace for the pages; the street the street user has (the one
    with most findings) and the findings of the other streets."""
    monkeypatch.setenv("AIDWATCH_DROP", str(run.drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(run.out))
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(run.workspace))
    findings = load_findings(run.out)
    counts = (
        findings.filter(pl.col("street").is_in(STREETS))
        .group_by("street")
        .len()
        .sort("len", "street", descending=[True, False])
    )
    own = counts["street"][0]
    others = findings.filter(pl.col("street").is_not_null() & (pl.col("street") != own))
    return own, others


def open_as(viewer: Viewer, page: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(SCREENS / f"{page}.py"), default_timeout=120)
    login(at, viewer)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def page_texts(at: AppTest) -> list[str]:
    """Everything the page put in front of the viewer: texts, grids, options, chart data."""
    texts = []
    for kind in (
        "markdown",
        "caption",
        "info",
        "warning",
        "error",
        "success",
        "title",
        "subheader",
        "header",
        "metric",
        "text",
        "code",
        "json",
    ):
        for element in at.get(kind):
            texts.append(str(getattr(element, "value", "")))
            texts.append(str(getattr(element, "label", "")))
    for kind in ("selectbox", "multiselect", "radio"):
        for element in at.get(kind):
            texts += [str(o) for o in element.options]
            texts.append(str(element.value))
    for grid in at.dataframe:
        frame = grid.value
        texts += [str(c) for c in frame.columns]
        texts += [str(v) for c in frame.columns for v in frame[c].tolist()]
    for chart in at.get("plotly_chart"):
        texts.append(json.dumps(json.loads(chart.proto.spec), ensure_ascii=False))
    return texts


def pdf_text(content: bytes) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "doc.pdf"
        path.write_bytes(content)
        return subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout


def export_texts(made: dict) -> list[str]:
    texts = []
    for name, build in made.items():
        content = build()
        if name.endswith(".xlsx"):
            texts += xlsx_texts(content, name)
        elif name.endswith(".pdf"):
            texts.append(pdf_text(content))
        else:
            texts.append(content.decode("utf-8", "replace"))
    return texts


@pytest.mark.parametrize("role", list(access.ROLES))
@pytest.mark.parametrize("page", PAGES)
def test_every_role_opens_only_its_pages(district, role, page):
    own, _ = district
    at = open_as(viewer_of(role, own), page)
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    if access.may_open(viewer_of(role, own), page):
        assert DENIED not in errors
    else:
        assert errors == [DENIED]
        assert not at.dataframe and not at.get("download_button") and not at.button
        assert [t.value for t in at.title] == []


def test_nobody_logged_in_gets_nothing(district):
    for page in PAGES:
        at = open_as(None, page)
        assert [e.value for e in at.error] == ["请先登录。"], page
        assert not at.dataframe and not at.get("download_button")


STREET_PAGES = [p for p in PAGES if "street" in access.PAGES[p]]


@pytest.mark.parametrize("page", STREET_PAGES)
@pytest.mark.parametrize("how", ["plain", "finding", "street"])
def test_a_street_user_never_receives_another_streets_row(district, run, downloads, page, how):
    own, others = district
    other_streets = sorted(set(STREETS) - {own})
    params = {}
    if how == "finding":  # another street's finding, named in the address
        params["finding"] = others["finding_id"][0]
    elif how == "street":
        params["street"] = other_streets[0]
    if page == "file_audit":
        params["session"] = str(run.audit_session)
    at = open_as(viewer_of("street", own), page, **params)
    assert not at.exception, at.exception
    assert [e.value for e in at.error if e.value == DENIED] == []

    shown = page_texts(at) + export_texts(downloads)
    text = "\n".join(shown)
    leaked_ids = [fid for fid in others["finding_id"].to_list() if fid in text]
    assert leaked_ids == [], (page, how, leaked_ids[:5])
    leaked_streets = [s for s in other_streets if s in text]
    assert leaked_streets == [], (page, how, leaked_streets)
    if page in ("findings", "funds", "followup", "street"):
        assert own in text  # the street's own rows are there


def test_a_street_user_may_not_move_another_streets_finding(district, run):
    from analytics.store import Workspace
    from analytics.store.findings import states_frame
    from analytics.views import triage
    from analytics.workflow.triage import MoveError

    own, others = district
    ws = Workspace.open(run.workspace)
    try:
        states = states_frame(ws.store)
        row = others.row(0, named=True)
        version = states.filter(pl.col("finding_id") == row["finding_id"])["version"].item()
        finding = {**row, "registered": True, "state": "new", "version": version}
        street_user = viewer_of("street", own)
        assert triage.moves_for(finding, street_user) == []
        with pytest.raises(MoveError, match="其他街镇"):
            triage.make_move(
                ws,
                finding,
                "assign",
                triage.move_input(assignee="某人"),
                by=street_user.name,
                expected_version=version,
                today=__import__("datetime").date(2026, 12, 5),
                deadlines=triage.Deadlines.load(),
                viewer=street_user,
            )
        assert (
            states_frame(ws.store)
            .filter(pl.col("finding_id") == row["finding_id"])["version"]
            .item()
            == version
        )
    finally:
        ws.close()
