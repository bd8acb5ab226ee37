"""Concurrent logged-in sessions on the demo district: 总览 and 线索清单 under load.

    .venv/bin/python bench/load/run.py          # 20 sessions × 3 rounds, 3,000 households
    .venv/bin/python bench/load/run.py --keep /tmp/aidwatch-load --json /tmp/load.json

Prepares a demo district (analytics.generate, ``--households``, seed 7) checked into a workspace
(analytics.tracking.record_check, as ``aidwatch check`` does) with one 民政监督 (civil_affairs)
account per session; ``--keep DIR`` keeps it in DIR and reuses it on the next run, else it lives
in a temporary folder.

CPUs: one Streamlit server (dashboard/app.py, started as tests/conftest.py starts it, through
serve.py, which only adds a timer on each script run) is pinned to the first usable CPU; this
script, Playwright's driver and Chromium (Debian's, the flags of the field notes) to the others,
so the browsers' own CPU is not the server's (on 2 cores: server on CPU 0, browsers on CPU 1).
Over each measured window the script reads the server's CPU time (psutil: the process with its
threads and children), the browser side's (this process, the driver, every Chromium process)
and how busy each CPU was with anyone's work, since the machine may be shared.

Sessions: each is its own browser context of one browser (Playwright's async API, one asyncio
loop). It logs in through the form (not timed), keeps the login cookie, then loads 总览
(/overview) and 线索清单 (/findings) ``--rounds`` times, each load a navigation in its tab (a new
Streamlit session, resumed from the cookie). A load is timed from the start of the navigation to
Streamlit's readiness signals, the three of the tests' ``_wait_for_app``: the app connected, the
script not running, no skeleton left; the page's own title (h1) must be drawn before "not
running" counts, so that the moment between connecting and the script's first run is not taken
for a finished page. The sessions log in one after another, then all load at once.

Windows, in this order, on one server: a warm-up (one session, one load of each page: imports
and caches, not reported), the baseline (one session alone, ``--baseline-rounds`` rounds; each
load's CPU measured on its own on both sides) and the load (``--sessions`` sessions at once).

Prints per window and page n, p50, p95, max and the server's CPU seconds per load; where the
time goes (medians to each readiness signal, the server's script runs for the same loads, the
browser side's CPU per load); and per window the throughput, CPU seconds and how busy each side's
CPUs were. ``--json PATH`` writes the same figures there. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

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
COOKIE = "aidwatch_session"  # dashboard.auth.COOKIE
PASSWORD = "Load-bench-password-1"  # every benchmark account's
ROLE = "civil_affairs"
PAGES = (("overview", "总览"), ("findings", "线索清单"))
TIMEOUT_MS = 180_000
PREPARED = "prepared.json"


# --- the demo district, its workspace and the accounts -------------------------------------------


def username(i: int) -> str:
    return f"load{i + 1:02d}"


def prepare(folder: Path, households: int, seed: int, accounts_needed: int) -> dict:
    """The district in ``folder`` (drop/, workspace/, private/): made when missing or made for
    another size, else reused; at least ``accounts_needed`` accounts. What is there, as a dict."""
    from analytics import generate, reader, tracking
    from analytics.store import Workspace, accounts

    folder.mkdir(parents=True, exist_ok=True)
    drop, root, private = folder / "drop", folder / "workspace", folder / "private"
    os.environ["AIDWATCH_PRIVATE_DIR"] = str(private)
    os.environ["AIDWATCH_WORKSPACE"] = str(root)
    stamp = folder / PREPARED
    info = json.loads(stamp.read_text()) if stamp.is_file() else None
    if info and (info["households"], info["seed"]) == (households, seed):
        print(f"reusing the district in {folder}", flush=True)
    else:
        for old in (drop, root, private):
            shutil.rmtree(old, ignore_errors=True)
        started = time.perf_counter()
        print(f"generating {households:,} households (seed {seed}) in {drop} …", flush=True)
        generate.generate(drop, households=households, seed=seed)
        ws = Workspace.open(root)
        try:
            recorded = tracking.record_check(
                ws, drop, reader.read_drop(drop), by="基准", origin="cli"
            )
        finally:
            ws.close()
        info = {
            "households": households,
            "seed": seed,
            "drop": str(drop),
            "workspace": str(root),
            "out": str(recorded.out),
            "run_id": recorded.run_id,
            "ingested": recorded.ingested.counts,
            "accounts": 0,
        }
        print(
            f"  generated and checked in {time.perf_counter() - started:.0f} s "
            f"(run {recorded.run_id}, {recorded.out})",
            flush=True,
        )
    if info["accounts"] < accounts_needed:
        ws = Workspace.open(root)
        try:
            for i in range(accounts_needed):
                try:
                    accounts.add_user(
                        ws.store,
                        username=username(i),
                        display_name=f"压测用户{i + 1:02d}",
                        role=ROLE,
                        password=PASSWORD,
                        by="基准",
                    )
                except accounts.AccountError:
                    pass  # there already
        finally:
            ws.close()
        info["accounts"] = accounts_needed
    stamp.write_text(json.dumps(info, ensure_ascii=False, indent=1, default=str))
    return info


# --- CPUs and the server ------------------------------------------------------------------------


def split_cpus() -> tuple[set[int], set[int], str]:
    """(the server's CPUs, the browsers' CPUs, a sentence saying so)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return (
            set(cpus),
            set(cpus),
            (
                f"only CPU {cpus[0]} available: server and browsers "
                "SHARE it, the server's figures include their load"
            ),
        )
    server, browsers = {cpus[0]}, set(cpus[1:])
    return (
        server,
        browsers,
        (
            f"server pinned to CPU {cpus[0]}; this script, Playwright's driver "
            f"and Chromium to CPU {','.join(map(str, cpus[1:]))} "
            f"({len(cpus)} usable of {os.cpu_count()} cores)"
        ),
    )


