"""The 回头看 page on a workspace worked over two months (AppTest): the counts by street, each
street's list and the re-check schedule are the service's, and the workbook the page hands out
holds exactly what the page shows."""

from __future__ import annotations

import io
import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import export, tracking
from analytics.reader import read_drop
from analytics.store import Workspace
from analytics.store.findings import apply_move, ingest, start_run
from analytics.views import followup as view
from analytics.workflow.triage import MoveInput
from tests.analytics.test_views_followup import RECIPES, A, B, _frame, build_scenario, workflow_of

PAGES = Path(__file__).resolve().parents[2] / "dashboard" / "screens"
RUN_DAY = date(2026, 3, 31)


class _RunDay(date):
    """date, whose today() is the day the scenario's first run was taken in."""

    @classmethod
    def today(cls):
        return RUN_DAY


def scenario_workspace(tmp_path: Path, monkeypatch, drop: Path) -> Workspace:
    """A workspace whose first check run (of ``drop``, on 31 March 2026) and the two months of
    tests.analytics.test_views_followup are recorded; the pages pointed at it and at the run's
    outputs."""
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "workspace"))
    ws = Workspace.open()
    monkeypatch.setattr(tracking, "date", _RunDay)
    recorded = tracking.record_check(ws, drop, read_drop(drop), by="测试", origin="test")
    monkeypatch.setattr(tracking, "date", date)
    build_scenario(ws.store)
    monkeypatch.setenv("AIDWATCH_OUT", str(recorded.out))
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    return ws


@pytest.fixture
def workspace(tmp_path, monkeypatch, small_drop):
    ws = scenario_workspace(tmp_path, monkeypatch, small_drop)
    yield ws
    ws.store.dispose()


def page(**params: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / "followup.py"), default_timeout=60)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def expected(ws: Workspace) -> view.FollowupView:
    frames = workflow_of(ws.store)
    return view.followup_view(
        frames["findings"], frames["history"], today=date.today(), rules=view.rules_from()
    )


def grid(at: AppTest, first_column: str, nth: int = 0) -> pl.DataFrame:
    """The page's ``nth`` data grid whose first column is ``first_column``, as text."""
    found = [df.value for df in at.dataframe if df.value.columns[0] == first_column]
    return as_text(pl.from_pandas(found[nth]))


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every cell as the text a person reads: dates as ISO days, numbers without a trailing .0,
    blanks as None; what the grid and the workbook show compare equal."""

    def text(value):
        if value is None or value != value:  # NaN
            return None
        if hasattr(value, "date") and callable(value.date):
            value = value.date()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        value = str(value).removesuffix(" 00:00:00")
        return re.sub(r"^(-?\d+)\.0$", r"\1", value) or None

    return pl.DataFrame(
        {c: [text(v) for v in frame[c].to_list()] for c in frame.columns},
        schema={c: pl.String for c in frame.columns},
    )


def shown(frame: pl.DataFrame) -> pl.DataFrame:
    """A service frame as the page's grid shows it (neutralised, as text)."""
    return as_text(export.neutralise(frame))


def test_counts_by_street_are_the_services(workspace):
    at = page()
    assert not at.exception, at.exception
    assert at.title[0].value == "回头看"
    fv = expected(workspace)
    total = view.counts_of(fv.summary)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics == {label: f"{total[name]:,}" for name, label in view.COUNTS.items()}
    # today (after 20 July 2026) every deadline of the scenario has passed
    assert metrics["未办结"] == "4" and metrics["回头看已到期"] == "2"  # F1, F4, F5 and the run's
    assert metrics["回头看复发"] == "1" and metrics["免责将到期或已到期"] == "1"
    summary = grid(at, "街镇")
    assert summary.equals(shown(view.summary_table(fv.summary)))
    assert summary["街镇"].to_list()[-1] == "合计"
    assert len(at.get("plotly_chart")) == 1


