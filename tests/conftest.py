"""Shared fixtures: a small hand-written drop, a running dashboard, a headless Chromium page."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from stdnum.cn import ric

from dashboard import serve

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def make_id(region_and_birth: str, sequence: str) -> str:
    """An 18-character ID number with a valid check digit (first 17 characters given in parts)."""
    body = region_and_birth + sequence
    return body + ric.calc_check_digit(body + "0")  # it expects a placeholder check digit


def bad_check_digit(id_number: str) -> str:
    last = id_number[-1]
    return id_number[:-1] + ("0" if last != "0" else "1")


APPLICANT = make_id("31010519800101", "123")
SPOUSE = make_id("31010519820305", "224")
STAFF = make_id("31010519750606", "031")
BAD_ID = bad_check_digit(make_id("31010519900909", "456"))
ACCOUNT = "6222021234561929"


def write_small_drop(folder: Path) -> Path:
    """Every required table, a few rows each, one person with a bad check digit (a reject), a
    GB18030 file with Chinese headers and a file that is no table (ignored)."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, text: str, encoding: str = "utf-8") -> None:
        (folder / name).write_bytes(text.encode(encoding))

    write(
        "staff.csv", f"staff_id,name,id_number,role,street\nS001,王芳,{STAFF},街镇经办,华阳路街道\n"
    )
    write(
        "persons.csv",
        "id_number,name,household_id,street,phone\n"
        f"{APPLICANT},李明,H001,华阳路街道,13812345678\n"
        f"{SPOUSE},张丽,H001,华阳路街道,\n"
        f"{BAD_ID},赵强,H002,华阳路街道,\n",
    )
    write(
        "cases.csv",
        "case_id,household_id,applicant_id_number,street,assistance_type,status,"
        "accepted_date,decided_date,handler_id\n"
        f"C001,H001,{APPLICANT},华阳路街道,最低生活保障,在册,2026-01-05,"
        "2026-02-10,S001\n",
    )
    write("accounts.csv", f"case_id,account_no,holder_id_number\nC001,{ACCOUNT},{APPLICANT}\n")
    write(
        "entitlements.csv",
        f"month,case_id,id_number,item,kind,amount\n2026-03,C001,{APPLICANT},低保金,正常,1550.00\n",
    )
    write(
        "资金实发明细.csv",
        "流水号,发放月份,拨付日期,街镇,资金科目,救助项目,救助编号,收款人证件号,"
        "银行账号,金额,状态\n"
        f"T0001,2026-03,2026-03-10,华阳路街道,JZ01,低保金,C001,{APPLICANT},"
        f'{ACCOUNT},"1,550.00",成功\n',
        encoding="gb18030",
    )
    write("会议记录.csv", "日期,议题\n2026-03-01,例会\n")
    return folder


@pytest.fixture(autouse=True)
def _own_runs_folder(tmp_path, monkeypatch):
    """Runs started by a page under test, and uploads, go to the test's own folders, never to
    shared ones."""
    monkeypatch.setenv("AIDWATCH_PRIVATE_DIR", str(tmp_path / "aidwatch-private"))
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "aidwatch-workspace"))
    monkeypatch.delenv("AIDWATCH_DATABASE_URL", raising=False)


@pytest.fixture
def small_drop(tmp_path) -> Path:
    return write_small_drop(tmp_path / "drop")


# The helpers of dashboard/serve.py, under the names the browser tests import.
_free_port = serve.free_port
_wait_healthy = serve.wait_healthy


# The accounts every test server's workspace has: one per role, user name = role code.
TEST_PASSWORD = "Test-password-1"
TEST_STREET = "华阳路街道"  # the street account's (the small drop's street)


def add_test_accounts(workspace: Path) -> None:
    """One account per role in ``workspace`` (left alone where it exists already)."""
    from analytics.access import ROLES
    from analytics.store import Workspace, accounts

    ws = Workspace.open(workspace)
    try:
        for role, label in ROLES.items():
            try:
                accounts.add_user(
                    ws.store,
                    username=role,
                    display_name=f"测试{label}",
                    role=role,
                    street=TEST_STREET if role == "street" else None,
                    unit="区住房保障局" if role == "member_unit" else None,
                    password=TEST_PASSWORD,
                    by="测试",
                )
            except accounts.AccountError:
                pass  # there already
    finally:
        ws.close()


