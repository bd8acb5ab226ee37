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
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import fastexcel
import polars as pl

from analytics import parse, schema
from analytics.model import DropError, FileReport, ReadResult

Progress = Callable[[str, float], None]

FORMATS = {".csv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}
R_IGNORED = "不是数据约定中的表，已忽略"
R_DAMAGED = "含损坏的字节，无法识别（文件为UTF-8编码，此处字节已损坏），请从原系统重新导出"
HEADER_SCAN_ROWS = 30  # title lines above the header are a few, never pages
_TOTAL_PREFIXES = ("合计", "总计")
_FILLED = "[^" + parse.BLANKS + "]"  # a cell with anything but blanks in it
# Types whose parsers care whether a spreadsheet cell was a number
_NUMERIC_AWARE = {"id18", "payee", "account", "date", "month", "money", "text"}


@dataclass
class _Cells:
    """A file as text: header cells, data cells (c0, c1, ...) and their row numbers."""

    headers: list[str]
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

def _header_map(cells: list[str | None], table: schema.Table, file_name: str) -> dict[str, int]:
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
                f"“{_shown(cells[found[name]])}”和“{_shown(cell)}”，请删去其中一列")
        found[name] = i
    return found


def _shown(cell: str | None) -> str:
    return (cell or "").strip(parse.BLANKS)


def _find_header(rows: list[list[str | None]], table: schema.Table, file_name: str) -> int:
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
        names = "、".join(f"{c.name}（{c.zh}）" for c in
                         (table.column(n) for n in table.required_columns))
        raise DropError(f"文件 {file_name} 的前{HEADER_SCAN_ROWS}行中没有找到表头行（没有一列的名称"
                        f"能识别）。请在数据上方加上列名，至少包括 {names}（中文或英文表头均可）"
                        f"后重新放入")
    cells = rows[best[1]]
    found = _header_map(cells, table, file_name)
    missing = [table.column(c) for c in table.required_columns if c not in found]
    names = "、".join(f"{c.name}（{c.zh}）" for c in missing)
    headers = "、".join(_shown(c) for c in cells if _shown(c))
    raise DropError(f"文件 {file_name} 缺少必需的列 {names}。文件中的表头为：{headers}。"
                    f"请补上这些列（中文或英文表头均可）后重新放入")


# --- loaders ------------------------------------------------------------------------------------

