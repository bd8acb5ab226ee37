"""Funds checks, side by side: Polars (the project's checks) against DuckDB SQL and pandas.

    python bench/funds/run.py --sizes 10000,100000,1000000

For each district size, a parquet drop is built once and cached under bench/.data/. Then one
fresh process per engine reads the drop with analytics.reader.read_drop (timed on its own),
hands the typed frames to its engine, and times the eleven funds checks only, materialising
every result. Each process reports its peak resident memory during the checks, so memory is per
engine. Results are printed and written to bench/funds/results.md.
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


# --- memory -------------------------------------------------------------------------------------

def _rss_mb() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _reset_peak() -> bool:
    """Start a new high-water mark (Linux: writing 5 to clear_refs resets VmHWM and maxrss)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


# --- the drops ----------------------------------------------------------------------------------

def drop_dir(households: int, seed: int) -> Path:
    return DATA / f"synthetic-{households}-seed{seed}"


def ensure_drop(households: int, seed: int) -> Path:
    """The cached drop of this size, built in a child process the first time."""
    out = drop_dir(households, seed)
    if not (out / COMPLETE).exists():
        started = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--worker", "build", "--drop", str(out),
                        "--households", str(households), "--seed", str(seed)], check=True)
        print(f"built {out.relative_to(ROOT)} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    return out


def _build(out: Path, households: int, seed: int) -> None:
    import shutil

    from bench.funds.data import build_drop

    if out.exists():
        shutil.rmtree(out)
    build_drop(out, households, seed)
    (out / COMPLETE).write_text("")


# --- one engine in this process -----------------------------------------------------------------

def _worker(engine: str, drop: Path, repeat: int, threads: int) -> dict:
    import polars as pl

    from analytics.pipeline import make_drop
    from analytics.reader import read_drop
    from checks.registry import select

    specs = select(["funds"])  # imports the check modules before any timing
    started = time.perf_counter()
    read = read_drop(drop)
    read_s = time.perf_counter() - started
    read_peak = _peak_mb()
    drop_obj = make_drop(read)
    settings, catalogue = drop_obj.settings, drop_obj.catalogue
    rows = {t: read.tables[t].height for t in ("entitlements", "ledger")}
    if read.rejects.height:
        raise SystemExit(f"drop {drop} has {read.rejects.height} rejects; rebuild it")

    runs: list[float] = []
    per_check: dict[str, float] = {}
    findings: dict[str, int] = {}
    detail: dict[str, dict[str, float]] = {}

    if engine == "polars":
        from checks.engine import run_checks, shape_findings

        gc.collect()
        baseline = _rss_mb()
        _reset_peak()
        for _ in range(repeat):
            d = make_drop(read, drop_obj.as_of)
            started = time.perf_counter()
            result = run_checks(d, only=["funds"])
            runs.append(time.perf_counter() - started)
            if runs[-1] == min(runs):
                per_check = dict(zip(result.summary["check_id"], result.summary["seconds"]))
            findings = dict(zip(result.summary["check_id"], result.summary["findings"]))
            del result, d
        peak = _peak_mb()
        # Where the time goes: the check's own frame, then the engine's shaping of it.
        d = make_drop(read, drop_obj.as_of)
        for spec in specs:
            t0 = time.perf_counter()
            frame = spec.fn(d).collect()
            t1 = time.perf_counter()
            shape_findings(spec, frame)
            detail[spec.check_id] = {"rows_s": t1 - t0, "shape_s": time.perf_counter() - t1}
    elif engine == "duckdb":
        from bench.funds import peers_duckdb

        con = peers_duckdb.connect(read.tables, catalogue, threads)
        del read, drop_obj
        gc.collect()
        baseline = _rss_mb()
        _reset_peak()
        for _ in range(repeat):
            seconds: dict[str, float] = {}
            started = time.perf_counter()
            out = peers_duckdb.run_funds(con, settings, seconds)
            runs.append(time.perf_counter() - started)
            if runs[-1] == min(runs):
                per_check = seconds
            findings = {k: v.num_rows for k, v in out.items()}
            del out
        peak = _peak_mb()
    elif engine == "pandas":
        from bench.funds import peers_pandas

        frames = peers_pandas.frames(read.tables, catalogue)
        del read, drop_obj
        gc.collect()
        baseline = _rss_mb()
        _reset_peak()
        for _ in range(repeat):
            seconds = {}
            started = time.perf_counter()
            out = peers_pandas.run_funds(frames, settings, seconds)
            runs.append(time.perf_counter() - started)
            if runs[-1] == min(runs):
                per_check = seconds
            findings = {k: len(v) for k, v in out.items()}
            del out
        peak = _peak_mb()
    else:
        raise SystemExit(f"unknown engine {engine}")

    return dict(engine=engine, rows=rows, read_s=read_s, read_peak_mb=read_peak,
                checks_s=min(runs), runs=runs, per_check=per_check, findings=findings,
                baseline_mb=baseline, peak_mb=peak, detail=detail,
                threads=pl.thread_pool_size())


def run_engine(engine: str, drop: Path, repeat: int, threads: int) -> dict:
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, __file__, "--worker", engine, "--drop", str(drop),
                           "--repeat", str(repeat), "--threads", str(threads)],
                          env=env, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- report -------------------------------------------------------------------------------------

