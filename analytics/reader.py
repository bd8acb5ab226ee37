"""Reading a data drop (contract sections 1 and 2): files to typed tables and rejects.

Every file is first loaded as text cells with their spreadsheet row numbers, whatever its
format; the parsers of analytics.parse then type each contract column. A cell that fails makes
its row a reject (one rejects row per failing cell); everything else is kept, in file order.

Excel files are read with fastexcel (the engine behind Polars' read_excel) directly, because
Polars drops blank rows, which would shift the row numbers a user looks up, and because the
parsers need to know which cells were number cells. With ``header_row=None, skip_rows=0`` row i
of the loaded sheet is spreadsheet row i + 1, leading and inner blank rows included. A cell's
kind comes from a second load of the same columns as booleans: fastexcel converts number (and
boolean) cells and leaves text and date cells null, where a float load would also convert text
that looks like a number.

A file is data the district did not write for us: a library's error (the CSV parser, calamine,
pyarrow, the OS) may quote raw rows, so it is never shown; each is translated into a Chinese
message that names the file, the row and the column, with the fix. Before a library opens a file,
analytics.guard holds it to the [limits] of data/settings.toml.
"""

from __future__ import annotations

import csv
import errno
import io
import itertools
import re
import stat
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from analytics import guard, parse, schema
from analytics.model import DropError, FileReport, ReadResult
from analytics.reference import Limits

Progress = Callable[[str, float], None]

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
R_IGNORED = "不是数据约定中的表，已忽略"
# Files the demo generator (analytics.generate) writes beside the tables: its answer key, for
# checking the checks, never read by them.
COMPANIONS = {
    "truth.csv": "演示数据生成器写出的答案清单：植入的每个问题及应报出的线索，用于核对检查结果；"
    "检查不读取此文件",
    "lookalikes.csv": "演示数据生成器写出的形似问题清单：看似有问题、检查不应报出的记录，"
    "用于核对检查没有误报；检查不读取此文件",
}
R_SYMLINK = "是符号链接（快捷方式），为安全起见不读取，请放入文件本身"
R_SPECIAL = "不是普通文件，已忽略"
R_BEYOND = "该行的单元格多于表头，多出的单元格有内容"
R_DAMAGED = "含损坏的字节，无法识别（文件为UTF-8编码，此处字节已损坏），请从原系统重新导出"
HEADER_SCAN_ROWS = 30  # title lines above the header are a few, never pages
_TOTAL_PREFIXES = ("合计", "总计")
_FILLED = "[^" + parse.BLANKS + "]"  # a cell with anything but blanks in it
# Types whose parsers care whether a spreadsheet cell was a number
_NUMERIC_AWARE = {"id18", "payee", "account", "date", "month", "money", "text"}
# Headers kept aside are shown on a page: a few, short, and none that looks like data (a run
# of seven digits is an ID number, an account or a phone, whatever separates its digits).
EXTRA_SHOWN = 20
EXTRA_CHARS = 30
_DATA_LIKE = re.compile(r"[0-9]{7}")
_DIGIT_SEPARATORS = re.compile(r"[\s\-_.,/()（）\u2010-\u2015]")


@dataclass
class _Cells:
    """A file as text: header cells, data cells (c0, c1, ...) and their row numbers."""

    headers: Sequence[str | None]  # None: an empty spreadsheet cell
    data: pl.DataFrame
    rows: pl.Series
    header_row: int
    numeric: dict[int, pl.Series] = field(default_factory=dict)  # column position -> is number
    encoding: str | None = None