def test_a_streets_list_and_its_schedule(workspace):
    at = page()
    fv = expected(workspace)
    assert at.selectbox(key="followup_street").value == view.ALL_STREETS
    assert at.selectbox(key="followup_street").options == [view.ALL_STREETS, A, B]
    assert grid(at, "街镇", 1).equals(shown(view.items_table(fv.items)))
    at.selectbox(key="followup_street").set_value(B).run()
    assert not at.exception
    items = grid(at, "街镇", 1)
    assert items.equals(shown(view.items_table(view.items_of(fv, B))))
    assert sorted(items["编号"].to_list()) == ["F3", "F4", "F6"]
    stages = dict(zip(items["编号"], items["阶段"], strict=True))
    assert stages == {"F3": "待回头看", "F4": "回头看复发", "F6": "容错免责"}
    schedule = grid(at, "回头看日期")
    assert schedule["编号"].to_list() == ["F3"]
    assert schedule.row(0, named=True)["回头看日期"] == "2026-07-20"  # 20 April + 3 months
    assert any("共 3 条" in c.value for c in at.caption)


def test_the_street_in_the_link_is_chosen(workspace):
    at = page(street=B)
    assert not at.exception
    assert at.selectbox(key="followup_street").value == B
    assert set(grid(at, "街镇", 1)["街镇"]) == {B}


def test_the_workbook_holds_what_the_page_shows(workspace, downloads):
    at = page()
    assert not at.exception
    (button,) = at.get("download_button")
    assert button.proto.label == "导出各街镇回头看清单（Excel）"
    (name,) = [n for n in downloads if n.startswith("回头看清单_各街镇_")]
    book = pl.read_excel(io.BytesIO(downloads[name]()), sheet_id=0, infer_schema_length=0)
    assert list(book) == [view.SUMMARY_SHEET, A, B]
    assert as_text(book[view.SUMMARY_SHEET]).equals(grid(at, "街镇"))
    for street in (A, B):
        at.selectbox(key="followup_street").set_value(street).run()
        sheet = as_text(book[street])
        assert sheet.columns[-2:] == list(view.ANSWER_COLUMNS)
        assert sheet.select(view.ANSWER_COLUMNS).null_count().row(0) == (sheet.height,) * 2
        assert sheet.drop(view.ANSWER_COLUMNS).equals(grid(at, "街镇", 1)), street
    # one street chosen: its own workbook
    at.selectbox(key="followup_street").set_value(B).run()
    assert at.get("download_button")[0].proto.label == f"导出{B}回头看清单（Excel）"
    (name,) = [n for n in downloads if n.startswith(f"回头看清单_{B}_")]
    book = pl.read_excel(io.BytesIO(downloads[name]()), sheet_id=0, infer_schema_length=0)
    assert list(book) == [view.SUMMARY_SHEET, B]


def test_an_empty_workspace_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "empty"))
    at = page()
    assert not at.exception
    assert "工作区中还没有线索" in at.info[0].value
    assert not at.dataframe and not at.get("download_button")


def test_a_workspace_with_everything_closed_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "closed"))
    ws = Workspace.open()
    run_id = start_run(ws.store, kind="check", origin="test", by="测试")
    ingest(
        ws.store,
        run_id,
        _frame([("F1", "duplicate_payment", "funds", A, 100)]),
        recipes=RECIPES,
        complete_checks=RECIPES,
        on_date=RUN_DAY,
    )
    apply_move(
        ws.store,
        "F1",
        "dismiss",
        MoveInput(reason="核实不属实"),
        by="督查员",
        expected_version=1,
        today=RUN_DAY,
    )
    ws.store.dispose()
    at = page()
    assert not at.exception
    assert "工作区中的 1 条线索都已办结" in at.info[0].value
    assert not at.dataframe


def test_an_unreachable_database_is_said_without_its_address(tmp_path, monkeypatch):
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv(
        "AIDWATCH_DATABASE_URL", "postgresql+psycopg://aidwatch:secret@127.0.0.1:1/aidwatch"
    )
    at = page()
    assert not at.exception
    assert "无法读取工作区的处置记录" in at.error[0].value
    assert "secret" not in at.error[0].value and "127.0.0.1" not in at.error[0].value


def test_a_long_list_is_drawn_in_part(workspace, monkeypatch):
    monkeypatch.setattr(view, "MAX_ROWS", 2)
    at = page()
    assert not at.exception
    assert len(grid(at, "街镇", 1)) == 2
    assert any("共 7 条，本页显示前 2 条" in c.value for c in at.caption)
