"""Time and peak memory of generating a demo district and of reading it back.

    .venv/bin/python bench/generate/run.py --households 4400,442000 --format parquet,csv

Each step runs in a fresh process so that its peak resident memory is its own; prints a
Markdown table (persons are about 2.3 per household).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _child(step: str, drop: str, households: int, fmt: str) -> None:
    sys.path.insert(0, str(ROOT))
    started = time.perf_counter()
    if step == "generate":
        from analytics.generate import generate

        summary = generate(Path(drop), households=households, seed=1, fmt=fmt)
        rows = summary.rows
    else:
        from analytics.reader import read_drop

        result = read_drop(drop)
        rows = {name: frame.height for name, frame in result.tables.items()}
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak_mb, "rows": rows}))


def _run(step: str, drop: Path, households: int, fmt: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, str(drop), str(households), fmt],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    p = argparse.ArgumentParser()
    p.add_argument("--households", default="4400,442000")
    p.add_argument("--format", default="parquet,csv")
    args = p.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f}; cores: {os.cpu_count()}")
    print(
        "| households | persons | format | generate s | generate peak MB | read s | read peak MB |"
    )
    print("|---:|---:|---|---:|---:|---:|---:|")
    for households in (int(x) for x in args.households.split(",")):
        for fmt in args.format.split(","):
            work = Path(tempfile.mkdtemp(prefix="aidwatch-bench-"))
            try:
                drop = work / "drop"
                gen = _run("generate", drop, households, fmt)
                read = _run("read", drop, households, fmt)
                print(
                    f"| {households:,} | {gen['rows']['persons']:,} | {fmt} | "
                    f"{gen['seconds']:.1f} | {gen['peak_mb']:,.0f} | {read['seconds']:.1f} | "
                    f"{read['peak_mb']:,.0f} |",
                    flush=True,
                )
            finally:
                shutil.rmtree(work, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
