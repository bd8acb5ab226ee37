"""Every role's journey through a real server in headless Chromium, on SQLite and on PostgreSQL
(the server and the test share the database): a visitor gets only the login page; 民政监督
imports the drop and runs the checks, then assigns a finding to a street, recorded under its
name; 联席办 publishes a record whose objection window has ended; 成员单位 asks about that person
(已列入, with the record's reference) and another (未列入), and sees no query log; a 街镇 user
gets no trace of another street's finding by its address, nor in its Excel export."""

from __future__ import annotations

import io
import os
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import expect

from analytics.access import ROLES
from analytics.calendar import WorkdayCalendar
from analytics.export import WORD_JOINER
from analytics.generate import generate
from analytics.reference import load_settings
from analytics.results import load_findings
from analytics.store import Workspace
from analytics.store import dishonesty as records
from analytics.store.findings import history_frame, runs_frame, states_frame
from analytics.views import findings as view
from analytics.workflow import dishonesty as rules
from analytics.workflow.dishonesty import Given
from dashboard import serve
from tests.conftest import (
    TEST_STREET,
    _wait_for_app,
    add_test_accounts,
    make_id,
)
from tests.conftest import _browser_login as login

pytestmark = pytest.mark.browser

# The test accounts (tests/conftest.py, add_test_accounts), as the records name them.
ACTOR = {role: f"测试{label}（{role}）" for role, label in ROLES.items()}
NOTIFIED = date(2026, 11, 2)  # the record's notice; its objection window of 10 working
OBJECTIONS_END = date(2026, 11, 16)  # days ends on this day
DECISION_NO = "长民失〔2026〕7号"
ASSIGN_NOTE = "请街镇入户核实家庭收入和银行账户"
UNLISTED = make_id("31010519991231", "998")  # a valid number of nobody on the list
TIMEOUT = 30_000
GRID = 'table[role="grid"]'  # a data grid's accessible table, in the DOM behind its canvas
FIRST_RUN = "000001"  # the outputs folder of the workspace's first check run


@dataclass(frozen=True)
class Site:
    url: str
    drop: Path
    ws: Workspace  # the server's workspace and database, opened here to read what it wrote
    person: dict  # the drop's person whose dishonesty record the office publishes
    record_id: int


def _start_server(drop: Path, out: Path, root: Path, private: Path, db_url: str, log: Path):
    """``streamlit run dashboard/app.py`` as run_dashboard starts it, but on ``db_url``."""
    env = dict(
        os.environ,
        AIDWATCH_DROP=str(drop),
        AIDWATCH_OUT=str(out),
        AIDWATCH_WORKSPACE=str(root),
        AIDWATCH_PRIVATE_DIR=str(private),
        AIDWATCH_DATABASE_URL=db_url,
    )
    return serve.start(env, log)


