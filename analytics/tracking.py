"""Imports and check runs recorded in the workspace: the run log, snapshots, and triage intake.

Every import and every check run, from the command line or the browser, is a row of the run
log: who, when, the check date, the checks asked for, the sha256 of every input file, the
reference data in force (settings, catalogue, circles, calendar: their text), the code version,
and counts of rows, rejects and findings per check. A check run's findings are then taken into
the workflow (analytics.store.findings.ingest), and ``replay`` runs it again from its snapshot.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import polars as pl

from analytics import pipeline, private, reference
from analytics.model import DropError, ReadResult
from analytics.store import Workspace, audit, file_audit
from analytics.store.findings import Ingested, finish_run, get_run, ingest, start_run
from analytics.store.models import Snapshot
from analytics.store.workspace import file_sha256, snapshot_id, source_files

Progress = Callable[[str, float], None]
OUTPUTS = ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv")


def who() -> str:
    """The operating-system user, for runs started from the command line."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


@lru_cache(maxsize=1)
def code_version() -> str:
    """The package version, and the commit when the code runs from a git checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        out = version("aidwatch")
    except PackageNotFoundError:
        out = "unknown"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=reference.PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
        if commit.returncode == 0 and commit.stdout.strip():
            dirty = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=reference.PROJECT_ROOT,
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.strip()
            out += f"+{commit.stdout.strip()}" + ("-modified" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def reference_bundle(folder: Path | None = None) -> dict[str, str]:
    """The reference data a run reads, as text by relative path."""
    folder = folder or reference.data_dir()
    names = [
        "settings.toml",
        "catalogue.csv",
        "circles.toml",
        "district.toml",
        *sorted(f"calendar/{p.name}" for p in (folder / "calendar").glob("*.csv")),
    ]
    return {
        name: (folder / name).read_text(encoding="utf-8")
        for name in names
        if (folder / name).is_file()
    }


def _sha(*texts: str) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()


def bundle_digests(bundle: dict[str, str]) -> dict[str, str]:
    calendar = [bundle[k] for k in sorted(bundle) if k.startswith("calendar/")]
    return {
        "settings_sha": _sha(bundle.get("settings.toml", "")),
        "catalogue_sha": _sha(bundle.get("catalogue.csv", "")),
        "calendar_sha": _sha(*calendar),
    }


@contextlib.contextmanager
def reference_folder(bundle: dict[str, str]) -> Iterator[Path]:
    """A temporary data folder holding ``bundle``, used as the reference data meanwhile (for a
    replay, in the command's own process)."""
    with tempfile.TemporaryDirectory(prefix="aidwatch-reference-") as tmp:
        root = Path(tmp)
        for name, text in bundle.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        old = os.environ.get("AIDWATCH_DATA_DIR")
        os.environ["AIDWATCH_DATA_DIR"] = str(root)
        try:
            yield root
        finally:
            if old is None:
                os.environ.pop("AIDWATCH_DATA_DIR", None)
            else:
                os.environ["AIDWATCH_DATA_DIR"] = old


# --- imports -------------------------------------------------------------------------------------


def import_drop(
    ws: Workspace,
    source: Path,
    read: ReadResult,
    *,
    by: str,
    origin: str,
    label: str | None = None,
    log: bool = True,
) -> tuple[str, list[dict]]:
    """The drop as an immutable snapshot of the workspace (the same files: the same snapshot),
    and a row of the run log unless ``log`` is False; (snapshot id, input files)."""
    bundle = reference_bundle()
    files = source_files(source, read)
    sid = snapshot_id(files, _sha(bundle.get("catalogue.csv", "")))
    label = label or source.name
    ws.write_snapshot(read, files, sid, label, source)
    listed = [{"name": f.name, "size": f.size, "sha256": f.sha256, "table": f.table} for f in files]
    rows = {name: frame.height for name, frame in read.tables.items()}
    with ws.store.session() as s:
        if s.get(Snapshot, sid) is None:
            s.add(
                Snapshot(
                    id=sid,
                    created_by=by,
                    label=label,
                    path=f"snapshots/{sid}",
                    files=listed,
                    rows=rows,
                    rejects=read.rejects.height,
                )
            )
    if log:
        run_id = start_run(
            ws.store,
            kind="import",
            origin=origin,
            by=by,
            snapshot_id=sid,
            input_files=listed,
            rows=rows,
            rejects=read.rejects.height,
            code_version=code_version(),
            reference=bundle,
            **bundle_digests(bundle),
        )
        finish_run(ws.store, run_id, status="ok")
        audit.record(
            ws.store,
            actor=by,
            action="import",
            target=f"第 {run_id} 次运行",
            detail={"snapshot": sid[:12], "files": len(listed), "origin": origin},
        )
    return sid, listed


# --- check runs ----------------------------------------------------------------------------------


@dataclass
class Recorded:
    run_id: int
    snapshot_id: str
    out: Path
    outcome: pipeline.RunOutcome
    ingested: Ingested = field(default_factory=Ingested)


def complete_checks(summary: pl.DataFrame, only: list[str] | None) -> list[str]:
    """The checks a run judged completely over the whole drop: only these may mark a finding
    as no longer found (a run with --only, a skipped check or a part left out never does)."""
    if only:
        return []
    judged = summary.filter(pl.col("skipped").is_null())
    if "note" in judged.columns:
        judged = judged.filter(pl.col("note").is_null())
    return judged["check_id"].to_list()


def workflow_facts(ws: Workspace, before: datetime | None = None) -> pl.DataFrame:
    """The rectifications completed in the workspace (analytics.workflow.followup
    .rectification_facts), from the moves made before ``before`` (naive UTC, as the database
    keeps times) when given: what a run's rectification indicators are computed from."""
    from analytics.store.findings import findings_frame, history_frame
    from analytics.workflow.followup import RECTIFICATION_MOVES, rectification_facts

    # only the moves the rates read: every finding has a "found" event, and a city has many
    history = history_frame(ws.store, moves=RECTIFICATION_MOVES)
    if before is not None:
        history = history.filter(pl.col("at") < before)
    return rectification_facts(findings_frame(ws.store), history)


def dishonesty_facts(
    ws: Workspace, before: datetime | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The workspace's 失信名单 as a check run reads it: (its published records as a drop's
    ``dishonesty`` table, typed as the contract's; the records proposed, published and repaired
    by street and month: street, month, dishonesty_move, records). With ``before`` (naive UTC),
    the list as it was then, from the moves made before it: a replay reads what the run it
    replays read, whatever happened to the records since."""
    from analytics import schema
    from analytics.store import dishonesty as stored

    if before is None:
        published = stored.published_for_check(ws.store)
        counts = stored.counts_by_street(ws.store)
    else:
        published, counts = _dishonesty_before(ws, before)
    table_schema = pl.Schema(schema.polars_schema("dishonesty"))
    table = (
        published.select(list(table_schema))
        .cast(table_schema)
        .unique(maintain_order=True)
        .sort("id_number", "start_date", "end_date", "name", nulls_last=True)
    )
    moves = (
        counts.group_by(
            pl.col("street"),
            pl.col("on_date").dt.strftime("%Y-%m").alias("month"),
            pl.col("move").alias("dishonesty_move"),
        )
        .agg(pl.col("records").sum().cast(pl.Int64))
        .sort("month", "street", "dishonesty_move", nulls_last=True)
    )
    return table, moves


def _dishonesty_before(ws: Workspace, before: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """published_for_check and counts_by_street as they read before ``before``: each record's
    state is the one its last move before then left it in (a record's decision date and term
    are set once, by its publication, and never edited)."""
    from analytics.store import dishonesty as stored
    from analytics.workflow import dishonesty as rules

    published: list[tuple[str, str, date, date | None]] = []
    counts: list[tuple[str, str, date, int]] = []
    for r in stored.records_frame(ws.store).iter_rows(named=True):
        history = stored.history_frame(ws.store, r["record_id"]).filter(pl.col("at") < before)
        if history.height == 0:
            continue
        counts.extend(
            (r["street"], e["move"], e["on_date"], 1)
            for e in history.filter(
                pl.col("move").is_in(["create", "publish", "repair"])
            ).iter_rows(named=True)
        )
        state = history["to_state"][-1]
        entered = history.filter(
            (pl.col("to_state") == state) & (pl.col("from_state").fill_null("") != state)
        )
        came_from = entered["from_state"][-1] if entered.height else None
        if r["decision_date"] is None or not (
            state == "published" or (state == "objected" and came_from == "published")
        ):
            continue
        end = rules.term_end(
            rules.Record(
                state="published",
                severity=r["severity"],
                decision_date=r["decision_date"],
                term_months=r["term_months"],
            )
        )
        published.append((r["id_number"], r["name"], r["decision_date"], end))
    return (
        pl.DataFrame(
            published,
            schema={
                "id_number": pl.String,
                "name": pl.String,
                "start_date": pl.Date,
                "end_date": pl.Date,
            },
            orient="row",
        ),
        pl.DataFrame(
            counts,
            schema={
                "street": pl.String,
                "move": pl.String,
                "on_date": pl.Date,
                "records": pl.Int64,
            },
            orient="row",
        ),
    )


def with_published_records(read: ReadResult, published: pl.DataFrame) -> ReadResult:
    """``read`` with the workspace's published records added to its ``dishonesty`` table (to
    the drop's own when it has one), so that blacklisted_recipient reads both; ``read`` itself
    (what the snapshot holds) is left as it was."""
    if published.height == 0:
        return read
    own = read.tables.get("dishonesty")
    table = (
        published
        if own is None
        else pl.concat([own.select(published.columns).cast(published.schema), published])
    )
    return replace(
        read,
        tables={**read.tables, "dishonesty": table},
        missing_optional=[t for t in read.missing_optional if t != "dishonesty"],
    )


# Shares of the progress bar: the snapshot, then the checks, then taking in the findings.
_SNAPSHOT_SHARE, _CHECKS_END = 0.05, 0.9


def record_check(
    ws: Workspace,
    source: Path,
    read: ReadResult,
    *,
    by: str,
    origin: str,
    as_of: date | None = None,
    only: list[str] | None = None,
    label: str | None = None,
    progress: Progress | None = None,
    replay_of: int | None = None,
) -> Recorded:
    """Snapshot the drop, run the checks, write the outputs under runs/<run id>, log the run
    and take its findings into the workflow. A replay (``replay_of``) runs from the snapshot of
    the run it replays, ``read`` being that snapshot loaded, and takes nothing into the
    workflow. The run's rectification indicators are computed from the workspace's moves made
    before it (for a replay: before the run it replays); so are its 失信名单 indicators, and
    the workspace's published records join the drop's dishonesty table (blacklisted_recipient),
    the snapshot keeping only the drop's own. A run that fails is logged as failed,
    by the kind of its error only (its message could quote the drop), and the error is raised
    again."""
    from checks.registry import REGISTRY, load_all

    def report(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message, fraction)

    def checking(message: str, fraction: float) -> None:
        if fraction < 1:  # the checks' own 完成 is not the end of the run
            report(message, _SNAPSHOT_SHARE + (_CHECKS_END - _SNAPSHOT_SHARE) * fraction)

    audit.note_settings(ws.store, by=by)
    before = None
    original = get_run(ws.store, replay_of) if replay_of is not None else None
    if original is not None and original.snapshot_id:
        # The same snapshot, not a snapshot of it: the replay's row names what it replayed.
        sid, files = original.snapshot_id, list(original.input_files or [])
        first = original
        while first.replay_of is not None and (earlier := get_run(ws.store, first.replay_of)):
            first = earlier  # a replay of a replay: the moves before the run first replayed
        before = first.started_at
    else:
        report("保存数据快照", 0.0)
        sid, files = import_drop(ws, source, read, by=by, origin=origin, label=label, log=False)
    bundle = reference_bundle()
    run_id = start_run(
        ws.store,
        kind="replay" if replay_of else "check",
        origin=origin,
        by=by,
        snapshot_id=sid,
        only=list(only or []),
        input_files=files,
        rows={n: f.height for n, f in read.tables.items()},
        rejects=read.rejects.height,
        code_version=code_version(),
        reference=bundle,
        replay_of=replay_of,
        **bundle_digests(bundle),
    )
    try:
        report("读取工作区中的整改记录和失信名单", _SNAPSHOT_SHARE)
        published, moves = dishonesty_facts(ws, before)
        workflow = pl.concat(
            [workflow_facts(ws, before), moves, file_audit.pass_rate_facts(ws.store, before)],
            how="diagonal_relaxed",
        )
        outcome = pipeline.run_read(
            with_published_records(read, published),
            source=source,
            as_of=as_of,
            only=only or None,
            progress=checking,
            workflow=workflow,
        )
        out = ws.root / "runs" / f"{run_id:06d}"
        private.ensure_dir(out)
        pipeline.write_outputs(outcome, out)
        private.close_tree(out)
        report("记入线索台账", _CHECKS_END)
        load_all()
        checks = {
            row["check_id"]: {
                k: row[k]
                for k in ("findings", "amount_fen", "rows_examined", "skipped", "note")
                if k in row
            }
            for row in outcome.summary.iter_rows(named=True)
        }
        ran = [c for c, v in checks.items() if not v.get("skipped")]
        ingested = Ingested()
        if replay_of is None:  # a replay reproduces a run; it is no new observation
            ingested = ingest(
                ws.store,
                run_id,
                outcome.findings,
                recipes={c: REGISTRY[c].recipe for c in ran},
                complete_checks=complete_checks(outcome.summary, only),
                on_date=date.today(),
            )
        finish_run(
            ws.store,
            run_id,
            status="ok",
            as_of=outcome.drop.as_of,
            complete=not only and all(not v.get("skipped") for v in checks.values()),
            findings=outcome.findings.height,
            checks=checks,
            out_dir=out.name,
        )
    except BaseException as exc:
        finish_run(ws.store, run_id, status="failed", error=type(exc).__name__)
        raise
    audit.record(
        ws.store,
        actor=by,
        action="run",
        target=f"第 {run_id} 次运行",
        detail={
            "kind": "replay" if replay_of else "check",
            "origin": origin,
            "snapshot": sid[:12],
            "only": list(only or []),
            "findings": outcome.findings.height,
        },
    )
    report("完成", 1.0)
    return Recorded(run_id, sid, out, outcome, ingested)


# --- replay -------------------------------------------------------------------------------------


@dataclass
class Replay:
    run_id: int  # the run replayed
    replay_id: int  # the replay's own row in the run log
    identical: bool  # the findings are the same, byte for byte
    changed_inputs: list[str]  # Chinese: source files that changed or are gone since the import
    differences: list[str]  # Chinese: how the findings differ


def replay(
    ws: Workspace, run_id: int, *, by: str, origin: str = "cli", progress: Progress | None = None
) -> Replay:
    """Run a logged check run again from its snapshot, with the reference data it had, and
    compare its findings with the run's."""
    original = get_run(ws.store, run_id)
    if original is None or original.kind not in ("check", "replay") or not original.snapshot_id:
        raise DropError(f"运行记录中没有编号为 {run_id} 的检查运行")
    if original.status != "ok" or not original.out_dir:
        raise DropError(f"第 {run_id} 次检查运行没有完成，无从重放")
    before = ws.root / "runs" / original.out_dir / "findings.csv"
    if not before.is_file():
        raise DropError(f"第 {run_id} 次检查运行的结果文件已不在工作区中，无从比较")
    problems = ws.verify_snapshot(original.snapshot_id)
    if problems:
        raise DropError("；".join(problems))
    changed = changed_inputs(ws, original.snapshot_id)
    read = ws.load_snapshot(original.snapshot_id)
    source = ws.snapshot_dir(original.snapshot_id)
    with reference_folder(original.reference or {}):
        recorded = record_check(
            ws,
            source,
            read,
            by=by,
            origin=origin,
            as_of=original.as_of,
            only=list(original.only or []) or None,
            progress=progress,
            replay_of=run_id,
            label=ws.manifest(original.snapshot_id).get("label"),
        )
    after = recorded.out / "findings.csv"
    differences = compare_findings(before, after)
    return Replay(run_id, recorded.run_id, not differences, changed, differences)


def changed_inputs(ws: Workspace, sid: str) -> list[str]:
    """The snapshot's source files that changed since the import, where their folder is still
    known and there (an upload folder or a drop folder)."""
    manifest = ws.manifest(sid)
    origin = manifest.get("source")
    if not origin or not Path(origin).is_dir():
        return []
    out = []
    for f in manifest["files"]:
        path = Path(origin) / f["name"]
        if not path.is_file():
            out.append(f"{f['name']}：已不在原文件夹中")
        elif file_sha256(path) != f["sha256"]:
            out.append(f"{f['name']}：内容已改变（导入时 sha256 {f['sha256'][:12]}…）")
    return out


def compare_findings(before: Path, after: Path) -> list[str]:
    """How two findings.csv differ, in Chinese; empty when they are byte-identical."""
    if before.read_bytes() == after.read_bytes():
        return []
    a = pl.read_csv(before, infer_schema=False)
    b = pl.read_csv(after, infer_schema=False)
    ids = lambda f: set(f["evidence"].str.extract(r'"finding_id":"([^"]*)"').to_list())  # noqa: E731
    only_a, only_b = ids(a) - ids(b), ids(b) - ids(a)
    out = []
    if only_a:
        out.append(f"原运行有而重放没有的线索 {len(only_a)} 条")
    if only_b:
        out.append(f"重放有而原运行没有的线索 {len(only_b)} 条")
    if not out:
        out.append("线索相同，但金额、说明或证据有差异")
    return out
