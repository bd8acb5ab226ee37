"""Limits on what one file of a drop may hold, checked before a library reads it (contract
section 1, "Bad input"; the limits are the [limits] section of data/settings.toml).

calamine (behind fastexcel) inflates a worksheet and its shared strings in memory and builds a
dense grid over the sheet's used range. A workbook of a megabyte can hold one cell of gigabytes,
a long shared string that a million cells repeat, or two cells at A1 and XFD1048576 (a grid of
17 billion cells: the process aborts). So an .xlsx file is first opened as a zip with the
standard library, and the parts calamine reads are inflated here in chunks under a hard cap,
never trusting the sizes the zip declares: a file over a limit is refused with a Chinese message
before calamine sees it. The scans are byte counts and regular expressions over each chunk,
not an XML parse: a third of what loading the sheet costs, in constant memory.
"""

from __future__ import annotations

import posixpath
import re
import struct
import zipfile
import zlib
from array import array
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np

from analytics.model import DropError
from analytics.reference import Limits

_CHUNK = 1 << 20
_MB = 1 << 20
_EXCEL_ROWS = 1_048_576
# Bytes one character of cell text can take in the XML: &quot; is six.
_XML_BYTES_PER_CHAR = 6
_LOCAL_HEADER = struct.Struct("<4s22xHH")


def _not_xlsx(name: str) -> DropError:
    return DropError(
        f"文件 {name} 不是有效的Excel工作簿（.xlsx）：文件已损坏、不完整，或是其他格式"
        f"改了扩展名（如旧版 .xls，或设置了打开密码的文件）。请在Excel中打开后另存为"
        f" .xlsx（或“CSV UTF-8（逗号分隔）”）后重新放入"
    )


def _too_big(name: str, limits: Limits) -> DropError:
    return DropError(
        f"Excel文件 {name} 解压展开后超过{limits.max_unpacked_mb}MB（上限），不予读取："
        f"文件可能已损坏或被构造过。如确为正常数据，请按月份拆分，或另存为"
        f"“CSV UTF-8（逗号分隔）”后重新放入"
    )


def _long_cell(name: str, limits: Limits, where: str = "中有单元格") -> DropError:
    return DropError(
        f"Excel文件 {name} {where}的内容超过{limits.max_cell_chars}个字符"
        f"（Excel单元格的上限），文件可能已损坏或被构造过，不予读取。"
        f"请检查后重新保存"
    )


# --- inflating a zip member -----------------------------------------------------------------


def _inflate(fh, info: zipfile.ZipInfo, name: str) -> Iterator[bytes]:
    """The bytes of one zip member in chunks of at most _CHUNK. Only the compressed size is taken
    from the zip (every reader reads that much); the output ends where the deflate stream ends,
    whatever size the zip declares for it."""
    if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _not_xlsx(name)  # encrypted, or a compression Excel never writes
    fh.seek(info.header_offset)
    head = fh.read(_LOCAL_HEADER.size)
    if len(head) != _LOCAL_HEADER.size or head[:4] != b"PK\x03\x04":
        raise _not_xlsx(name)
    _, name_len, extra_len = _LOCAL_HEADER.unpack(head)
    fh.seek(info.header_offset + _LOCAL_HEADER.size + name_len + extra_len)
    left = info.compress_size
    inflater = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    pending = b""
    while True:
        if not pending:
            if left <= 0:
                break
            pending = fh.read(min(left, 1 << 16))
            if not pending:
                raise _not_xlsx(name)  # the file ends inside the member: truncated
            left -= len(pending)
        if inflater is None:
            yield pending
            pending = b""
            continue
        try:
            out = inflater.decompress(pending, _CHUNK)
        except zlib.error:
            raise _not_xlsx(name) from None
        pending = inflater.unconsumed_tail
        if out:
            yield out
        if inflater.eof:
            return
    if inflater is not None:
        raise _not_xlsx(name)  # the deflate stream never ended


class _Budget:
    """Bytes inflated so far against the cap, for all parts of one workbook together."""

    def __init__(self, name: str, limits: Limits) -> None:
        self.name, self.limits = name, limits
        self.cap = limits.max_unpacked_mb * _MB
        self.used = 0

    def spend(self, n: int) -> None:
        self.used += n
        if self.used > self.cap:
            raise _too_big(self.name, self.limits)


