"""Funds checks, side by side: Polars (the project's checks) against DuckDB SQL and pandas.

    python bench/funds/run.py --sizes 10000,100000,1000000

For each district size, a parquet drop is built once and cached under bench/.data/. Then one
fresh process per engine reads the drop with analytics.reader.read_drop (timed on its own),
hands the typed frames to its engine, and times the eleven funds checks only, materialising
every result. Each process reports its peak resident memory during the checks, so memory is per
engine. Wall and CPU seconds are both kept: on a shared machine the wall clock of a run depends
on its neighbours, its CPU seconds much less. Results are printed and written to
bench/funds/results.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / ".data" / "funds"
RESULTS = Path(__file__).resolve().parent / "results.md"
ENGINES = ("polars", "duckdb", "pandas")
COMPLETE = ".complete"
LAST_RUN = DATA / "last-run.json"


# --- memory and time ----------------------------------------------------------------------------


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _reset_peak() -> None:
    """Start a new high-water mark: on Linux, writing 5 to clear_refs resets VmHWM and with it
    ru_maxrss. Elsewhere the peak includes the read."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


class Clock:
    """Wall and CPU (all threads of this process) seconds since creation."""

    def __init__(self) -> None:
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall0, time.process_time() - self.cpu0


# --- the drops ----------------------------------------------------------------------------------

SOURCES = {
    "synthetic": "the benchmark's synthetic builder (bench/funds/data.py)",
    "generator": "the project's generator (analytics.generate)",
}


def drop_dir(households: int, seed: int, source: str) -> Path:
    """Keyed by the builder's source code too, so that a changed builder never reuses old
    drops."""
    import hashlib

    if source == "synthetic":
        files = [Path(__file__).parent / "data.py"]
    else:
        files = sorted((ROOT / "analytics" / "generate").glob("*.py"))
    digest = hashlib.sha1(b"".join(f.read_bytes() for f in files)).hexdigest()[:8]
    return DATA / f"{source}-{households}-seed{seed}-{digest}"


