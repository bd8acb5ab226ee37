"""The official working-day calendar: weekends, the State Council's holidays and make-up days.

The calendar is data (``data/calendar/YYYY.csv``, rows ``date,kind,name``; kind 休 is a day off,
班 a weekend day worked in lieu). A year is known only if its file exists, even an empty one. Any
answer that needs an unknown year raises ``CalendarError``: a deadline is never guessed.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from analytics import reference

README = "data/calendar/README.md"
REST, MAKEUP = "休", "班"
_EPOCH = date(1970, 1, 1)
_HEADERS = {
    "date": "date",
    "日期": "date",
    "kind": "kind",
    "类型": "kind",
    "name": "name",
    "名称": "name",
}
_DATE = re.compile(r"^\s*(\d{4})\s*[-/年.]\s*(\d{1,2})\s*[-/月.]\s*(\d{1,2})\s*日?\s*$")
_DATE_COMPACT = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


class CalendarError(Exception):
    """The calendar data cannot answer: a year is missing or a calendar file is malformed."""


def _missing_year(year: int, folder: Path, known: tuple[int, ...] = ()) -> CalendarError:
    # Years must stay consecutive, so a date far from the known span needs every year between.
    first = known[-1] + 1 if known and year > known[-1] else year
    last = known[0] - 1 if known and year < known[0] else year
    span, files = (
        (f"{year} 年", f"{year}.csv")
        if first == last
        else (f"{first}—{last} 年", f"{first}.csv 至 {last}.csv")
    )
    return CalendarError(
        f"工作日历缺少 {span}的节假日安排，无法计算工作日。请按国务院办公厅公布的 {span}"
        f"部分节假日安排通知，在 {folder} 下新增 {files}（格式见 {README}）。"
    )


def _parse_date(text: str) -> date | None:
    m = _DATE.match(text) or _DATE_COMPACT.match(text)
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CalendarError(
        f"工作日历文件 {path.name} 无法识别编码，请另存为 UTF-8 编码的 CSV（见 {README}）。"
    )


def _read_year(path: Path, year: int) -> tuple[set[date], set[date]]:
    rest: set[date] = set()
    makeup: set[date] = set()
    rows = list(csv.reader(_read_text(path).splitlines()))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        return rest, makeup
    header = [_HEADERS.get(cell.strip()) for cell in rows[0]]
    if "date" not in header or "kind" not in header:
        raise CalendarError(
            f"工作日历文件 {path.name} 第 1 行应为表头 date,kind,name（或 日期,类型,名称），"
            f"请按 {README} 修改。"
        )
    i_date, i_kind = header.index("date"), header.index("kind")
    for line, row in enumerate(rows[1:], start=2):
        where = f"工作日历文件 {path.name} 第 {line} 行"
        cells = row + [""] * (len(header) - len(row))
        d = _parse_date(cells[i_date])
        kind = cells[i_kind].strip()
        if d is None:
            raise CalendarError(f"{where}：日期“{cells[i_date]}”无法识别，应写作 {year}-01-01。")
        if d.year != year:
            raise CalendarError(f"{where}：日期 {d} 不属于 {year} 年，请移到 {d.year}.csv。")
        if kind not in (REST, MAKEUP):
            raise CalendarError(
                f"{where}：类型“{kind}”无效，只能填 {REST}（放假）或 {MAKEUP}（调休上班）。"
            )
        if d in rest or d in makeup:
            raise CalendarError(f"{where}：日期 {d} 重复出现。")
        if kind == MAKEUP and d.weekday() < 5:
            raise CalendarError(
                f"{where}：{d} 是工作日，无需标为{MAKEUP}；调休上班日只会是周六或周日。"
            )
        (rest if kind == REST else makeup).add(d)
    return rest, makeup


class WorkdayCalendar:
    """Working days of the years the calendar folder declares, with vectorised Polars helpers."""

    def __init__(self, years: dict[int, tuple[set[date], set[date]]], folder: Path):
        if not years:
            raise CalendarError(
                f"工作日历目录 {folder} 中没有任何年份文件（如 2026.csv），见 {README}。"
            )
        first, last = min(years), max(years)
        gaps = [y for y in range(first, last + 1) if y not in years]
        if gaps:
            raise _missing_year(gaps[0], folder)
        self._folder = folder
        self._years = tuple(sorted(years))
        self._rest = set().union(*(r for r, _ in years.values()))
        self._makeup = set().union(*(m for _, m in years.values()))
        # Day-indexed arrays over the whole span, for the vectorised helpers.
        self._first = date(first, 1, 1)
        self._first_num = (self._first - _EPOCH).days
        n_days = (date(last, 12, 31) - self._first).days + 1
        is_work = np.fromiter(
            (self._is_workday_known(self._first + timedelta(days=i)) for i in range(n_days)),
            dtype=bool,
            count=n_days,
        )
        self._ordinal = np.cumsum(is_work, dtype=np.int64)  # working days up to and including
        self._workday_index = np.flatnonzero(is_work)  # k-th working day (0-based) -> day index

    @classmethod
    def load(cls, folder: Path | str | None = None) -> WorkdayCalendar:
        folder = Path(folder) if folder is not None else reference.data_dir() / "calendar"
        if not folder.is_dir():
            raise CalendarError(f"找不到工作日历目录 {folder}，见 {README}。")
        years: dict[int, tuple[set[date], set[date]]] = {}
        for path in sorted(folder.glob("*.csv")):
            if not re.fullmatch(r"\d{4}", path.stem):
                raise CalendarError(
                    f"工作日历文件 {path.name} 的文件名应为四位年份，如 2027.csv（见 {README}）。"
                )
            years[int(path.stem)] = _read_year(path, int(path.stem))
        return cls(years, folder)

    @property
    def years(self) -> tuple[int, ...]:
        return self._years

    @property
    def folder(self) -> Path:
        """The folder the year files were read from."""
        return self._folder

    def folder_label(self) -> str:
        """The folder as a user should look for it: relative to the project when inside it."""
        try:
            return self._folder.resolve().relative_to(reference.PROJECT_ROOT.resolve()).as_posix()
        except ValueError:
            return str(self._folder)

    # --- scalar API ------------------------------------------------------------------------

    def _check_year(self, year: int) -> None:
        if year not in self._years:
            raise _missing_year(year, self._folder, self._years)

    def _is_workday_known(self, d: date) -> bool:
        if d in self._makeup:
            return True
        if d in self._rest:
            return False
        return d.weekday() < 5

    def is_workday(self, d: date) -> bool:
        self._check_year(d.year)
        return self._is_workday_known(d)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after ``start`` (``start`` itself never counts; n=0 gives start)."""
        if n < 0:
            raise ValueError("n must be non-negative")
        self._check_year(start.year)
        d = start
        while n:
            d += timedelta(days=1)
            n -= self.is_workday(d)
        return d

    def workdays_between(self, a: date, b: date) -> int:
        """Working days d with a < d <= b (negative when b is before a)."""
        if b < a:
            return -self.workdays_between(b, a)
        self._check_year(a.year)
        count, d = 0, a
        while d < b:
            d += timedelta(days=1)
            count += self.is_workday(d)
        return count

    # --- vectorised API --------------------------------------------------------------------

    def _day_index(self, dates: pl.Series) -> tuple[np.ndarray, np.ndarray]:
        """Index into the day arrays and the null mask; raises for a date of an unknown year."""
        dates = dates.cast(pl.Date)
        null = dates.is_null().to_numpy()
        idx = dates.cast(pl.Int64).fill_null(self._first_num).to_numpy() - self._first_num
        outside = ~null & ((idx < 0) | (idx >= len(self._ordinal)))
        if outside.any():
            bad = dates.filter(pl.Series(outside))
            years: list[int] = bad.dt.year().to_list()
            year = min(years) if (idx[outside] < 0).any() else max(years)
            raise _missing_year(year, self._folder, self._years)
        return idx, null

    def _nth_batch(self, columns: Sequence[pl.Series]) -> pl.Series:
        if min(len(c) for c in columns) == 0:
            return pl.Series(dtype=pl.Date)
        length = max(len(c) for c in columns)  # a literal n arrives as one value
        dates, n = (c if len(c) == length else c.extend_constant(c[0], length - 1) for c in columns)
        idx, null = self._day_index(dates)
        n = n.cast(pl.Int64)
        null = null | n.is_null().to_numpy()
        steps = n.fill_null(0).to_numpy()
        if (steps[~null] < 0).any():
            raise ValueError("n must be non-negative")
        target = np.where(null, 0, self._ordinal[idx] + steps)
        if (target > len(self._workday_index)).any():
            raise _missing_year(self._years[-1] + 1, self._folder, self._years)
        result_idx = np.where(steps == 0, idx, self._workday_index[np.maximum(target - 1, 0)])
        days = pl.Series(result_idx + self._first_num, dtype=pl.Int64)
        return days.cast(pl.Date).scatter(np.flatnonzero(null), None)

    def _ordinal_batch(self, columns: Sequence[pl.Series]) -> pl.Series:
        (dates,) = columns
        idx, null = self._day_index(dates)
        return pl.Series(self._ordinal[idx]).scatter(np.flatnonzero(null), None)

    def nth_workday_after(self, dates: pl.Expr | str, n: pl.Expr | str | int) -> pl.Expr:
        """Vectorised ``add_workdays``: a Date expression; null where a date or n is null.

        ``dates`` and ``n`` are expressions or column names; ``n`` may be a plain int.

        Raises ``CalendarError`` at collect time when a date or a result falls in an unknown year.
        """
        dates = pl.col(dates) if isinstance(dates, str) else dates
        if isinstance(n, str):
            n = pl.col(n)
        elif not isinstance(n, pl.Expr):
            n = pl.lit(n, dtype=pl.Int64)
        return pl.map_batches(
            [dates, n], self._nth_batch, return_dtype=pl.Date, is_elementwise=True
        )

    def workday_ordinal(self, dates: pl.Expr | str) -> pl.Expr:
        """Working days from the calendar's first day up to and including each date (Int64).

        The difference of two ordinals is ``workdays_between`` of the two dates.
        """
        dates = pl.col(dates) if isinstance(dates, str) else dates
        return pl.map_batches(
            [dates], self._ordinal_batch, return_dtype=pl.Int64, is_elementwise=True
        )

    def __repr__(self) -> str:
        return f"WorkdayCalendar(years={self._years[0]}..{self._years[-1]}, folder={self._folder})"
