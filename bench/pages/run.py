"""总览 in headless Chromium, side by side with a title-only Streamlit page.

    .venv/bin/python bench/pages/run.py --runs 15

Uses the demo district (demo/drop and demo/out, generated and checked first when missing, as
`make demo` does). Starts two Streamlit servers, the dashboard and a page holding nothing but a
title, and drives Debian's Chromium with the flags of the field notes:

- load: a new tab (a new Streamlit session) opens the page; timed until Streamlit reports it
  connected, the script finished and no skeleton is left, and the page's own content is drawn
  (总览: the rows of its landing table, the ranking; title page: its heading). Measured twice:
  in a fresh browser context each time (empty HTTP and code caches: every script downloaded and
  compiled again) and in a context that has opened the app once (the browser cache a returning
  user has). The first load after each server starts (server caches and imports cold) is
  reported on its own. Loads of the two servers are interleaved so both see the same machine
  load; the verdict uses the ratio of the medians.
- filter change: on a loaded 总览, switching the period type (月度 / 季度 / 年度, in turn) until
  the headline figures name the new period, the script has finished and the table is drawn.
- chart view (reported, no target): on a 总览 just loaded in a fresh context, opening the
  街镇排名 view until its Plotly chart is drawn: the first chart a visit asks for, with the
  browser fetching Streamlit's Plotly component then.
- app shell (reported, no target): dashboard/app.py with each of its pages replaced by a title,
  loaded cold in the same interleaved rounds: what the page config, sidebar and navigation cost
  before any of 总览's content.
- scripts: the JavaScript files a fresh browser fetches for each page, and those 总览 fetches
  beyond the title page's, largest first, split into those the app shell brings and the page's.

Prints the figures and the verdicts against the targets (filter ≤ 1 s, cold load ≤ 1.5× the
title page).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
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
CHART_DRAWN = "() => !!document.querySelector('.js-plotly-plot .trace')"
TABLE_DRAWN = "() => !!document.querySelector('table.aidwatch-glance tbody tr')"
TITLE_DRAWN = "() => !!document.querySelector('h1')"
TITLE_PAGE = 'import streamlit as st\n\nst.title("救助资金监督审计台")\n'
FILTER_TARGET_S = 1.0
COLD_RATIO_TARGET = 1.5
# radio label, and the headline metric's label once the page shows that level
LEVELS = (
    ("季度", r"^\d{4}年第\d季度实发金额"),
    ("年度", r"^\d{4}年实发金额"),
    ("月度", r"^\d{4}年\d{1,2}月实发金额"),
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(script: Path, env: dict[str, str]):
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(script),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--server.fileWatcherType",
            "none",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
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
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms
    )
    page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms
    )


def new_context(browser):
    return browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")


def load(context, url: str, drawn: str) -> float:
    """Seconds from navigation to a fully drawn page, in a new tab (a new Streamlit session)."""
    page = context.new_page()
    try:
        started = time.perf_counter()
        page.goto(url)
        wait_ready(page)
        page.wait_for_function(drawn, timeout=60_000)
        return time.perf_counter() - started
    finally:
        page.close()


def cold_load(browser, url: str, drawn: str) -> float:
    """:func:`load` in a fresh browser context: empty HTTP and code caches."""
    context = new_context(browser)
    try:
        return load(context, url, drawn)
    finally:
        context.close()


def scripts_loaded(browser, url: str, drawn: str) -> dict[str, int]:
    """File name -> bytes of each JavaScript file a fresh browser fetches to draw the page."""
    context = new_context(browser)
    sizes: dict[str, int] = {}

    def seen(response) -> None:
        if response.url.endswith(".js"):
            sizes[response.url.rsplit("/", 1)[-1]] = len(response.body())

    context.on("response", seen)
    try:
        load(context, url, drawn)
        return sizes
    finally:
        context.close()


def chart_view(browser, url: str) -> float:
    """Seconds from clicking the 街镇排名 view of a just loaded 总览 to its chart drawn."""
    context = new_context(browser)
    page = context.new_page()
    try:
        page.goto(url)
        wait_ready(page)
        page.wait_for_function(TABLE_DRAWN, timeout=60_000)
        started = time.perf_counter()
        page.get_by_text("街镇排名", exact=True).click()
        page.wait_for_function(CHART_DRAWN, timeout=60_000)
        wait_ready(page)
        return time.perf_counter() - started
    finally:
        context.close()


def filter_changes(browser, url: str, runs: int) -> list[float]:
    context = new_context(browser)
    page = context.new_page()
    try:
        page.goto(url)
        wait_ready(page)
        page.get_by_role("heading", name="总览").wait_for()
        times = []
        for i in range(runs):
            label, metric = LEVELS[i % len(LEVELS)]
            started = time.perf_counter()
            page.get_by_text(label, exact=True).click()
            page.get_by_text(re.compile(metric)).wait_for(timeout=30_000)
            wait_ready(page)
            page.wait_for_function(TABLE_DRAWN, timeout=30_000)
            times.append(time.perf_counter() - started)
        return times
    finally:
        context.close()


def shell_app(folder: Path) -> Path:
    """A copy of dashboard/app.py whose pages each hold only a title."""
    (folder / "screens").mkdir(parents=True)
    shutil.copy(ROOT / "dashboard" / "app.py", folder / "app.py")
    for page in (ROOT / "dashboard" / "screens").glob("*.py"):
        (folder / "screens" / page.name).write_text(TITLE_PAGE, encoding="utf-8")
    return folder / "app.py"


def ensure_demo(drop: Path, out: Path, households: int, seed: int) -> None:
    aidwatch = [sys.executable, "-m", "analytics.cli"]
    if not drop.is_dir():
        subprocess.run(
            [
                *aidwatch,
                "generate",
                "--out",
                str(drop),
                "--households",
                str(households),
                "--seed",
                str(seed),
                "--quiet",
            ],
            cwd=ROOT,
            check=True,
        )
    if not (out / "indicators.csv").exists():
        subprocess.run(
            [*aidwatch, "check", str(drop), "--out", str(out), "--quiet"],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--drop", type=Path, default=ROOT / "demo" / "drop")
    parser.add_argument("--out", type=Path, default=ROOT / "demo" / "out")
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    ensure_demo(args.drop, args.out, args.households, args.seed)
    env = {"AIDWATCH_DROP": str(args.drop), "AIDWATCH_OUT": str(args.out)}
    app_drawn, title_drawn = TABLE_DRAWN, TITLE_DRAWN
    with tempfile.TemporaryDirectory() as tmp:
        title_script = Path(tmp) / "title_only.py"
        title_script.write_text(TITLE_PAGE, encoding="utf-8")
        shell_script = shell_app(Path(tmp) / "shell")
        with (
            streamlit_server(ROOT / "dashboard" / "app.py", env) as app_url,
            streamlit_server(title_script, {}) as title_url,
            streamlit_server(shell_script, env) as shell_url,
            sync_playwright() as pw,
        ):
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            first_app = cold_load(browser, app_url, app_drawn)
            first_title = cold_load(browser, title_url, title_drawn)
            cold_load(browser, shell_url, title_drawn)
            # A browser that has opened each app once keeps its scripts cached, as a user's does.
            warm_app_ctx, warm_title_ctx = new_context(browser), new_context(browser)
            load(warm_app_ctx, app_url, app_drawn)
            load(warm_title_ctx, title_url, title_drawn)
            runs: dict[str, list[float]] = {
                k: [] for k in ("cold_app", "cold_title", "cold_shell", "warm_app", "warm_title")
            }
            for _ in range(args.runs):  # interleaved, so all see the same machine load
                runs["cold_app"].append(cold_load(browser, app_url, app_drawn))
                runs["cold_title"].append(cold_load(browser, title_url, title_drawn))
                runs["cold_shell"].append(cold_load(browser, shell_url, title_drawn))
                runs["warm_app"].append(load(warm_app_ctx, app_url, app_drawn))
                runs["warm_title"].append(load(warm_title_ctx, title_url, title_drawn))
            filters = filter_changes(browser, app_url, args.runs)
            charts = [chart_view(browser, app_url) for _ in range(max(1, args.runs // 2))]
            app_js = scripts_loaded(browser, app_url, app_drawn)
            title_js = scripts_loaded(browser, title_url, title_drawn)
            shell_js = scripts_loaded(browser, shell_url, title_drawn)
            browser.close()

    def spread(xs: list[float]) -> str:
        return f"median {statistics.median(xs):.2f} s, min {min(xs):.2f} s, max {max(xs):.2f} s"

    print(
        f"demo district: {args.drop} (checked into {args.out}); runs: {args.runs}; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(f"first load after server start: 总览 {first_app:.2f} s, title-only {first_title:.2f} s")
    print(
        f"scripts fetched: 总览 {len(app_js)} files, {sum(app_js.values()) / 1e6:.2f} MB; "
        f"title-only {len(title_js)} files, {sum(title_js.values()) / 1e6:.2f} MB"
    )
    extra = sorted(
        ((size, name) for name, size in app_js.items() if name not in title_js), reverse=True
    )
    print(
        f"  总览 beyond the title page: {len(extra)} files, "
        f"{sum(size for size, _ in extra) / 1e3:.0f} kB; largest: "
        + ", ".join(f"{name} {size / 1e3:.0f} kB" for size, name in extra[:8])
    )
    for label, part in (
        ("with the app shell", [e for e in extra if e[1] in shell_js]),
        ("with the page", [e for e in extra if e[1] not in shell_js]),
    ):
        print(f"    {label}: {len(part)} files, {sum(size for size, _ in part) / 1e3:.0f} kB")
    ok = True
    for mode, label in (("cold", "empty browser cache"), ("warm", "browser cache warm")):
        app, title = runs[f"{mode}_app"], runs[f"{mode}_title"]
        ratio = statistics.median(app) / statistics.median(title)
        best = min(app) / min(title)
        print(f"new session, {label}: 总览 {spread(app)}; title-only {spread(title)}")
        verdict = "OK" if ratio <= COLD_RATIO_TARGET else "OVER"
        print(
            f"  ratio of medians {ratio:.2f}×, of minima {best:.2f}× "
            f"(target ≤ {COLD_RATIO_TARGET}×) -> {verdict}"
        )
        ok &= ratio <= COLD_RATIO_TARGET
    print(
        f"filter change (period type): {spread(filters)} (target ≤ {FILTER_TARGET_S} s) -> "
        f"{'OK' if max(filters) <= FILTER_TARGET_S else 'OVER'}"
    )
    ok &= max(filters) <= FILTER_TARGET_S
    print(f"opening the 街镇排名 chart view (no target): {spread(charts)}")
    shell, title = runs["cold_shell"], runs["cold_title"]
    print(
        f"app shell, each page a title (no target), empty browser cache: {spread(shell)}; "
        f"{statistics.median(shell) / statistics.median(title):.2f}× the title page"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
