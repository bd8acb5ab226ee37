"""Writing a generated district as a data drop, in the four shapes real exports take.

- ``csv``: English file names and headers, UTF-8;
- ``zh-csv``: Chinese file names and headers, GB18030, CRLF, columns in a seed-determined order;
- ``xlsx``: Chinese file names, a title row above the header, a closing 合计 row under money
  tables, date cells for dates, text cells for IDs and accounts, numbers for money;
- ``parquet``: English names, dates as Date, everything else text (money with 2 decimals).

The same tables and seed always give the same bytes.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate.base.tables import SORT_KEYS, conform
from analytics.generate.core import TRUTH_COLUMNS

FORMATS = ("csv", "zh-csv", "xlsx", "parquet")
EXCEL_MAX_ROWS = 1_048_576
_CHUNK = 200_000
TRUTH_FILE = "truth.csv"
LOOKALIKES_FILE = "lookalikes.csv"


def file_name(table: str, fmt: str) -> str:
    t = schema.TABLES[table]
    if fmt == "csv":
        return f"{t.name}.csv"
    if fmt == "zh-csv":
        return f"{t.zh}.csv"
    if fmt == "xlsx":
        return f"{t.zh}.xlsx"
    if fmt == "parquet":
        return f"{t.name}.parquet"
    raise ValueError(f"不支持的导出格式“{fmt}”，可选：{'、'.join(FORMATS)}")


def money_text(expr: pl.Expr) -> pl.Expr:
    """Integer fen as yuan with two decimals: 155000 -> '1550.00'."""
    sign = pl.when(expr < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    fen = expr.abs()
    return pl.concat_str(
        [sign, (fen // 100).cast(pl.String), pl.lit("."), (fen % 100).cast(pl.String).str.zfill(2)]
    )


def ordered(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Contract columns in contract order, rows in the table's natural order (stable)."""
    frame = conform(table, frame).select(schema.TABLES[table].column_names)
    keys = list(SORT_KEYS.get(table, ()))
    return frame.sort(keys, nulls_last=True, maintain_order=True) if keys else frame