@pytest.fixture
def site(db_url, tmp_path, monkeypatch) -> Site:
    """A generated district, the test accounts of every role and a dishonesty record notified
    on NOTIFIED, in the database ``db_url``; a server on them, no check run yet."""
    # The page decides on date.today(); the calendar holds 2026 only.
    assert date.today() > OBJECTIONS_END, "publishing needs a day after the objection window"
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)  # before the workspace is opened
    drop, root = tmp_path / "drop", tmp_path / "workspace"
    generate(drop, households=300, seed=11)
    add_test_accounts(root)
    ws = Workspace.open(root)
    persons = pl.read_csv(drop / "persons.csv", infer_schema=False)
    assert UNLISTED not in persons["id_number"].to_list()
    person = persons.filter(pl.col("street") == TEST_STREET).row(0, named=True)
    calendar, settings = WorkdayCalendar.load(), rules.rules_from(load_settings().dishonesty)
    rid = records.create_record(
        ws.store,
        by=ACTOR["joint_office"],
        today=NOTIFIED,
        id_number=person["id_number"],
        name=person["name"],
        conduct="隐瞒",
        description="隐瞒家庭成员就业收入",
        severity="一般",
        basis="《上海市社会救助条例》第五十七条",
        money_obtained_fen=300_000,
        street=TEST_STREET,
    )
    records.apply(
        ws.store,
        rid,
        "notify",
        Given(notified_on=NOTIFIED, notify_method="直接送达"),
        by=ACTOR["joint_office"],
        expected_version=1,
        today=NOTIFIED,
        calendar=calendar,
        settings=settings,
    )
    assert (
        rules.window_end(
            rules.Record(state="notified", severity="一般", notified_on=NOTIFIED),
            calendar,
            settings,
        )
        == OBJECTIONS_END
    )
    # The results folder the server shows every login (AIDWATCH_OUT) is where the workspace puts
    # its first run: a run started in the browser switches only the session that started it.
    url, proc = _start_server(
        drop,
        root / "runs" / FIRST_RUN,
        root,
        tmp_path / "aidwatch-private",
        db_url,
        tmp_path / "server.log",
    )
    try:
        yield Site(url=url, drop=drop, ws=ws, person=person, record_id=rid)
    finally:
        serve.stop(proc)
        ws.close()


@pytest.fixture
def new_page(chromium):
    """``new_page()``: a page in a browser context of its own (no cookie: nobody logged in)."""
    made = []

    def make():
        context = chromium.new_context(
            viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True
        )
        context.set_default_timeout(TIMEOUT)
        made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


# --- helpers --------------------------------------------------------------------------------


def no_exception(page, where: str) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, where


def text_of(page) -> str:
    return page.locator("body").inner_text().replace(WORD_JOINER, "")


def choose(page, scope, label: str, option: str) -> None:
    """Pick ``option`` in the select box ``label`` of ``scope``."""
    box = scope.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)  # the choices it matches are listed
    page.get_by_role("option", name=option, exact=True).click()
    assert box.input_value() == option


def set_date(scope, label: str, day: date) -> None:
    """Type ``day`` into the date input ``label`` of ``scope``, segment by segment."""
    for part, value in (
        ("year", f"{day.year}"),
        ("month", f"{day.month:02d}"),
        ("day", f"{day.day:02d}"),
    ):
        segment = scope.get_by_role("spinbutton", name=f"{part}, {label}")
        segment.click()
        segment.press_sequentially(value)


def expect_grid_rows(scope, rows: int) -> None:
    """The data grid in ``scope`` comes to hold ``rows`` rows (its header row besides)."""
    expect(scope.locator(GRID)).to_have_attribute("aria-rowcount", str(rows + 1), timeout=TIMEOUT)


def grid_cells(table) -> list[dict[str, str]]:
    """The rows a data grid has drawn (``table``: its GRID), by column header."""
    table.wait_for(state="attached")
    headers = table.locator("th").all_text_contents()
    return [
        dict(zip(headers, row.locator("td").all_text_contents(), strict=True))
        for row in table.locator("tbody tr").all()
    ]


def download(page, button: str) -> bytes:
    with page.expect_download() as started:
        page.get_by_role("button", name=button).click()
    return Path(started.value.path()).read_bytes()


def lap(timings: dict, name: str, since: list) -> None:
    now = time.monotonic()
    timings[name] = round(now - since[0], 1)
    since[0] = now


# --- the journeys ---------------------------------------------------------------------------


def visitor_gets_only_the_login_page(site: Site, page, finding_id: str | None = None) -> None:
    paths = ["", "findings", "import_data", "dishonesty", "member_query"]
    if finding_id:
        paths.append(f"findings?finding={finding_id}")
    for path in paths:
        page.goto(f"{site.url}/{path}")
        _wait_for_app(page)
        page.get_by_role("heading", name="救助资金监督审计台").wait_for()
        assert page.get_by_role("heading").all_inner_texts() == ["救助资金监督审计台"], path
        assert page.get_by_role("button", name="登录").count() == 1, path
        assert page.locator('[data-testid="stSidebarNav"] a').count() == 0, path
        assert page.locator('[data-testid="stDataFrame"]').count() == 0, path
        body = text_of(page)
        for word in ("线索清单", "失信名单", "数据导入", "当前用户", site.person["name"]):
            assert word not in body, (path, word)
        if finding_id:
            assert finding_id not in page.content(), path
        no_exception(page, f"visitor at /{path}")


