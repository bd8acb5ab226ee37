"""Check runs started from the dashboard: they go through the workspace as ``aidwatch check`` does.

A run started in the browser snapshots its drop into the workspace, is a row of the run log
(origin ``browser``), writes the four files of ``aidwatch check`` under
``WORKSPACE/runs/<run id>/`` and takes its findings into triage (analytics.tracking
.record_check). It runs in a process of its own; the same run asked for again while it runs
(same drop files, check date, checks and workspace) is one job. The list of runs on 数据导入 is
the workspace's run log. Nothing here touches Streamlit.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import threading
import traceback
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from polars._typing import PolarsDataType

from analytics import pipeline, tracking
from analytics.calendar import CalendarError
from analytics.model import DropError, ReadResult
from analytics.pipeline import Progress
from analytics.store import Workspace, workspace_root
from checks.registry import FAMILIES

# Who starts a run in the browser, until the dashboard has a login.
BROWSER_USER = "浏览器用户"
ORIGINS = {"cli": "命令行", "browser": "浏览器", "test": "测试"}
HISTORY_SCHEMA: dict[str, PolarsDataType] = {
    "run_id": pl.Int64,
    "kind": pl.String,
    "replay_of": pl.Int64,
    "origin": pl.String,
    "by": pl.String,
    "finished_at": pl.Datetime("us"),
    "as_of": pl.Date,
    "scope": pl.String,
    "checks": pl.Int64,
    "findings": pl.Int64,
    "amount_fen": pl.Int64,
    "label": pl.String,
    "source": pl.String,
    "snapshot_id": pl.String,
    "out": pl.String,
    "out_exists": pl.Boolean,
}
SUMMARY_HEADERS = {
    "title": "检查项",
    "family": "类别",
    "severity": "严重程度",
    "rows_examined": "检查行数",
    "findings": "线索数",
    "amount": "涉及金额（元）",
    "skipped": "未检查原因",
    "note": "部分未检查说明",
}


def drop_digest(folder: Path) -> str:
    """A digest of the files directly inside a drop folder: names, sizes, modification times."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        stat = path.stat()
        digest.update(f"{path.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def job_key(
    source: Path, as_of: date, only: list[str] | None = None, workspace: Path | None = None
) -> str:
    """What makes two runs asked for the same run: the workspace, the drop's files (a changed
    file is another run), the check date and the checks chosen."""
    root = Path(workspace or workspace_root()).resolve()
    key = f"{drop_digest(source)}|{as_of.isoformat()}|{','.join(sorted(only or []))}"
    return f"{root}|{as_of:%Y%m%d}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def run_and_write(
    ws: Workspace,
    read: ReadResult,
    source: Path,
    *,
    as_of: date | None = None,
    only: list[str] | None = None,
    label: str | None = None,
    by: str = BROWSER_USER,
    origin: str = "browser",
    progress: Progress | None = None,
) -> tracking.Recorded:
    """Run the checks over a drop already read, in the workspace: the drop a snapshot, the run
    a row of the run log, its outputs under WORKSPACE/runs/<run id>, its findings in triage.
    ``label`` names a new snapshot in the list of runs. Raises what a check run raises on a
    drop it cannot judge (DropError, CalendarError) before the run's outputs are written; the
    run log then says the run failed, and how, by the kind of error only. A check date before
    the drop's first payment month (pipeline.as_of_note) is refused with DropError before the
    run starts."""
    note = pipeline.as_of_note(read.tables, as_of)
    if note is not None and note.level == "refuse":
        raise DropError(note.message)
    return tracking.record_check(
        ws,
        source,
        read,
        by=by,
        origin=origin,
        as_of=as_of or pipeline.default_as_of(read.tables),
        only=only or None,
        label=label,
        progress=progress,
    )


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

    key: str  # job_key(): the same run is one job
    source: Path
    message: str = "准备运行检查…"
    fraction: float = 0.0
    out: Path | None = None  # WORKSPACE/runs/<run id>, once done
    run_id: int | None = None  # its row in the run log, once done
    error: str | None = None  # Chinese, for the page; no personal data
    done: threading.Event = field(default_factory=threading.Event)

    def progress(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(fraction, 0.0), 1.0)


_JOBS: dict[str, Job] = {}
_JOBS_LOCK = threading.Lock()
READ_SHARE = 0.3  # of the progress bar, for reading the drop again in the run's process


def _database_error(exc: BaseException) -> bool:
    """An error of the database layer (unreachable server, locked file, ...): its message can
    name the server and the statement, so only its kind is reported."""
    return any(cls.__module__.startswith("sqlalchemy") for cls in type(exc).__mro__)