def browser_side(server: psutil.Process) -> list[psutil.Process]:
    """This process and its descendants (Playwright's driver, Chromium), not the server's tree."""
    try:
        skip = {server.pid, *(p.pid for p in server.children(recursive=True))}
    except psutil.Error:
        skip = {server.pid}
    return [
        psutil.Process(),
        *(p for p in psutil.Process().children(recursive=True) if p.pid not in skip),
    ]


def keep_pinned(cpus: set[int], server: psutil.Process) -> int:
    """Put back on ``cpus`` every thread of the browser side that is not there: Chromium's
    software renderer (SwiftShader, in the GPU process) pins its worker threads to cores of its
    own choosing, CPU 0 included. The number of threads moved."""
    moved = 0
    for proc in browser_side(server):
        try:
            tids = [t.id for t in proc.threads()]
        except psutil.Error:
            continue
        for tid in tids:
            try:
                if os.sched_getaffinity(tid) != cpus:
                    os.sched_setaffinity(tid, cpus)
                    moved += 1
            except OSError:
                pass  # the thread has ended
    return moved


async def pinning(cpus: set[int], server: psutil.Process, moved: list[int]) -> None:
    """keep_pinned every quarter of a second, until cancelled; the count in ``moved``."""
    while True:
        moved[0] += await asyncio.to_thread(keep_pinned, cpus, server)
        await asyncio.sleep(0.25)


def threads_elsewhere(procs: list[psutil.Process], cpus: set[int]) -> tuple[int, int]:
    """(threads of ``procs`` allowed on a CPU outside ``cpus``, all their threads)."""
    elsewhere = total = 0
    for proc in procs:
        try:
            tids = [t.id for t in proc.threads()]
        except psutil.Error:
            continue
        for tid in tids:
            try:
                elsewhere += not os.sched_getaffinity(tid) <= cpus
                total += 1
            except OSError:
                pass
    return elsewhere, total