def _versions() -> str:
    import duckdb
    import pandas
    import polars

    return (f"Python {platform.python_version()}, Polars {polars.__version__}, "
            f"DuckDB {duckdb.__version__}, pandas {pandas.__version__}")


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def render(results: list[dict], command: str, threads: int, repeat: int) -> str:
    by = {(r["households"], r["engine"]): r for r in results}
    sizes = sorted({r["households"] for r in results})
    lines = [
        "# Funds checks: Polars against DuckDB and pandas",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {_cpu()}, {os.cpu_count()} cores; {_versions()}. "
        f"{threads} threads for Polars and DuckDB (pandas runs on one). Times are the best of "
        f"{repeat} runs in one fresh process per engine and size; peak MB is that process's "
        "highest resident memory while the checks ran, the typed tables included.",
        "",
        "| households | entitlements | ledger | read s | Polars s | Polars MB | DuckDB s "
        "| DuckDB MB | pandas s | pandas MB | Polars/DuckDB | Polars/pandas |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in sizes:
        p, d, q = by[(n, "polars")], by[(n, "duckdb")], by[(n, "pandas")]
        lines.append(
            f"| {n:,} | {p['rows']['entitlements']:,} | {p['rows']['ledger']:,} "
            f"| {p['read_s']:.2f} | {p['checks_s']:.2f} | {p['peak_mb']:,.0f} "
            f"| {d['checks_s']:.2f} | {d['peak_mb']:,.0f} | {q['checks_s']:.2f} "
            f"| {q['peak_mb']:,.0f} | {p['checks_s'] / d['checks_s']:.2f} "
            f"| {p['checks_s'] / q['checks_s']:.2f} |")
    lines += ["", "Growth: seconds of checks per million input rows (entitlements + ledger); "
              "a flat row means linear cost.", "",
              "| engine | " + " | ".join(f"{n:,}" for n in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]
    for engine in ENGINES:
        cells = []
        for n in sizes:
            r = by[(n, engine)]
            cells.append(f"{r['checks_s'] / (sum(r['rows'].values()) / 1e6):.2f}")
        lines.append(f"| {engine} | " + " | ".join(cells) + " |")
    lines += ["", "Resident memory before the checks (MB): the typed tables as each engine holds "
              "them.", "", "| engine | " + " | ".join(f"{n:,}" for n in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]
    for engine in ENGINES:
        lines.append(f"| {engine} | " + " | ".join(
            f"{by[(n, engine)]['baseline_mb']:,.0f}" for n in sizes) + " |")

    top = sizes[-1]
    p, d, q = by[(top, "polars")], by[(top, "duckdb")], by[(top, "pandas")]
    lines += ["", f"Per check at {top:,} households, seconds (a shared intermediate result counts "
              "in the first check that uses it). Polars split: the check's own frame, then the "
              "engine's shaping (sentence, evidence JSON, finding id), timed in a separate pass.",
              "", "| check | findings | Polars | Polars frame | Polars shaping | DuckDB "
              "| pandas |", "|---|---:|---:|---:|---:|---:|---:|"]
    for check_id, seconds in p["per_check"].items():
        det = p["detail"].get(check_id, {})
        lines.append(
            f"| {check_id} | {p['findings'][check_id]:,} | {seconds:.2f} "
            f"| {det.get('rows_s', float('nan')):.2f} | {det.get('shape_s', float('nan')):.2f} "
            f"| {d['per_check'][check_id]:.2f} | {q['per_check'][check_id]:.2f} |")
    mismatched = [c for c in p["findings"]
                  if not p["findings"][c] == d["findings"][c] == q["findings"][c]]
    lines += ["", "Findings per check agree across the three engines at every size."
              if not any(by[(n, "polars")]["findings"] != by[(n, "duckdb")]["findings"]
                         or by[(n, "polars")]["findings"] != by[(n, "pandas")]["findings"]
                         for n in sizes)
              else f"Findings differ between engines: {', '.join(mismatched)}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000",
                    help="district sizes in households, comma-separated")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=2, help="timed runs per engine; best counts")
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--out", type=Path, default=RESULTS)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--drop", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--households", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker == "build":
        _build(args.drop, args.households, args.seed)
        return 0
    if args.worker:
        print(json.dumps(_worker(args.worker, args.drop, args.repeat, args.threads)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",")]
    engines = args.engines.split(",")
    results = []
    for n in sizes:
        drop = ensure_drop(n, args.seed)
        for engine in engines:
            r = run_engine(engine, drop, args.repeat, args.threads)
            r["households"] = n
            results.append(r)
            print(f"{n:>9,} {engine:<7} read {r['read_s']:6.2f} s  checks {r['checks_s']:6.2f} s"
                  f"  peak {r['peak_mb']:7,.0f} MB  (threads {r['threads']})", file=sys.stderr)
    if set(engines) != set(ENGINES):
        print(json.dumps(results, indent=1))
        return 0
    command = "python bench/funds/run.py " + " ".join(argv if argv is not None else sys.argv[1:])
    text = render(results, command.strip(), args.threads, args.repeat)
    print(text)
    args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