def execute(
    source: Path,
    as_of: date,
    only: list[str] | None,
    workspace: Path | None,
    label: str | None,
    emit,
    by: str = BROWSER_USER,
) -> None:
    """The whole run as the run's process does it: open the workspace, read the drop, record
    the run. ``emit`` gets ("progress", message, fraction), then ("done", outputs folder,
    run id) or ("error", Chinese message)."""
    from analytics.indicators import CircleRulesError
    from analytics.reader import read_drop

    ws = None
    try:
        ws = Workspace.open(workspace)
        ws.store  # noqa: B018  (opened now: a database that cannot be reached stops the run here)
        source = source.resolve()  # as the run log keeps it
        read = read_drop(source, progress=lambda m, f: emit(("progress", m, READ_SHARE * f)))
        recorded = run_and_write(
            ws,
            read,
            source,
            as_of=as_of,
            only=only,
            label=label,
            by=by,
            origin="browser",
            progress=lambda m, f: emit(("progress", m, READ_SHARE + (1 - READ_SHARE) * f)),
        )
        emit(("done", str(recorded.out), recorded.run_id))
    except (DropError, CalendarError, CircleRulesError) as exc:
        emit(("error", f"检查未能完成，未写入任何结果：{exc}"))
    except Exception as exc:  # noqa: BLE001  (reported on the page, logged without values)
        # The message of an unexpected error may quote a value of the drop: log only where it
        # happened.
        _LOG.error(
            "check run failed: %s\n%s",
            type(exc).__name__,
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        if _database_error(exc):
            emit(
                (
                    "error",
                    f"无法读写工作区的数据库（{type(exc).__name__}），检查未完成，"
                    "请联系管理员检查数据库设置。",
                )
            )
        else:
            emit(
                (
                    "error",
                    f"检查因程序错误中断（{type(exc).__name__}），未写入完整结果，请联系管理员。",
                )
            )
    finally:
        store = getattr(ws, "_store", None)
        if store is not None:
            store.dispose()


def _process_main(
    source: str,
    as_of: str,
    only: list[str] | None,
    workspace: str,
    label: str | None,
    by: str,
    queue,
) -> None:
    os.umask(0o077)  # whatever the run writes holds personal data: for the service's user only
    execute(Path(source), date.fromisoformat(as_of), only, Path(workspace), label, queue.put, by=by)


_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _main_hidden():
    """Spawn runs the parent's main script again in the child unless it has none; under the
    server that is the dashboard's entrypoint, which would draw a login page in a process
    that only runs checks. Hide it while the child starts."""
    main = sys.modules.get("__main__")
    with _MAIN_LOCK:
        saved = {
            name: main.__dict__.pop(name)
            for name in ("__file__",)
            if main is not None and name in main.__dict__
        }
        spec = getattr(main, "__spec__", None) if main is not None else None
        if main is not None and spec is not None:
            main.__spec__ = None
        try:
            yield
        finally:
            if main is not None:
                main.__dict__.update(saved)
                if spec is not None:
                    main.__spec__ = spec


def start_job(
    source: Path,
    as_of: date,
    *,
    only: list[str] | None = None,
    workspace: Path | None = None,
    label: str | None = None,
    by: str = BROWSER_USER,
) -> Job:
    """Start the run in a process of its own, or return the job already running this run.

    ``workspace``: its folder, else the server's (AIDWATCH_WORKSPACE or the settings), passed
    to the run's process explicitly; the database URL (AIDWATCH_DATABASE_URL or the settings)
    reaches it through the environment and the settings it inherits."""
    import multiprocessing
    import queue as queues

    workspace = Path(workspace or workspace_root()).resolve()
    key = job_key(source, as_of, only, workspace)
    with _JOBS_LOCK:
        running = _JOBS.get(key)
        if running is not None and not running.done.is_set():
            return running
        job = _JOBS[key] = Job(key=key, source=source)

    # A fresh interpreter: a fork of a server full of threads could inherit held locks.
    context = multiprocessing.get_context("spawn")
    messages = context.Queue()
    name = key.rsplit("|", 1)[-1]
    process = context.Process(
        target=_process_main,
        name=f"aidwatch-run-{name}",
        daemon=True,
        args=(str(source), as_of.isoformat(), only, str(workspace), label, by, messages),
    )
    with _main_hidden():
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
                        job.error = (
                            "检查进程意外退出（代码 "
                            f"{process.exitcode}），未写入完整结果，请联系管理员。"
                        )
                        return
                if message[0] == "progress":
                    job.progress(message[1], message[2])
                elif message[0] == "done":
                    job.out, job.run_id = Path(message[1]), message[2]
                    job.progress("完成", 1.0)
                    return
                else:
                    job.error = message[1]
                    return
        finally:
            process.join(timeout=30)
            job.done.set()

    threading.Thread(target=follow, name=f"aidwatch-follow-{name}", daemon=True).start()
    return job


def job(key: str | None) -> Job | None:
    """The job of this key, running or finished, if this process has it."""
    with _JOBS_LOCK:
        return _JOBS.get(key) if key else None


# --- the list of runs ---------------------------------------------------------------------------

_SNAPSHOTS: dict[tuple[str, str], tuple[str | None, str | None]] = {}


def _snapshot_origin(ws: Workspace, sid: str | None) -> tuple[str | None, str | None]:
    """(label, source folder) of a snapshot, from its manifest; snapshots never change."""
    if not sid:
        return None, None
    key = (str(ws.root), sid)
    if key not in _SNAPSHOTS:
        try:
            manifest = ws.manifest(sid)
        except DropError:
            return None, None  # gone: said as such, and looked for again next time
        _SNAPSHOTS[key] = (manifest.get("label"), manifest.get("source"))
    return _SNAPSHOTS[key]


def _local(at: datetime | None) -> datetime | None:
    """A time the database keeps (naive UTC) in the server's own time zone, naive."""
    return at.replace(tzinfo=UTC).astimezone().replace(tzinfo=None) if at else None


def run_folder(ws: Workspace, out_dir: str) -> Path:
    """Where a logged run's outputs are: relative to WORKSPACE/runs, or absolute."""
    path = Path(out_dir)
    return path if path.is_absolute() else ws.root / "runs" / path


def history(ws: Workspace, limit: int = 500) -> pl.DataFrame:
    """The check runs of the workspace's run log that finished (checks and replays, from the
    command line or the browser), newest first (HISTORY_SCHEMA): who, when (the server's local
    time), the check date, the checks asked for, findings and money at risk, where the drop
    came from, and where the outputs are and whether they are still there."""
    from analytics.store.findings import runs_frame

    log = (
        runs_frame(ws.store)
        .filter(
            pl.col("kind").is_in(["check", "replay"])
            & (pl.col("status") == "ok")
            & pl.col("out_dir").is_not_null()
        )
        .head(limit)
    )
    rows = []
    for entry in log.iter_rows(named=True):
        ran = [v for v in (entry["checks"] or {}).values() if not v.get("skipped")]
        label, source = _snapshot_origin(ws, entry["snapshot_id"])
        out = run_folder(ws, entry["out_dir"])
        rows.append(
            {
                "run_id": entry["id"],
                "kind": entry["kind"],
                "replay_of": entry["replay_of"],
                "origin": entry["origin"],
                "by": entry["by"],
                "finished_at": _local(entry["finished_at"] or entry["started_at"]),
                "as_of": entry["as_of"],
                "scope": "、".join(FAMILIES.get(x, x) for x in entry["only"] or []) or "全部",
                "checks": len(ran),
                "findings": entry["findings"],
                "amount_fen": at_risk_of_run(out),
                "label": label or source or "（快照已不在工作区中）",
                "source": source,
                "snapshot_id": entry["snapshot_id"],
                "out": str(out),
                "out_exists": (out / "findings.csv").is_file(),
            }
        )
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA)


