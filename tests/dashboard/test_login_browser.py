"""Login in a real server and a real browser: a visitor gets the login page only, at every
address; a wrong password is refused and repeated ones lock the account; a login shows who is
logged in and only the pages of the role, lasts across reloads and tabs (the session cookie)
until 退出登录 ends it on the server; a page the role may not open is not served by address."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytics import pipeline
from analytics.export import WORD_JOINER
from analytics.reference import load_settings
from analytics.results import load_findings
from analytics.store import Workspace, accounts, audit
from tests.conftest import TEST_PASSWORD, TEST_STREET, write_small_drop

pytestmark = pytest.mark.browser

COOKIE = "aidwatch_session"
LOCKOUT_USER = "lockout.test"  # an account of its own, which the lockout test locks


@dataclass(frozen=True)
class Site:
    url: str
    drop: Path
    out: Path
    ws: Workspace  # the server's workspace, opened here to read what it recorded
    finding_id: str
    finding_summary: str


@pytest.fixture(scope="module")
def site(tmp_path_factory, run_dashboard) -> Site:
    """One server for this module: the small drop checked (one finding), and a workspace with
    the test accounts and the lockout test's own account."""
    base = tmp_path_factory.mktemp("login")
    drop, out, root = write_small_drop(base / "drop"), base / "out", base / "workspace"
    pipeline.write_outputs(pipeline.run(drop), out)
    finding = load_findings(out).row(0, named=True)
    ws = Workspace.open(root)
    accounts.add_user(
        ws.store,
        username=LOCKOUT_USER,
        display_name="锁定测试",
        role="civil_affairs",
        password=TEST_PASSWORD,
        by="测试",
    )
    try:
        yield Site(
            url=run_dashboard(drop, out, root),
            drop=drop,
            out=out,
            ws=ws,
            finding_id=finding["finding_id"],
            finding_summary=finding["summary"],
        )
    finally:
        ws.close()


@pytest.fixture
def new_page(chromium):
    """``new_page(context=None)``: a page in ``context``, else in a fresh context of its own (a
    browser with no cookie); every context made here is closed at the end."""
    made = []

    def make(context=None):
        if context is None:
            context = chromium.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            made.append(context)
        return context.new_page()

    yield make
    for context in made:
        context.close()


