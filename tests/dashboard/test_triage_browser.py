"""线索清单's triage in headless Chromium: a finding of a run recorded in the workspace assigned
and then found untrue through the page's form, with an attachment, and its history shown."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from analytics import tracking
from analytics.generate import generate
from analytics.reader import read_drop
from analytics.results import load_findings
from analytics.store import Workspace
from analytics.store.findings import history_frame, states_frame
from analytics.views import findings as view


@pytest.fixture
def workspace_run(tmp_path) -> tuple[Path, Path, Workspace]:
    """A generated district checked in a workspace of its own (SQLite, as the dashboard the
    test starts opens it): (drop, the run's outputs, the workspace)."""
    drop = tmp_path / "drop"
    generate(drop, households=300, seed=7)
    ws = Workspace.open(tmp_path / "ws")
    recorded = tracking.record_check(ws, drop, read_drop(drop), by="测试", origin="test")
    yield drop, recorded.out, ws
    ws.close()


# The test account of 民政监督 (tests/conftest.py, add_test_accounts), as the records name it:
# 显示名（用户名）.
ACTOR = "测试民政监督（civil_affairs）"


def set_date(field, day: date) -> None:
    """Type a date into a date input, segment by segment (year, month, day)."""
    for part, value in (
        ("year", f"{day.year}"),
        ("month", f"{day.month:02d}"),
        ("day", f"{day.day:02d}"),
    ):
        segment = field.get_by_role("spinbutton", name=f"{part}, 期限")
        segment.click()
        segment.press_sequentially(value)


@pytest.mark.browser
def test_a_finding_is_triaged_through_the_page_and_its_history_shown(
    run_dashboard, browser_page, browser_login, wait_for_app, workspace_run
):
    drop, out, ws = workspace_run
    fid = view.visible_findings(load_findings(out))["finding_id"][0]
    base_url = run_dashboard(drop, out, ws.root)
    page = browser_page
    # 民政监督 may work and decide a finding; the link is kept through the login.
    browser_login(page, base_url, path=f"findings?finding={fid}")
    page.get_by_role("heading", name="核查处理").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0
    status = page.get_by_test_id("stMarkdownContainer").filter(has_text="当前状态")
    assert status.first.inner_text() == "当前状态：待核实"

    # Nobody types who acts: the moves are recorded under the logged-in account, shown in the
    # sidebar.
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("textbox").count() == 0
    sidebar.get_by_text(f"当前用户：{ACTOR}").wait_for()

    # 分派核实 to a named person, by a date typed in (whatever the calendar would default to)
    due = date.today() + timedelta(days=21)
    form = page.get_by_test_id("stForm")
    form.get_by_role("textbox", name="或核实人").fill("李四")
    set_date(form, due)
    form.get_by_role("button", name="执行“分派核实”").click()
    wait_for_app(page)
    page.get_by_text("已执行“分派核实”：待核实 → 核实中。").wait_for()
    assert status.first.inner_text() == f"当前状态：核实中 · 承办：李四 · 期限：{due.isoformat()}"

    # 核实不属实 with its reason and the verification report attached
    page.locator(".st-key-findings_move").get_by_text("核实不属实").click()
    wait_for_app(page)
    form = page.get_by_test_id("stForm")
    form.get_by_role("textbox", name="理由（必填）").fill(
        "入户核实：收款账户系家庭自行更正前的旧账户"
    )
    form.locator('input[type="file"]').set_input_files(
        [{"name": "核查报告.txt", "mimeType": "text/plain", "buffer": "核查报告".encode()}]
    )
    form.get_by_text("核查报告.txt").wait_for()
    form.get_by_role("button", name="执行“核实不属实”").click()
    wait_for_app(page)
    page.get_by_text("已执行“核实不属实”：核实中 → 不属实。").wait_for()
    assert status.first.inner_text().startswith("当前状态：不属实")
    assert page.locator('[data-testid="stException"]').count() == 0

    history = history_frame(ws.store, fid)
    assert history["move"].to_list() == ["found", "assign", "dismiss"]
    assert history["by"].to_list()[1:] == [ACTOR, ACTOR]
    assert history["due_after"].to_list()[1] == due
    assert history["attachments"].to_list() == [0, 0, 1]
    assert states_frame(ws.store).filter(pl.col("finding_id") == fid)["state"][0] == "unfounded"

    # A new visit shows the history: found, assigned, found untrue (a header row besides).
    page.goto(f"{base_url}/findings?finding={fid}")
    wait_for_app(page)
    grid = page.locator(".st-key-findings_history [aria-rowcount]")
    grid.wait_for(state="attached")
    assert int(grid.get_attribute("aria-rowcount")) - 1 == 3
    occurrences = page.locator(".st-key-findings_occurrences [aria-rowcount]")
    assert int(occurrences.get_attribute("aria-rowcount")) - 1 == 1
    assert status.first.inner_text().startswith("当前状态：不属实")
