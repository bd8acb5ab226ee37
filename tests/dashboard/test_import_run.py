"""运行检查 on the 数据导入 page: a run started in the browser goes through the workspace (the run
log, a snapshot, triage), shows its progress, and every page switches to its outputs; 检查记录
lists the workspace's check runs, from the command line too."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from analytics import reader, runs, tracking
from analytics.reference import PROJECT_ROOT
from analytics.store import Workspace, accounts
from analytics.store.findings import runs_frame, states_frame
from analytics.views import funds as view
from dashboard import auth, data, ui
from tests.conftest import TEST_PASSWORD
from tests.dashboard.conftest import SUPERVISOR

PAGE = str(PROJECT_ROOT / "dashboard" / "screens" / "import_data.py")
RUN_KEY = "import_run"
JOB_KEY = ui.JOB_KEY


@pytest.fixture
def drop(small_drop):
    """The small drop with the March payment made twice (a duplicate and a control total)."""
    ledger = small_drop / "资金实发明细.csv"
    first = ledger.read_bytes().decode("gb18030").splitlines()[1]
    with ledger.open("ab") as fh:
        fh.write(
            (first.replace("T0001", "T0002").replace("2026-03-10", "2026-03-11") + "\n").encode(
                "gb18030"
            )
        )
    return small_drop


def finish(at: AppTest) -> AppTest:
    """Let the run started in the background end, and the page draw what came of it."""
    for _ in range(10):
        assert not at.exception, at.exception
        if JOB_KEY not in at.session_state:
            return at
        job = runs.job(at.session_state[JOB_KEY])
        assert job is not None and job.done.wait(120)
        at.run()
    raise AssertionError("the page never took in the end of its run")


@pytest.fixture(autouse=True)
def ws(tmp_path, monkeypatch):
    """The workspace the pages and their runs use (SQLite in it), and the test's handle on it."""
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "ws"))
    monkeypatch.delenv("AIDWATCH_DATABASE_URL", raising=False)
    workspace = Workspace.open(tmp_path / "ws")
    store = workspace.store  # opened now, on this database, whatever a test sets later
    yield workspace
    store.dispose()


def run_folders(ws: Workspace) -> list[Path]:
    return sorted((ws.root / "runs").iterdir())


def outputs_elsewhere(drop: Path, tmp_path: Path) -> Path:
    """What a run of ``drop`` in a fresh workspace of its own writes."""
    other = Workspace.open(tmp_path / "elsewhere")
    try:
        return tracking.record_check(
            other, drop, reader.read_drop(drop), by="测试", origin="test"
        ).out
    finally:
        other.store.dispose()


def open_page(monkeypatch, drop, tmp_path) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(tmp_path / "no-run-yet"))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    return at


def history(at: AppTest) -> pl.DataFrame:
    (listed,) = [pl.from_pandas(df.value) for df in at.dataframe if "完成时间" in df.value.columns]
    return listed