def server_cpu(server: psutil.Process) -> float:
    """User + system CPU seconds of the server, of its ended children and of its live ones."""
    times = server.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in server.children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def browser_cpu(server: psutil.Process) -> float:
    """User + system CPU seconds of the browser side (browser_side) as it is now."""
    total = 0.0
    for proc in browser_side(server):
        try:
            t = proc.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(
    env: dict[str, str], cpus: set[int], log: Path, timings: Path, options: list[str]
):
    """dashboard/app.py served on a free port of 127.0.0.1, pinned to ``cpus``, by Streamlit's
    command line with a timer on each script run (serve.py, writing to ``timings``) and
    Streamlit's ``options`` (["--runner.postScriptGC", "false"]): (url, process)."""
    port = _free_port()
    full_env = {k: v for k, v in os.environ.items() if k != "AIDWATCH_DATABASE_URL"}
    full_env.update(env)
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).with_name("serve.py")),
                str(timings),
                "run",
                "dashboard/app.py",
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
                *options,
            ],
            cwd=ROOT,
            env=full_env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            preexec_fn=lambda: os.sched_setaffinity(0, cpus),
        )  # noqa: PLW1509 - no threads yet
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"streamlit did not start:\n{log.read_text()}") from None
                time.sleep(0.2)
        yield url, psutil.Process(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the browser side ----------------------------------------------------------------------------

READY_STEPS = ("connected", "title", "finished")  # then "ready": no skeleton left


async def wait_ready(
    page,
    title: str | None = None,
    timeout_ms: int = TIMEOUT_MS,
    steps: dict[str, float] | None = None,
) -> None:
    """Streamlit's readiness signals (tests/conftest.py _wait_for_app); with ``title``, the
    page's own h1 drawn before "not running" is taken. ``steps``: filled with the moment
    (perf_counter) each signal was seen."""
    steps = {} if steps is None else steps
    await page.wait_for_selector(
        '[data-testid="stApp"][data-test-connection-state="CONNECTED"]', timeout=timeout_ms
    )
    steps["connected"] = time.perf_counter()
    if title is not None:
        await page.locator("h1", has_text=title).first.wait_for(timeout=timeout_ms)
        steps["title"] = time.perf_counter()
    await page.wait_for_selector(
        '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms
    )
    steps["finished"] = time.perf_counter()
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stSkeleton\"]')", timeout=timeout_ms
    )
    steps["ready"] = time.perf_counter()


async def logged_in(browser, url: str, user: str):
    """A new browser context logged in as ``user`` through the form, with the login cookie set:
    (context, page)."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = await context.new_page()
    await page.goto(f"{url}/")
    await wait_ready(page)
    await page.get_by_label("用户名").fill(user)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.get_by_role("button", name="登录").click()
    await page.get_by_test_id("stSidebar").get_by_text("退出登录").wait_for(timeout=TIMEOUT_MS)
    await wait_ready(page)
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not any(c["name"] == COOKIE for c in await context.cookies()):
        if time.monotonic() > deadline:
            raise RuntimeError(f"no login cookie for {user}")
        await asyncio.sleep(0.1)
    return context, page


def busy_seconds() -> list[float]:
    """Seconds each CPU of the machine has been busy (anyone's work), since boot."""
    return [
        t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)
        for t in psutil.cpu_times(percpu=True)
    ]


@dataclass
class Window:
    """One measured stretch: each load (page, seconds to each readiness signal, and for a lone
    session the CPU seconds it cost each side), failures, wall and CPU seconds."""

    sessions: int
    rounds: int
    loads: list[dict] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=lambda: {p: 0 for p, _ in PAGES})
    wall: float = 0.0
    began: float = 0.0  # time.time() at the start and the end of the window
    ended: float = 0.0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    cpu_busy: list[float] = field(default_factory=list)  # each CPU's busy seconds (anyone's)
    # (threads allowed elsewhere, threads) of the server and of the browser side, at the end
    pinned: dict[str, tuple[int, int]] = field(default_factory=dict)
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute, at the start and the end

    def times(self, path: str) -> list[float]:
        return [x["ready"] for x in self.loads if x["page"] == path]

    @property
    def count(self) -> int:
        return len(self.loads) + sum(self.failures.values())


