"""总览 in headless Chromium, side by side with a title-only Streamlit page.

    .venv/bin/python bench/pages/run.py --runs 7

Uses the demo district (demo/drop and demo/out, generated and checked first when missing, as
`make demo` does). Starts two Streamlit servers, the dashboard and a page holding nothing but a
title, and drives Debian's Chromium with the flags of the field notes:

- cold load: a fresh browser context (empty browser cache, a new Streamlit session) opens the
  page; timed until Streamlit reports it connected, the script finished and no skeleton is left,
  and the page's own content is drawn (总览: its four plotly charts; title page: its heading).
  The first load after a server starts (server caches empty) is reported on its own; the ratio
  uses the median of the loads after it, which both servers get the same way.
- filter change: on a loaded 总览, switching the period type (月度 / 季度 / 年度, in turn) until
  the ranking's heading names the new period and the script has finished.

Prints the figures and the verdicts against the targets (filter ≤ 1 s, cold load ≤ 1.5× the
title page).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TITLE_PAGE = 'import streamlit as st\n\nst.title("救助资金监督审计台")\n'
FILTER_TARGET_S = 1.0
COLD_RATIO_TARGET = 1.5
LEVELS = (("季度", "季度"), ("年度", "年"), ("月度", "月"))  # radio label, text in the heading


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(script: Path, env: dict[str, str]):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"streamlit did not start for {script}") from None
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(page, timeout_ms: int = 60_000) -> None:
    """Streamlit's own readiness signals, as its load tests use them."""
    page.wait_for_selector('[data-testid="stApp"][data-test-connection-state="CONNECTED"]',
                           timeout=timeout_ms)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')",
                           timeout=timeout_ms)


def cold_load(browser, url: str, drawn: str) -> float:
    """Seconds from navigation to a fully drawn page in a fresh context."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url)
        wait_ready(page)
        page.wait_for_function(drawn, timeout=60_000)
        return time.perf_counter() - started
    finally:
        context.close()


def filter_changes(browser, url: str, runs: int) -> list[float]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(url)
        wait_ready(page)
        page.get_by_role("heading", name="总览").wait_for()
        times = []
        for i in range(runs):
            label, unit = LEVELS[i % len(LEVELS)]
            started = time.perf_counter()
            page.get_by_text(label, exact=True).click()
            page.locator("h3", has_text="街镇排名").filter(has_text=unit).wait_for(
                timeout=30_000)
            wait_ready(page)
            times.append(time.perf_counter() - started)
        return times
    finally:
        context.close()


def ensure_demo(drop: Path, out: Path, households: int, seed: int) -> None:
    aidwatch = [sys.executable, "-m", "analytics.cli"]
    if not drop.is_dir():
        subprocess.run([*aidwatch, "generate", "--out", str(drop), "--households",
                        str(households), "--seed", str(seed), "--quiet"], cwd=ROOT, check=True)
    if not (out / "indicators.csv").exists():
        subprocess.run([*aidwatch, "check", str(drop), "--out", str(out), "--quiet"], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drop", type=Path, default=ROOT / "demo" / "drop")
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "out")
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    ensure_demo(args.drop, args.out, args.households, args.seed)
    env = {"AIDWATCH_DROP": str(args.drop), "AIDWATCH_OUT": str(args.out)}
    charts_drawn = "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4"
    title_drawn = "() => !!document.querySelector('h1')"
    with tempfile.TemporaryDirectory() as tmp:
        title_script = Path(tmp) / "title_only.py"
        title_script.write_text(TITLE_PAGE, encoding="utf-8")
        with streamlit_server(ROOT / "dashboard" / "app.py", env) as app_url, \
                streamlit_server(title_script, {}) as title_url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            first_app = cold_load(browser, app_url, charts_drawn)
            first_title = cold_load(browser, title_url, title_drawn)
            app, title = [], []
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                app.append(cold_load(browser, app_url, charts_drawn))
                title.append(cold_load(browser, title_url, title_drawn))
            filters = filter_changes(browser, app_url, args.runs)
            browser.close()

    app_median, title_median = statistics.median(app), statistics.median(title)
    ratio = app_median / title_median
    print(f"demo district: {args.drop} (checked into {args.out})")
    print(f"runs: {args.runs}; Chromium {CHROMIUM}")
    print(f"first load after server start: 总览 {first_app:.2f} s, title-only {first_title:.2f} s")
    print(f"cold load (median of {args.runs}): 总览 {app_median:.2f} s "
          f"[{min(app):.2f}–{max(app):.2f}], title-only {title_median:.2f} s "
          f"[{min(title):.2f}–{max(title):.2f}]")
    print(f"cold-load ratio: {ratio:.2f}× (target ≤ {COLD_RATIO_TARGET}×) -> "
          f"{'OK' if ratio <= COLD_RATIO_TARGET else 'OVER'}")
    print(f"filter change (period type): median {statistics.median(filters):.2f} s, "
          f"max {max(filters):.2f} s (target ≤ {FILTER_TARGET_S} s) -> "
          f"{'OK' if max(filters) <= FILTER_TARGET_S else 'OVER'}")
    return 0 if ratio <= COLD_RATIO_TARGET and max(filters) <= FILTER_TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