def test_running_all_checks_records_the_run_and_shows_its_summary(monkeypatch, drop, tmp_path, ws):
    at = open_page(monkeypatch, drop, tmp_path)
    assert not [df for df in at.dataframe if "完成时间" in df.value.columns]  # no run yet
    button = at.button(key=RUN_KEY)
    assert button.label == "运行全部检查" and not button.disabled
    assert str(at.date_input(key="import_as_of_20260331").value) == "2026-03-31"

    at = finish(button.click().run())
    assert not at.exception, at.exception

    # The run is a row of the workspace's run log, its outputs in the workspace, its findings
    # in triage.
    (out,) = run_folders(ws)
    assert out.name == "000001"
    # ... recorded under the logged-in user's name
    assert runs_frame(ws.store).select("id", "kind", "origin", "by", "status").rows() == [
        (1, "check", "browser", SUPERVISOR.name, "ok")
    ]
    elsewhere = outputs_elsewhere(drop, tmp_path)
    for name in ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv"):
        assert (out / name).read_bytes() == (elsewhere / name).read_bytes(), name
    findings = pl.read_csv(out / "findings.csv")
    assert "duplicate_payment" in findings["check_id"].to_list()
    states = states_frame(ws.store)
    assert states.height == findings.height and set(states["state"]) == {"new"}

    # Every page is asked to show this drop and this run from now on.
    assert at.session_state[ui.PENDING_FOLDERS_KEY] == (str(drop), str(out))
    (success,) = at.success
    assert f"发现线索 {findings.height:,} 条" in success.value
    # no folder of the server in the message
    assert str(out) not in success.value and ui.md(out) not in success.value
    assert "已记入工作区的运行记录（第 1 次）" in success.value
    (summary,) = [pl.from_pandas(df.value) for df in at.dataframe if "检查项" in df.value.columns]
    assert summary.columns[:2] == ["检查项", "类别"]
    assert summary["线索数"].sum() == findings.height
    with_findings = (summary["线索数"] > 0).to_list()
    assert with_findings == sorted(with_findings, reverse=True)  # checks with findings first
    assert "重复拨付" in summary.filter(pl.col("线索数") > 0)["检查项"].to_list()
    assert {m.label: m.value for m in at.metric}["线索"] == f"{findings.height:,}"

    # The run is listed under 检查记录, named by its drop folder (by its name: a supervisor is
    # not shown the server's folders).
    listed = history(at)
    assert listed.height == 1
    row = listed.row(0, named=True)
    assert (
        row["编号"],
        row["来源"],
        row["操作人"],
        row["数据来源"],
        row["检查基准日"],
        row["检查范围"],
        row["线索数"],
        row["备注"],
    ) == (1, "浏览器", SUPERVISOR.name, drop.name, "2026-03-31", "全部", findings.height, "")


def test_the_record_lists_the_check_runs_of_the_command_line_too(monkeypatch, drop, tmp_path, ws):
    read = reader.read_drop(drop)
    cli = tracking.record_check(ws, drop, read, by="审计员", origin="cli", only=["funds"])
    gone = tracking.record_check(ws, drop, read, by="审计员", origin="cli")
    shutil.rmtree(gone.out)
    tracking.import_drop(ws, drop, read, by="审计员", origin="cli")  # an import: no check run

    at = open_page(monkeypatch, drop, tmp_path)

    listed = history(at)
    assert listed["编号"].to_list() == [gone.run_id, cli.run_id]
    assert listed["来源"].to_list() == ["命令行", "命令行"]
    assert listed["操作人"].to_list() == ["审计员", "审计员"]
    assert listed["检查范围"].to_list() == ["全部", "资金比对"]
    assert listed["备注"].to_list() == ["结果文件夹已不在工作区中", ""]
    head = runs.headline(cli.outcome.summary, cli.outcome.findings)
    assert listed.row(1, named=True)["涉及金额（元）"] == head["amount_fen"] / 100


def test_a_run_log_that_cannot_be_read_is_said_so(monkeypatch, drop, tmp_path):
    monkeypatch.setenv(
        "AIDWATCH_DATABASE_URL", "postgresql+psycopg://auditor:s3cret@127.0.0.1:1/aidwatch"
    )
    at = open_page(monkeypatch, drop, tmp_path)
    (warning,) = [w.value for w in at.warning if "运行记录" in w.value]
    assert warning.startswith("无法读取工作区的运行记录（") and "s3cret" not in warning
    assert not at.button(key=RUN_KEY).disabled  # the run reports the database itself


class Controlled:
    """A run whose course the test sets: the page starts it and follows it as it would a real
    one (the real ones run in a process of their own, out of a test's reach)."""

    def __init__(self, monkeypatch, drop, tmp_path):
        self.drop, self.root = drop, tmp_path / "ws"
        self.job = runs.Job(key=f"{self.root}|controlled", source=drop)

        def start(source, as_of, **kwargs):
            with runs._JOBS_LOCK:
                runs._JOBS[self.job.key] = self.job
            return self.job

        monkeypatch.setattr(runs, "start_job", start)

    def finish(self) -> Path:
        ws = Workspace.open(self.root)
        try:
            recorded = runs.run_and_write(ws, reader.read_drop(self.drop), self.drop)
        finally:
            ws.store.dispose()
        out = self.job.out = recorded.out
        self.job.run_id = recorded.run_id
        self.job.progress("完成", 1.0)
        self.job.done.set()
        return out

    def fail(self, message: str) -> None:
        self.job.error = message
        self.job.done.set()