def _decode(data: bytes, file_name: str) -> tuple[str, bytes]:
    """(encoding, UTF-8 bytes without BOM). Strict: a file that decodes as neither is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DropError(f"文件 {file_name} 是UTF-16编码，请在Excel中另存为“CSV UTF-8（逗号分隔）”格式")
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
    raise DropError(f"无法识别文件 {file_name} 的编码（不是UTF-8，也不是GB18030/GBK），"
                    f"请另存为“CSV UTF-8（逗号分隔）”格式")


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
    valid, broken = counts(body[:1 << 20].decode("utf-8", errors="replace"))
    if len(body) > 1 << 20 and valid + broken >= 1000 and valid < 20 * broken:
        return None
    text = body.decode("utf-8", errors="replace")
    valid, broken = counts(text)
    if valid >= 20 and valid >= 20 * broken:
        return text.encode("utf-8")
    return None


def _csv_head(body: bytes) -> tuple[list[list[str | None]], list[int]]:
    """The first records of a CSV and the byte offset where each starts."""
    head = body[:1 << 20].decode("utf-8", errors="ignore")
    offsets: list[int] = []
    consumed = [0]

    def lines():
        for line in io.StringIO(head, newline=""):
            consumed[0] += len(line.encode("utf-8"))
            yield line

    records: list[list[str | None]] = []
    start = 0
    for record in csv.reader(lines()):
        offsets.append(start)
        records.append(list(record))
        start = consumed[0]
        if len(records) > HEADER_SCAN_ROWS:
            break
    return records, offsets


def _load_csv(path: Path, table: schema.Table) -> _Cells:
    encoding, body = _decode(path.read_bytes(), path.name)
    try:
        records, offsets = _csv_head(body)
    except csv.Error as exc:
        raise DropError(f"无法读取文件 {path.name}：{exc}") from None
    h = _find_header(records, table, path.name)
    try:
        grid = pl.read_csv(body[offsets[h]:], has_header=False, infer_schema=False,
                           truncate_ragged_lines=True, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise DropError(f"无法读取文件 {path.name}：{exc}") from None
    return _split(grid, 0, h + 1, encoding)


def _split(grid: pl.DataFrame, h: int, header_row: int, encoding: str | None = None) -> _Cells:
    """Header at grid row ``h``, spreadsheet row ``header_row``; the data rows follow it."""
    grid = grid.rename({c: f"c{i}" for i, c in enumerate(grid.columns)})
    headers = list(grid.row(h)) if grid.height > h else []
    data = grid.slice(h + 1)
    rows = pl.int_range(header_row + 1, header_row + 1 + data.height, dtype=pl.Int64, eager=True)
    return _Cells(headers, data, rows, header_row=header_row, encoding=encoding)


def _load_xlsx(path: Path, table: schema.Table) -> _Cells:
    try:
        reader = fastexcel.read_excel(path)
        sheet = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="string")
        grid = sheet.to_polars()
    except Exception as exc:  # fastexcel raises its own hierarchy and calamine's
        raise DropError(f"无法打开Excel文件 {path.name}：{exc}") from None
    names = grid.columns
    h = _find_header([list(r) for r in grid.head(HEADER_SCAN_ROWS).iter_rows()], table, path.name)
    cells = _split(grid, h, h + 1)
    mapping = _header_map(cells.headers, table, path.name)
    wanted = [i for name, i in mapping.items() if table.column(name).type in _NUMERIC_AWARE]
    if wanted:
        kinds = reader.load_sheet(0, header_row=None, skip_rows=0, dtypes="boolean",
                                  use_columns=[names[i] for i in wanted]).to_polars()
        if kinds.height != grid.height:
            raise DropError(f"无法读取Excel文件 {path.name} 的单元格类型，请另存为CSV后重试")
        for i, name in zip(wanted, kinds.columns):
            cells.numeric[i] = kinds[name].slice(h + 1).is_not_null()
    return cells


def _as_text(s: pl.Series) -> tuple[pl.Series, pl.Series | None]:
    """A Parquet column as the text a CSV export of it would hold; floats are number cells."""
    if s.dtype == pl.String:
        return s, None
    if s.dtype.is_float():
        whole = s.is_finite() & (s == s.round(0)) & (s.abs() < 1e15)
        text = pl.select(pl.when(whole).then(s.cast(pl.Int64, strict=False).cast(pl.String))
                         .otherwise(s.cast(pl.String))).to_series()
        return text.alias(s.name), s.is_not_null()
    return s.cast(pl.String), None


def _load_parquet(path: Path, table: schema.Table) -> _Cells:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars and the parquet decoder raise various errors
        raise DropError(f"无法读取Parquet文件 {path.name}：{exc}") from None
    headers = list(frame.columns)
    _find_header([headers], table, path.name)
    data, numeric = {}, {}
    for i, name in enumerate(headers):
        try:
            text, kind = _as_text(frame[name])
        except pl.exceptions.PolarsError:
            raise DropError(f"文件 {path.name} 的列“{name}”类型为 {frame[name].dtype}，"
                            f"无法按文本读取") from None
        data[f"c{i}"] = text
        if kind is not None:
            numeric[i] = kind
    rows = pl.int_range(2, 2 + frame.height, dtype=pl.Int64, eager=True)
    return _Cells(headers, pl.DataFrame(data, height=frame.height), rows, header_row=1,
                  numeric=numeric)


_LOADERS = {"csv": _load_csv, "xlsx": _load_xlsx, "parquet": _load_parquet}


# --- typing a table -----------------------------------------------------------------------------

def _drop_non_data(cells: _Cells, notes: list[str]) -> _Cells:
    """Blank rows and a closing 合计/总计 row are not data."""
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
        first = next(c.strip(parse.BLANKS) for c in data.row(last) if c and c.strip(parse.BLANKS))
        if first.startswith(_TOTAL_PREFIXES):
            keep = keep.scatter(last, False)
            notes.append(f"已跳过末尾的合计行（第{cells.rows[last]}行）")
    if keep.all():
        return cells
    cells.data = data.filter(keep)
    cells.rows = cells.rows.filter(keep)
    cells.numeric = {i: s.filter(keep) for i, s in cells.numeric.items()}
    return cells


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


def read_table_file(path: str | Path, table_name: str,
                    catalogue: pl.DataFrame | None = None, *,
                    today: date | None = None) -> tuple[pl.DataFrame, pl.DataFrame, FileReport]:
    """One file of one table: (typed frame, rejects, report). Raises DropError for a file that
    cannot be used (unreadable, a required column missing)."""
    path = Path(path)
    table = schema.TABLES[table_name]
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DropError(f"文件 {path.name} 不是 .csv、.xlsx 或 .parquet 文件")
    if catalogue is None:
        from analytics.reference import load_catalogue
        catalogue = load_catalogue()
    today = today or date.today()

    cells = _LOADERS[fmt](path, table)
    mapping = _header_map(cells.headers, table, path.name)
    notes: list[str] = []
    if cells.header_row > 1:
        notes.append(f"表头在第{cells.header_row}行，其上的标题行已跳过")
    cells = _drop_non_data(cells, notes)
    height = cells.data.height

    typed: dict[str, pl.Series] = {}
    damaged_cells = 0
    bad = pl.repeat(False, height, eager=True)
    rejects: list[pl.DataFrame] = []
    for column in table.columns:
        if column.name not in mapping:
            continue
        pos = mapping[column.name]
        raw = cells.data[f"c{pos}"]
        values, reasons = parse.parse_series(column, raw, numeric=cells.numeric.get(pos),
                                             catalogue=catalogue, today=today)
        broken = raw.str.contains(DAMAGED, literal=True).fill_null(False)
        if broken.any():
            reasons = pl.select(pl.when(broken).then(pl.lit(R_DAMAGED))
                                .otherwise(reasons)).to_series()
            damaged_cells += int(broken.sum())
        if column.type == "address":
            typed[column.name] = parse.text_column(raw)[0]
            typed[f"{column.name}_norm"] = values
        else:
            typed[column.name] = values
        failed = reasons.is_not_null()
        if failed.any():
            bad = bad | failed
            rejects.append(pl.DataFrame({
                "row": cells.rows, "column": _shown(cells.headers[pos]), "value": raw,
                "reason": reasons}).filter(failed))
        if column.name not in table.unique:  # the text is done with: let it go at city scale
            cells.data = cells.data.drop(f"c{pos}")
        del raw, values, reasons

    out_schema = schema.polars_schema(table.name)
    frame = pl.DataFrame({name: typed.get(name, pl.repeat(None, height, dtype=dtype, eager=True))
                          for name, dtype in out_schema.items()}, schema=out_schema)

    if table.unique:
        dups = _duplicates(frame, cells.rows, table)
        if dups.height:
            key = table.column(table.unique[0])
            label = "+".join(table.column(k).zh for k in table.unique)
            raw = cells.data[f"c{mapping[key.name]}"].gather(dups["i"])
            rejects.append(pl.DataFrame({
                "row": dups["row"], "column": _shown(cells.headers[mapping[key.name]]),
                "value": raw,
                "reason": [f"{label}重复（与第{r}行相同）" for r in dups["first_row"].to_list()],
            }))
            bad = bad.scatter(dups["i"], True)

    if damaged_cells:
        notes.append(f"文件为UTF-8编码，但有{damaged_cells}个单元格含损坏的字节，所在行已拒收")
    kept = frame.filter(~bad) if bad.any() else frame
    reject_frame = _rejects_frame(rejects, path.name)
    extra = [_shown(h) for i, h in enumerate(cells.headers)
             if i not in mapping.values() and _shown(h)]
    report = FileReport(
        table=table.name, path=path.name, format=fmt, encoding=cells.encoding,
        header_row=cells.header_row, rows_read=height, rows_kept=kept.height,
        mapping={name: _shown(cells.headers[i]) for name, i in mapping.items()},
        extra_columns=extra, notes=notes)
    return kept, reject_frame, report


def _rejects_frame(parts: list[pl.DataFrame], file_name: str) -> pl.DataFrame:
    if not parts:
        return pl.DataFrame(schema=schema.REJECTS_SCHEMA)
    frame = pl.concat([p.with_columns(pl.col("value").cast(pl.String)) for p in parts],
                      how="diagonal_relaxed")
    return frame.with_columns(file=pl.lit(file_name)).select(
        [pl.col(c).cast(t) for c, t in schema.REJECTS_SCHEMA.items()]).sort("row", "column")


# --- a whole drop -------------------------------------------------------------------------------

def read_drop(path: str | Path, *, catalogue: pl.DataFrame | None = None,
              progress: Progress | None = None) -> ReadResult:
    """Every file of a drop folder: typed tables, rejects, and what was read or ignored."""
    root = Path(path)
    if not root.is_dir():
        raise DropError(f"数据目录不存在或不是文件夹：{root}")
    if catalogue is None:
        from analytics.reference import load_catalogue
        catalogue = load_catalogue()

    found: dict[str, list[Path]] = {}
    ignored: list[tuple[str, str]] = []
    for p in sorted(root.iterdir(), key=lambda p: p.name):
        if not p.is_file():
            continue
        name = identify_table(p)
        if name is None:
            ignored.append((p.name, R_IGNORED))
        else:
            found.setdefault(name, []).append(p)
    for name, files in found.items():
        if len(files) > 1:
            t = schema.TABLES[name]
            listed = "、".join(f.name for f in files)
            raise DropError(f"表 {t.name}（{t.zh}）有多个文件：{listed}，请只保留一个")
    missing = [schema.TABLES[n] for n in schema.REQUIRED_TABLES if n not in found]
    if missing:
        parts = "；".join(f"{t.name}（{t.zh}），文件名可为 {_file_names(t)}" for t in missing)
        raise DropError(f"数据目录 {root.name} 缺少必需的表：{parts}")

    today = date.today()
    order = [n for n in schema.TABLES if n in found]
    tables: dict[str, pl.DataFrame] = {}
    rejects: list[pl.DataFrame] = []
    reports: list[FileReport] = []
    for i, name in enumerate(order):
        file = found[name][0]
        if progress:
            progress(f"正在读取{schema.TABLES[name].zh}（{file.name}）", i / len(order))
        frame, rej, report = read_table_file(file, name, catalogue, today=today)
        tables[name] = frame
        rejects.append(rej)
        reports.append(report)
    if progress:
        progress("数据读取完成", 1.0)
    all_rejects = pl.concat(rejects).sort("file", "row", "column") if rejects else \
        pl.DataFrame(schema=schema.REJECTS_SCHEMA)
    return ReadResult(
        tables=tables, rejects=all_rejects, files=reports, ignored=ignored,
        missing_optional=[n for n in schema.OPTIONAL_TABLES if n not in found])