_AT_RISK: dict[tuple[str, int, int], int] = {}


def at_risk_of_run(out: Path) -> int | None:
    """涉及金额 (fen, analytics.amounts) of the findings a run wrote to ``out``; None when its
    findings.csv is gone. A run's outputs never change, so each is read once per process."""
    from analytics.amounts import money_at_risk_fen
    from analytics.results import load_findings

    path = out / "findings.csv"
    try:
        stat = path.stat()
    except OSError:
        return None
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _AT_RISK:
        _AT_RISK[key] = money_at_risk_fen(load_findings(out))
    return _AT_RISK[key]


def read_history(ws: Workspace) -> tuple[pl.DataFrame, str | None]:
    """history(ws), or no runs and why (Chinese) when the database cannot be read: the page
    says so instead of failing, and names neither the server nor the statement."""
    try:
        return history(ws), None
    except Exception as exc:
        if not _database_error(exc):
            raise
        _LOG.error("reading the run log failed: %s", type(exc).__name__)
        return pl.DataFrame(schema=HISTORY_SCHEMA), (
            f"无法读取工作区的运行记录（{type(exc).__name__}），请联系管理员检查数据库设置。"
        )


HISTORY_HEADERS = {
    "current": "当前显示",
    "run_id": "编号",
    "finished_at": "完成时间",
    "by": "操作人",
    "origin": "来源",
    "label": "数据来源",
    "as_of": "检查基准日",
    "scope": "检查范围",
    "checks": "检查项数",
    "findings": "线索数",
    "amount": "涉及金额（元）",
    "remark": "备注",
}