def supervisor_runs_the_checks(site: Site, page) -> Path:
    """民政监督 runs every check on 数据导入; the run's outputs folder."""
    login(page, site.url, "civil_affairs", "import_data")
    page.get_by_role("heading", name="数据导入").wait_for()
    page.get_by_role("heading", name="已识别的数据表").wait_for()  # the drop folder, read
    assert page.get_by_text("缺少必需的数据表").count() == 0
    no_exception(page, "数据导入")
    page.get_by_role("button", name="运行全部检查").click()
    page.get_by_text("检查完成：").wait_for(timeout=120_000)
    _wait_for_app(page)
    no_exception(page, "数据导入 after the run")
    (run,) = runs_frame(site.ws.store).select("by", "status", "out_dir").rows()
    assert run == (ACTOR["civil_affairs"], "ok", FIRST_RUN)
    out = site.ws.root / "runs" / FIRST_RUN
    # The page's link opens 线索清单 on this run, every finding of every street listed.
    page.get_by_role("link", name="查看线索清单").click()
    page.wait_for_url("**/findings")
    _wait_for_app(page)
    page.get_by_role("heading", name="线索详情").wait_for()
    no_exception(page, "线索清单 after the run")
    findings = view.visible_findings(load_findings(out))
    expect_grid_rows(page.locator(".st-key-findings_table"), findings.height)
    return out


def supervisor_assigns_a_finding(site: Site, page, fid: str) -> None:
    page.goto(f"{site.url}/findings?finding={fid}")
    _wait_for_app(page)
    page.get_by_role("heading", name="核查处理").wait_for()
    no_exception(page, "线索清单")
    status = page.get_by_test_id("stMarkdownContainer").filter(has_text="当前状态")
    assert status.first.inner_text() == "当前状态：待核实"
    form = page.get_by_test_id("stForm")
    choose(page, form, "分派给街镇", TEST_STREET)
    # A due date typed in: the default counts working days on a calendar of 2026 only.
    due = date.today() + timedelta(days=14)
    set_date(form, "期限", due)
    form.get_by_role("textbox", name="备注（选填）").fill(ASSIGN_NOTE)
    form.get_by_role("button", name="执行“分派核实”").click()
    page.get_by_text("已执行“分派核实”：待核实 → 核实中。").wait_for()
    _wait_for_app(page)
    no_exception(page, "线索清单 after 分派核实")
    assert status.first.inner_text() == (
        f"当前状态：核实中 · 承办：{TEST_STREET} · 期限：{due.isoformat()}"
    )

    # The history on the page: found, then assigned under the supervisor's name.
    history = page.locator(".st-key-findings_history")
    expect_grid_rows(history, 2)
    rows = grid_cells(history.locator(GRID))
    assert [row["操作"] for row in rows] == ["发现线索", "分派核实"]
    assert (rows[1]["操作人"], rows[1]["状态变化"], rows[1]["备注"], rows[1]["期限"]) == (
        ACTOR["civil_affairs"],
        "待核实 → 核实中",
        ASSIGN_NOTE,
        due.isoformat(),
    )

    # ... and in the database.
    moves = history_frame(site.ws.store, fid)
    assert moves["move"].to_list() == ["found", "assign"]
    assigned = moves.row(1, named=True)
    assert (assigned["by"], assigned["from_state"], assigned["to_state"], assigned["note"]) == (
        ACTOR["civil_affairs"],
        "new",
        "verifying",
        ASSIGN_NOTE,
    )
    state = states_frame(site.ws.store).filter(pl.col("finding_id") == fid).row(0, named=True)
    assert (state["state"], state["assignee_street"], state["due_date"]) == (
        "verifying",
        TEST_STREET,
        due,
    )