def ensure_drop(households: int, seed: int, source: str) -> Path:
    """The cached drop of this size, built in a child process the first time."""
    out = drop_dir(households, seed, source)
    if not (out / COMPLETE).exists():
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                "build",
                "--drop",
                str(out),
                "--households",
                str(households),
                "--seed",
                str(seed),
                "--source",
                source,
            ],
            check=True,
        )
        print(
            f"built {out.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
    return out


def _build(out: Path, households: int, seed: int, source: str) -> None:
    import shutil

    if out.exists():
        shutil.rmtree(out)
    if source == "synthetic":
        from bench.funds.data import build_drop

        build_drop(out, households, seed)
    else:
        from analytics.generate import generate

        generate(out, households=households, seed=seed, fmt="parquet")
    (out / COMPLETE).write_text("")


# --- one engine in this process -----------------------------------------------------------------


def _use_variant(path: Path) -> None:
    """Replace the registered funds checks by those of another module (a candidate change of
    checks/funds.py), to measure it with the same harness before it lands."""
    import importlib.util

    from checks import registry

    registry.load_all()
    for check_id in [k for k, v in registry.REGISTRY.items() if v.family == "funds"]:
        del registry.REGISTRY[check_id]
    spec = importlib.util.spec_from_file_location("funds_variant", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


def _polars(read, as_of, repeat: int) -> dict:
    from analytics.pipeline import make_drop
    from checks.engine import run_checks, shape_findings
    from checks.registry import select

    runs, best = [], None
    for _ in range(repeat):
        marks: list[tuple[str, float, float]] = []
        clock = Clock()

        def progress(
            message: str,
            _frac: float,
            marks: list[tuple[str, float, float]] = marks,
            clock: Clock = clock,
        ) -> None:
            marks.append((message, *clock.read()))

        result = run_checks(make_drop(read, as_of), only=["funds"], progress=progress)
        runs.append(clock.read())
        if best is None or runs[-1][0] <= min(r[0] for r in runs[:-1]):
            ids = list(result.summary["check_id"])
            # run_checks reports before each check and once at the end
            best = dict(
                wall={cid: marks[i + 1][1] - marks[i][1] for i, cid in enumerate(ids)},
                cpu={cid: marks[i + 1][2] - marks[i][2] for i, cid in enumerate(ids)},
                findings=dict(zip(ids, result.summary["findings"], strict=True)),
            )
        del result
    peak = _peak_mb()
    # Where the CPU goes: each check's own frame, then the engine's shaping of it.
    detail = {}
    d = make_drop(read, as_of)
    for spec in select(["funds"]):
        clock = Clock()
        frame = spec.fn(d).collect()
        frame_cpu = clock.read()[1]
        shape_findings(spec, frame)
        detail[spec.check_id] = {"frame_cpu": frame_cpu, "shape_cpu": clock.read()[1] - frame_cpu}
    return dict(
        runs=runs,
        per_check=best["wall"],
        per_check_cpu=best["cpu"],
        findings=best["findings"],
        peak_mb=peak,
        detail=detail,
    )


def _peer(run_funds, data, settings, repeat: int, count) -> dict:
    runs, best = [], None
    for _ in range(repeat):
        wall: dict[str, float] = {}
        cpu: dict[str, float] = {}
        clock = Clock()
        out = run_funds(data, settings, wall, cpu)
        runs.append(clock.read())
        if best is None or runs[-1][0] <= min(r[0] for r in runs[:-1]):
            best = dict(wall=wall, cpu=cpu, findings={k: count(v) for k, v in out.items()})
        del out
    return dict(
        runs=runs,
        per_check=best["wall"],
        per_check_cpu=best["cpu"],
        findings=best["findings"],
        peak_mb=_peak_mb(),
        detail={},
    )


def _worker(engine: str, drop: Path, repeat: int, threads: int, variant: Path | None) -> dict:
    import polars as pl

    from analytics.pipeline import make_drop
    from analytics.reader import read_drop
    from checks.registry import select

    if variant is not None:
        _use_variant(variant)
    funds = _funds_version(variant)
    select(["funds"])  # imports the check modules before any timing
    load = os.getloadavg()[0]
    clock = Clock()
    read = read_drop(drop)
    read_s = clock.read()[0]
    if read.rejects.height:
        raise SystemExit(f"drop {drop} has {read.rejects.height} rejects; rebuild it")
    first = make_drop(read)
    settings, catalogue, as_of = first.settings, first.catalogue, first.as_of
    rows = {t: read.tables[t].height for t in ("entitlements", "ledger")}
    del first

    if engine == "polars":
        gc.collect()
        baseline = _rss_mb()
        _reset_peak()
        out = _polars(read, as_of, repeat)
    elif engine == "duckdb":
        from bench.funds import peers_duckdb

        con = peers_duckdb.connect(read.tables, catalogue, threads)
        del read  # DuckDB scans its own Arrow copy
        gc.collect()
        baseline = _rss_mb()
        _reset_peak()
        out = _peer(peers_duckdb.run_funds, con, settings, repeat, lambda t: t.num_rows)
    elif engine == "pandas":
        from bench.funds import peers_pandas

        frames = peers_pandas.frames(read.tables, catalogue)
        del read
        gc.collect()
        baseline = _rss_mb()
        _reset_peak()
        out = _peer(peers_pandas.run_funds, frames, settings, repeat, len)
    else:
        raise SystemExit(f"unknown engine {engine}")

    best = min(out["runs"])
    return dict(
        engine=engine,
        rows=rows,
        read_s=read_s,
        checks_s=best[0],
        checks_cpu=min(r[1] for r in out["runs"]),
        baseline_mb=baseline,
        threads=pl.thread_pool_size(),
        load=[load, os.getloadavg()[0]],
        funds=funds,
        **out,
    )


def run_engine(engine: str, drop: Path, args: argparse.Namespace) -> dict:
    """One engine in a fresh process, killed if it grows past ``args.max_mb``."""
    import psutil

    env = {**os.environ, "POLARS_MAX_THREADS": str(args.threads)}
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        engine,
        "--drop",
        str(drop),
        "--repeat",
        str(args.repeat),
        "--threads",
        str(args.threads),
    ]
    if args.funds_variant:
        cmd += ["--funds-variant", str(args.funds_variant)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
    watched = psutil.Process(proc.pid)
    top = 0.0
    while proc.poll() is None:
        try:
            top = max(top, watched.memory_info().rss / 2**20)
        except psutil.NoSuchProcess:
            break
        if top > args.max_mb:
            proc.kill()
            proc.wait()
            return dict(engine=engine, error=f"stopped above {args.max_mb:,} MB")
        time.sleep(0.2)
    stdout = proc.stdout.read()
    if proc.returncode:
        return dict(engine=engine, error=f"exit status {proc.returncode}")
    return json.loads(stdout.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------------


def _versions() -> str:
    import duckdb
    import pandas
    import polars

    return (
        f"Python {platform.python_version()}, Polars {polars.__version__}, "
        f"DuckDB {duckdb.__version__}, pandas {pandas.__version__}"
    )


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _funds_version(variant: Path | None) -> str:
    """Which funds checks this process runs: checks/funds.py as committed or changed, or a
    candidate module."""
    import hashlib

    if variant is not None:
        return f"the candidate module `{variant}` in place of checks/funds.py"
    path = ROOT / "checks" / "funds.py"
    digest = hashlib.sha1(path.read_bytes()).hexdigest()[:12]
    try:
        commit = subprocess.run(
            ["git", "log", "-1", "--format=%h", "--", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", str(path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"checks/funds.py (sha1 {digest})"
    state = "with uncommitted changes" if dirty else "as committed"
    return f"checks/funds.py (sha1 {digest}; last commit {commit}, {state})"


def _measured(results: list[dict]) -> str:
    versions = sorted({r["funds"] for r in results if r["engine"] == "polars" and "funds" in r})
    if not versions:
        return ""
    if len(versions) == 1:
        return f"Polars ran {versions[0]}."
    return "Polars ran different versions during this run: " + "; ".join(versions) + "."


def _f(r: dict, key: str, fmt: str) -> str:
    return format(r[key], fmt) if key in r else "—"


def _ratio(a: dict, b: dict, key: str) -> str:
    return f"{a[key] / b[key]:.2f}" if key in a and key in b else "—"


def render(results: list[dict], command: str, args: argparse.Namespace) -> str:
    by = {(r["households"], r["engine"]): r for r in results}
    sizes = sorted({r["households"] for r in results})
    loads = [x for r in results for x in r.get("load", [])]
    ok = [r for r in results if "error" not in r]
    lines = [
        "# Funds checks: Polars against DuckDB and pandas",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {_cpu_name()}, {os.cpu_count()} cores; {_versions()}. "
        f"{args.threads} threads for Polars and DuckDB (pandas runs on one). One fresh process "
        f"per engine and size; best of {args.repeat} runs. Load average (1 min) during the runs: "
        f"{min(loads):.1f} to {max(loads):.1f}."
        if loads
        else "",
        "",
        f"Data: {SOURCES[args.source]}, seed {args.seed}. {_measured(results)}",
        "",
        "Seconds of wall clock for the eleven checks (read excluded), peak MB of the engine's "
        "process while they ran (its tables included), and the ratios of the wall and of the "
        "CPU seconds (the CPU ratio depends far less on other work sharing the machine).",
        "",
        "| households | entitlements | ledger | read s | Polars s | Polars MB | DuckDB s "
        "| DuckDB MB | pandas s | pandas MB | Polars/DuckDB wall | CPU "
        "| Polars/pandas wall | CPU |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        p, d, q = by[(n, "polars")], by[(n, "duckdb")], by[(n, "pandas")]
        done = next((r for r in (p, d, q) if "rows" in r), {"rows": {}})
        lines.append(
            f"| {n:,} | {done['rows'].get('entitlements', 0):,} "
            f"| {done['rows'].get('ledger', 0):,} "
            f"| {_f(done, 'read_s', '.2f')} | {_f(p, 'checks_s', '.2f')} "
            f"| {_f(p, 'peak_mb', ',.0f')} "
            f"| {_f(d, 'checks_s', '.2f')} | {_f(d, 'peak_mb', ',.0f')} "
            f"| {_f(q, 'checks_s', '.2f')} | {_f(q, 'peak_mb', ',.0f')} "
            f"| {_ratio(p, d, 'checks_s')} | {_ratio(p, d, 'checks_cpu')} "
            f"| {_ratio(p, q, 'checks_s')} | {_ratio(p, q, 'checks_cpu')} |"
        )
    lines += [
        "",
        "CPU seconds (all threads) for the same runs, and their ratios.",
        "",
        "| households | Polars | DuckDB | pandas | Polars/DuckDB | Polars/pandas |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        p, d, q = by[(n, "polars")], by[(n, "duckdb")], by[(n, "pandas")]
        lines.append(
            f"| {n:,} | {_f(p, 'checks_cpu', '.2f')} | {_f(d, 'checks_cpu', '.2f')} "
            f"| {_f(q, 'checks_cpu', '.2f')} | {_ratio(p, d, 'checks_cpu')} "
            f"| {_ratio(p, q, 'checks_cpu')} |"
        )
    lines += [
        "",
        "Growth: CPU seconds of the checks per million input rows (entitlements + "
        "ledger); a flat row means linear cost.",
        "",
        "| engine | " + " | ".join(f"{n:,}" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for engine in ENGINES:
        cells = []
        for n in sizes:
            r = by[(n, engine)]
            cells.append(
                f"{r['checks_cpu'] / (sum(r['rows'].values()) / 1e6):.2f}"
                if "checks_cpu" in r
                else "—"
            )
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Resident MB before the checks: the typed tables as each engine holds them.",
        "",
        "| engine | " + " | ".join(f"{n:,}" for n in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for engine in ENGINES:
        lines.append(
            f"| {engine} | "
            + " | ".join(_f(by[(n, engine)], "baseline_mb", ",.0f") for n in sizes)
            + " |"
        )

    top = max((n for n in sizes if all("error" not in by[(n, e)] for e in ENGINES)), default=None)
    if top is not None:
        p, d, q = by[(top, "polars")], by[(top, "duckdb")], by[(top, "pandas")]
        lines += [
            "",
            f"Per check at {top:,} households, CPU seconds (a shared intermediate "
            "result counts in the first check that uses it). The Polars column is the "
            "engine run; a separate pass splits it into the check's own frame and the "
            "engine's shaping (sentence, evidence JSON, finding id).",
            "",
            "| check | findings | Polars | frame | shaping | DuckDB | pandas |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for check_id, cpu in p["per_check_cpu"].items():
            det = p["detail"].get(check_id, {})
            lines.append(
                f"| {check_id} | {p['findings'][check_id]:,} | {cpu:.2f} "
                f"| {det.get('frame_cpu', float('nan')):.2f} "
                f"| {det.get('shape_cpu', float('nan')):.2f} "
                f"| {d['per_check_cpu'][check_id]:.2f} | {q['per_check_cpu'][check_id]:.2f} |"
            )
    differ = [
        f"{n:,}"
        for n in sizes
        if len({json.dumps(r["findings"], sort_keys=True) for r in ok if r["households"] == n}) > 1
    ]
    lines += [""]
    lines += [
        "Finding counts per check agree across the engines that finished, at every size."
        if not differ
        else f"Finding counts differ between engines at {', '.join(differ)}."
    ]
    for r in results:
        if "error" in r:
            lines.append(f"{r['engine']} at {r['households']:,} households: {r['error']}.")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="district sizes in households, comma-separated",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--source",
        choices=sorted(SOURCES),
        default="synthetic",
        help="who builds the drops (default: synthetic, with a few percent of "
        "defects of every funds kind)",
    )
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per engine; best counts")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument(
        "--max-mb",
        type=int,
        default=None,
        help="stop an engine's process above this resident memory "
        "(default: 60%% of the machine's memory)",
    )
    ap.add_argument(
        "--funds-variant",
        type=Path,
        help="a module to register instead of checks/funds.py (a candidate change)",
    )
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument(
        "--render-only",
        action="store_true",
        help=f"write the report again from the last run ({LAST_RUN.name})",
    )
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--drop", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--households", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker == "build":
        _build(args.drop, args.households, args.seed, args.source)
        return 0
    if args.worker:
        print(
            json.dumps(
                _worker(args.worker, args.drop, args.repeat, args.threads, args.funds_variant)
            )
        )
        return 0

    if args.render_only:
        last = json.loads(LAST_RUN.read_text(encoding="utf-8"))
        saved = argparse.Namespace(**{**vars(args), **last["args"]})
        text = render(last["results"], last["command"], saved)
        print(text)
        args.out.write_text(text, encoding="utf-8")
        return 0
    if args.max_mb is None:
        import psutil

        args.max_mb = int(psutil.virtual_memory().total / 2**20 * 0.6)
    engines = args.engines.split(",")
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        drop = ensure_drop(n, args.seed, args.source)
        for engine in engines:
            r = run_engine(engine, drop, args)
            r["households"] = n
            results.append(r)
            if "error" in r:
                print(f"{n:>9,} {engine:<7} {r['error']}", file=sys.stderr)
                continue
            print(
                f"{n:>9,} {engine:<7} read {r['read_s']:6.2f} s  checks {r['checks_s']:6.2f} s"
                f" (cpu {r['checks_cpu']:6.2f} s)  peak {r['peak_mb']:7,.0f} MB"
                f"  threads {r['threads']}  load {r['load'][0]:.1f}",
                file=sys.stderr,
            )
    if set(engines) != set(ENGINES):
        print(json.dumps(results, indent=1))
        return 0
    command = "python bench/funds/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    kept = {
        k: str(v) if isinstance(v, Path) else v
        for k, v in vars(args).items()
        if k in ("threads", "repeat", "source", "seed", "funds_variant")
    }
    LAST_RUN.write_text(
        json.dumps({"command": command.strip(), "args": kept, "results": results}), encoding="utf-8"
    )
    text = render(results, command.strip(), args)
    print(text)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