def _name_key(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip().casefold()


_STEMS = {_name_key(stem): t.name for t in schema.TABLES.values() for stem in t.file_stems}


def identify_table(path: str | Path) -> str | None:
    """The contract table a file holds, by its name (English or Chinese) and extension."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        return None
    return _STEMS.get(_name_key(p.stem))


def _file_names(table: schema.Table) -> str:
    stems = "、".join(f"{s}.csv" for s in table.file_stems)
    return f"{stems}（或同名的 .xlsx、.parquet 文件）"


# --- header -----------------------------------------------------------------------------------


def _header_map(cells: Sequence[str | None], table: schema.Table, file_name: str) -> dict[str, int]:
    """Contract column -> position of its header among ``cells``."""
    keys = {_name_key(h): c.name for c in table.columns for h in c.headers}
    found: dict[str, int] = {}
    for i, cell in enumerate(cells):
        name = keys.get(_name_key(cell or ""))
        if name is None:
            continue
        if name in found:
            col = table.column(name)
            raise DropError(
                f"文件 {file_name} 中有两列都对应 {col.name}（{col.zh}）："
                f"“{_shown(cells[found[name]])}”和“{_shown(cell)}”，请删去其中一列"
            )
        found[name] = i
    return found


def _shown(cell: str | None) -> str:
    return (cell or "").strip(parse.BLANKS)


def _looks_like_data(text: str) -> bool:
    return bool(_DATA_LIKE.search(_DIGIT_SEPARATORS.sub("", unicodedata.normalize("NFKC", text))))


def _listed(headers: list[str]) -> list[str]:
    """Header cells as a page may list them: at most EXTRA_SHOWN, each cut to EXTRA_CHARS
    characters, none that looks like data; "另有N列" for the rest."""
    shown = [
        h if len(h) <= EXTRA_CHARS else h[:EXTRA_CHARS] + "…"
        for h in headers
        if not _looks_like_data(h)
    ][:EXTRA_SHOWN]
    rest = len(headers) - len(shown)
    return shown + ([f"另有{rest}列"] if rest else [])


def _label(headers: Sequence[str | None], pos: int) -> str:
    """A column as a message names it: its header, or its position when the header is blank
    or looks like data."""
    header = _shown(headers[pos]) if pos < len(headers) else ""
    if not header or _looks_like_data(header):
        return f"第{pos + 1}列"
    return header if len(header) <= EXTRA_CHARS else header[:EXTRA_CHARS] + "…"


def _find_header(rows: Sequence[Sequence[str | None]], table: schema.Table, file_name: str) -> int:
    """Index of the first row that names every required column of the table."""
    required = set(table.required_columns)
    best: tuple[int, int] | None = None
    for i, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        found = _header_map(cells, table, file_name)
        if required <= found.keys():
            return i
        if any(_shown(c) for c in cells) and (best is None or len(found) > best[0]):
            best = (len(found), i)
    if best is None or best[0] == 0:
        # No row names a single column: the file has no header row, and its first row is data,
        # which an error message must never repeat (it may hold ID numbers, names, phones).
        names = "、".join(
            f"{c.name}（{c.zh}）" for c in (table.column(n) for n in table.required_columns)
        )
        raise DropError(
            f"文件 {file_name} 的前{HEADER_SCAN_ROWS}行中没有找到表头行（没有一列的名称"
            f"能识别）。请在数据上方加上列名，至少包括 {names}（中文或英文表头均可）"
            f"后重新放入"
        )
    cells = rows[best[1]]
    found = _header_map(cells, table, file_name)
    missing = [table.column(c) for c in table.required_columns if c not in found]
    names = "、".join(f"{c.name}（{c.zh}）" for c in missing)
    headers = "、".join(_listed([_shown(c) for c in cells if _shown(c)]))
    raise DropError(
        f"文件 {file_name} 缺少必需的列 {names}。文件中的表头为：{headers}。"
        f"请补上这些列（中文或英文表头均可）后重新放入"
    )


# --- loaders ------------------------------------------------------------------------------------


def _decode(data: bytes, file_name: str) -> tuple[str, bytes]:
    """(encoding, UTF-8 bytes without BOM). Strict: a file that decodes as neither is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DropError(
            f"文件 {file_name} 是UTF-16编码，请在Excel中另存为“CSV UTF-8（逗号分隔）”格式"
        )
    sample = data[:4096]
    if sample.count(0) * 4 > len(sample):  # UTF-16 without its BOM, or a zeroed file
        raise DropError(
            f"文件 {file_name} 含大量空字节，是UTF-16编码或文件已损坏：请在Excel中另存为"
            f"“CSV UTF-8（逗号分隔）”格式，或从原系统重新导出"
        )
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return ("utf-8-sig" if bom else "utf-8"), body
    damaged = _damaged_utf8(body)
    if damaged is not None:
        # UTF-8 with a few broken bytes, not another encoding: the broken bytes become U+FFFD
        # and the rows holding them are rejected (read_table_file), never read as GB18030.
        return ("utf-8-sig" if bom else "utf-8"), damaged
    if not bom:
        try:
            return "gb18030", data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            pass
    raise DropError(
        f"无法识别文件 {file_name} 的编码（不是UTF-8，也不是GB18030/GBK），"
        f"请另存为“CSV UTF-8（逗号分隔）”格式"
    )


DAMAGED = "\ufffd"


def _damaged_utf8(body: bytes) -> bytes | None:
    """The text as UTF-8 with each broken byte sequence replaced by U+FFFD, when the bytes are
    UTF-8 with a few broken sequences (at least 20 valid non-ASCII characters, and at least 20
    of them for each broken sequence); None otherwise. GB18030 text read as UTF-8 breaks at
    nearly every Chinese character, so it never passes."""

    def counts(text: str) -> tuple[int, int]:
        broken = text.count(DAMAGED)
        return len(text) - len(text.encode("ascii", "ignore")) - broken, broken

    # A large GB18030 file shows what it is in its first megabyte: no need to decode it all.
    valid, broken = counts(body[: 1 << 20].decode("utf-8", errors="replace"))
    if len(body) > 1 << 20 and valid + broken >= 1000 and valid < 20 * broken:
        return None
    text = body.decode("utf-8", errors="replace")
    valid, broken = counts(text)
    if valid >= 20 and valid >= 20 * broken:
        return text.encode("utf-8")
    return None


# A CR that ends no CRLF. The CR of CR CR LF (a CRLF file saved again as text on Windows) goes
# with its line end, as Polars reads it: a trailing blank of the last cell.
_LONE_CR = re.compile(rb"\r(?![\r\n])")
_QUOTED = re.compile(rb'"[^"]*"')


def _line_ends(body: bytes, file_name: str) -> bytes:
    """The text with the lone CRs of "CSV (Macintosh)" as line ends. A CR inside a quoted cell
    is part of the cell; lone CRs beside LFs no reader splits alike, and are refused."""
    if body.count(b"\r") == body.count(b"\r\n") or not _LONE_CR.search(body):
        return body
    outside = _QUOTED.sub(b"", body) if b'"' in body else body
    if not _LONE_CR.search(outside):
        return body
    if b"\n" not in outside:
        return re.sub(rb"\r(?!\n)", b"\n", body)
    raise DropError(
        f"文件 {file_name} 的换行符混用了单独的回车符（CR，旧版Mac的“CSV (Macintosh)”"
        f"格式）和换行符（LF），无法确定如何分行。请在Excel中打开后另存为"
        f"“CSV UTF-8（逗号分隔）”格式后重新放入"
    )


def _long_cell(file_name: str, row: int, column: str, limit: int) -> DropError:
    where = f"第{row}行“{column}”列" if column else f"第{row}行"
    return DropError(
        f"文件 {file_name} {where}的单元格超过{limit}个字符（单元格的上限；常见原因是"
        f"引号没有闭合或数据损坏），不予读取。请检查该行后重新导出"
    )


def _csv_head(body: bytes, file_name: str) -> tuple[list[list[str | None]], list[int]]:
    """The first records of a CSV and the byte offset where each starts."""
    head = body[: 1 << 20].decode("utf-8", errors="ignore")
    offsets: list[int] = []
    consumed = [0]

    def lines() -> Iterator[str]:
        for line in io.StringIO(head, newline=""):
            consumed[0] += len(line.encode("utf-8"))
            yield line

    records: list[list[str | None]] = []
    start = 0
    try:
        for record in csv.reader(lines()):
            offsets.append(start)
            records.append(list(record))
            start = consumed[0]
            if len(records) > HEADER_SCAN_ROWS:
                break
    except csv.Error as exc:  # never quoted: it may hold the row
        if "field larger than field limit" in str(exc):
            raise _long_cell(file_name, len(records) + 1, "", csv.field_size_limit()) from None
        raise DropError(
            f"文件 {file_name} 第{len(records) + 1}行的格式有误，无法按CSV读取，"
            f"请检查该行后重新导出"
        ) from None
    return records, offsets


def _csv_scan(body: bytes, file_name: str, first_row: int, limits: Limits) -> int:
    """The most cells a record has, by Python's csv module in strict mode, for a file Polars
    could not read or whose quotes do not pair up: a record it cannot split is named by its
    row (``first_row`` is the row of the first record of ``body``)."""
    text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", errors="replace", newline="")
    widest = done = 0
    try:
        for record in csv.reader(text, strict=True):
            if len(record) > widest:
                widest = len(record)
                if widest > limits.max_columns:
                    raise DropError(
                        f"文件 {file_name} 第{first_row + done}行有{widest:,}个单元格，"
                        f"超过{limits.max_columns:,}列的上限，不予读取"
                    )
            done += 1
    except csv.Error as exc:
        row, fault = first_row + done, str(exc)
        if "unexpected end of data" in fault:
            raise DropError(
                f"文件 {file_name} 第{row}行的引号没有闭合（从该行起到文件末尾都被当作"
                f"一个单元格），请检查该行后重新导出"
            ) from None
        if "field larger than field limit" in fault:
            raise _long_cell(file_name, row, "", csv.field_size_limit()) from None
        raise DropError(
            f"文件 {file_name} 第{row}行的引号没有正确闭合（引号括起的内容后面紧跟了其他"
            f"字符，或少了一个引号），请检查该行后重新导出"
        ) from None
    return widest


def _csv_records(body: bytes, width: int) -> pl.DataFrame:
    """The records of ``body`` by Python's csv module, a batch at a time, for a file it reads
    and Polars does not (a quote inside an unquoted cell, 显示器 27", is that character)."""
    text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8", errors="replace", newline="")
    reader = csv.reader(text, strict=True)
    names = [f"column_{i + 1}" for i in range(width)]
    text_schema = dict.fromkeys(names, pl.String)
    frames = [pl.DataFrame(schema=text_schema)]
    while batch := list(itertools.islice(reader, 100_000)):
        columns = zip(*(record + [""] * (width - len(record)) for record in batch), strict=True)
        frames.append(pl.DataFrame(dict(zip(names, columns, strict=True)), schema=text_schema))
    # As Polars reads them: an empty cell is null.
    return pl.concat(frames).select(
        pl.when(pl.col(n) != "").then(pl.col(n)).alias(n) for n in names
    )


_POLARS_FAULTS = (pl.exceptions.PolarsError, pl.exceptions.PanicException)


def _csv_grid(body: bytes, file_name: str, first_row: int, limits: Limits) -> pl.DataFrame:
    """The records of ``body`` as text cells. Polars reads a well-formed file in one go; only a
    file it cannot read (more cells in a row than in the first, a quote that never closes) or
    whose quotes do not pair up goes through Python's csv module, to read it or name the row."""

    def read(**kw: Any) -> pl.DataFrame:
        return pl.read_csv(body, has_header=False, infer_schema=False, raise_if_empty=False, **kw)

    try:
        grid = read(truncate_ragged_lines=False)
    except _POLARS_FAULTS:
        grid = None
    if grid is not None and body.count(b'"') % 2 == 0:
        return grid
    widest = _csv_scan(body, file_name, first_row, limits)
    if grid is not None:
        return grid  # a quote inside a cell (5"), read as the character it is
    try:
        # Rows longer than the first: read to the widest, the cells beyond the header checked
        # by read_table_file.
        return read(
            schema={f"column_{i + 1}": pl.String for i in range(widest)}, missing_columns="insert"
        )
    except _POLARS_FAULTS:
        return _csv_records(body, widest)


def _load_csv(path: Path, table: schema.Table, limits: Limits) -> _Cells:
    encoding, body = _decode(path.read_bytes(), path.name)
    body = _line_ends(body, path.name)
    records, offsets = _csv_head(body, path.name)
    h = _find_header(records, table, path.name)
    if len(records[h]) > limits.max_columns:
        raise DropError(
            f"文件 {path.name} 的表头有{len(records[h]):,}列，超过{limits.max_columns:,}"
            f"列的上限，不予读取"
        )
    grid = _csv_grid(body[offsets[h] :], path.name, h + 1, limits)
    return _split(grid, 0, h + 1, encoding)


def _split(grid: pl.DataFrame, h: int, header_row: int, encoding: str | None = None) -> _Cells:
    """Header at grid row ``h``, spreadsheet row ``header_row``; the data rows follow it."""
    grid = grid.rename({c: f"c{i}" for i, c in enumerate(grid.columns)})
    headers = list(grid.row(h)) if grid.height > h else []
    data = grid.slice(h + 1)
    rows = pl.int_range(header_row + 1, header_row + 1 + data.height, dtype=pl.Int64, eager=True)
    return _Cells(headers, data, rows, header_row=header_row, encoding=encoding)


def _unreadable_xlsx(file_name: str) -> DropError:
    return DropError(
        f"无法打开Excel文件 {file_name}：文件已损坏，或含有无法识别的内容。"
        f"请在Excel中打开后另存为 .xlsx（或“CSV UTF-8（逗号分隔）”）后重新放入"
    )


def _load_xlsx(path: Path, table: schema.Table, limits: Limits) -> _Cells:
    guard.check_xlsx(path, limits)  # before calamine inflates anything
    try:
        reader = fastexcel.read_excel(path)
        sheet = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string")
        grid = sheet.to_polars()
    except Exception:  # fastexcel's and calamine's errors may quote cells: never shown
        raise _unreadable_xlsx(path.name) from None
    names = grid.columns
    h = _find_header([list(r) for r in grid.head(HEADER_SCAN_ROWS).iter_rows()], table, path.name)
    cells = _split(grid, h, h + 1)
    mapping = _header_map(cells.headers, table, path.name)
    wanted = [i for name, i in mapping.items() if table.column(name).type in _NUMERIC_AWARE]
    if wanted:
        try:
            kinds = reader.load_sheet(
                0,
                header_row=None,
                skip_rows=0,
                dtypes="boolean",
                use_columns=[names[i] for i in wanted],
            ).to_polars()
        except Exception:
            raise _unreadable_xlsx(path.name) from None
        if kinds.height != grid.height:
            raise DropError(f"无法读取Excel文件 {path.name} 的单元格类型，请另存为CSV后重试")
        for i, name in zip(wanted, kinds.columns, strict=True):
            cells.numeric[i] = kinds[name].slice(h + 1).is_not_null()
    return cells


def _as_text(s: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """A Parquet column as the text a CSV export of it would hold; floats are number cells."""
    if s.dtype == pl.String:
        return s, None
    if s.dtype.is_float():
        whole = s.is_finite() & (s == s.round(0)) & (s.abs() < 1e15)
        text = pl.select(
            pl.when(whole)
            .then(s.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(s.cast(pl.String))
        ).to_series()
        return text.alias(s.name), s.is_not_null()
    return s.cast(pl.String), None


def _load_parquet(path: Path, table: schema.Table, limits: Limits) -> _Cells:
    guard.check_parquet(path, limits)
    try:
        frame = pl.read_parquet(path)
    except (Exception, pl.exceptions.PanicException):  # may quote values: never shown
        raise DropError(
            f"无法读取Parquet文件 {path.name}：文件已损坏，或使用了不支持的格式，请重新导出后放入"
        ) from None
    headers = list(frame.columns)
    _find_header([headers], table, path.name)
    data, numeric = {}, {}
    for i, name in enumerate(headers):
        try:
            text, kind = _as_text(frame[name])
        except pl.exceptions.PolarsError:
            raise DropError(
                f"文件 {path.name} 的“{_label(headers, i)}”列类型为 "
                f"{frame[name].dtype}，无法按文本读取，请改为文本后重新导出"
            ) from None
        data[f"c{i}"] = text
        if kind is not None:
            numeric[i] = kind
    rows = pl.int_range(2, 2 + frame.height, dtype=pl.Int64, eager=True)
    return _Cells(
        headers, pl.DataFrame(data, height=frame.height), rows, header_row=1, numeric=numeric
    )


_LOADERS = {"csv": _load_csv, "xlsx": _load_xlsx, "parquet": _load_parquet}


# --- typing a table -----------------------------------------------------------------------------


def _oversized(cells: _Cells, file_name: str, limit: int) -> None:
    """Refuse a cell longer than the limit (a quote that never closed, a damaged file), naming
    its row and column and quoting nothing."""
    for name in cells.data.columns:
        s = cells.data[name]
        if s.dtype != pl.String or not (s.str.len_bytes() > limit).any():
            continue  # a character is at least a byte: most columns end here
        over = (s.str.len_chars() > limit).arg_true()
        if not over.is_empty():
            i = over[0]
            raise _long_cell(file_name, cells.rows[i], _label(cells.headers, int(name[1:])), limit)


def _drop_non_data(cells: _Cells, notes: list[str], required: list[int]) -> _Cells:
    """Blank rows and a closing 合计/总计 row are not data. A total row is the last row, with
    合计/总计 in its first filled cell and a required column blank: a label and sums. A real row
    fills every required column, whatever its ID says (流水号 合计0001)."""
    data = cells.data
    if data.width == 0 or data.height == 0:
        return cells
    # Nearly every row shows a value in its first column, so later columns are looked at only
    # for the few rows still undecided.
    undecided = pl.int_range(data.height, dtype=pl.UInt32, eager=True)
    for name in data.columns:
        filled = data[name].gather(undecided).str.contains(_FILLED).fill_null(False)
        undecided = undecided.filter(~filled)
        if undecided.is_empty():
            break
    keep = pl.repeat(True, data.height, eager=True).scatter(undecided, False)
    if not undecided.is_empty():
        notes.append(f"已跳过{len(undecided)}个空行")
    kept = keep.arg_true()
    if not kept.is_empty():
        last = kept[-1]
        row = data.row(last)
        first = next(c.strip(parse.BLANKS) for c in row if c and c.strip(parse.BLANKS))
        if first.startswith(_TOTAL_PREFIXES) and not all(_shown(row[i]) for i in required):
            keep = keep.scatter(last, False)
            notes.append(f"已跳过末尾的合计行（第{cells.rows[last]}行）")
    if keep.all():
        return cells
    cells.data = data.filter(keep)
    cells.rows = cells.rows.filter(keep)
    cells.numeric = {i: s.filter(keep) for i, s in cells.numeric.items()}
    return cells


def _beyond_header(cells: _Cells) -> tuple[pl.DataFrame, pl.Series] | None:
    """(rejects, rows) for the rows with something in a cell right of the header's last named
    column: more cells than the header, never truncated silently. Trailing blank cells (a comma
    too many) are nothing. One reject per row, at its first such cell."""
    named = [i for i, h in enumerate(cells.headers) if _shown(h)]
    beyond = range((named[-1] if named else -1) + 1, cells.data.width)
    if not beyond or cells.data.height == 0:
        return None
    position = pl.repeat(None, cells.data.height, dtype=pl.Int64, eager=True)
    value = pl.repeat(None, cells.data.height, dtype=pl.String, eager=True)
    for i in beyond:
        cell = cells.data[f"c{i}"]
        hit = cell.str.contains(_FILLED).fill_null(False) & position.is_null()
        if hit.any():
            position = pl.select(pl.when(hit).then(i + 1).otherwise(position)).to_series()
            value = pl.select(pl.when(hit).then(cell).otherwise(value)).to_series()
    cells.data = cells.data.drop([f"c{i}" for i in beyond])
    found = position.is_not_null()
    if not found.any():
        return None
    return pl.DataFrame(
        {
            "row": cells.rows.filter(found),
            "column": [f"第{n}列（表头之外）" for n in position.filter(found).to_list()],
            "value": value.filter(found),
            "reason": R_BEYOND,
        }
    ), found


def _duplicates(typed: pl.DataFrame, rows: pl.Series, table: schema.Table) -> pl.DataFrame:
    """(row, first_row) of the later rows that repeat the table's unique key."""
    keys = list(table.unique)
    frame = typed.select(keys).with_row_index("i").with_columns(row=rows)
    frame = frame.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys))
    if not frame.select(pl.struct(keys).is_duplicated().any()).item():
        return pl.DataFrame(schema={"row": pl.Int64, "first_row": pl.Int64, "i": pl.UInt32})
    later = frame.filter(~pl.struct(keys).is_first_distinct())
    first = frame.group_by(keys).agg(first_row=pl.col("row").min())
    return later.join(first, on=keys, how="left").select("row", "first_row", "i")


def _os_error(file_name: str, exc: OSError) -> DropError:
    """An OS error as a Chinese message naming the file, never the server's path."""
    if isinstance(exc, PermissionError):
        return DropError(
            f"没有权限读取文件 {file_name}，请检查文件的权限（或是否被其他程序锁定）后重试"
        )
    if isinstance(exc, FileNotFoundError):
        return DropError(f"文件 {file_name} 在读取时已不存在（可能被移走或删除），请重新放入后重试")
    if isinstance(exc, IsADirectoryError):
        return DropError(f"{file_name} 是文件夹，不是数据文件")
    if exc.errno == errno.ENAMETOOLONG:
        shown = file_name if len(file_name) <= 40 else file_name[:40] + "…"
        return DropError(f"文件名 {shown} 过长，系统无法打开，请改用较短的文件名或文件夹名")
    code = errno.errorcode.get(exc.errno or 0, "")
    return DropError(
        f"无法读取文件 {file_name}（系统错误{code and ' ' + code}），请确认文件能正常打开后重试"
    )


def _load(path: Path, fmt: str, table: schema.Table, limits: Limits) -> _Cells:
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a folder, a pipe, a device
            raise DropError(f"{path.name} 不是普通文件，无法作为数据文件读取")
        if status.st_size == 0:
            raise DropError(f"文件 {path.name} 是空文件（0字节），请从原系统重新导出")
        return _LOADERS[fmt](path, table, limits)
    except OSError as exc:
        raise _os_error(path.name, exc) from None


def read_table_file(
    path: str | Path,
    table_name: str,
    catalogue: pl.DataFrame | None = None,
    *,
    today: date | None = None,
    limits: Limits | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, FileReport]:
    """One file of one table: (typed frame, rejects, report). Raises DropError for a file that
    cannot be used (unreadable, a required column missing, over a limit). Every data row is
    kept or rejected: rows_read = rows_kept + the rows in the rejects."""
    path = Path(path)
    table = schema.TABLES[table_name]
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DropError(f"文件 {path.name} 不是 .csv、.xlsx 或 .parquet 文件")
    if catalogue is None:
        from analytics.reference import load_catalogue

        catalogue = load_catalogue()
    if limits is None:
        from analytics.reference import load_settings

        limits = load_settings().limits
    today = today or date.today()

    cells = _load(path, fmt, table, limits)
    _oversized(cells, path.name, limits.max_cell_chars)
    mapping = _header_map(cells.headers, table, path.name)
    notes: list[str] = []
    if cells.header_row > 1:
        notes.append(f"表头在第{cells.header_row}行，其上的标题行已跳过")
    cells = _drop_non_data(cells, notes, [mapping[c] for c in table.required_columns])
    height = cells.data.height

    typed: dict[str, pl.Series] = {}
    damaged_cells = 0
    bad = pl.repeat(False, height, eager=True)
    rejects: list[pl.DataFrame] = []
    beyond = _beyond_header(cells)
    if beyond is not None:
        rejects.append(beyond[0])
        bad = bad | beyond[1]
    for column in table.columns:
        if column.name not in mapping:
            continue
        pos = mapping[column.name]
        raw = cells.data[f"c{pos}"]
        values, reasons = parse.parse_series(
            column, raw, numeric=cells.numeric.get(pos), catalogue=catalogue, today=today
        )
        broken = raw.str.contains(DAMAGED, literal=True).fill_null(False)
        if broken.any():
            reasons = pl.select(
                pl.when(broken).then(pl.lit(R_DAMAGED)).otherwise(reasons)
            ).to_series()
            damaged_cells += int(broken.sum())
        if column.type == "address":
            typed[column.name] = parse.text_column(raw)[0]
            typed[f"{column.name}_norm"] = values
        else:
            typed[column.name] = values
        failed = reasons.is_not_null()
        if failed.any():
            bad = bad | failed
            rejects.append(
                pl.DataFrame(
                    {
                        "row": cells.rows,
                        "column": _shown(cells.headers[pos]),
                        "value": raw,
                        "reason": reasons,
                    }
                ).filter(failed)
            )
        if column.name not in table.unique:  # the text is done with: let it go at city scale
            cells.data = cells.data.drop(f"c{pos}")
        del raw, values, reasons

    out_schema = schema.polars_schema(table.name)
    frame = pl.DataFrame(
        {
            name: typed.get(name, pl.repeat(None, height, dtype=dtype, eager=True))
            for name, dtype in out_schema.items()
        },
        schema=out_schema,
    )

    if table.unique:
        dups = _duplicates(frame, cells.rows, table)
        if dups.height:
            key = table.column(table.unique[0])
            label = "+".join(table.column(k).zh for k in table.unique)
            raw = cells.data[f"c{mapping[key.name]}"].gather(dups["i"])
            rejects.append(
                pl.DataFrame(
                    {
                        "row": dups["row"],
                        "column": _shown(cells.headers[mapping[key.name]]),
                        "value": raw,
                        "reason": [
                            f"{label}重复（与第{r}行相同）" for r in dups["first_row"].to_list()
                        ],
                    }
                )
            )
            bad = bad.scatter(dups["i"], True)

    if damaged_cells:
        notes.append(f"文件为UTF-8编码，但有{damaged_cells}个单元格含损坏的字节，所在行已拒收")
    kept = frame.filter(~bad) if bad.any() else frame
    reject_frame = _rejects_frame(rejects, path.name)
    extra = _listed(
        [_shown(h) for i, h in enumerate(cells.headers) if i not in mapping.values() and _shown(h)]
    )
    report = FileReport(
        table=table.name,
        path=path.name,
        format=fmt,
        encoding=cells.encoding,
        header_row=cells.header_row,
        rows_read=height,
        rows_kept=kept.height,
        mapping={name: _shown(cells.headers[i]) for name, i in mapping.items()},
        extra_columns=extra,
        notes=notes,
    )
    return kept, reject_frame, report


def _rejects_frame(parts: list[pl.DataFrame], file_name: str) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=schema.REJECTS_SCHEMA)
    frame = pl.concat(
        [p.with_columns(pl.col("value").cast(pl.String)) for p in parts], how="diagonal_relaxed"
    )
    return (
        frame.with_columns(file=pl.lit(file_name))
        .select([pl.col(c).cast(t) for c, t in schema.REJECTS_SCHEMA.items()])
        .sort("row", "column")
    )