RUN_MARKER = ".aidwatch-run"


def folder_name(label: pl.Expr) -> pl.Expr:
    """A run's 数据来源 without the server's folders: '/srv/drops/十月' -> '十月'; a label that
    is no path stays as it is."""
    last = label.str.extract(r"([^/\\]+)[/\\]*$")
    is_path = label.str.starts_with("/") | label.str.contains("\\", literal=True)
    return pl.when(is_path & last.is_not_null()).then(last).otherwise(label)


def mark_outputs(out_dir: Path, run_id: int) -> None:
    """Note in an outputs folder written by ``aidwatch check --out`` which workspace run it is a
    copy of, so that 检查记录 marks that run 当前显示 when the pages show this folder."""
    (Path(out_dir) / RUN_MARKER).write_text(f"{run_id}\n", encoding="utf-8")


def marked_run(out_dir: str | Path | None) -> int | None:
    """The workspace run an outputs folder is a copy of (mark_outputs), if it says."""
    if not out_dir:
        return None
    try:
        return int((Path(out_dir) / RUN_MARKER).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def history_table(
    runs: pl.DataFrame, current: str | Path | None = None, *, paths: bool = True
) -> pl.DataFrame:
    """The list of runs as the page shows it, Chinese headers, same order; 当前显示 marks the
    run whose outputs folder is ``current``, or that ``current`` is a copy of (mark_outputs);
    备注 says when its outputs are gone. ``paths`` False (a viewer who is not shown the server's
    folders): a 数据来源 that is a folder on the server is shown by its last part only."""
    copy_of = marked_run(current)
    if not paths:
        runs = runs.with_columns(folder_name(pl.col("label")))
    current = str(Path(current).resolve()) if current else None
    resolved = [str(Path(p).resolve()) for p in runs["out"]]
    replay = pl.format("（重放第 {} 次）", pl.col("replay_of"))
    return (
        runs.with_columns(
            pl.Series("resolved", resolved, pl.String),
            (pl.col("amount_fen") / 100).round(2).alias("amount"),
            pl.col("finished_at").dt.strftime("%Y-%m-%d %H:%M"),
            pl.col("as_of").dt.strftime("%Y-%m-%d"),
            (
                pl.col("origin").replace_strict(ORIGINS, default=pl.col("origin"))
                + pl.when(pl.col("kind") == "replay").then(replay).otherwise(pl.lit(""))
            ),
            pl.when(pl.col("out_exists"))
            .then(pl.lit(""))
            .otherwise(pl.lit("结果文件夹已不在工作区中"))
            .alias("remark"),
        )
        .with_columns(
            pl.when(
                (pl.col("resolved") == pl.lit(current, pl.String))
                | (pl.col("run_id") == pl.lit(copy_of, pl.Int64))
            )
            .then(pl.lit("✓"))
            .otherwise(pl.lit(""))
            .alias("current")
        )
        .select(list(HISTORY_HEADERS))
        .rename(HISTORY_HEADERS)
    )


def summary_table(summary: pl.DataFrame) -> pl.DataFrame:
    """The per-check summary of a run (checks.csv) with Chinese headers, checks with findings
    first, then the clean ones, then the skipped ones."""
    return (
        summary.with_columns(
            pl.col("family").replace_strict(FAMILIES, default=pl.col("family")),
            (pl.col("amount_fen") / 100).round(2).alias("amount"),
            pl.col("skipped").fill_null(""),
            pl.col("note").fill_null(""),
        )
        .with_row_index("order")
        .sort(pl.col("skipped") != "", pl.col("findings") == 0, "order")
        .select(list(SUMMARY_HEADERS))
        .rename(SUMMARY_HEADERS)
    )


def headline(summary: pl.DataFrame, findings: pl.DataFrame) -> dict[str, int]:
    """Checks run and skipped, findings and money at risk (fen, analytics.amounts: not the sum
    of the summary's per-check amounts) of a run's summary and findings."""
    from analytics.amounts import money_at_risk_fen

    ran = summary.filter(pl.col("skipped").is_null())
    return {
        "ran": ran.height,
        "skipped": summary.height - ran.height,
        "findings": int(ran.get_column("findings").sum() or 0),
        "amount_fen": money_at_risk_fen(findings),
    }