async def session_loop(
    page, url: str, rounds: int, window: Window, start: asyncio.Event, server: psutil.Process | None
) -> None:
    """``rounds`` times 总览 then 线索清单; with ``server`` (a lone session), the CPU seconds of
    each load on each side too."""
    await start.wait()
    for _ in range(rounds):
        for path, title in PAGES:
            if server is not None:
                cpu = server_cpu(server), browser_cpu(server)
            steps: dict[str, float] = {}
            started = time.perf_counter()
            try:
                await page.goto(f"{url}/{path}", timeout=TIMEOUT_MS)
                await wait_ready(page, title, steps=steps)
            except Exception as exc:  # noqa: BLE001 - a load that never became ready: counted
                window.failures[path] += 1
                print(f"  {path}: not ready ({type(exc).__name__}: {str(exc)[:120]})", flush=True)
                continue
            load = {"page": path, **{k: v - started for k, v in steps.items()}}
            if server is not None:
                await asyncio.sleep(0.3)  # the session's last messages and the page's paint
                load["server_cpu"] = server_cpu(server) - cpu[0]
                load["client_cpu"] = browser_cpu(server) - cpu[1]
            window.loads.append(load)


async def measure(
    browser,
    url: str,
    server: psutil.Process,
    sessions: int,
    rounds: int,
    server_cpus: set[int],
    browser_cpus: set[int],
) -> Window:
    """``sessions`` contexts logged in one after another, then all loading at once."""
    window = Window(sessions, rounds)
    logins = [await logged_in(browser, url, username(i)) for i in range(sessions)]
    start = asyncio.Event()
    tasks = [
        asyncio.create_task(
            session_loop(page, url, rounds, window, start, server if sessions == 1 else None)
        )
        for _, page in logins
    ]
    await asyncio.sleep(1.0)  # the login reruns settled
    busy0 = busy_seconds()
    cpu0, client0, t0 = server_cpu(server), browser_cpu(server), time.perf_counter()
    window.began, load0 = time.time(), os.getloadavg()[0]
    start.set()
    await asyncio.gather(*tasks)
    window.ended = time.time()
    window.wall = time.perf_counter() - t0
    window.server_cpu = server_cpu(server) - cpu0
    window.client_cpu = browser_cpu(server) - client0
    window.pinned = {
        "server": threads_elsewhere([server, *server.children(recursive=True)], server_cpus),
        "browser": threads_elsewhere(browser_side(server), browser_cpus),
    }
    window.cpu_busy = [b - a for a, b in zip(busy0, busy_seconds(), strict=True)]
    window.load_average = (load0, os.getloadavg()[0])
    for context, _ in logins:
        await context.close()
    return window


async def drive(
    url: str,
    server: psutil.Process,
    server_cpus: set[int],
    browser_cpus: set[int],
    moved: list[int],
    args,
) -> dict[str, Window]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        guard = asyncio.create_task(pinning(browser_cpus, server, moved))
        try:
            print("warm-up: one session, each page once (not reported)", flush=True)
            await measure(browser, url, server, 1, 1, server_cpus, browser_cpus)
            print(f"baseline: one session alone, {args.baseline_rounds} rounds", flush=True)
            baseline = await measure(
                browser, url, server, 1, args.baseline_rounds, server_cpus, browser_cpus
            )
            print(f"load: {args.sessions} sessions at once, {args.rounds} rounds", flush=True)
            loaded = await measure(
                browser, url, server, args.sessions, args.rounds, server_cpus, browser_cpus
            )
        finally:
            guard.cancel()
            await browser.close()
    return {"baseline": baseline, "load": loaded}


# --- the figures ---------------------------------------------------------------------------------


def percentile(xs: list[float], q: float) -> float:
    """Linear interpolation between the closest ranks (numpy's default)."""
    xs = sorted(xs)
    if len(xs) == 1:
        return xs[0]
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def spread(xs: list[float]) -> dict:
    if not xs:
        return {"n": 0, "p50_s": None, "p95_s": None, "max_s": None}
    return {
        "n": len(xs),
        "p50_s": statistics.median(xs),
        "p95_s": percentile(xs, 0.95),
        "max_s": max(xs),
    }


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def script_runs(timings: Path, w: Window) -> list[dict]:
    """The server's script runs that ended within the window."""
    if not timings.is_file():
        return []
    runs = [json.loads(line) for line in timings.read_text().splitlines() if line.strip()]
    return [r for r in runs if w.began <= r["end"] <= w.ended + 1.0]