def _long_run(data: bytes, longest: int) -> int:
    """Where a stretch without '<' longer than ``longest`` starts in ``data``, or -1. Cell text
    sits between tags, so such a stretch is a cell over the limit. A stretch that long covers a
    whole window of half its length: only a window without '<' is measured."""
    step = max(longest // 2, 1)
    for at in range(0, len(data) - step + 1, step):
        if data.find(b"<", at, at + step) < 0:
            start = data.rfind(b"<", 0, at) + 1
            end = data.find(b"<", at + step)
            if (len(data) if end < 0 else end) - start > longest:
                return start
    return -1


class _LongCell(Exception):
    """A stretch of text over the cell limit; ``before`` is the XML of the piece up to it."""

    def __init__(self, before: bytes = b"") -> None:
        super().__init__()
        self.before = before


def _stretches(chunks: Iterator[bytes], budget: _Budget, cut: bytes = b"<") -> Iterator[bytes]:
    """The inflated text in pieces that each start with '<' and end before the last ``cut`` of a
    chunk (so that an element a scan looks at is never split). Raises _LongCell for a stretch
    of text longer than the longest legal cell."""
    longest = budget.limits.max_cell_chars * _XML_BYTES_PER_CHAR
    tail = b"<"  # so that text before the first tag is a stretch too
    for chunk in chunks:
        budget.spend(len(chunk))
        data = tail + chunk
        end = data.rfind(cut, 1)
        if end <= 0:
            end = data.rfind(b"<", 1)
        if end <= 0:  # no tag starts in it: one stretch of text, kept whole until it ends
            if len(data) > longest:
                raise _LongCell()
            tail = data
            continue
        data, tail = data[:end], data[end:]
        at = _long_run(data, longest)
        if at >= 0:
            raise _LongCell(data[:at])
        yield data
    if _long_run(tail, longest) >= 0:
        raise _LongCell()
    yield tail


# --- the parts of a workbook ----------------------------------------------------------------

_XML_CAP = 16 * _MB  # workbook.xml and its relationships: kilobytes in any real workbook
_TAG = re.compile(rb"<(?:[\w.-]+:)?(\w+)\s([^>]*)>")
_ATTR = re.compile(rb"""([\w.-]+:)?([\w.-]+)\s*=\s*["']([^"']*)["']""")


def _small_part(zf: zipfile.ZipFile, fh, path: str, name: str, budget: _Budget) -> bytes | None:
    try:
        info = zf.getinfo(path)
    except KeyError:
        return None
    out = bytearray()
    for chunk in _inflate(fh, info, name):
        budget.spend(len(chunk))
        out += chunk
        if len(out) > _XML_CAP:
            raise _not_xlsx(name)
    return bytes(out)


def _relations(data: bytes | None) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target) of a .rels part."""
    found = {}
    for tag, attrs in _TAG.findall(data or b""):
        if tag == b"Relationship":
            a = {
                k.decode(errors="replace"): v.decode(errors="replace")
                for _, k, v in _ATTR.findall(attrs)
            }
            found[a.get("Id", "")] = (a.get("Type", ""), a.get("Target", ""))
    return found


def _target(target: str) -> str:
    return (
        target.lstrip("/")
        if target.startswith("/")
        else posixpath.normpath(posixpath.join("xl", target))
    )


def _parts(zf: zipfile.ZipFile, fh, name: str, budget: _Budget) -> tuple[list[str], str | None]:
    """(worksheet parts calamine may read as the first sheet, the shared strings part)."""
    workbook = _small_part(zf, fh, "xl/workbook.xml", name, budget)
    if workbook is None:
        raise _not_xlsx(name)
    rels = _relations(_small_part(zf, fh, "xl/_rels/workbook.xml.rels", name, budget))
    names = set(zf.namelist())
    strings = next(
        (_target(t) for kind, t in rels.values() if kind.endswith("/sharedStrings")),
        "xl/sharedStrings.xml",
    )
    first = None
    for tag, attrs in _TAG.findall(workbook):
        if tag == b"sheet":
            rid = next((v for prefix, k, v in _ATTR.findall(attrs) if prefix and k == b"id"), b"")
            target = rels.get(rid.decode(errors="replace"), ("", ""))[1]
            first = _target(target) if target else None
            break
    if first in names:
        sheets = [first]
    else:  # not resolved as calamine would: look at every worksheet rather than guess
        sheets = sorted(n for n in names if n.startswith("xl/worksheets/") and n.endswith(".xml"))
    return sheets, strings if strings in names else None


_SI = re.compile(rb"<(?:[\w.-]+:)?si[\s/>]")


class _Strings:
    """The shared strings part: how long each string is, in bytes of XML."""

    def __init__(self) -> None:
        self.lengths = array("q")
        self.longest = 0

    def scan(self, pieces: Iterator[bytes], limits: Limits, name: str) -> None:
        for data in pieces:
            parts = _SI.split(data)
            if self.lengths:  # the string left open by the piece before
                self.lengths[-1] += len(parts[0])
            self.lengths.extend(map(len, parts[1:]))
            if len(self.lengths) > limits.max_cells:  # more strings than cells to hold them
                raise _too_many_cells(name, limits)
        self.longest = max(self.lengths, default=0)


# A cell tag as Excel (and every common writer) writes it; the empty group makes findall return
# one shared empty string per match instead of a copy of each tag.
_TAIL = rb'"(?: s="[0-9]{1,6}")?(?: t="[a-zA-Z]{1,9}")?/?>()'
_NARROW = re.compile(rb'<c r="[A-Z][1-9][0-9]{0,5}' + _TAIL)  # A1 to Z999999
_CANONICAL = re.compile(rb'<c r="[A-Z]{1,3}[1-9][0-9]{0,6}' + _TAIL)
_TAG_ROW_OR_CELL = re.compile(rb"<(?:[\w.-]+:)?(row|c)(?=[\s/>])([^>]*)>")
_R_VALUE = re.compile(rb"""(?:^|\s)(?:[\w.-]+:)?r\s*=\s*["']([^"']*)["']""")
_T_SHARED = re.compile(rb"""(?:^|\s)(?:[\w.-]+:)?t\s*=\s*["']s["']""")
_REF = re.compile(rb"\s*([A-Za-z]{1,3})([0-9]{1,7})\s*")
_SHARED_V = re.compile(rb't="s"><v>([0-9]{1,9})</v>')
_NARROW_ROWS = 999_999


@cache
def _ref_rows(digits: int, more: bool) -> re.Pattern[bytes]:
    # Rows of cell references with exactly (or at least) this many digits: the largest row is
    # found by comparing equal-length digit strings, without converting each to a number.
    width = b"{%d,7}" % digits if more else b"{%d}" % digits
    return re.compile(rb'<c r="[A-Z]{1,3}([0-9]' + width + rb')"')


@cache
def _ref_cols(letters: int, more: bool) -> re.Pattern[bytes]:
    width = b"{%d,3}" % letters if more else b"{%d}" % letters
    return re.compile(rb'<c r="([A-Z]' + width + rb")[0-9]")


def _too_many_cells(name: str, limits: Limits) -> DropError:
    return DropError(
        f"Excel文件 {name} 的工作表有超过{limits.max_cells:,}个单元格（上限），不予读取。"
        f"请删除不需要的行和列，或按月份拆分后重新放入"
    )


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _Sheet:
    """A worksheet part: its cells, the grid calamine builds over them (from the first to the
    last cell with something in it, wherever the cells are), and the shared strings its cells
    repeat.

    calamine reads a cell wherever its tag says, with any namespace prefix, a lowercase or a
    repeated reference; a cell without a reference follows the one before it. A piece whose
    cell tags are all written as Excel writes them (``<c r="B7" s="1" t="s">``) is checked with
    a few scans; any other piece is walked tag by tag. The first pass bounds the rows of a
    sheet no wider than Z and the shared text its cells repeat; ``exact_rows`` and
    ``exact_shared`` ask a second pass for them exactly, where a bound did not pass."""

    def __init__(
        self,
        name: str,
        limits: Limits,
        strings: _Strings,
        exact_rows: bool = False,
        exact_shared: bool = False,
    ) -> None:
        self.name, self.limits, self.strings = name, limits, strings
        self.exact_rows, self.exact_shared = exact_rows, exact_shared
        self.lengths = (
            np.frombuffer(strings.lengths, dtype=np.int64)
            if strings.lengths
            else np.zeros(1, dtype=np.int64)
        )
        self.cells = 0
        self.shared = 0  # bytes of shared strings the cells repeat (or a bound)
        self.bounded = False  # a piece's rows were bounded (below 10^6), not counted
        self.row_digits = 1  # digits of the largest row of a cell reference so far
        self.col_letters = 1  # letters of the largest column of a cell reference so far
        self.max_row = self.max_col = 0
        self.row = self.col = 0  # where the last row and cell were placed

    def scan(self, data: bytes) -> None:
        tags = data.count(b"<c")
        self.cells += tags
        if self.cells > self.limits.max_cells:
            raise _too_many_cells(self.name, self.limits)
        plain = b":c" not in data
        if plain and not self.exact_rows and len(_NARROW.findall(data)) == tags:
            self.bounded = self.bounded or tags > 0
            self.max_col = max(self.max_col, 26 if tags else 0)
            self._follow(data)
            self._shared(data)
        elif plain and len(_CANONICAL.findall(data)) == tags:
            self._placed(data)
            self._follow(data)
            self._shared(data)
        else:
            self._walk(data)

    def _follow(self, data: bytes) -> None:
        # Where the piece leaves off, for a cell without a reference in the next one.
        row = data.rfind(b"<row")
        if row >= 0:
            number = re.match(rb'<row r="([0-9]{1,7})"', data[row : row + 20])
            self.row = int(number[1]) if number else self.row + 1
        last = data.rfind(b'<c r="')
        if last >= 0:
            ref = re.match(rb'<c r="([A-Z]+)', data[last : last + 10])
            assert ref is not None  # every cell tag of the piece is written as Excel writes it
            self.col = _column_number(ref[1])

    def _placed(self, data: bytes) -> None:
        # The largest row and column of the piece, widening the digits and letters looked for
        # while longer ones occur; a cell far out is looked at again by the walk, which knows
        # an empty cell (calamine leaves it out of the grid).
        row_digits, col_letters = self.row_digits, self.col_letters
        while row_digits < 7 and _ref_rows(row_digits + 1, True).search(data):
            row_digits += 1
        rows = _ref_rows(row_digits, False).findall(data)
        max_row = max(self.max_row, int(max(rows)) if rows else 0)
        while col_letters < 3 and _ref_cols(col_letters + 1, True).search(data):
            col_letters += 1
        cols = _ref_cols(col_letters, False).findall(data)
        max_col = max(self.max_col, _column_number(max(cols)) if cols else 0)
        if self._too_far(max(max_row, _NARROW_ROWS if self.bounded else 0), max_col):
            self._walk(data, counted=True)
            return
        self.row_digits, self.col_letters = row_digits, col_letters
        self.max_row, self.max_col = max_row, max_col

    def _walk(self, data: bytes, counted: bool = False) -> None:
        cells = 0
        for tag, attrs in _TAG_ROW_OR_CELL.findall(data):
            refs = _R_VALUE.findall(attrs)
            if tag == b"row":
                self.row = int(refs[-1]) if refs and refs[-1].strip().isdigit() else self.row + 1
                self.col = 0
                continue
            cells += 1
            if refs:  # the last of repeated attributes wins, as in calamine
                ref = _REF.fullmatch(refs[-1])
                if ref is None:
                    raise DropError(
                        f"Excel文件 {self.name} 中有单元格的位置写法不规范，不予读取。"
                        f"请在Excel中打开后另存为 .xlsx 后重新放入"
                    )
                self.row, self.col = int(ref[2]), _column_number(ref[1])
            else:
                self.col += 1
            if not attrs.endswith(b"/"):  # an empty cell is not in the grid
                self.max_row = max(self.max_row, self.row)
                self.max_col = max(self.max_col, self.col)
            if not counted and _T_SHARED.search(attrs):
                self.shared += self.strings.longest
        if not counted:
            self.cells += cells - data.count(b"<c")
            if self.cells > self.limits.max_cells:
                raise _too_many_cells(self.name, self.limits)

    def _shared(self, data: bytes) -> None:
        marked = data.count(b'"s"')  # t="s": an index into the shared strings
        if not marked:
            return
        if not self.exact_shared:
            self.shared += marked * self.strings.longest
            return
        found = _SHARED_V.findall(data)
        if found:
            index = np.clip(np.array(found).astype(np.int64), 0, len(self.lengths) - 1)
            self.shared += int(self.lengths[index].sum())
        self.shared += max(marked - len(found), 0) * self.strings.longest

    def _too_far(self, rows: int, cols: int) -> bool:
        return (
            cols > self.limits.max_columns
            or rows > _EXCEL_ROWS
            or rows * cols > self.limits.max_cells
        )

    def unsettled(self, spent: int) -> tuple[bool, bool]:
        """(rows, shared text): what a bound of this pass did not pass, to count exactly."""
        rows = max(self.max_row, _NARROW_ROWS if self.bounded else 0)
        over = spent + self.shared > self.limits.max_unpacked_mb * _MB
        return (self.bounded and self._too_far(rows, self.max_col), not self.exact_shared and over)

    def finish(self, spent: int) -> None:
        name, limits = self.name, self.limits
        if spent + self.shared > limits.max_unpacked_mb * _MB:
            raise _too_big(name, limits)
        rows = max(self.max_row, _NARROW_ROWS if self.bounded else 0)
        cols = self.max_col
        if cols > limits.max_columns:
            raise DropError(
                f"Excel文件 {name} 的工作表用到了第{cols:,}列，超过{limits.max_columns:,}"
                f"列的上限，不予读取。请删除数据右侧不需要的列后重新保存"
            )
        if self._too_far(rows, cols):
            raise DropError(
                f"Excel文件 {name} 的工作表使用范围（{rows:,}行×{cols:,}列）超过"
                f"{limits.max_cells:,}个单元格的上限（或超出Excel的行数），不予读取。"
                f"请删除数据区域以外的行和列（或新建工作表只复制数据）后重新保存"
            )


def _last_ref(data: bytes) -> bytes:
    at = data.rfind(b'<c r="')
    end = data.find(b'"', at + 6, at + 20) if at >= 0 else -1
    ref = data[at + 6 : end] if end > 0 else b""
    return ref if re.fullmatch(rb"[A-Z]{1,3}[0-9]{1,7}", ref) else b""


def _scan_sheet(
    fh,
    info: zipfile.ZipInfo,
    budget: _Budget,
    strings: _Strings,
    exact: tuple[bool, bool] = (False, False),
) -> tuple[_Sheet, int]:
    """The worksheet part scanned, and the bytes it inflated to."""
    sheet = _Sheet(budget.name, budget.limits, strings, *exact)
    start, last = budget.used, b""
    try:
        for data in _stretches(_inflate(fh, info, budget.name), budget, cut=b"<c"):
            sheet.scan(data)
            last = _last_ref(data) or last
    except _LongCell as exc:
        ref = (_last_ref(exc.before) or last).decode()
        where = f"中单元格 {ref} " if ref else "中有单元格"
        raise _long_cell(budget.name, budget.limits, where) from None
    return sheet, budget.used - start


def check_xlsx(path: Path, limits: Limits) -> None:
    """Raise DropError for an .xlsx file that is no valid workbook or that passes a limit."""
    name = path.name
    budget = _Budget(name, limits)
    with path.open("rb") as fh:
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
            raise _not_xlsx(name) from None
        with zf:
            sheets, strings_part = _parts(zf, fh, name, budget)
            strings = _Strings()
            if strings_part is not None:
                try:
                    strings.scan(
                        _stretches(_inflate(fh, zf.getinfo(strings_part), name), budget),
                        limits,
                        name,
                    )
                except _LongCell:
                    raise _long_cell(name, limits, "的共享文本中有一段") from None
            for part in sheets:
                sheet, spent = _scan_sheet(fh, zf.getinfo(part), budget, strings)
                exact = sheet.unsettled(spent)
                if any(exact):  # rare (a sheet wider than Z, long shared strings)
                    sheet, _ = _scan_sheet(
                        fh, zf.getinfo(part), _Budget(name, limits), strings, exact
                    )
                sheet.finish(spent)
            if "xl/styles.xml" in zf.namelist():  # read when the workbook opens: it counts too
                for chunk in _inflate(fh, zf.getinfo("xl/styles.xml"), name):
                    budget.spend(len(chunk))


# --- Parquet ----------------------------------------------------------------------------------


def check_parquet(path: Path, limits: Limits) -> None:
    """Raise DropError for a Parquet file that is no valid Parquet file or that passes a limit,
    from its footer alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowException, ValueError):
        raise DropError(
            f"文件 {path.name} 不是有效的Parquet文件（文件已损坏或不完整），请重新导出后放入"
        ) from None
    if meta.num_columns > limits.max_columns:
        raise DropError(
            f"文件 {path.name} 有{meta.num_columns:,}列，超过{limits.max_columns:,}"
            f"列的上限，不予读取"
        )
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > limits.max_unpacked_mb * _MB:
        raise DropError(
            f"Parquet文件 {path.name} 解压后超过{limits.max_unpacked_mb}MB（上限），"
            f"不予读取。如确为正常数据，请按月份拆分后重新放入"
        )