def wait_until(condition, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def text_of(page) -> str:
    return page.locator("body").inner_text().replace(WORD_JOINER, "")


def session_cookie(context) -> str | None:
    return next((c["value"] for c in context.cookies() if c["name"] == COOKIE and c["value"]), None)


def nav_pages(page) -> list[str]:
    """The titles of the pages the sidebar's navigation links to (the icon's name left out)."""
    links = page.get_by_test_id("stSidebarNav").get_by_role("link").all_inner_texts()
    return [link.strip().split("\n")[-1].strip() for link in links]


def assert_login_page(page, site: Site | None = None) -> None:
    """The login form and nothing else: no navigation, no sidebar, no page's heading, nothing of
    the findings."""
    page.get_by_role("heading", name="救助资金监督审计台").wait_for()
    assert page.get_by_label("用户名").count() == 1 and page.get_by_label("密码").count() == 1
    assert page.get_by_role("button", name="登录").count() == 1
    assert page.locator('[data-testid="stSidebarNav"] a').count() == 0
    # No sidebar, or (right after a logout, at times) its empty frame: nothing written in it.
    sidebar = page.get_by_test_id("stSidebar")
    assert sidebar.get_by_role("link").count() == 0
    assert sidebar.get_by_role("button", name="退出登录").count() == 0
    assert sidebar.get_by_role("textbox").count() == 0
    assert "".join(page.get_by_test_id("stSidebarUserContent").all_inner_texts()).strip() == ""
    assert page.get_by_role("heading").all_inner_texts() == ["救助资金监督审计台"]
    assert page.locator('[data-testid="stException"]').count() == 0
    body = text_of(page)
    for title in ("总览", "线索清单", "资金比对", "数据导入", "失信名单", "当前用户", "退出登录"):
        assert title not in body, title
    if site is not None:
        html = page.content()
        for secret in (
            site.finding_summary,
            site.finding_summary[:12],
            str(site.drop),
            str(site.out),
        ):
            assert secret not in body and secret not in html, secret


def submit_login(page, username: str, password: str) -> None:
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def close_dialog(page) -> None:
    """Dismiss Streamlit's 页面不存在 (Page not found) dialog, which makes the page behind it
    inert."""
    dialog = page.get_by_role("dialog")
    if dialog.count():
        page.keyboard.press("Escape")
        dialog.wait_for(state="detached")


# --- a visitor ------------------------------------------------------------------------------


def test_a_visitor_gets_only_the_login_page_at_every_address(
    site, browser_page, browser_login, wait_for_app
):
    page = browser_page
    deep_link = f"findings?finding={site.finding_id}"
    for path in ("", deep_link, "import_data"):
        page.goto(f"{site.url}/{path}")
        wait_for_app(page)
        assert_login_page(page, site)
        assert page.url == f"{site.url}/{path}"  # the address is kept for after the login
    assert session_cookie(page.context) is None

    # The same deep link, logged in: the finding it names is there to be shown.
    browser_login(page, site.url, path=deep_link)
    page.get_by_role("heading", name="线索清单").wait_for()
    summary = page.locator('[data-testid="stAlertContentInfo"]').filter(
        has_text=site.finding_summary[:12]
    )
    summary.wait_for()
    assert site.finding_summary in summary.inner_text().replace(WORD_JOINER, "")


# --- passwords and the lockout --------------------------------------------------------------


def failures(site: Site) -> int:
    """The failed logins of the lockout account the server has recorded."""
    return audit.entries_frame(site.ws.store, actions=["login_failed"], actor=LOCKOUT_USER).height


def test_wrong_passwords_are_refused_and_enough_of_them_lock_the_account(
    site, browser_page, wait_for_app
):
    limit = load_settings().accounts.lockout_failures
    assert limit >= 2
    page = browser_page
    page.goto(site.url)
    wait_for_app(page)
    before = failures(site)
    errors = page.locator('[data-testid="stAlertContentError"]')
    for attempt in range(1, limit + 1):
        submit_login(page, LOCKOUT_USER, "Wrong-password-9")
        wait_until(lambda n=before + attempt: failures(site) == n, f"failure {attempt} recorded")
        wait_for_app(page)
        if attempt < limit:
            errors.filter(has_text=accounts.BAD_LOGIN).wait_for()
        else:  # this failure locks the account
            errors.filter(has_text="账号已锁定").wait_for()
        assert errors.count() == 1
        assert_login_page(page, site)
        assert page.url == f"{site.url}/"

    # Locked: the right password is refused too, with the lock's message.
    submit_login(page, LOCKOUT_USER, TEST_PASSWORD)
    wait_until(lambda: failures(site) == before + limit + 1, "the locked login recorded")
    wait_for_app(page)
    errors.filter(has_text="登录失败次数过多，账号已锁定").wait_for()
    assert accounts.BAD_LOGIN not in errors.first.inner_text()
    assert_login_page(page, site)
    assert session_cookie(page.context) is None
    users = accounts.list_users(site.ws.store)
    assert users.filter(users["username"] == LOCKOUT_USER)["locked"].item() is True
    # The other accounts are not touched: 民政监督 still logs in on this page.
    submit_login(page, "civil_affairs", TEST_PASSWORD)
    page.get_by_test_id("stSidebar").get_by_text("退出登录").wait_for()


# --- what a login shows ---------------------------------------------------------------------

ROLE_VIEWS = {
    # role: (the caption naming the user, the landing page's heading, pages listed, not listed)
    "street": (
        f"当前用户：测试街镇（street）（街镇 · {TEST_STREET}）",
        "总览",
        {"线索清单", "总览", "资金比对", "街镇"},
        {"失信名单", "数据导入", "关系图谱", "失信查询"},
    ),
    "member_unit": (
        "当前用户：测试成员单位（member_unit）（成员单位 · 区住房保障局）",
        "失信查询",
        set(),
        {"总览", "线索清单", "失信名单", "数据导入", "关系图谱", "检查规则"},
    ),
    "admin": (
        "当前用户：测试管理员（admin）（管理员）",
        "数据导入",
        {"数据导入", "检查规则"},
        {"总览", "线索清单", "失信名单", "关系图谱", "失信查询"},
    ),
    "civil_affairs": (
        "当前用户：测试民政监督（civil_affairs）（民政监督）",
        "总览",
        {"总览", "线索清单", "关系图谱", "数据导入", "检查规则"},
        {"失信名单", "失信查询"},
    ),
}


@pytest.mark.parametrize("role", list(ROLE_VIEWS))
def test_a_login_shows_the_user_and_only_the_pages_of_the_role(
    site, browser_page, browser_login, role
):
    caption, landing, listed, unlisted = ROLE_VIEWS[role]
    page = browser_page
    browser_login(page, site.url, role=role)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(caption).wait_for()
    page.get_by_role("heading", name=landing, exact=True).wait_for()
    pages = nav_pages(page)
    assert listed <= set(pages), pages
    assert not unlisted & set(pages), pages
    if role == "member_unit":
        # 失信查询 is its only page: Streamlit draws no menu for a single page.
        assert pages == [], pages
    boxes = {
        box.get_attribute("aria-label"): box.input_value()
        for box in sidebar.get_by_role("textbox").all()
    }
    if role == "admin":
        # Only an administrator may point the app at a folder on the server.
        assert boxes == {"数据文件夹": str(site.drop), "检查结果文件夹": str(site.out)}
    else:
        assert boxes == {}
        assert str(site.drop) not in sidebar.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0


# --- the login session ----------------------------------------------------------------------


def test_the_login_lasts_across_reloads_and_tabs_until_logout_ends_it(
    site, browser_page, browser_login, new_page, wait_for_app
):
    page = browser_page
    context = page.context
    browser_login(page, site.url)
    wait_until(lambda: session_cookie(context) is not None, "the login cookie written")
    token = session_cookie(context)
    user = "当前用户：测试民政监督（civil_affairs）"

    # A reload is a new Streamlit session: the cookie carries the login over.
    page.reload()
    wait_for_app(page)
    page.get_by_test_id("stSidebar").get_by_text(user).wait_for()
    page.get_by_role("heading", name="总览").wait_for()

    # So does a link opened in another tab of the same browser.
    tab = new_page(context)
    tab.goto(f"{site.url}/rules")
    wait_for_app(tab)
    tab.get_by_role("heading", name="检查规则").wait_for()
    tab.get_by_test_id("stSidebar").get_by_text(user).wait_for()
    tab.close()

    # The cookie alone carries the login: another browser given its value is logged in too.
    other = new_page()
    other.context.add_cookies([{"name": COOKIE, "value": token, "url": site.url}])
    other.goto(site.url)
    wait_for_app(other)
    other.get_by_test_id("stSidebar").get_by_text(user).wait_for()

    # 退出登录: the login page, the cookie cleared, and a reload stays logged out.
    page.get_by_test_id("stSidebar").get_by_role("button", name="退出登录").click()
    page.get_by_label("用户名").wait_for()
    wait_for_app(page)
    assert_login_page(page, site)
    wait_until(lambda: session_cookie(context) is None, "the login cookie cleared")
    page.reload()
    wait_for_app(page)
    assert_login_page(page, site)

    # The session ended on the server: that other browser, its cookie unchanged, is logged out
    # at its next page load, and so is a fresh one given the old value.
    assert session_cookie(other.context) == token
    other.reload()
    wait_for_app(other)
    other.get_by_text("登录已过期，请重新登录。").wait_for()
    assert_login_page(other, site)
    fresh = new_page()
    fresh.context.add_cookies([{"name": COOKIE, "value": token, "url": site.url}])
    fresh.goto(site.url)
    wait_for_app(fresh)
    fresh.get_by_text("登录已过期，请重新登录。").wait_for()
    assert_login_page(fresh, site)


# --- pages by address -----------------------------------------------------------------------


def test_a_street_user_does_not_get_district_pages_by_address(
    site, browser_page, browser_login, wait_for_app
):
    page = browser_page
    browser_login(page, site.url, role="street")
    for path, title in (
        (f"graph?finding={site.finding_id}", "关系图谱"),
        ("dishonesty", "失信名单"),
        ("import_data", "数据导入"),
    ):
        page.goto(f"{site.url}/{path}")
        wait_for_app(page)
        # Streamlit serves the role's first page instead, and says the page asked for is none.
        page.get_by_role("heading", name="总览").wait_for()
        page.get_by_role("heading", name="页面不存在").wait_for()
        close_dialog(page)
        assert page.get_by_role("heading", name=title).count() == 0, path
        assert title not in nav_pages(page), path
        assert page.locator(".js-plotly-plot").count() == 0, path
        assert "证据路径" not in text_of(page), path
        assert page.locator('[data-testid="stException"]').count() == 0, path
    page.get_by_test_id("stSidebar").get_by_text(f"（街镇 · {TEST_STREET}）").wait_for()
