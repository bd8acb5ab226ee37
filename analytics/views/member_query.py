"""失信查询 (他处受限): a member unit of the joint meeting asks whether people are on the 失信名单.

The unit types one full ID number or uploads a list (CSV, XLSX or TXT, one number a line) and
states a purpose from the settings' list; the answer for each number is only 已列入 / 未列入 and,
when listed, the record's reference, its term and 异议中 when it is disputed
(analytics.store.dishonesty.member_query, which logs the query without the numbers). Numbers
are shown masked, in the order asked, beside their line in the upload; an invalid number is
named by its line only, never repeated. The office sees the query log.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl

from analytics.masking import mask_id
from analytics.model import DropError
from analytics.parse import parse_id18

LISTED, NOT_LISTED, DISPUTED = "已列入", "未列入", "异议中"
UPLOAD_TYPES = ("csv", "xlsx", "txt")
ANSWER_COLUMNS = (
    "行号",
    "身份证号",
    "查询结果",
    "失信记录编号",
    "公布起始日期",
    "公布截止日期",
    "异议",
)
LOG_COLUMNS = ("查询时间", "查询人", "查询单位", "查询用途", "查询号码数", "其中已列入")
_SEPARATORS = re.compile(r"[,\t;，；]")


def today() -> date:
    """The day a query is answered for (a term covers it or not)."""
    return date.today()


class QueryInputError(ValueError):
    """The typed number or the uploaded list cannot be used; the message says why, in Chinese,
    and never quotes a number."""


@dataclass
class Asked:
    """The numbers to ask, normalised, with the line each came from, and the lines whose
    number is invalid (never the numbers themselves)."""

    numbers: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    invalid_lines: list[int] = field(default_factory=list)


def parse_typed(text: str | None) -> Asked:
    """One full ID number typed in (a 15-digit number is upgraded)."""
    value, reason = parse_id18((text or "").strip(), required=True)
    if value is None:
        raise QueryInputError(
            "身份证号无效：" + (reason or "请输入完整的18位身份证号") + "。请核对后重新输入完整号码"
        )
    return Asked([value], [1], [])


def _cells(name: str, data: bytes, limits) -> list[tuple[int, str]]:
    """(line, first cell) of every line of the upload, blank lines left out."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        raise QueryInputError("名单文件应为 CSV、XLSX 或 TXT 文件，每行一个身份证号")
    if suffix == "xlsx":
        return _xlsx_cells(data, limits)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise QueryInputError(
                "无法识别名单文件的编码，请另存为 UTF-8 编码的 CSV 或 TXT 文件"
            ) from None
    out = []
    lines = text.splitlines()
    if suffix == "csv":
        rows = csv.reader(io.StringIO("\n".join(lines)))
        cells = [(row[0] if row else "") for row in rows]
    else:
        cells = [_SEPARATORS.split(line, maxsplit=1)[0] for line in lines]
    for i, cell in enumerate(cells, start=1):
        cell = cell.strip().strip("'\"").strip()
        if cell:
            out.append((i, cell))
    return out


def _xlsx_cells(data: bytes, limits) -> list[tuple[int, str]]:
    import fastexcel

    from analytics import guard

    with tempfile.TemporaryDirectory(prefix="aidwatch-query-") as tmp:
        path = Path(tmp) / "名单.xlsx"
        path.write_bytes(data)
        try:
            guard.check_xlsx(path, limits)  # before calamine inflates anything
        except DropError as exc:
            raise QueryInputError(str(exc)) from None
        try:
            sheet = fastexcel.read_excel(path).load_sheet(
                0, header_row=None, skip_rows=0, dtypes="string"
            )
            grid = sheet.to_polars()
        except Exception:  # its errors may quote cells: never shown
            raise QueryInputError(
                "无法读取名单工作簿，请另存为 .xlsx 或 CSV 文件后重新上传"
            ) from None
    if grid.width == 0:
        return []
    return [
        (i, cell.strip())
        for i, cell in enumerate(grid.to_series(0).to_list(), start=1)
        if cell is not None and cell.strip()
    ]


