"""Every cached read the dashboard does; the only module with st.cache_data / st.cache_resource.

Cache keys are paths plus a fingerprint of what is on disk (names, sizes, modification times),
passed as arguments that the cached functions do not use but Streamlit hashes, so a file
replaced in place is read again. Nothing here reads widgets or session state: pages
pass plain values in, and apply access rules to what comes out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

import polars as pl
import streamlit as st

from analytics import private, reader, reference, schema
from analytics.model import DropError, FileReport, ReadResult, os_reason

TTL = "1h"
DATA_SUFFIXES = (".csv", ".xlsx", ".parquet")
# Where uploads go; None: ``uploads`` in the service's private folder (analytics.private).
UPLOAD_ROOT: Path | None = None

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(*paths: Path) -> Fingerprint:
    """(path, size, mtime) of each file, or of each file directly inside a folder."""
    out = []
    for path in paths:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        for f in files:
            if f.exists():
                st_ = f.stat()
                out.append((str(f), st_.st_size, st_.st_mtime_ns))
    return tuple(out)


def _catalogue_path() -> Path:
    return reference.data_dir() / "catalogue.csv"


@st.cache_data(ttl=TTL, max_entries=4, show_spinner=False)
def _catalogue(path: str, stamp: Fingerprint) -> pl.DataFrame:
    return reference.load_catalogue(Path(path))


def catalogue() -> pl.DataFrame:
    path = _catalogue_path()
    return _catalogue(str(path), fingerprint(path))


# A drop is shared and large: cache_resource hands every session the same object instead of an
# unpickled copy per hit. Callers must not mutate it (Polars frames are not changed in place).
@st.cache_resource(ttl=TTL, max_entries=4, show_spinner="正在读取数据文件…")
def _read_drop(path: str, stamp: Fingerprint, catalogue_stamp: Fingerprint) -> ReadResult:
    return reader.read_drop(Path(path), catalogue=catalogue())


def read_drop(path: Path | str) -> ReadResult:
    """The drop folder read by the contract reader; raises DropError as the reader does."""
    path = Path(path)
    return _read_drop(str(path.resolve()), fingerprint(path), fingerprint(_catalogue_path()))


@st.cache_data(ttl=TTL, max_entries=256, show_spinner=False)
def _identify(path: str, stamp: Fingerprint) -> str | None:
    return reader.identify_table(Path(path))


def identify_table(path: Path) -> str | None:
    return _identify(str(path), fingerprint(path))


@st.cache_data(ttl=TTL, max_entries=64, show_spinner="正在读取上传的文件…")
def _read_table_file(
    path: str, table: str, stamp: Fingerprint, catalogue_stamp: Fingerprint
) -> tuple[pl.DataFrame, pl.DataFrame, FileReport]:
    return reader.read_table_file(Path(path), table, catalogue())


def read_table_file(path: Path, table: str) -> tuple[pl.DataFrame, pl.DataFrame, FileReport]:
    return _read_table_file(str(path), table, fingerprint(path), fingerprint(_catalogue_path()))


def uploads_keep_days() -> int:
    """How long uploaded files are kept (``AIDWATCH_UPLOADS_KEEP_DAYS``, default 30 days)."""
    try:
        return max(int(os.environ.get("AIDWATCH_UPLOADS_KEEP_DAYS", "30")), 1)
    except ValueError:
        return 30


def upload_root() -> Path:
    return UPLOAD_ROOT or private.root() / "uploads"


def prune_uploads(keep: Path | None = None, now: float | None = None) -> list[Path]:
    """Delete upload folders untouched for longer than uploads_keep_days(): they hold personal
    data, and a copy is no longer needed once its runs are done. ``keep`` is never deleted.
    Returns the folders deleted."""
    root = upload_root()
    if not root.is_dir():
        return []
    limit = (now if now is not None else time.time()) - uploads_keep_days() * 86_400
    gone = []
    for folder in root.iterdir():
        if folder.is_dir() and folder != keep and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder)
    return gone


def save_uploads(files: list[tuple[str, bytes]]) -> Path:
    """Write uploaded (name, content) pairs to a folder named by their digest, and return it.

    The same upload always lands in the same folder, so the reads above stay cached; folders of
    uploads older than uploads_keep_days() are deleted on the way. Folders are 0700 and files
    0600 (analytics.private); a name no file may have (a NUL, too long) raises DropError.
    """
    named = [(private.safe_name(name), content) for name, content in files]
    digest = hashlib.sha256()
    for name, content in sorted(named):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    private.ensure_dir(upload_root())
    folder = private.ensure_dir(upload_root() / digest.hexdigest()[:24])
    for name, content in named:
        target = folder / name
        # The folder is named by the content, and a file appears only once whole: one that
        # exists already holds these bytes, and need not be read again on every rerun.
        if not target.exists():
            try:
                private.write_file(target, content)
            except OSError as exc:
                raise DropError(
                    f"无法保存上传的文件 {name}（{os_reason(exc)}），请改名或稍后重试"
                ) from None
    os.utime(folder)  # used now: kept for the full period from today
    prune_uploads(keep=folder)
    return folder


def read_uploads(folder: Path) -> ReadResult:
    """Uploaded files: a whole drop when every required table is there, else table by table.

    Read one by one, a partial upload still shows how each file maps and what it rejects; the
    DropError of a required table missing would hide that.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file())
    identified = {p: identify_table(p) for p in files if p.suffix.lower() in DATA_SUFFIXES}
    if set(schema.REQUIRED_TABLES) <= set(identified.values()):
        return read_drop(folder)
    tables, rejects, reports = {}, [], []
    ignored = [
        (p.name, "不是支持的文件格式（应为 .csv、.xlsx 或 .parquet）")
        for p in files
        if p not in identified
    ]
    for path, table in identified.items():
        if table is None:
            ignored.append((path.name, "未能识别为数据规范中的任何一张表"))
            continue
        frame, table_rejects, report = read_table_file(path, table)
        tables[table] = frame
        rejects.append(table_rejects)
        reports.append(report)
    return ReadResult(
        tables=tables,
        rejects=pl.concat(rejects) if rejects else pl.DataFrame(schema=schema.REJECTS_SCHEMA),
        files=reports,
        ignored=ignored,
        missing_optional=[t for t in schema.OPTIONAL_TABLES if t not in tables],
    )