def office_publishes_the_record(site: Site, page) -> str:
    """联席办 decides and publishes the record, then puts it in a publication document; the
    record's reference."""
    login(page, site.url, "joint_office", "dishonesty")
    page.get_by_role("heading", name="失信名单").wait_for()
    no_exception(page, "失信名单")
    reference = records.records_frame(site.ws.store)["reference"].item()
    page.get_by_text(f"{reference} · {site.person['name']} · 状态：已告知").wait_for()
    page.locator(".st-key-dishonesty_move").get_by_text("公布", exact=True).click()
    _wait_for_app(page)
    form = page.get_by_test_id("stForm").filter(has_text="决定书文号")
    form.get_by_role("textbox", name="决定书文号").fill(DECISION_NO)
    form.get_by_role("button", name="执行“公布”").click()
    page.get_by_text(f"已公布：{reference}").wait_for()
    _wait_for_app(page)
    no_exception(page, "失信名单 after 公布")
    page.get_by_text(f"{reference} · {site.person['name']} · 状态：已公布").wait_for()

    page.get_by_role("tab", name="公布").click()
    page.get_by_role("button", name="公布这 1 条记录").click()
    page.get_by_text("已生成公布文件").wait_for()
    _wait_for_app(page)
    no_exception(page, "失信名单 after the publication")
    page.get_by_role("tab", name="公布").click()
    (shown,) = grid_cells(page.locator(GRID).filter(has_text="决定书文号"))
    assert (shown["姓名"], shown["决定书文号"]) == (site.person["name"], DECISION_NO)
    number = site.person["id_number"]
    assert shown["身份证号"] == number[:6] + "*" * 8 + number[-4:]  # masked
    document = pl.read_excel(
        io.BytesIO(download(page, "下载 Excel")),
        sheet_name="失信名单",
        engine="calamine",
        infer_schema_length=0,
    )
    assert document.select("姓名", "身份证号", "决定书文号").rows() == [
        (shown["姓名"], shown["身份证号"], DECISION_NO)
    ]
    record = records.records_frame(site.ws.store).row(0, named=True)
    assert (record["state"], record["decision_no"]) == ("published", DECISION_NO)
    assert record["publication_no"]
    history = records.history_frame(site.ws.store, site.record_id)
    assert history["move"].to_list()[:3] == ["create", "notify", "publish"]
    assert history["by"].to_list()[2] == ACTOR["joint_office"]
    return reference


def member_unit_queries(site: Site, page, reference: str) -> None:
    login(page, site.url, "member_unit")
    page.get_by_role("heading", name="失信查询").wait_for()
    no_exception(page, "失信查询")
    purpose = load_settings().dishonesty.query_purposes[0]
    main = page.get_by_test_id("stMain")
    for number, listed in ((site.person["id_number"], 1), (UNLISTED, 0)):
        choose(page, main, "查询用途", purpose)
        main.get_by_role("textbox", name="身份证号").fill(number)
        main.get_by_role("button", name="查询", exact=True).click()
        page.get_by_text(f"共查询 1 个身份证号，其中已列入失信名单 {listed} 个").wait_for()
        _wait_for_app(page)
        no_exception(page, f"失信查询 of {'a listed' if listed else 'an unlisted'} number")
        answers = pl.read_excel(
            io.BytesIO(download(page, "下载查询结果（Excel）")),
            engine="calamine",
            infer_schema_length=0,
        )
        row = answers.row(0, named=True)
        if listed:
            assert (row["查询结果"], row["失信记录编号"]) == ("已列入", reference)
        else:
            assert row["查询结果"] == "未列入" and row["失信记录编号"] is None
        assert row["身份证号"] != number and row["身份证号"].endswith(number[-4:])
        body, html = text_of(page), page.content()
        assert number not in body and number not in html
        assert site.person["name"] not in body
        # The query log is the office's: not on a member unit's page.
        for word in ("查询记录", "最近的在前", "还没有成员单位查询过"):
            assert word not in body, word
    logged = records.query_log(site.ws.store)
    assert logged.select("by", "unit", "numbers", "listed").rows() == [
        (ACTOR["member_unit"], "区住房保障局", 1, 0),
        (ACTOR["member_unit"], "区住房保障局", 1, 1),
    ]


