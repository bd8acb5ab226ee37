"""线索清单 (or 资金比对) on a city-scale run, in headless Chromium.

    .venv/bin/aidwatch check bench/.data/funds/synthetic-1000000-seed1-f0b0c382 --out /tmp/check1m \
        --workspace /tmp/ws1m
    AIDWATCH_WORKSPACE=/tmp/ws1m .venv/bin/python bench/pages/findings_scale.py --out /tmp/check1m \
        --drop bench/.data/funds/synthetic-1000000-seed1-f0b0c382 --runs 5 [--page funds]

Starts the dashboard on a check-run folder (and the workspace the run went into, from
AIDWATCH_WORKSPACE, for the findings' states) and drives Debian's Chromium (the flags of the field
notes). Load: a new browser context opens the page, timed until Streamlit reports the script
finished and the findings grid is in the page. Change: on the loaded page, 线索清单 gets a part
of a case number typed into 救助编号 (and cleared again, in turn); 资金比对 gets its first
finding ticked (and unticked); timed until the script has finished and the grid is drawn again.
Prints the medians, and the rows drawn against the findings of the run.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
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
DONE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
ROW_HEIGHT = 35


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 120) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("the dashboard did not start")


def drawn(page, name: str) -> int:
    page.wait_for_selector(DONE, timeout=600_000)
    grid = page.locator(f".st-key-{name}_table [aria-rowcount]")
    grid.wait_for(state="attached", timeout=600_000)
    return int(grid.get_attribute("aria-rowcount")) - 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True, help="a check-run folder")
    ap.add_argument("--drop", type=Path, default=ROOT / "demo" / "drop")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--page", choices=("findings", "funds"), default="findings")
    args = ap.parse_args()

    import polars as pl
    from playwright.sync_api import sync_playwright

    findings = pl.scan_csv(args.out / "findings.csv", infer_schema=False)
    total = findings.select(pl.len()).collect().item()
    case = (findings.select(pl.col("case_id").drop_nulls().first()).collect().item() or "")[-6:]

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "AIDWATCH_DROP": str(args.drop), "AIDWATCH_OUT": str(args.out)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/app.py",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url)
        loads, filters, rows = [], [], 0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            for run in range(args.runs + 1):  # the first run warms the server's caches
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                start = time.perf_counter()
                page.goto(f"{url}/{args.page}")
                rows = drawn(page, args.page)
                if run:
                    loads.append(time.perf_counter() - start)
                for value in (case, ""):
                    start = time.perf_counter()
                    if args.page == "findings":
                        box = page.get_by_role("textbox", name="救助编号")
                        box.fill(value)
                        box.press("Enter")
                    else:  # tick the first finding, then untick it
                        page.locator(".st-key-funds_table .dvn-scroller").click(
                            position={"x": 15, "y": ROW_HEIGHT + ROW_HEIGHT // 2}
                        )
                    page.wait_for_timeout(200)  # the rerun starts
                    drawn(page, args.page)
                    if run:
                        filters.append(time.perf_counter() - start)
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"run: {args.out} ({total:,} findings); {args.page} draws {rows:,} rows; "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"load, new session: median {statistics.median(loads):.2f} s "
        f"(min {min(loads):.2f}, max {max(loads):.2f}) over {len(loads)} runs"
    )
    print(
        f"change: median {statistics.median(filters):.2f} s "
        f"(min {min(filters):.2f}, max {max(filters):.2f}) over {len(filters)} changes"
    )


if __name__ == "__main__":
    main()
