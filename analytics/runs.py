"""Check runs started from the dashboard: where their outputs go and what they report.

A run started in the browser writes the same four files as ``aidwatch check`` into a folder of
its own under the runs root (``AIDWATCH_RUNS``, else ``aidwatch-runs`` in the system's temporary
folder). The folder is named by the check date and a digest of the drop's files (names, sizes,
modification times), the check date and the checks chosen, so the same run lands in the same
folder and a changed file gets a new one. Nothing here touches Streamlit.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import traceback
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import polars as pl

from analytics import pipeline, private
from analytics.calendar import CalendarError
from analytics.model import DropError, ReadResult
from analytics.pipeline import Progress, RunOutcome
from checks.registry import FAMILIES

MANIFEST = "run.json"
HISTORY_SCHEMA = {
    "out": pl.String, "source": pl.String, "label": pl.String, "as_of": pl.Date,
    "families": pl.String, "finished_at": pl.Datetime("us"), "checks": pl.Int64,
    "findings": pl.Int64, "amount_fen": pl.Int64,
}
SUMMARY_HEADERS = {
    "title": "检查项", "family": "类别", "severity": "严重程度", "rows_examined": "检查行数",
    "findings": "线索数", "amount": "涉及金额（元）", "skipped": "未检查原因",
    "note": "部分未检查说明",
}


def runs_root() -> Path:
    """``AIDWATCH_RUNS``, else ``runs`` in the service's private folder (analytics.private)."""
    return Path(os.environ.get("AIDWATCH_RUNS") or private.root() / "runs")


def drop_digest(folder: Path) -> str:
    """A digest of the files directly inside a drop folder: names, sizes, modification times."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def run_dir(source: Path, as_of: date, only: list[str] | None = None,
            root: Path | None = None) -> Path:
    """The output folder of one run of a drop on a check date with a choice of checks."""
    key = f"{drop_digest(source)}|{as_of.isoformat()}|{','.join(sorted(only or []))}"
    name = f"{as_of:%Y%m%d}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    return (root or runs_root()) / name


def run_and_write(read: ReadResult, source: Path, *, as_of: date | None = None,
                  only: list[str] | None = None, root: Path | None = None,
                  label: str | None = None,
                  progress: Progress | None = None) -> tuple[Path, RunOutcome]:
    """Run the checks over a drop already read and write the outputs; (folder, outcome).

    Beside the four files of ``aidwatch check`` goes ``run.json``: where the drop came from
    (``label``, shown in the list of runs), the check date, the families and when it finished.
    Raises what a check run raises on a drop it cannot judge (DropError, CalendarError), before
    anything is written."""
    as_of = as_of or pipeline.default_as_of(read.tables)
    outcome = pipeline.run_read(read, source=source, as_of=as_of, only=only or None,
                                progress=progress)
    out = run_dir(source, as_of, only, root)
    private.ensure_dir(out.parent)
    private.ensure_dir(out)
    pipeline.write_outputs(outcome, out)
    head = headline(outcome.summary)
    manifest = {
        "source": str(source), "label": label or str(source), "as_of": as_of.isoformat(),
        "families": sorted(only) if only else [],
        "finished_at": datetime.now().isoformat(timespec="seconds"),
        "checks": head["ran"], "findings": head["findings"], "amount_fen": head["amount_fen"],
    }
    private.write_file(out / MANIFEST,
                       json.dumps(manifest, ensure_ascii=False, indent=1).encode("utf-8"))
    private.close_tree(out)
    return out, outcome


# --- runs in the background -----------------------------------------------------------------

_LOG = logging.getLogger(__name__)


@dataclass
class Job:
    """One run in a process of its own, followed from the server: a page that started it may be
    left and come back, or another session may ask for the same run and follow it.

    A process, not a thread: the checks call Python functions from inside Polars (finding ids,
    the working-day calendar), and Polars' workers then wait for the interpreter lock, which a
    page drawing a table in another thread may hold while it waits for those same workers: the
    server would hang. The run's own process rereads the drop from its folder."""

    key: str                      # the output folder: the same run is one job
    source: Path
    message: str = "准备运行检查…"
    fraction: float = 0.0
    out: Path | None = None
    error: str | None = None      # Chinese, for the page; no personal data
    done: threading.Event = field(default_factory=threading.Event)

    def progress(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(fraction, 0.0), 1.0)


_JOBS: dict[str, Job] = {}
_JOBS_LOCK = threading.Lock()
READ_SHARE = 0.3  # of the progress bar, for reading the drop again in the run's process


def execute(source: Path, as_of: date, only: list[str] | None, root: Path | None,
            label: str | None, emit) -> None:
    """The whole run as the run's process does it: read the drop, check, write. ``emit`` gets
    ("progress", message, fraction), then ("done", folder) or ("error", Chinese message)."""
    from analytics.indicators import CircleRulesError
    from analytics.reader import read_drop

    try:
        read = read_drop(source, progress=lambda m, f: emit(("progress", m, READ_SHARE * f)))
        out, _ = run_and_write(
            read, source, as_of=as_of, only=only, root=root, label=label,
            progress=lambda m, f: emit(("progress", m, READ_SHARE + (1 - READ_SHARE) * f)))
        emit(("done", str(out)))
    except (DropError, CalendarError, CircleRulesError) as exc:
        emit(("error", f"检查未能完成，未写入任何结果：{exc}"))
    except Exception as exc:  # noqa: BLE001  (reported on the page, logged without values)
        # The message of an unexpected error may quote a value of the drop: log only where it
        # happened.
        _LOG.error("check run failed: %s\n%s", type(exc).__name__,
                   "".join(traceback.format_tb(exc.__traceback__)))
        emit(("error", f"检查因程序错误中断（{type(exc).__name__}），未写入完整结果，"
                       "请联系管理员。"))


