"""The workspace folder: snapshots of imported drops, check runs, attachments and the database.

```
WORKSPACE/
  aidwatch.db                 the database, unless the settings give a PostgreSQL URL
  snapshots/<id>/             one imported drop: a Parquet file per table, rejects.parquet and
                              manifest.json (source files' names, sizes, sha256, rows)
  runs/<run id>/              what a check run wrote (the four files of `aidwatch check`)
  attachments/<sha256>        files attached to triage moves
```

The folder is ``AIDWATCH_WORKSPACE``, else ``workspace`` in the settings' ``[storage]`` section,
else ``workspace`` in the service's private folder (analytics.private). Everything in it is
private to the service's user. A snapshot is written into a partial folder and renamed into
place whole, so an import killed halfway leaves no snapshot behind; its id is a digest of its
source files, so the same files imported twice are one snapshot.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import polars as pl

from analytics import private, reference, schema
from analytics.model import DropError, FileReport, ReadResult
from analytics.store.db import Store, configured_url, open_store

MANIFEST = "manifest.json"
PARTIAL = ".partial-"
SNAPSHOT_FORMAT = 1  # bumped when what a snapshot holds changes


def workspace_root() -> Path:
    env = os.environ.get("AIDWATCH_WORKSPACE")
    if env:
        return Path(env)
    configured = reference.storage_setting("workspace")
    return Path(configured).expanduser() if configured else private.root() / "workspace"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class SourceFile:
    name: str
    size: int
    sha256: str
    table: str | None = None  # None: not a table of the contract, ignored
    rows_read: int = 0
    rows_kept: int = 0


def source_files(folder: Path, read: ReadResult) -> list[SourceFile]:
    """Every file of a drop folder with its digest, and what the reader made of it."""
    reports = {r.path: r for r in read.files}
    out = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        report = reports.get(path.name)
        out.append(
            SourceFile(
                name=path.name,
                size=path.stat().st_size,
                sha256=file_sha256(path),
                table=report.table if report else None,
                rows_read=report.rows_read if report else 0,
                rows_kept=report.rows_kept if report else 0,
            )
        )
    return out


def snapshot_id(files: list[SourceFile], catalogue_sha: str) -> str:
    digest = hashlib.sha256(f"aidwatch-snapshot-{SNAPSHOT_FORMAT}\n{catalogue_sha}\n".encode())
    for f in files:
        digest.update(f"{f.name}\0{f.sha256}\n".encode())
    return digest.hexdigest()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Workspace:
    root: Path
    _store: Store | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        private.ensure_dir(self.root)
        for sub in ("snapshots", "runs", "attachments"):
            private.ensure_dir(self.root / sub)

    @classmethod
    def open(cls, root: Path | None = None) -> Workspace:
        return cls(root or workspace_root())

    @property
    def database_url(self) -> str:
        return configured_url() or f"sqlite:///{self.root / 'aidwatch.db'}"

    @property
    def store(self) -> Store:
        if self._store is None:
            if not configured_url():
                # SQLite makes its journal files with the database file's permissions
                database = self.root / "aidwatch.db"
                os.close(os.open(database, os.O_CREAT | os.O_WRONLY, private.FILE_MODE))
                os.chmod(database, private.FILE_MODE)
            self._store = open_store(self.database_url)
        return self._store

    def close(self) -> None:
        """Let go of the database's connections (the command line, at its end)."""
        if self._store is not None:
            self._store.dispose()
            self._store = None

    # --- snapshots --------------------------------------------------------------------------

    def snapshot_dir(self, sid: str) -> Path:
        return self.root / "snapshots" / sid

    def write_snapshot(
        self,
        read: ReadResult,
        files: list[SourceFile],
        sid: str,
        label: str,
        source: Path | None = None,
    ) -> Path:
        """The drop as read, as Parquet under snapshots/<sid>; written whole or not at all."""
        final = self.snapshot_dir(sid)
        if (final / MANIFEST).is_file():
            return final  # the same files were imported before: snapshots never change
        self._clear_partials()
        partial = self.root / "snapshots" / f"{PARTIAL}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        private.ensure_dir(partial)
        try:
            for name, frame in read.tables.items():
                frame.write_parquet(partial / f"{name}.parquet", statistics=False)
            read.rejects.write_parquet(partial / "rejects.parquet", statistics=False)
            manifest = {
                "format": SNAPSHOT_FORMAT,
                "id": sid,
                "label": label,
                "source": str(source) if source else None,
                "files": [asdict(f) for f in files],
                "reports": [asdict(r) for r in read.files],
                "ignored": [list(x) for x in read.ignored],
                "missing_optional": list(read.missing_optional),
                "rows": {name: frame.height for name, frame in read.tables.items()},
                "rejects": read.rejects.height,
            }
            private.write_file(
                partial / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1).encode()
            )
            for path in partial.iterdir():
                with open(path, "rb") as fh:
                    os.fsync(fh.fileno())
            private.close_tree(partial)
            try:
                os.rename(partial, final)
            except OSError:
                if not (final / MANIFEST).is_file():
                    raise
                shutil.rmtree(partial, ignore_errors=True)  # another import won the race
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        return final

    def _clear_partials(self) -> None:
        """Partial folders of imports whose process is gone (killed halfway)."""
        for path in (self.root / "snapshots").glob(f"{PARTIAL}*"):
            try:
                pid = int(path.name[len(PARTIAL) :].split("-")[0])
            except ValueError:
                pid = -1
            if pid != os.getpid() and not _pid_alive(pid):
                shutil.rmtree(path, ignore_errors=True)

    def manifest(self, sid: str) -> dict:
        path = self.snapshot_dir(sid) / MANIFEST
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise DropError(f"工作区中找不到快照 {sid[:12]}，或其清单已损坏") from None

    def load_snapshot(self, sid: str) -> ReadResult:
        """A snapshot as the reader's result, tables typed as the reader typed them."""
        folder = self.snapshot_dir(sid)
        manifest = self.manifest(sid)
        tables = {}
        for name in manifest["rows"]:
            tables[name] = pl.read_parquet(folder / f"{name}.parquet").cast(
                pl.Schema(schema.polars_schema(name))
            )
        rejects = pl.read_parquet(folder / "rejects.parquet").cast(pl.Schema(schema.REJECTS_SCHEMA))
        return ReadResult(
            tables=tables,
            rejects=rejects,
            files=[FileReport(**r) for r in manifest["reports"]],
            ignored=[tuple(x) for x in manifest["ignored"]],
            missing_optional=list(manifest["missing_optional"]),
        )

    def verify_snapshot(self, sid: str) -> list[str]:
        """Which of the snapshot's Parquet files no longer load (Chinese); empty when sound."""
        problems = []
        folder = self.snapshot_dir(sid)
        for name in self.manifest(sid)["rows"]:
            try:
                pl.read_parquet_schema(folder / f"{name}.parquet")
            except Exception:  # noqa: BLE001 - any damage is reported the same way
                problems.append(f"快照中的 {name}.parquet 已损坏或缺失")
        return problems