# --- What a check run wrote (aidwatch check --out) ----------------------------------------------


@st.cache_data(ttl=TTL, max_entries=8, show_spinner="正在读取检查结果…")
def _findings(out_dir: str, stamp: Fingerprint) -> pl.DataFrame:
    from analytics import results

    return results.load_findings(Path(out_dir))


def findings(out_dir: Path | str) -> pl.DataFrame:
    """findings.csv of a run with finding_id, family, title, amount_fen; empty without a run."""
    path = Path(out_dir)
    return _findings(str(path.resolve()), fingerprint(path / "findings.csv"))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _check_summary(out_dir: str, stamp: Fingerprint) -> pl.DataFrame:
    from analytics import results

    return results.load_check_summary(Path(out_dir))


def check_summary(out_dir: Path | str) -> pl.DataFrame:
    """checks.csv of a run: per check the findings, money at risk, and why it was skipped."""
    path = Path(out_dir)
    return _check_summary(str(path.resolve()), fingerprint(path / "checks.csv"))


@st.cache_data(ttl=TTL, max_entries=8, show_spinner=False)
def _indicators(out_dir: str, stamp: Fingerprint) -> pl.DataFrame:
    from analytics import results

    return results.load_indicators(Path(out_dir))


def indicators(out_dir: Path | str) -> pl.DataFrame:
    """indicators.csv of a run (street, period, indicator, value, ...); empty without a run."""
    path = Path(out_dir)
    return _indicators(str(path.resolve()), fingerprint(path / "indicators.csv"))


# --- 关系图谱 ------------------------------------------------------------------------------------


@st.cache_resource(ttl=TTL, max_entries=2, show_spinner="正在构建关系图谱…")
def _link_graph(path: str, stamp: Fingerprint, catalogue_stamp: Fingerprint):
    from datetime import date

    from analytics import linkgraph, pipeline

    read = _read_drop(path, stamp, catalogue_stamp)
    # The graph does not depend on the as-of date; a fixed one spares a drop without batches.
    return linkgraph.build_link_graph(pipeline.make_drop(read, as_of=date.today()))


def link_graph(path: Path | str):
    """The drop's link graph (analytics.linkgraph.LinkGraph), built once and shared: pages only
    read it."""
    path = Path(path)
    return _link_graph(str(path.resolve()), fingerprint(path), fingerprint(_catalogue_path()))


# --- the workspace (snapshots, runs, the workflow database) ------------------------------------


@st.cache_resource(show_spinner=False)
def _workspace(root: str):
    from analytics.store import Workspace

    return Workspace.open(Path(root))


def workspace():
    """The workspace (AIDWATCH_WORKSPACE, else the settings' or the default place), opened once
    per server: its database engine is shared by every session. Workflow state changes with
    every move, so what is read from it is read fresh (workflow_frames), never cached."""
    from analytics.store import workspace_root

    return _workspace(str(workspace_root().resolve()))


# Workflow state changes with every move: these are cached on a stamp that any move, run or
# payment changes (analytics.store.findings.workflow_stamp), so they are never stale, and a
# page that only filters reads the database once.


@st.cache_data(ttl=TTL, max_entries=4, show_spinner=False)
def _workflow_frames(root: str, url: str, stamp: tuple[int, int, int]) -> dict[str, pl.DataFrame]:
    from analytics.store import findings as stored

    store = workspace().store
    return {
        "findings": stored.findings_frame(store),
        "history": stored.history_frame(store),
        "recoveries": stored.recoveries_frame(store),
    }


def workflow_frames() -> dict[str, pl.DataFrame]:
    """The workflow as frames as they are now: findings (with state), history, recoveries."""
    from analytics.store import findings as stored

    ws = workspace()
    return _workflow_frames(str(ws.root), ws.database_url, stored.workflow_stamp(ws.store))


@st.cache_data(ttl=TTL, max_entries=4, show_spinner=False)
def _finding_states(root: str, url: str, stamp: tuple[int, int, int]) -> pl.DataFrame:
    from analytics.store import findings as stored

    return stored.states_frame(workspace().store)


def finding_states(ws) -> pl.DataFrame:
    """Every stored finding's workflow state as it is now (states_frame), cached on the stamp."""
    from analytics.store import findings as stored

    return _finding_states(str(ws.root), ws.database_url, stored.workflow_stamp(ws.store))


@st.cache_data(ttl=TTL, max_entries=4, show_spinner=False)
def _recorded_findings(root: str, url: str, stamp: tuple[int, int, int]) -> pl.DataFrame:
    from analytics.store import file_audit

    return file_audit.recorded_findings(workspace().store)


def recorded_findings(ws) -> pl.DataFrame | None:
    """The findings people recorded in the workspace (档案核查), in the shape of a run's
    findings, cached on the workflow stamp; None without a workspace."""
    from analytics.store import findings as stored

    if ws is None:
        return None
    return _recorded_findings(str(ws.root), ws.database_url, stored.workflow_stamp(ws.store))