def parse_upload(name: str, data: bytes, max_numbers: int, limits=None) -> Asked:
    """The numbers of an uploaded list in their order. A first line without a digit is taken
    for a header. More than ``max_numbers`` numbers: the list is refused whole."""
    if limits is None:
        from analytics.reference import load_settings

        limits = load_settings().limits
    cells = _cells(name, data, limits)
    if cells and not any(ch.isdigit() for ch in cells[0][1]):
        cells = cells[1:]  # a header such as 身份证号
    if not cells:
        raise QueryInputError("名单文件中没有身份证号：请每行填写一个完整的身份证号")
    if len(cells) > max_numbers:
        raise QueryInputError(
            f"名单共 {len(cells):,} 行，超过一次查询的上限 {max_numbers:,} 个身份证号，请分批查询"
        )
    asked = Asked()
    for line, cell in cells:
        value, _ = parse_id18(cell)
        if value is None:
            asked.invalid_lines.append(line)
        else:
            asked.numbers.append(value)
            asked.lines.append(line)
    return asked


def invalid_message(lines: list[int], shown: int = 50) -> str | None:
    """Which lines held no valid ID number, by line number only."""
    if not lines:
        return None
    listed = "、".join(str(n) for n in lines[:shown]) + (
        f" 等 {len(lines):,} 行" if len(lines) > shown else " 行"
    )
    return f"第 {listed}的身份证号无效（位数、校验位或出生日期不符），未查询，请核对后重新查询。"


def answers_table(asked: Asked, answers: pl.DataFrame) -> pl.DataFrame:
    """What the page shows of the answers: each number masked, in the order asked, beside its
    line; 已列入 / 未列入, and for a listed one its reference, term and 异议中 if disputed."""
    rows = []
    for a in answers.sort("query_index").iter_rows(named=True):
        i = a["query_index"]
        listed = bool(a["listed"])
        rows.append(
            (
                asked.lines[i],
                mask_id(asked.numbers[i]),
                LISTED if listed else NOT_LISTED,
                a["reference"] if listed else None,
                a["term_start"] if listed else None,
                a["term_end"] if listed else None,
                DISPUTED if listed and a["disputed"] else None,
            )
        )
    return pl.DataFrame(
        rows,
        schema={
            "行号": pl.Int64,
            "身份证号": pl.String,
            "查询结果": pl.String,
            "失信记录编号": pl.String,
            "公布起始日期": pl.Date,
            "公布截止日期": pl.Date,
            "异议": pl.String,
        },
        orient="row",
    )


def summary_line(table: pl.DataFrame) -> str:
    listed = table.filter(pl.col("查询结果") == LISTED).height
    disputed = table.filter(pl.col("异议") == DISPUTED).height
    text = f"共查询 {table.height:,} 个身份证号，其中已列入失信名单 {listed:,} 个"
    return text + (f"（{disputed:,} 个异议中，结论待定）" if disputed else "") + "。"


def _local(at: datetime | None) -> str | None:
    """A time kept as naive UTC, in the server's local time."""
    if at is None:
        return None
    return at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def log_table(log: pl.DataFrame) -> pl.DataFrame:
    """The query log as the office sees it: who, which unit, when, why, how many numbers and
    how many of them listed; never a number."""
    return pl.DataFrame(
        {
            "查询时间": [_local(at) for at in log["at"].to_list()],
            "查询人": log["by"],
            "查询单位": log["unit"],
            "查询用途": log["purpose"],
            "查询号码数": log["numbers"],
            "其中已列入": log["listed"],
        },
        schema={
            "查询时间": pl.String,
            "查询人": pl.String,
            "查询单位": pl.String,
            "查询用途": pl.String,
            "查询号码数": pl.Int64,
            "其中已列入": pl.Int64,
        },
    )