def test_while_the_run_goes_on_the_page_shows_its_progress(monkeypatch, drop, tmp_path):
    run = Controlled(monkeypatch, drop, tmp_path)
    at = open_page(monkeypatch, drop, tmp_path)
    at = at.button(key=RUN_KEY).click().run()
    assert not at.exception, at.exception
    assert at.session_state[JOB_KEY] == run.job.key
    run.job.progress("检查 重复拨付（duplicate_payment）", 0.5)
    at.run()
    assert at.button(key=RUN_KEY).disabled
    (bar,) = at.get("progress")
    assert "重复拨付" in bar.proto.text and "50%" in bar.proto.text
    assert any("后台" in c.value for c in at.caption)
    assert not at.success

    run.finish()
    at = finish(at)
    assert not at.button(key=RUN_KEY).disabled
    assert at.success and "检查完成" in at.success[0].value
    assert not at.get("progress")


def logged_in_app(ws: Workspace, role: str = "civil_affairs") -> AppTest:
    """The whole app (app.py), logged in as an account of ``role`` of the workspace: the login
    session's token, as the login form leaves it in the browser session."""
    accounts.add_user(
        ws.store,
        username=role,
        display_name=f"测试{role}",
        role=role,
        password=TEST_PASSWORD,
        by="测试",
    )
    at = AppTest.from_file(str(PROJECT_ROOT / "dashboard" / "app.py"), default_timeout=120)
    at.session_state[auth.TOKEN_KEY] = accounts.start_session(ws.store, role)
    return at