def figures(
    windows: dict[str, Window], timings: Path, server_cpus: set[int], browser_cpus: set[int]
) -> list[dict]:
    rows = []
    for name, w in windows.items():
        runs = script_runs(timings, w)
        for path, title in PAGES:
            loads = [x for x in w.loads if x["page"] == path]
            mine = [r for r in runs if r.get("title") == title]
            solo = all("server_cpu" in x for x in loads) and loads
            rows.append(
                {
                    "run": name,
                    "sessions": w.sessions,
                    "rounds": w.rounds,
                    "page": title,
                    "path": path,
                    **spread(w.times(path)),
                    "failed": w.failures[path],
                    # a lone session's loads are measured one by one; under load, the window's
                    # CPU shared out over every load of both pages
                    "server_cpu_s_per_load": (
                        statistics.mean(x["server_cpu"] for x in loads)
                        if solo
                        else w.server_cpu / w.count
                    ),
                    "browser_cpu_s_per_load": (
                        statistics.mean(x["client_cpu"] for x in loads)
                        if solo
                        else w.client_cpu / w.count
                    ),
                    "steps_p50_s": {
                        k: median([x[k] for x in loads if k in x]) for k in (*READY_STEPS, "ready")
                    },
                    "script_runs": len(mine),
                    "script_wall": spread([r["wall"] for r in mine]),
                    "script_cpu": spread([r["cpu"] for r in mine]),
                    "full_gc_cpu": spread([r.get("full_gc_cpu", 0.0) for r in mine]),
                    "page_part_wall": spread(
                        [r["page_wall"] for r in mine if r["page_wall"] is not None]
                    ),
                    "window": {
                        "loads": w.count,
                        "wall_s": w.wall,
                        "server_cpu_s": w.server_cpu,
                        "browser_cpu_s": w.client_cpu,
                        "server_cores_busy_s": sum(w.cpu_busy[c] for c in server_cpus),
                        "browser_cores_busy_s": sum(w.cpu_busy[c] for c in browser_cpus),
                        "load_average": list(w.load_average),
                        "threads_elsewhere": {k: list(v) for k, v in w.pinned.items()},
                    },
                }
            )
    return rows


