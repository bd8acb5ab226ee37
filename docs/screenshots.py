"""Screenshots of the dashboard for the README, on a generated demo district.

    .venv/bin/python docs/screenshots.py [--pages dishonesty,member_query] [--width 1280]
    .venv/bin/python docs/screenshots.py --pages file_audit --height 1400

Generates a small district, runs the checks into a workspace of its own, takes two dishonesty
records through due process (one published, one notified and in its objection window) and a
档案核查 session part of the way (ten of fifty cases checked, two items found wanting), starts
the dashboard on it and photographs each page named in headless Chromium (Debian's, with the
flags of the field notes) into docs/<page>.png. Everything is synthetic; nothing is kept but the
pictures.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def prepare(base: Path) -> tuple[Path, Path, Path]:
    """A demo drop, its check run in a workspace, two dishonesty records and a file audit."""
    sys.path.insert(0, str(ROOT))
    os.environ["AIDWATCH_WORKSPACE"] = str(base / "workspace")
    os.environ.pop("AIDWATCH_DATABASE_URL", None)
    from analytics import tracking
    from analytics.calendar import WorkdayCalendar
    from analytics.generate import generate
    from analytics.reader import read_drop
    from analytics.store import Workspace
    from analytics.store import dishonesty as records
    from analytics.views import dishonesty as listing
    from analytics.workflow.dishonesty import Given

    import polars as pl

    drop = base / "drop"
    generate(drop, households=600, seed=7)
    ws = Workspace.open(base / "workspace")
    out = tracking.record_check(ws, drop, read_drop(drop), by="演示", origin="cli").out
    people = pl.read_csv(drop / "persons.csv", infer_schema=False).head(2).to_dicts()
    calendar = WorkdayCalendar.load()
    for person, published in zip(people, (True, False)):
        rid = records.create_record(
            ws.store, by="联席办", today=date(2026, 10, 9), id_number=person["id_number"],
            name=person["name"], conduct="隐瞒", description="隐瞒家庭成员就业收入，多领取最低生活保障金",
            severity="一般", basis="《上海市社会救助条例》", money_obtained_fen=360_000,
            street=person["street"])
        notified = date(2026, 10, 9) if published else date(2026, 11, 25)
        version = records.apply(ws.store, rid, "notify",
                                Given(notified_on=notified, notify_method="直接送达"),
                                by="联席办", expected_version=1, today=notified,
                                calendar=calendar)
        if published:
            records.apply(ws.store, rid, "publish",
                          Given(decision_no="长民失〔2026〕1号", decision_date=date(2026, 11, 2),
                                term_months=6),
                          by="联席办", expected_version=version, today=date(2026, 11, 2),
                          calendar=calendar)
    listing.publish_batch(ws.store, "联席办", date(2026, 11, 2), calendar=calendar)
    audit_session(ws)
    ws.close()
    return drop, out, base / "workspace"


def audit_session(ws) -> None:
    """A 档案核查 session of October under way: five cases per street drawn, two streets' cases
    checked, two items found wanting."""
    from analytics.views import file_audit as audit

    sid, _ = audit.latest_snapshot(ws)
    session = audit.start_session(ws, sid, audit.default_params("2026-10", seed=20261105),
                                  held_on=date(2026, 11, 5), title="2026年10月档案材料集中核查",
                                  team=["区民政局 王督查", "区纪委 李监督"], by="王督查")
    sample = audit.session_view(ws, session).sample
    codes = [item.code for item in audit.checklist()]
    notes = {1: ("home_visit", "入户调查记录只有一名工作人员签字"),
             7: ("credit_pledge", "信用承诺书缺共同生活家庭成员签名")}
    for n, case in enumerate(sample["case_id"].to_list()[:10]):
        given = {code: ("符合", None) for code in codes}
        if n in notes:
            code, note = notes[n]
            given[code] = ("不符合", note)
        audit.save_case(ws, session, case, given, {}, by="王督查")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", default="dishonesty")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="aidwatch-shots-") as tmp:
        drop, out, workspace = prepare(Path(tmp))
        port = free_port()
        env = {**os.environ, "AIDWATCH_DROP": str(drop), "AIDWATCH_OUT": str(out),
               "AIDWATCH_WORKSPACE": str(workspace), "AIDWATCH_PRIVATE_DIR": str(Path(tmp) / "p")}
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port",
             str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                page = browser.new_page(viewport={"width": args.width, "height": args.height},
                                        locale="zh-CN")
                for name in args.pages.split(","):
                    page.goto(f"{url}/{name}")
                    page.wait_for_selector('[data-testid="stApp"]'
                                           '[data-test-script-state="notRunning"]',
                                           timeout=60_000)
                    time.sleep(1.5)  # charts and grids finish drawing
                    target = ROOT / "docs" / f"{name}.png"
                    page.screenshot(path=str(target), full_page=False)
                    print(f"{target.relative_to(ROOT)}")
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=20)
    return 0


if __name__ == "__main__":
    sys.exit(main())