def test_a_run_is_followed_in_the_sidebar_of_other_pages(monkeypatch, drop, tmp_path, ws):
    run = Controlled(monkeypatch, drop, tmp_path)
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    monkeypatch.setenv("AIDWATCH_OUT", str(tmp_path / "no-run-yet"))
    at = logged_in_app(ws).run()
    assert not at.exception, at.exception
    assert at.session_state[auth.VIEWER_KEY].account == "civil_affairs"  # the account's
    # Only an administrator chooses folders: the folders in use are the session's.
    assert not [t for t in at.sidebar.text_input if t.key in (ui.DROP_KEY, ui.OUT_KEY)]
    at.switch_page("screens/import_data.py").run()
    at = at.button(key=RUN_KEY).click().run()
    assert not at.exception, at.exception
    run.job.progress("检查 身故仍在册（deceased_still_active）", 0.6)

    # 总览 while the run goes on: its progress in the sidebar, the old folders in use.
    at.switch_page("screens/overview.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "总览"
    (bar,) = at.sidebar.get("progress")
    assert "身故仍在册" in bar.proto.text
    assert at.session_state[ui.OUT_KEY] == str(tmp_path / "no-run-yet")

    out = run.finish()
    at.run()
    assert not at.exception, at.exception
    assert at.session_state[ui.OUT_KEY] == str(out)
    assert at.title[0].value == "总览" and not at.sidebar.get("progress")
    assert [t.value for t in at.toast] == ["检查完成，各页面已切换到本次结果。"]
    assert JOB_KEY not in at.session_state


def test_a_choice_of_families_runs_only_those(monkeypatch, drop, tmp_path, ws):
    at = open_page(monkeypatch, drop, tmp_path)
    at.multiselect(key="import_families").set_value(["funds"]).run()
    assert at.button(key=RUN_KEY).label == "运行所选检查"
    at = finish(at.button(key=RUN_KEY).click().run())
    assert not at.exception, at.exception
    (out,) = run_folders(ws)
    assert set(pl.read_csv(out / "checks.csv")["family"]) == {"funds"}
    assert runs_frame(ws.store)["only"].to_list() == [["funds"]]
    assert history(at)["检查范围"].to_list() == ["资金比对"]

    at.multiselect(key="import_families").set_value([]).run()
    assert at.button(key=RUN_KEY).disabled


def test_a_run_that_cannot_be_judged_says_why_and_writes_nothing(monkeypatch, drop, tmp_path, ws):
    run = Controlled(monkeypatch, drop, tmp_path)
    at = open_page(monkeypatch, drop, tmp_path)
    at = at.button(key=RUN_KEY).click().run()
    run.fail("检查未能完成，未写入任何结果：缺少 2031 年的工作日历")
    at = finish(at)
    assert any("检查未能完成" in e.value and "2031" in e.value for e in at.error)
    assert run_folders(ws) == []
    assert ui.PENDING_FOLDERS_KEY not in at.session_state
    assert not at.success
    assert not at.button(key=RUN_KEY).disabled


def test_without_every_required_table_there_is_no_run_button(monkeypatch, small_drop, tmp_path):
    monkeypatch.setattr(data, "UPLOAD_ROOT", tmp_path / "uploads")
    at = open_page(monkeypatch, small_drop, tmp_path)
    at.radio(key="import_source").set_value("上传文件").run()
    assert not at.button  # nothing uploaded yet: nothing to run
    assert "请选择要上传的文件。" in [i.value for i in at.info]


def test_partial_drop_folder_offers_no_run(monkeypatch, small_drop, tmp_path):
    (small_drop / "entitlements.csv").rename(tmp_path / "entitlements.csv")
    at = open_page(monkeypatch, small_drop, tmp_path)
    # a drop folder must hold every required table: said as for an upload, not as an error
    assert any(
        "缺少必需的数据表" in w.value and "应发名册（entitlements）" in w.value for w in at.warning
    )
    assert not at.error
    assert not at.button


def server_workspace(page) -> Path:
    """The workspace of the server a browser test drives, found from the run its sidebar shows
    (an administrator's: only they see the folders): WORKSPACE/runs/<run id>."""
    run = Path(page.get_by_role("textbox", name="检查结果文件夹").input_value())
    assert run.parent.name == "runs" and run.name.isdigit(), run
    return run.parent.parent


def new_browser_page(chromium):
    """Another browser (a context of its own: its own cookies, so its own login)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    return context, context.new_page()


def pick_run(page, wait_for_app, row: int) -> None:
    """Tick row ``row`` (0: the newest) of 检查记录 on 数据导入."""
    page.get_by_role("heading", name="检查记录").wait_for()
    row_height = 35
    page.locator(".st-key-import_history .dvn-scroller").click(
        position={"x": 15, "y": row_height * (row + 1) + row_height // 2}
    )
    wait_for_app(page)


@pytest.mark.browser
def test_run_in_headless_chromium_then_every_page_shows_it(
    run_dashboard, browser_page, browser_login, chromium, wait_for_app, drop, tmp_path
):
    out = tmp_path / "no-run-yet"
    root = tmp_path / "runs"  # the server's workspace
    base_url = run_dashboard(drop, out, root)
    page = browser_page

    # A district supervisor (民政监督) imports and runs the checks, and sees every page; the
    # folders are an administrator's to choose, so none is in their sidebar.
    browser_login(page, base_url, "civil_affairs")
    page.get_by_text("检查结果文件夹中还没有").first.wait_for()  # 总览 before any run
    assert page.get_by_role("textbox", name="检查结果文件夹").count() == 0
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据导入").click()
    page.wait_for_url("**/import_data", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("button", name="运行全部检查").click()
    page.get_by_text("检查完成：").wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("link", name="查看街镇").wait_for()
    assert page.locator('[data-testid="stException"]').count() == 0

    # The run went through the server's workspace, under the user's name: its run log, its
    # outputs folder, triage.
    ws = Workspace.open(root)
    try:
        (logged,) = runs_frame(ws.store).select("id", "origin", "by", "status", "out_dir").rows()
        assert logged[1:4] == ("browser", "测试民政监督（civil_affairs）", "ok")
        run = root / "runs" / logged[4]
        findings = pl.read_csv(run / "findings.csv")
        assert states_frame(ws.store).height == findings.height
    finally:
        ws.store.dispose()
    # 民政监督 reads the folder the administrator set, and types no server path
    assert page.get_by_role("textbox", name="数据文件夹").count() == 0

    links = page.get_by_test_id("stPageLink")
    assert [links.nth(i).inner_text().split()[-1] for i in range(links.count())] == [
        "查看总览",
        "查看线索清单",
        "查看资金比对",
        "查看关系图谱",
        "查看街镇",
    ]
    # The link on the page opens 资金比对 on this run.
    page.get_by_role("link", name="查看资金比对").click()
    page.wait_for_url("**/funds", timeout=30_000)
    wait_for_app(page)
    page.get_by_role("heading", name="资金比对").wait_for()
    funds = findings.filter(pl.col("check_id").is_in(list(view.funds_checks()["check_id"])))
    assert "duplicate_payment" in funds["check_id"].to_list()
    grid = page.locator(".st-key-funds_table [aria-rowcount]")
    grid.wait_for(state="attached", timeout=30_000)
    assert int(grid.get_attribute("aria-rowcount")) - 1 == funds.height  # less the header row
    assert page.get_by_text("检查结果文件夹中还没有").count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0

    # Two runs from the command line into the same workspace, one whose outputs are then
    # removed: 检查记录 lists them all, newest first.
    ws = Workspace.open(root)
    try:
        read = reader.read_drop(drop)
        tracking.record_check(ws, drop, read, by="审计员", origin="cli", only=["funds"])
        gone = tracking.record_check(ws, drop, read, by="审计员", origin="cli")
    finally:
        ws.store.dispose()
    shutil.rmtree(gone.out)

    # An administrator's session, in another browser, starts on the default folders (the
    # sidebar shows the folders to an administrator only); the browser run is picked again there.
    context, page = new_browser_page(chromium)
    try:
        browser_login(page, base_url, "admin", "import_data")
        page.get_by_role("heading", name="数据导入").wait_for()  # an administrator's first page
        assert page.get_by_role("textbox", name="检查结果文件夹").input_value() == str(out)
        page.get_by_role("heading", name="检查记录").wait_for()
        grid = page.locator(".st-key-import_history [aria-rowcount]")
        assert int(grid.get_attribute("aria-rowcount")) - 1 == 3
        pick_run(page, wait_for_app, 0)
        page.get_by_text("无法在各页面查看这次检查").wait_for()
        assert page.get_by_role("button", name="在各页面查看这次检查").count() == 0
        pick_run(page, wait_for_app, 2)
        page.get_by_role("button", name="在各页面查看这次检查").click()
        wait_for_app(page)
        page.get_by_text("检查完成：").wait_for(timeout=30_000)
        assert page.get_by_role("textbox", name="检查结果文件夹").input_value() == str(run)
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        context.close()


@pytest.mark.browser
def test_uploaded_files_run_in_headless_chromium(
    run_dashboard, browser_page, browser_login, wait_for_app, drop, tmp_path
):
    base_url = run_dashboard(tmp_path / "no-drop", tmp_path / "no-run-yet", tmp_path / "runs")
    page = browser_page

    # An administrator: they may run the checks and see the folders in the sidebar.
    browser_login(page, base_url, "admin", "import_data")
    page.get_by_role("heading", name="数据导入").wait_for()  # an administrator's first page
    page.get_by_text("上传文件", exact=True).click()
    wait_for_app(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        sorted(str(p) for p in drop.iterdir())
    )
    page.get_by_text("已识别的数据表").wait_for(timeout=60_000)
    wait_for_app(page)
    page.get_by_role("button", name="运行全部检查").click()
    page.get_by_text("检查完成：").wait_for(timeout=60_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stException"]').count() == 0

    root = server_workspace(page)
    (run,) = sorted((root / "runs").iterdir())
    elsewhere = outputs_elsewhere(drop, tmp_path)
    for name in ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv"):
        assert (run / name).read_bytes() == (elsewhere / name).read_bytes(), name
    # The sidebar now names the uploaded copy of the drop and this run.
    assert page.get_by_role("textbox", name="检查结果文件夹").input_value() == str(run)
    uploaded = Path(page.get_by_role("textbox", name="数据文件夹").first.input_value())
    assert sorted(p.name for p in uploaded.iterdir()) == sorted(p.name for p in drop.iterdir())
    # 检查记录 names the upload as the page does.
    listed = page.locator(".st-key-import_history")
    listed.wait_for()
    assert int(listed.locator("[aria-rowcount]").get_attribute("aria-rowcount")) == 2
