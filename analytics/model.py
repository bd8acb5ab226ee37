"""The objects that pass between the reader, the checks and the pages."""

from __future__ import annotations

import errno
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from analytics.reference import Settings

if TYPE_CHECKING:
    from analytics.calendar import WorkdayCalendar


class DropError(Exception):
    """A drop that cannot be used: one Chinese message naming the file and what to fix.

    Raised before anything is written; the CLI turns it into exit status 2.
    """


def os_reason(exc: OSError) -> str:
    """What went wrong with a file, in Chinese, without the OS's own text (which names paths)."""
    return {
        errno.EACCES: "没有权限",
        errno.EPERM: "没有权限",
        errno.ENOENT: "文件或文件夹不存在",
        errno.ENOSPC: "磁盘空间不足",
        errno.EROFS: "文件系统只读",
        errno.ENOTDIR: "路径中有文件挡住了文件夹",
        errno.EISDIR: "这是文件夹，不是文件",
        errno.ENAMETOOLONG: "文件名或路径过长",
        errno.ELOOP: "符号链接循环",
        errno.EIO: "磁盘读写错误",
    }.get(exc.errno or 0, f"系统错误 {exc.errno}")


@dataclass
class FileReport:
    """How one file of a drop was read, for the 数据导入 page and the run summary."""

    table: str  # contract table name
    path: str  # file name as found in the drop
    format: str  # csv | xlsx | parquet
    encoding: str | None  # utf-8 | utf-8-sig | gb18030 (csv only)
    header_row: int  # spreadsheet row number of the header
    rows_read: int  # data rows seen (closing 合计 row excluded)
    rows_kept: int  # rows that passed every column
    mapping: dict[str, str]  # contract column -> header as written in the file
    extra_columns: list[str]  # headers kept aside and ignored
    notes: list[str] = field(default_factory=list)  # e.g. "已跳过末行合计"


@dataclass
class ReadResult:
    tables: dict[str, pl.DataFrame]  # typed frames, schema.polars_schema(table)
    rejects: pl.DataFrame  # schema.REJECTS_SCHEMA
    files: list[FileReport]
    ignored: list[tuple[str, str]]  # (file name, Chinese reason)
    missing_optional: list[str]  # optional tables not in the drop


@dataclass(frozen=True)
class Drop:
    """What a check sees: typed tables, settings, catalogue, calendar and the as-of date."""

    tables: dict[str, pl.LazyFrame]
    settings: Settings
    catalogue: pl.DataFrame
    as_of: date
    calendar: WorkdayCalendar | None = None
    source: Path | None = None
    _memo: dict[str, pl.DataFrame] = field(default_factory=dict, compare=False, repr=False)

    def memo(self, key: str, build: Callable[[], pl.LazyFrame]) -> pl.LazyFrame:
        """A derived frame shared by several checks of one run, computed once."""
        if key not in self._memo:
            self._memo[key] = build().collect()
        return self._memo[key].lazy()

    def has(self, *names: str) -> bool:
        return all(n in self.tables for n in names)

    def __getitem__(self, name: str) -> pl.LazyFrame:
        return self.tables[name]