def street_user_sees_only_its_street(site: Site, page, own: pl.DataFrame, other: dict) -> None:
    """A 街镇 user given another street's finding's address gets no trace of it; its export
    holds its own street's findings only."""
    login(page, site.url, "street", f"findings?finding={other['finding_id']}")
    page.get_by_role("heading", name="线索清单").wait_for()
    page.get_by_role("heading", name="线索详情").wait_for()
    no_exception(page, "线索清单 of a street user")
    body, html = text_of(page), page.content()
    for trace in (other["finding_id"], other["summary"]):
        assert trace not in body and trace not in html, trace
    expect_grid_rows(page.locator(".st-key-findings_table"), own.height)
    # Nor is it among the findings to open: the box finds one of the street's own by its
    # summary, and nothing by the other's.
    box = page.get_by_role("combobox", name="查看线索")
    box.click()
    box.fill(own["summary"][0])
    option = page.get_by_role("option").filter(has_text=own["summary"][0])
    option.first.wait_for()
    box.fill(other["summary"])
    option.first.wait_for(state="detached")
    page.get_by_role("option", name="没有匹配项").wait_for()
    assert page.get_by_role("option").all_inner_texts() == ["没有匹配项"]
    box.press("Escape")
    _wait_for_app(page)
    exported = pl.read_excel(
        io.BytesIO(download(page, "导出 Excel")),
        sheet_name=view.SHEET,
        engine="calamine",
        infer_schema_length=0,
    )
    assert exported.height == own.height
    assert set(exported["街镇"].to_list()) == {TEST_STREET}
    assert sorted(exported["编号"].to_list()) == sorted(own["finding_id"].to_list())
    assert other["finding_id"] not in exported["编号"].to_list()
    # The finding 民政监督 assigned to this street is there, being verified by it.
    assigned = exported.filter(pl.col("编号") == own["finding_id"][0]).row(0, named=True)
    assert (assigned["状态"], assigned["承办"]) == ("核实中", TEST_STREET)
    no_exception(page, "线索清单 of a street user after the export")


def test_every_role_journey_in_the_browser(site, new_page, db_url):
    timings: dict[str, float] = {}
    since = [time.monotonic()]

    visitor = new_page()
    visitor_gets_only_the_login_page(site, visitor)
    lap(timings, "visitor", since)

    supervisor = new_page()
    out = supervisor_runs_the_checks(site, supervisor)
    lap(timings, "run", since)
    findings = view.visible_findings(load_findings(out))
    own = findings.filter(pl.col("street") == TEST_STREET)
    others = findings.filter(pl.col("street").is_not_null() & (pl.col("street") != TEST_STREET))
    assert own.height and others.height, "the district needs findings in two streets at least"
    other = others.row(0, named=True)
    supervisor_assigns_a_finding(site, supervisor, own["finding_id"][0])
    lap(timings, "triage", since)

    # The visitor, now that there are findings, still gets nothing of one by its address.
    visitor_gets_only_the_login_page(site, visitor, other["finding_id"])
    lap(timings, "visitor again", since)

    reference = office_publishes_the_record(site, new_page())
    lap(timings, "publish", since)
    member_unit_queries(site, new_page(), reference)
    lap(timings, "member query", since)
    street_user_sees_only_its_street(site, new_page(), own, other)
    lap(timings, "street", since)
    print(f"\n{db_url.split(':')[0]} journeys: {timings}")