@pytest.fixture(scope="session")
def run_dashboard(tmp_path_factory):
    """``run_dashboard(drop_dir, out_dir, workspace=None) -> base_url``: one server per set of
    folders, stopped at the end. Its workspace (runs started in the browser, the workflow
    database, a SQLite file there) is ``workspace``, else a folder of the test session; it has
    one account per role (add_test_accounts), to log in with ``browser_login``."""
    servers: dict[tuple[str, str, str], tuple[str, subprocess.Popen]] = {}
    default_workspace = tmp_path_factory.mktemp("workspace")

    def start(drop_dir: Path, out_dir: Path, workspace: Path | None = None) -> str:
        key = (str(drop_dir), str(out_dir), str(workspace or default_workspace))
        if key not in servers:
            add_test_accounts(Path(key[2]))
            log = tmp_path_factory.mktemp("streamlit") / "server.log"
            env = {k: v for k, v in os.environ.items() if k != "AIDWATCH_DATABASE_URL"}
            env.update(
                {
                    "AIDWATCH_DROP": key[0],
                    "AIDWATCH_OUT": key[1],
                    "AIDWATCH_WORKSPACE": key[2],
                    "AIDWATCH_PRIVATE_DIR": str(tmp_path_factory.mktemp("private")),
                }
            )
            servers[key] = serve.start(env, log)
        return servers[key][0]

    yield start
    for _, proc in servers.values():
        serve.stop(proc)


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    """A fresh page (own context) with a viewport wide enough for the wide layout."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


def _wait_for_app(page, timeout_ms: int = 30_000) -> None:
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms
    )
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms
    )


def _browser_login(page, base_url: str, role: str = "civil_affairs", path: str = "") -> None:
    """Log ``page`` in as the test account of ``role`` through the login form, on ``path`` (a
    deep link the login keeps); its context keeps the login cookie for later page loads."""
    page.goto(f"{base_url}/{path}")
    _wait_for_app(page)
    page.get_by_label("用户名").fill(role)
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_test_id("stSidebar").get_by_text("退出登录").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => document.cookie.includes('aidwatch_session=')", timeout=30_000
    )  # written by the page once logged in
    _wait_for_app(page)


@pytest.fixture
def browser_login():
    """``browser_login(page, base_url, role="civil_affairs", path="")``: log in through the
    login form as the test account of ``role`` (see add_test_accounts)."""
    return _browser_login


@pytest.fixture
def wait_for_app():
    """``wait_for_app(page)``: Streamlit's own readiness signals (connected, script finished, no
    skeleton left), as its load tests use them."""
    return _wait_for_app


# --- Databases ------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def postgres_server():
    """A throwaway PostgreSQL cluster of Debian's packages on a free port of 127.0.0.1, for this
    test process: (host, port, user). As root it runs as the ``postgres`` user, since the server
    refuses to run as root. Skipped where PostgreSQL is not installed, except in CI."""
    import shutil
    import tempfile

    bin_dir = _postgres_bin()
    if bin_dir is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed: make setup installs it (package postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    base = Path(tempfile.mkdtemp(prefix="aidwatch-pg-"))
    as_user: list[str] = []
    if os.getuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sock, port = base / "data", base / "sock", _free_port()
    subprocess.run([*as_user, "mkdir", str(sock)], check=True)
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "aidwatch",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(base / "server.log"),
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield "127.0.0.1", port, "aidwatch"
    finally:
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(base, ignore_errors=True)


def new_postgres_database(server) -> str:
    """A fresh, empty database on the test cluster; its SQLAlchemy URL."""
    import uuid

    import psycopg

    host, port, user = server
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(
        host=host, port=port, user=user, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://{user}@{host}:{port}/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """An empty database of each kind the workspace supports: the storage and workflow tests
    run against both."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'aidwatch.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))