def as_text(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as the text an export shows (money yuan, ISO dates)."""
    exprs = []
    for col in schema.TABLES[table].columns:
        c = pl.col(col.name)
        if col.type == "money":
            exprs.append(money_text(c).alias(col.name))
        elif col.type == "date":
            exprs.append(c.dt.strftime("%Y-%m-%d").alias(col.name))
        else:
            exprs.append(c.cast(pl.String).alias(col.name))
    return frame.select(exprs)


def _zh_order(table: str, seed: int) -> list[str]:
    names = list(schema.TABLES[table].column_names)
    index = list(schema.TABLES).index(table)
    perm = np.random.default_rng([seed, index]).permutation(len(names))
    return [names[i] for i in perm]


def _write_csv(frame: pl.DataFrame, path: Path, encoding: str, line_terminator: str) -> None:
    with open(path, "wb") as fh:
        for i, chunk in enumerate(frame.iter_slices(_CHUNK)):
            text = chunk.write_csv(include_header=(i == 0), line_terminator=line_terminator)
            fh.write(text.encode(encoding))
        if frame.height == 0:
            fh.write(frame.write_csv(line_terminator=line_terminator).encode(encoding))


def _title(table: str, export_month: str) -> str:
    y, m = export_month.split("-")
    return f"长宁区{schema.TABLES[table].zh}表（{y}年{int(m)}月导出）"


_WIDTHS = {
    "id18": 21,
    "payee": 21,
    "account": 22,
    "date": 12,
    "month": 10,
    "money": 13,
    "address": 34,
    "phone": 14,
}


def _write_xlsx(table: str, frame: pl.DataFrame, path: Path, export_month: str) -> None:
    import xlsxwriter

    t = schema.TABLES[table]
    y, m = (int(x) for x in export_month.split("-"))
    wb = xlsxwriter.Workbook(
        str(path),
        {
            "constant_memory": True,
            "strings_to_numbers": False,
            "strings_to_formulas": False,
            "strings_to_urls": False,
        },
    )
    # Fixed document properties: the same drop gives the same bytes.
    wb.set_properties(
        {
            "created": datetime(y, m, 1),
            "author": schema.DISTRICT_INFO.issuer,
            "title": _title(table, export_month),
        }
    )
    ws = wb.add_worksheet(t.zh[:31])
    bold = wb.add_format({"bold": True})
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    money_fmt = wb.add_format({"num_format": "#,##0.00"})
    text_fmt = wb.add_format({"num_format": "@"})
    for j, col in enumerate(t.columns):
        ws.set_column(j, j, _WIDTHS.get(col.type, 14))
    ws.freeze_panes(2, 0)
    ws.write_string(0, 0, _title(table, export_month), bold)
    for j, col in enumerate(t.columns):
        ws.write_string(1, j, col.zh, bold)
    writers = []
    for col in t.columns:
        if col.type == "date":
            writers.append(
                lambda r, j, v: ws.write_datetime(r, j, datetime(v.year, v.month, v.day), date_fmt)
            )
        elif col.type == "money":
            writers.append(lambda r, j, v: ws.write_number(r, j, v / 100, money_fmt))
        elif col.type == "int":
            writers.append(lambda r, j, v: ws.write_number(r, j, v))
        else:
            writers.append(lambda r, j, v: ws.write_string(r, j, str(v), text_fmt))
    row = 2
    for values in frame.iter_rows():
        for j, v in enumerate(values):
            if v is not None:
                writers[j](row, j, v)
        row += 1
    money = [j for j, col in enumerate(t.columns) if col.type == "money"]
    if money:
        ws.write_string(row, 0, "合计", bold)
        for j in money:
            total = frame[t.columns[j].name].sum() or 0
            ws.write_number(row, j, total / 100, money_fmt)
    wb.close()


def _as_parquet(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    text = as_text(table, frame)
    dates = [c.name for c in schema.TABLES[table].columns if c.type == "date"]
    return text.with_columns([frame[c] for c in dates]) if dates else text


def check_excel_limits(tables: dict[str, pl.DataFrame]) -> None:
    """Refuse before anything is written when a table will not fit in one worksheet."""
    for name, frame in tables.items():
        money = any(c.type == "money" for c in schema.TABLES[name].columns)
        needed = frame.height + 2 + (1 if money else 0)
        if needed > EXCEL_MAX_ROWS:
            raise ValueError(
                f"{schema.TABLES[name].zh}共 {frame.height:,} 行，加上标题、表头和合计行超过 Excel "
                f"单个工作表 {EXCEL_MAX_ROWS:,} 行的上限，无法导出为 xlsx；请减少户数或改用 csv、"
                "parquet 格式。"
            )


def previous_outputs(out: Path) -> list[Path]:
    """Files a generator run may have left in the folder, in any format."""
    names = {TRUTH_FILE, LOOKALIKES_FILE}
    for table in schema.TABLES:
        for fmt in FORMATS:
            names.add(file_name(table, fmt))
    return sorted(p for p in out.iterdir() if p.name in names) if out.is_dir() else []


def check_destination(out: Path) -> list[Path]:
    """Files of an earlier run in ``out``; refuses a folder holding contract tables that no
    generator run wrote (no truth.csv beside them): a real drop is never overwritten."""
    old = previous_outputs(out)
    if old and not (out / TRUTH_FILE).exists():
        raise ValueError(
            f"目录 {out} 中已有数据表文件（如 {old[0].name}），且不是演示数据生成的，"
            "为避免覆盖，请指定一个空目录或演示数据目录。"
        )
    return old


def clear_previous(out: Path) -> None:
    """Remove what an earlier run left, so that the reader never finds a table twice."""
    for path in check_destination(out):
        path.unlink()


def write_drop(
    tables: dict[str, pl.DataFrame],
    out: Path,
    *,
    fmt: str,
    seed: int,
    export_month: str,
    truth: pl.DataFrame,
    lookalikes: pl.DataFrame,
    progress=None,
) -> list[str]:
    """Write the contract tables and the truth files into ``out``; returns the file names."""
    if fmt not in FORMATS:
        raise ValueError(f"不支持的导出格式“{fmt}”，可选：{'、'.join(FORMATS)}")
    frames = {name: ordered(name, tables[name]) for name in schema.TABLES if name in tables}
    if fmt == "xlsx":
        check_excel_limits(frames)
    out.mkdir(parents=True, exist_ok=True)
    clear_previous(out)
    written = []
    for i, (name, frame) in enumerate(frames.items()):
        path = out / file_name(name, fmt)
        if progress:
            progress(f"写出{schema.TABLES[name].zh}（{frame.height:,} 行）", i / len(frames))
        if fmt == "csv":
            _write_csv(as_text(name, frame), path, "utf-8", "\n")
        elif fmt == "zh-csv":
            text = as_text(name, frame).select(_zh_order(name, seed))
            text = text.rename({c.name: c.zh for c in schema.TABLES[name].columns})
            _write_csv(text, path, "gb18030", "\r\n")
        elif fmt == "xlsx":
            _write_xlsx(name, frame, path, export_month)
        else:
            _as_parquet(name, frame).write_parquet(path, compression="zstd", statistics=True)
        written.append(path.name)
    for frame, file in ((truth, TRUTH_FILE), (lookalikes, LOOKALIKES_FILE)):
        frame.select(TRUTH_COLUMNS).write_csv(out / file)
        written.append(file)
    return written
