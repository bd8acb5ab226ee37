"""Screenshots of every page of the dashboard for the README, on a generated demo district.

    .venv/bin/python docs/screenshots.py                       # every page, 1280 px wide (~70 s)
    .venv/bin/python docs/screenshots.py --pages overview,funds --height 1400

Generates a small district, runs the checks into a workspace of its own, takes two dishonesty
records through due process (one published, one notified and in its objection window) and a
档案核查 session part of the way (ten of fifty cases checked, two items found wanting), adds one
account per role the pages need (passwords drawn at random, used once and forgotten), starts the
dashboard on it, logs in through the login form in headless Chromium (Debian's, with the flags
of the field notes, driven by Playwright) as a role that may open each page, and photographs
each page (dashboard/app.py PAGES, in its order) into docs/screenshots/<page>.png. Prints the
Markdown that shows them in the README. Everything is synthetic; nothing is kept but the
pictures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Who photographs a page: the first of these roles that may open it (analytics.access.PAGES).
ROLE_ORDER = ("civil_affairs", "joint_office", "discipline", "member_unit", "admin", "street")
READY = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CONNECTED = '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'


def prepare(base: Path) -> tuple[Path, Path, Path]:
    """A demo drop, its check run in a workspace, two dishonesty records and a file audit."""
    sys.path.insert(0, str(ROOT))
    os.environ["AIDWATCH_WORKSPACE"] = str(base / "workspace")
    os.environ.pop("AIDWATCH_DATABASE_URL", None)
    import polars as pl

    from analytics import tracking
    from analytics.calendar import WorkdayCalendar
    from analytics.generate import generate
    from analytics.reader import read_drop
    from analytics.store import Workspace
    from analytics.store import dishonesty as records
    from analytics.views import dishonesty as listing
    from analytics.workflow.dishonesty import Given

    drop = base / "drop"
    generate(drop, households=600, seed=7)
    ws = Workspace.open(base / "workspace")
    out = tracking.record_check(ws, drop, read_drop(drop), by="演示", origin="cli").out
    people = pl.read_csv(drop / "persons.csv", infer_schema=False).head(2).to_dicts()
    calendar = WorkdayCalendar.load()
    for person, published in zip(people, (True, False), strict=True):
        rid = records.create_record(
            ws.store,
            by="联席办",
            today=date(2026, 10, 9),
            id_number=person["id_number"],
            name=person["name"],
            conduct="隐瞒",
            description="隐瞒家庭成员就业收入，多领取最低生活保障金",
            severity="一般",
            basis="《上海市社会救助条例》",
            money_obtained_fen=360_000,
            street=person["street"],
        )
        notified = date(2026, 10, 9) if published else date(2026, 11, 25)
        version = records.apply(
            ws.store,
            rid,
            "notify",
            Given(notified_on=notified, notify_method="直接送达"),
            by="联席办",
            expected_version=1,
            today=notified,
            calendar=calendar,
        )
        if published:
            records.apply(
                ws.store,
                rid,
                "publish",
                Given(
                    decision_no="长民失〔2026〕1号", decision_date=date(2026, 11, 2), term_months=6
                ),
                by="联席办",
                expected_version=version,
                today=date(2026, 11, 2),
                calendar=calendar,
            )
    listing.publish_batch(ws.store, "联席办", date(2026, 11, 2), calendar=calendar)
    audit_session(ws)
    ws.close()
    return drop, out, base / "workspace"


def audit_session(ws) -> None:
    """A 档案核查 session of October under way: five cases per street drawn, two streets' cases
    checked, two items found wanting."""
    from analytics.views import file_audit as audit

    sid, _ = audit.latest_snapshot(ws)
    session = audit.start_session(
        ws,
        sid,
        audit.default_params("2026-10", seed=20261105),
        held_on=date(2026, 11, 5),
        title="2026年10月档案材料集中核查",
        team=["区民政局 王督查", "区纪委 李监督"],
        by="王督查",
    )
    sample = audit.session_view(ws, session).sample
    codes = [item.code for item in audit.checklist()]
    notes = {
        1: ("home_visit", "入户调查记录只有一名工作人员签字"),
        7: ("credit_pledge", "信用承诺书缺共同生活家庭成员签名"),
    }
    for n, case in enumerate(sample["case_id"].to_list()[:10]):
        given = {code: ("符合", None) for code in codes}
        if n in notes:
            code, note = notes[n]
            given[code] = ("不符合", note)
        audit.save_case(ws, session, case, given, {}, by="王督查")


def pages() -> list[tuple[str, str]]:
    """(address, title) of every page of the navigation, in its order: read from
    dashboard/app.py's PAGES without running the app."""
    tree = ast.parse((ROOT / "dashboard" / "app.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and getattr(node.targets[0], "id", None) == "PAGES"
        ):
            return [(Path(file).stem, title) for file, title, _ in ast.literal_eval(node.value)]
    raise LookupError("dashboard/app.py has no PAGES")


def role_for(page: str) -> str:
    from analytics.access import PAGES

    allowed = PAGES.get(page, frozenset())
    for role in ROLE_ORDER:
        if role in allowed:
            return role
    raise LookupError(f"no role may open {page}")


def add_accounts(workspace: Path, drop: Path, roles: set[str]) -> dict[str, str]:
    """One account per role in ``workspace`` (a 街镇 one on the drop's first street): role ->
    its password (random, for this run)."""
    from analytics.access import ROLES
    from analytics.store import Workspace, accounts

    passwords = {}
    ws = Workspace.open(workspace)
    try:
        street = None
        if "street" in roles:
            import polars as pl

            street = pl.read_csv(drop / "persons.csv", infer_schema=False)["street"][0]
        for role in sorted(roles):
            passwords[role] = "Shot-" + secrets.token_urlsafe(12)
            accounts.add_user(
                ws.store,
                username=f"demo_{role}",
                display_name=f"演示{ROLES[role]}",
                role=role,
                street=street if role == "street" else None,
                unit="区住房保障局" if role == "member_unit" else None,
                password=passwords[role],
                by="演示",
            )
    finally:
        ws.close()
    return passwords


@contextlib.contextmanager
def serve(tmp: Path, drop: Path, out: Path, workspace: Path) -> Iterator[str]:
    """The dashboard on the demo workspace, on a free port of this machine: its address."""
    sys.path.insert(0, str(ROOT))
    from dashboard import serve as server

    env = {k: v for k, v in os.environ.items() if k != "AIDWATCH_DATABASE_URL"}
    env.update(
        {
            "AIDWATCH_DROP": str(drop),
            "AIDWATCH_OUT": str(out),
            "AIDWATCH_WORKSPACE": str(workspace),
            "AIDWATCH_PRIVATE_DIR": str(tmp / "p"),
        }
    )
    url, proc = server.start(env, tmp / "server.log")
    try:
        yield url
    finally:
        server.stop(proc)


def wait_ready(page, timeout_ms: int = 60_000) -> None:
    """Streamlit's own readiness signals (connected, script finished, no skeleton left), then
    the fonts and a moment for charts and grids to finish drawing."""
    page.wait_for_selector(CONNECTED, timeout=timeout_ms)
    page.wait_for_selector(READY, timeout=timeout_ms)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms
    )
    page.evaluate("() => document.fonts.ready")
    time.sleep(1.5)
    page.wait_for_selector(READY, timeout=timeout_ms)