# --- a whole drop -------------------------------------------------------------------------------


def _entries(root: Path) -> tuple[dict[str, list[Path]], list[tuple[str, str]]]:
    """The files of a drop folder by table, and the entries ignored with why. A symbolic link
    is not followed: it could name any file the server can read."""
    found: dict[str, list[Path]] = {}
    ignored: list[tuple[str, str]] = []
    try:
        for p in sorted(root.iterdir(), key=lambda p: p.name):
            if p.is_symlink():
                ignored.append((p.name, R_SYMLINK))
            elif p.is_dir():
                continue
            elif not p.is_file():  # a pipe or a device: reading it could block or never end
                ignored.append((p.name, R_SPECIAL))
            elif (name := identify_table(p)) is None:
                ignored.append((p.name, COMPANIONS.get(p.name, R_IGNORED)))
            else:
                found.setdefault(name, []).append(p)
    except OSError:
        raise DropError(
            f"无法读取数据目录 {root.name} 中的文件列表，请检查文件夹的权限后重试"
        ) from None
    return found, ignored


def unrecognised_files(ignored: list[tuple[str, str]]) -> list[str]:
    """The names among ``ignored`` (ReadResult.ignored) that no contract table goes by: a file
    the user may have meant as a table and misnamed. The generator's answer key, links and
    special files are ignored for reasons of their own."""
    return [
        name
        for name, why in ignored
        if name not in COMPANIONS and why not in (R_SYMLINK, R_SPECIAL)
    ]