def _process_main(source: str, as_of: str, only: list[str] | None, root: str | None,
                  label: str | None, queue) -> None:
    os.umask(0o077)  # whatever the run writes holds personal data: for the service's user only
    execute(Path(source), date.fromisoformat(as_of), only, Path(root) if root else None, label,
            queue.put)


def start_job(source: Path, as_of: date, *, only: list[str] | None = None,
              root: Path | None = None, label: str | None = None) -> Job:
    """Start the run in a process of its own, or return the job already running this run."""
    import multiprocessing
    import queue as queues

    key = str(run_dir(source, as_of, only, root))
    with _JOBS_LOCK:
        running = _JOBS.get(key)
        if running is not None and not running.done.is_set():
            return running
        job = _JOBS[key] = Job(key=key, source=source)

    # A fresh interpreter: a fork of a server full of threads could inherit held locks.
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    process = context.Process(
        target=_process_main, name=f"aidwatch-run-{Path(key).name}", daemon=True,
        args=(str(source), as_of.isoformat(), only, str(root) if root else None, label,
              messages))
    process.start()

    def follow() -> None:
        """Only reads the run's messages: no Polars in the server for the run."""
        try:
            while True:
                try:
                    message = messages.get(timeout=0.5)
                except queues.Empty:
                    if process.is_alive():
                        continue
                    try:  # what it wrote before it ended is in the pipe by now
                        message = messages.get(timeout=2)
                    except queues.Empty:
                        job.error = ("检查进程意外退出（代码 "
                                     f"{process.exitcode}），未写入完整结果，请联系管理员。")
                        return
                if message[0] == "progress":
                    job.progress(message[1], message[2])
                elif message[0] == "done":
                    job.out = Path(message[1])
                    job.progress("完成", 1.0)
                    return
                else:
                    job.error = message[1]
                    return
        finally:
            process.join(timeout=30)
            job.done.set()

    threading.Thread(target=follow, name=f"aidwatch-follow-{Path(key).name}",
                     daemon=True).start()
    return job


def job(key: str | None) -> Job | None:
    """The job of this key, running or finished, if this process has it."""
    with _JOBS_LOCK:
        return _JOBS.get(key) if key else None


def history(root: Path | None = None) -> pl.DataFrame:
    """The runs under the runs root, newest first (HISTORY_SCHEMA); folders without a readable
    manifest or without findings are left out."""
    root = root or runs_root()
    rows = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        try:
            manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            row = {
                "out": str(folder), "source": manifest["source"], "label": manifest["label"],
                "as_of": date.fromisoformat(manifest["as_of"]),
                "families": "、".join(FAMILIES.get(f, f) for f in manifest["families"])
                or "全部",
                "finished_at": datetime.fromisoformat(manifest["finished_at"]),
                "checks": int(manifest["checks"]), "findings": int(manifest["findings"]),
                "amount_fen": int(manifest["amount_fen"]),
            }
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if (folder / "findings.csv").is_file():
            rows.append(row)
    return (pl.DataFrame(rows, schema=HISTORY_SCHEMA)
            .sort("finished_at", "out", descending=True))


HISTORY_HEADERS = {
    "current": "当前显示", "finished_at": "完成时间", "label": "数据来源", "as_of": "检查基准日",
    "families": "检查类别", "checks": "检查项数", "findings": "线索数", "amount": "涉及金额（元）",
}


def history_table(runs: pl.DataFrame, current: str | None = None) -> pl.DataFrame:
    """The list of runs as the page shows it, Chinese headers, same order; 当前显示 marks the
    run whose folder is ``current``."""
    return (runs.with_columns((pl.col("amount_fen") / 100).round(2).alias("amount"),
                              pl.col("finished_at").dt.strftime("%Y-%m-%d %H:%M"),
                              pl.col("as_of").dt.strftime("%Y-%m-%d"),
                              pl.when(pl.col("out") == current).then(pl.lit("✓"))
                              .otherwise(pl.lit("")).alias("current"))
            .select(list(HISTORY_HEADERS)).rename(HISTORY_HEADERS))


def summary_table(summary: pl.DataFrame) -> pl.DataFrame:
    """The per-check summary of a run (checks.csv) with Chinese headers, checks with findings
    first, then the clean ones, then the skipped ones."""
    return (summary
            .with_columns(pl.col("family").replace_strict(FAMILIES, default=pl.col("family")),
                          (pl.col("amount_fen") / 100).round(2).alias("amount"),
                          pl.col("skipped").fill_null(""), pl.col("note").fill_null(""))
            .with_row_index("order")
            .sort(pl.col("skipped") != "", pl.col("findings") == 0, "order")
            .select(list(SUMMARY_HEADERS))
            .rename(SUMMARY_HEADERS))


def headline(summary: pl.DataFrame) -> dict[str, int]:
    """Checks run and skipped, findings and money at risk (fen) of a run's summary."""
    ran = summary.filter(pl.col("skipped").is_null())
    return {
        "ran": ran.height,
        "skipped": summary.height - ran.height,
        "findings": int(ran.get_column("findings").sum() or 0),
        "amount_fen": int(ran.get_column("amount_fen").sum() or 0),
    }