def log_in(page, url: str, path: str, username: str, password: str) -> None:
    """Through the login form at ``path`` (the login keeps the address: the page follows)."""
    page.goto(f"{url}/{path}")
    wait_ready(page)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_test_id("stSidebar").get_by_text("退出登录").wait_for(timeout=60_000)
    page.wait_for_function("() => document.cookie.includes('aidwatch_session=')", timeout=30_000)


def check_shown(page, title: str) -> None:
    """The page itself, whole: its heading, no error box (a picture of a failure is no
    picture for the README)."""
    page.get_by_role("heading", name=title).first.wait_for(timeout=30_000)
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"{title}: the page shows an error")
    if page.get_by_text("当前账号无权查看本页").count():
        raise RuntimeError(f"{title}: the account may not open it")


def has_cjk_font() -> bool:
    found = (
        shutil.which("fc-list")
        and subprocess.run(
            ["fc-list", ":lang=zh", "family"], capture_output=True, text=True
        ).stdout.strip()
    )
    return bool(found)


def markdown(shots: list[tuple[str, str]]) -> str:
    """The README's gallery: one picture per page, in the navigation's order."""
    return "\n".join(f"![{title}](docs/screenshots/{name}.png)" for name, title in shots)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--pages", default="", help="addresses or titles, comma-separated (default: every page)"
    )
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright

    every = pages()
    wanted = [w.strip() for w in args.pages.split(",") if w.strip()]
    unknown = [w for w in wanted if not any(w in (name, title) for name, title in every)]
    if unknown:
        ap.error(
            f"no such page: {', '.join(unknown)} (pages: {', '.join(name for name, _ in every)})"
        )
    chosen = [(n, t) for n, t in every if not wanted or n in wanted or t in wanted]
    if not has_cjk_font():
        print(
            "warning: no Chinese font installed (apt-get install fonts-wqy-microhei): "
            "the pictures would show boxes",
            file=sys.stderr,
        )
    started = time.monotonic()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shots: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="aidwatch-shots-") as tmp:
        drop, out, workspace = prepare(Path(tmp))
        by_role: dict[str, list[tuple[str, str]]] = {}
        for name, title in chosen:
            by_role.setdefault(role_for(name), []).append((name, title))
        passwords = add_accounts(workspace, drop, set(by_role))
        with serve(Path(tmp), drop, out, workspace) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                for role, role_pages in by_role.items():
                    context = browser.new_context(
                        viewport={"width": args.width, "height": args.height}, locale="zh-CN"
                    )
                    page = context.new_page()
                    log_in(page, url, role_pages[0][0], f"demo_{role}", passwords[role])
                    for n, (name, title) in enumerate(role_pages):
                        if n:
                            page.goto(f"{url}/{name}")
                        wait_ready(page)
                        check_shown(page, title)
                        target = SHOTS / f"{name}.png"
                        page.screenshot(path=str(target), full_page=False)
                        shots.append((name, title))
                        print(f"{target.relative_to(ROOT)}  {title}（{role}）", file=sys.stderr)
                    context.close()
            finally:
                browser.close()
    shots.sort(key=lambda shot: every.index(shot))
    print(markdown(shots))
    print(f"{len(shots)} pages in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