def required_missing(path: str | Path) -> list[str]:
    """The required tables no file of the drop folder ``path`` is named for (nothing read)."""
    found, _ = _entries(Path(path))
    return [n for n in schema.REQUIRED_TABLES if n not in found]


def read_drop(
    path: str | Path,
    *,
    catalogue: pl.DataFrame | None = None,
    progress: Progress | None = None,
    limits: Limits | None = None,
    partial: bool = False,
) -> ReadResult:
    """Every file of a drop folder: typed tables, rejects, and what was read or ignored.

    A required table missing raises DropError, unless ``partial``: then the tables that are
    there are read, and the result says which are missing by their absence (a page shows
    them as a folder of uploads is shown)."""
    root = Path(path)
    if not root.is_dir():
        raise DropError(f"数据目录 {root.name or root} 不存在或不是文件夹")  # no server path
    if catalogue is None:
        from analytics.reference import load_catalogue

        catalogue = load_catalogue()
    if limits is None:
        from analytics.reference import load_settings

        limits = load_settings().limits

    found, ignored = _entries(root)
    for name, files in found.items():
        if len(files) > 1:
            t = schema.TABLES[name]
            listed = "、".join(f.name for f in files)
            raise DropError(f"表 {t.name}（{t.zh}）有多个文件：{listed}，请只保留一个")
    missing = [schema.TABLES[n] for n in schema.REQUIRED_TABLES if n not in found]
    if missing and not partial:
        parts = "；".join(f"{t.name}（{t.zh}），文件名可为 {_file_names(t)}" for t in missing)
        skipped = "".join(
            f"（{n} {why}）"
            for n, why in ignored
            if why in (R_SYMLINK, R_SPECIAL) and identify_table(n) in {t.name for t in missing}
        )
        raise DropError(f"数据目录 {root.name} 缺少必需的表：{parts}{skipped}")

    today = date.today()
    order = [n for n in schema.TABLES if n in found]
    tables: dict[str, pl.DataFrame] = {}
    rejects: list[pl.DataFrame] = []
    reports: list[FileReport] = []
    for i, name in enumerate(order):
        file = found[name][0]
        if progress:
            progress(f"正在读取{schema.TABLES[name].zh}（{file.name}）", i / len(order))
        frame, rej, report = read_table_file(file, name, catalogue, today=today, limits=limits)
        if name in schema.REQUIRED_TABLES and report.rows_read == 0:
            t = schema.TABLES[name]
            raise DropError(
                f"文件 {file.name} 只有表头，没有数据行。{t.name}（{t.zh}）是必需的表，"
                f"请确认导出的范围（如月份）有数据后重新导出"
            )
        tables[name] = frame
        rejects.append(rej)
        reports.append(report)
    if progress:
        progress("数据读取完成", 1.0)
    all_rejects = (
        pl.concat(rejects).sort("file", "row", "column")
        if rejects
        else pl.DataFrame(schema=schema.REJECTS_SCHEMA)
    )
    return ReadResult(
        tables=tables,
        rejects=all_rejects,
        files=reports,
        ignored=ignored,
        missing_optional=[n for n in schema.OPTIONAL_TABLES if n not in found],
    )