def show(rows: list[dict], server_cpus: set[int], browser_cpus: set[int]) -> None:
    def s(x):
        return "—" if x is None else f"{x:.2f}"

    print()
    print("Navigation start to ready (connected, script finished, no skeleton), in the browser:")
    print()
    print("| run | sessions | page | n | failed | p50 s | p95 s | max s | server CPU s / load |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['run']} | {r['sessions']} | {r['page']} | {r['n']} | {r['failed']} | "
            f"{s(r['p50_s'])} | {s(r['p95_s'])} | {s(r['max_s'])} | "
            f"{r['server_cpu_s_per_load']:.3f} |"
        )
    print()
    print(
        "Where the time goes: medians from navigation start to each signal, in the browser; "
        "the same loads' script runs timed in the server (wall; the script thread's CPU, and "
        "of it the full garbage collections, Streamlit's runner.postScriptGC among them):"
    )
    print()
    print(
        "| run | page | connected s | title drawn s | script finished s | ready s | "
        "server runs | run wall p50 s | run wall p95 s | run CPU p50 s | "
        "of which full GC s | browser CPU s / load |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        st, sw, sc = r["steps_p50_s"], r["script_wall"], r["script_cpu"]
        print(
            f"| {r['run']} | {r['page']} | {s(st['connected'])} | {s(st['title'])} | "
            f"{s(st['finished'])} | {s(st['ready'])} | {r['script_runs']} | "
            f"{s(sw['p50_s'])} | {s(sw['p95_s'])} | {s(sc['p50_s'])} | "
            f"{s(r['full_gc_cpu']['p50_s'])} | {r['browser_cpu_s_per_load']:.2f} |"
        )
    print()
    for r in rows[:: len(PAGES)]:
        w = r["window"]
        wall, n = w["wall_s"], w["loads"]

        def pinned(side: str, w: dict = w) -> str:
            elsewhere, total = w["threads_elsewhere"][side]
            return (
                f"all {total} threads pinned"
                if not elsewhere
                else f"WARNING: {elsewhere} of {total} threads not pinned"
            )

        print(
            f"{r['run']}: {n} loads in {wall:.1f} s ({n / wall:.2f} loads/s), "
            f"load average {w['load_average'][0]:.1f} → {w['load_average'][1]:.1f}"
        )
        server_busy = 100 * w["server_cores_busy_s"] / wall / len(server_cpus)
        print(
            f"  server: {w['server_cpu_s']:.1f} s CPU, {w['server_cpu_s'] / n:.3f} s "
            f"a load; its core busy {server_busy:.0f}% of the window, "
            f"{100 * w['server_cpu_s'] / wall / len(server_cpus):.0f}% with the "
            f"server's own work; {pinned('server')}"
        )
        print(
            f"  browser side (this script, Playwright's driver, Chromium): "
            f"{w['browser_cpu_s']:.1f} s CPU, {w['browser_cpu_s'] / n:.2f} s a load; "
            f"its {len(browser_cpus)} CPU{'s' if len(browser_cpus) > 1 else ''} busy "
            f"{100 * w['browser_cores_busy_s'] / wall / len(browser_cpus):.0f}%, "
            f"{100 * w['browser_cpu_s'] / wall / len(browser_cpus):.0f}% with its own work; "
            f"{pinned('browser')}"
        )


def machine() -> dict:
    return {
        "cores": os.cpu_count(),
        "usable_cpus": sorted(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument(
        "--rounds", type=int, default=3, help="loads of each page per session under load"
    )
    parser.add_argument(
        "--baseline-rounds",
        type=int,
        default=10,
        help="loads of each page of the single session alone",
    )
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="prepare the district here and reuse it next time"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the figures here")
    parser.add_argument(
        "--server-option",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Streamlit config option for the server, e.g. "
        "runner.postScriptGC=false (repeatable)",
    )
    args = parser.parse_args(argv)
    options = [
        part
        for opt in args.server_option
        for part in (f"--{opt.split('=', 1)[0]}", opt.split("=", 1)[1])
    ]

    from importlib.metadata import version

    import streamlit

    tmp = None
    folder = args.keep
    if folder is None:
        tmp = tempfile.TemporaryDirectory(prefix="aidwatch-load-")
        folder = Path(tmp.name)
    folder = folder.resolve()
    try:
        os.environ.pop("AIDWATCH_DATABASE_URL", None)
        about = machine()
        info = prepare(folder, args.households, args.seed, max(args.sessions, 1))
        server_cpus, browser_cpus, split = split_cpus()
        os.sched_setaffinity(0, browser_cpus)  # inherited by Playwright's driver and Chromium
        env = {
            "AIDWATCH_DROP": info["drop"],
            "AIDWATCH_OUT": info["out"],
            "AIDWATCH_WORKSPACE": info["workspace"],
            "AIDWATCH_PRIVATE_DIR": str(folder / "private"),
        }
        timings = folder / "script_runs.jsonl"
        timings.unlink(missing_ok=True)
        with streamlit_server(env, server_cpus, folder / "server.log", timings, options) as (
            url,
            server,
        ):
            moved = [0]
            windows = asyncio.run(drive(url, server, server_cpus, browser_cpus, moved, args))
        rows = figures(windows, timings, server_cpus, browser_cpus)
        print(
            f"\n{dt.date.today()}; {about['cores']} cores, {about['memory_gb']} GB; "
            f"Streamlit {streamlit.__version__}, Playwright {version('playwright')}; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )
        if options:
            print(f"server options: {' '.join(options)}")
        print(
            f"district: {args.households:,} households (seed {args.seed}); {split}; "
            f"{moved[0]} browser threads that had pinned themselves elsewhere moved back"
        )
        show(rows, server_cpus, browser_cpus)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(
                json.dumps(
                    {
                        "date": str(dt.date.today()),
                        "machine": about,
                        "cpu_split": split,
                        "threads_moved_back": moved[0],
                        "households": args.households,
                        "seed": args.seed,
                        "sessions": args.sessions,
                        "server_options": options,
                        "rounds": args.rounds,
                        "baseline_rounds": args.baseline_rounds,
                        "rows": rows,
                    },
                    ensure_ascii=False,
                    indent=1,
                )
            )
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
