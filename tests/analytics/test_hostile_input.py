"""Files a district did not mean to send, or that someone built to hurt: the reader refuses each
with one clear Chinese message (DropError) or rejects the bad rows, never quotes a row's data in
a message (contract section 1, "Bad input"), keeps rows in = rows kept + rows rejected, and reads
no file that would take the server's memory (the [limits] of data/settings.toml)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from analytics import guard
from analytics.model import DropError, FileReport
from analytics.reader import R_BEYOND, R_SPECIAL, R_SYMLINK, read_drop, read_table_file
from analytics.reference import PROJECT_ROOT, Limits
from tests.conftest import make_id, write_small_drop

# What a file plants, that no message may ever show.
PERSON = make_id("31010519800101", "123")
ACCOUNT = "6222021234561929"
PHONE = "13812345678"
PLANTED = (PERSON, ACCOUNT, PHONE, PERSON[:15], ACCOUNT[:12])

LEDGER_HEADER = [
    "流水号",
    "发放月份",
    "拨付日期",
    "街镇",
    "资金科目",
    "救助项目",
    "收款人证件号",
    "银行账号",
    "金额",
    "状态",
    "摘要",
]


def ledger_row(txn: str, payee: str = PERSON, purpose: str = f"电话{PHONE}") -> list[str]:
    return [
        txn,
        "2026-03",
        "2026-03-10",
        "华阳路街道",
        "JZ01",
        "低保金",
        payee,
        ACCOUNT,
        "1,550.00",
        "成功",
        purpose,
    ]


def ledger_rows(n: int) -> list[list[str]]:
    return [
        ledger_row(f"T{i:06d}", make_id("31010519800101", f"{i % 1000:03d}"))
        for i in range(1, n + 1)
    ]


def csv_text(rows: list[list[str]], header: list[str] = LEDGER_HEADER, end: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerows([header, *rows])
    return out.getvalue()


def write(path: Path, content: str | bytes, encoding: str = "utf-8") -> Path:
    path.write_bytes(content.encode(encoding) if isinstance(content, str) else content)
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = LEDGER_HEADER) -> Path:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    for r, row in enumerate([header, *rows]):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write_number(r, c, value)
    book.close()
    return path


def workbook(path: Path, sheet_xml, shared: str | None = None) -> Path:
    """An .xlsx file written by hand with zipfile: ``sheet_xml`` is an iterable of text chunks,
    streamed into the zip so that a sheet of gigabytes never sits in memory."""
    strings_rel = (
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/'
        '2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(
            "[Content_Types].xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                'package/2006/content-types"><Default Extension="rels" ContentType="application/'
                'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
                'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
                'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
                'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" '
                'ContentType="application/vnd.openxmlformats-'
                'officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ),
        )
        z.writestr(
            "_rels/.rels",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
                'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
                'Target="xl/workbook.xml"/></Relationships>'
            ),
        )
        z.writestr(
            "xl/workbook.xml",
            (
                '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
                'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
                'officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" '
                'r:id="rId1"/></sheets></workbook>'
            ),
        )
        z.writestr(
            "xl/_rels/workbook.xml.rels",
            (
                '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
                'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
                'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                f'Target="worksheets/sheet1.xml"/>{strings_rel if shared else ""}</Relationships>'
            ),
        )
        if shared is not None:
            z.writestr("xl/sharedStrings.xml", shared)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            for chunk in sheet_xml:
                fh.write(chunk.encode() if isinstance(chunk, str) else chunk)
    return path


SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
    'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
SHEET_TAIL = "</sheetData></worksheet>"


def inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def header_row_xml() -> str:
    letters = "ABCDEFGHIJK"
    return (
        '<row r="1">'
        + "".join(inline(f"{letters[i]}1", h) for i, h in enumerate(LEDGER_HEADER))
        + "</row>"
    )


def data_row_xml(r: int) -> str:
    letters = "ABCDEFGHIJK"
    return (
        f'<row r="{r}">'
        + "".join(inline(f"{letters[i]}{r}", v) for i, v in enumerate(ledger_row(f"T{r:06d}")))
        + "</row>"
    )


# --- what every case asserts --------------------------------------------------------------------


def assert_no_planted(*texts: object) -> None:
    for text in texts:
        for value in PLANTED:
            assert value not in str(text), (value, str(text)[:200])


def report_texts(report: FileReport) -> list[object]:
    return [report.notes, report.extra_columns, report.mapping]


def refused(path: Path, table: str = "ledger", limits: Limits | None = None) -> str:
    with pytest.raises(DropError) as err:
        read_table_file(path, table, limits=limits)
    message = str(err.value)
    assert path.name in message or path.name[:40] in message
    assert str(path.parent) not in message  # the file's name, never the server's path
    assert len(message) < 400
    assert_no_planted(message)
    return message


def balanced(path: Path, table: str = "ledger", limits: Limits | None = None):
    frame, rejects, report = read_table_file(path, table, limits=limits)
    assert report.rows_read == report.rows_kept + rejects["row"].n_unique()
    assert report.rows_kept == frame.height
    assert_no_planted(*report_texts(report))
    return frame, rejects, report


# --- files that are no table ---------------------------------------------------------------------


def test_binary_junk_named_csv(tmp_path):
    junk = bytes((i * 7919 + 13) % 256 for i in range(50_000)) + PERSON.encode()
    message = refused(write(tmp_path / "ledger.csv", junk))
    assert "编码" in message


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_empty_file(tmp_path, suffix):
    assert "空文件" in refused(write(tmp_path / f"ledger{suffix}", b""))


def test_truncated_xlsx(tmp_path):
    whole = write_xlsx(tmp_path / "whole.xlsx", ledger_rows(300)).read_bytes()
    message = refused(write(tmp_path / "ledger.xlsx", whole[: len(whole) // 2]))
    assert "不是有效的Excel工作簿" in message


def test_junk_named_xlsx_and_zip_without_workbook(tmp_path):
    assert "不是有效的Excel工作簿" in refused(
        write(tmp_path / "ledger.xlsx", b"PK\x03\x04" + PERSON.encode() * 100)
    )
    with zipfile.ZipFile(tmp_path / "资金实发明细.xlsx", "w") as z:
        z.writestr("notes.txt", PERSON)
    assert "不是有效的Excel工作簿" in refused(tmp_path / "资金实发明细.xlsx")


def test_xlsx_whose_sheet_calamine_cannot_parse_is_refused_without_its_message(tmp_path):
    path = workbook(
        tmp_path / "ledger.xlsx",
        [
            SHEET_HEAD,
            header_row_xml(),
            f'<row r="2"><c r="A2" t="n"><v>{PERSON}</v></c>',
            f'<c r="B2" t="e"><v>{ACCOUNT}<<<</v>',
            "</row>",
        ],
    )  # unclosed elements, broken tags
    message = refused(path)
    assert "Excel" in message


def test_truncated_parquet(tmp_path):
    frame = pl.DataFrame(
        dict(
            zip(
                [
                    "txn_id",
                    "month",
                    "pay_date",
                    "street",
                    "fund_code",
                    "item",
                    "payee_id",
                    "account_no",
                    "amount",
                    "status",
                    "purpose",
                ],
                zip(*ledger_rows(500), strict=True),
                strict=True,
            )
        )
    )
    frame.write_parquet(tmp_path / "whole.parquet")
    whole = (tmp_path / "whole.parquet").read_bytes()
    message = refused(write(tmp_path / "ledger.parquet", whole[: len(whole) - 200]))
    assert "不是有效的Parquet文件" in message


def test_utf16_with_and_without_bom(tmp_path):
    text = csv_text(ledger_rows(20))
    assert "UTF-16" in refused(write(tmp_path / "ledger.csv", text, "utf-16"))
    assert "UTF-16" in refused(write(tmp_path / "资金实发明细.csv", text, "utf-16-le"))


def test_nul_bytes(tmp_path):
    rows = ledger_rows(20)
    rows[4][0] = "T\x00005"  # a NUL inside a cell: read as the text it is
    rows[6][6] = PERSON[:9] + "\x00" + PERSON[10:]  # ... and an ID with a NUL is no ID
    _, rejects, report = balanced(write(tmp_path / "ledger.csv", csv_text(rows)))
    assert report.rows_read == 20
    assert rejects.select("row", "column").rows() == [(8, "收款人证件号")]
    # A file of zeros (a crash, a disk error) is refused, as UTF-16 without its mark is.
    assert "空字节" in refused(write(tmp_path / "资金实发明细.csv", b"\x00" * 10_000))


# --- headers --------------------------------------------------------------------------------------


def test_duplicate_headers_are_refused_quoting_headers_only(tmp_path):
    header = LEDGER_HEADER + ["amount"]
    rows = [row + [ACCOUNT] for row in ledger_rows(5)]
    message = refused(write(tmp_path / "ledger.csv", csv_text(rows, header)))
    assert "“金额”和“amount”" in message


def test_extra_columns_never_list_data(tmp_path):
    # A header row with an ID, an account and a phone pasted into it, long names, many columns.
    extra = [
        "备注",
        PERSON,
        f"{ACCOUNT[:4]} {ACCOUNT[4:8]} {ACCOUNT[8:]}",
        "138-1234-5678",
        "说明" * 40,
    ] + [f"附加{i}" for i in range(40)]
    rows = [row + ["x"] * len(extra) for row in ledger_rows(3)]
    _, _, report = balanced(write(tmp_path / "ledger.csv", csv_text(rows, LEDGER_HEADER + extra)))
    listed = report.extra_columns
    assert listed[0] == "备注" and listed[-1] == "另有25列"
    assert len(listed) == 21 and all(len(name) <= 31 for name in listed)
    assert "138-1234-5678" not in listed


def test_missing_column_message_lists_headers_but_no_data(tmp_path):
    header = [h for h in LEDGER_HEADER if h != "金额"] + [PERSON]
    rows = [row[:8] + row[9:] + [PERSON] for row in ledger_rows(3)]
    message = refused(write(tmp_path / "ledger.csv", csv_text(rows, header)))
    assert "amount（金额）" in message and "流水号" in message


def test_a_hundred_thousand_columns(tmp_path):
    header = LEDGER_HEADER + [f"x{i}" for i in range(100_000)]
    row = ledger_row("T1") + [""] * 100_000
    message = refused(write(tmp_path / "ledger.csv", csv_text([row], header)))
    assert "100,011列" in message and "16,384" in message
    # A header of the usual width and one row of 100k cells: that row is named.
    wide = ledger_row("T2") + ["1"] * 100_000
    message = refused(write(tmp_path / "资金实发明细.csv", csv_text([ledger_row("T1"), wide])))
    assert "第3行" in message and "16,384" in message


# --- line endings and quotes ----------------------------------------------------------------------


def test_cr_only_csv_reads_like_crlf(tmp_path):
    rows = ledger_rows(30)
    rows[3][10] = "第一行\r第二行"  # a line break inside a quoted cell
    crlf = balanced(write(tmp_path / "ledger.csv", csv_text(rows)))[0]
    mac = write(tmp_path / "资金实发明细.csv", csv_text(rows, end="\r").replace("\r\n", "\r"))
    assert b"\n" not in mac.read_bytes()
    frame, rejects, report = balanced(mac)
    assert report.rows_read == 30 and rejects.is_empty() and report.extra_columns == []
    assert frame.drop("purpose").equals(crlf.drop("purpose"))
    assert frame["purpose"][3] == "第一行\n第二行"


def test_mixed_line_endings_are_refused(tmp_path):
    text = csv_text(ledger_rows(10), end="\r")
    mixed = text[: len(text) // 2] + text[len(text) // 2 :].replace("\r", "\n")
    message = refused(write(tmp_path / "ledger.csv", mixed))
    assert "换行符" in message and "CSV UTF-8" in message


def test_crcrlf_line_ends_still_read(tmp_path):
    path = write(tmp_path / "ledger.csv", csv_text(ledger_rows(10), end="\r\r\n"))
    assert balanced(path)[2].rows_kept == 10


def test_unterminated_quote_names_its_row_and_quotes_nothing(tmp_path):
    lines = csv_text(ledger_rows(600)).split("\r\n")
    lines[41] = lines[41].replace(",华阳路街道,", ',"华阳路街道,')  # row 42 opens a quote
    message = refused(write(tmp_path / "ledger.csv", "\r\n".join(lines)))
    assert "第42行的引号没有正确闭合" in message  # closed by the quote of "1,550.00"
    # A file with no other quote: everything from the row on is one cell.
    lines = [line.replace('"1,550.00"', "1550.00") for line in lines]
    message = refused(write(tmp_path / "资金实发明细.csv", "\r\n".join(lines)))
    assert "第42行的引号没有闭合（从该行起到文件末尾都被当作一个单元格）" in message


def test_a_quote_closed_rows_later_names_the_row_it_opened(tmp_path):
    rows = ledger_rows(50)
    for row in rows:
        row[8] = "1550.00"
    rows[30][10] = "低保金,3月"  # row 32 holds the next quote
    text = csv_text(rows).split("\r\n")
    text[9] = text[9].replace(",华阳路街道,", ',"华阳路街道,')
    message = refused(write(tmp_path / "ledger.csv", "\r\n".join(text)))
    assert "第10行的引号没有正确闭合" in message


def test_an_inch_mark_is_a_character(tmp_path):
    rows = ledger_rows(5)
    rows[2][10] = '显示器 27"'
    text = csv_text(rows).replace('"显示器 27"""', '显示器 27"')
    frame, _, _ = balanced(write(tmp_path / "ledger.csv", text))
    assert frame["purpose"][2] == '显示器 27"'


# --- rows -------------------------------------------------------------------------------------


def test_ragged_rows_are_rejected_and_trailing_commas_are_not(tmp_path):
    rows = ledger_rows(8)
    rows[2] = rows[2] + ["", PHONE]  # row 4: a cell with something beyond the header
    rows[5] = rows[5] + ["", "  "]  # row 7: only blanks beyond
    rows[6] = rows[6] + [""]  # row 8: a trailing comma
    frame, rejects, report = balanced(write(tmp_path / "ledger.csv", csv_text(rows)))
    assert rejects.rows() == [("ledger.csv", 4, "第13列（表头之外）", PHONE, R_BEYOND)]
    assert report.rows_read == 8 and frame.height == 7


def test_every_row_with_a_trailing_comma(tmp_path):
    text = "\r\n".join(line + "," for line in csv_text(ledger_rows(20)).split("\r\n")[1:-1])
    path = write(tmp_path / "ledger.csv", ",".join(LEDGER_HEADER) + "\r\n" + text + "\r\n")
    assert balanced(path)[2].rows_kept == 20


def test_ragged_xlsx_rows_are_rejected(tmp_path):
    rows: list[list[object]] = [list(r) for r in ledger_rows(5)]
    rows[1] = rows[1] + [None, None, ACCOUNT]  # row 3, column N
    rows[3] = rows[3] + [None, 12.5]  # row 5, column M: a number
    _, rejects, report = balanced(write_xlsx(tmp_path / "ledger.xlsx", rows))
    assert rejects.select("row", "column", "value", "reason").rows() == [
        (3, "第14列（表头之外）", ACCOUNT, R_BEYOND),
        (5, "第13列（表头之外）", "12.5", R_BEYOND),
    ]
    assert report.rows_kept == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_txn_id_beginning_with_total_is_data(tmp_path, fmt):
    rows = ledger_rows(4) + [ledger_row("合计0001")]
    path = tmp_path / f"ledger.{fmt}"
    write(path, csv_text(rows)) if fmt == "csv" else write_xlsx(path, rows)
    frame, _, report = balanced(path)
    assert frame["txn_id"].to_list()[-1] == "合计0001" and report.rows_read == 5
    assert not any("合计" in note for note in report.notes)
    # A real total row: a label and a sum, the required columns left blank.
    total = ["合计"] + [""] * 7 + ["6,200.00", "", ""]
    write(path, csv_text(rows + [total])) if fmt == "csv" else write_xlsx(path, rows + [total])
    frame, _, report = balanced(path)
    assert report.rows_read == 5 and frame.height == 5
    assert "已跳过末尾的合计行（第7行）" in report.notes


def test_rows_in_equal_rows_kept_plus_rejected_for_every_file(tmp_path):
    folder = write_small_drop(tmp_path / "drop")
    rows = ledger_rows(30)
    rows[3][8] = "一千五"
    rows[7] = rows[7] + ["", "x"]
    rows[9][6] = PERSON[:-1] + ("0" if PERSON[-1] != "0" else "1")
    rows[12] = rows[3]
    (folder / "资金实发明细.csv").unlink()
    write(folder / "ledger.csv", csv_text(rows + [[""] * 11], LEDGER_HEADER))
    result = read_drop(folder)
    for report in result.files:
        rejected = result.rejects.filter(pl.col("file") == report.path)["row"].n_unique()
        assert report.rows_read == report.rows_kept + rejected, report.path
        assert report.rows_kept == result.tables[report.table].height
        assert_no_planted(*report_texts(report))
    ledger = next(r for r in result.files if r.table == "ledger")
    assert (ledger.rows_read, ledger.rows_kept) == (30, 26)


# --- a drop folder ----------------------------------------------------------------------------


def test_header_only_required_table_stops_the_run(tmp_path):
    folder = write_small_drop(tmp_path / "drop")
    write(folder / "accounts.csv", "case_id,account_no,holder_id_number\r\n\r\n")
    with pytest.raises(DropError) as err:
        read_drop(folder)
    assert "accounts.csv" in str(err.value) and "只有表头，没有数据行" in str(err.value)
    # An optional table with no rows is read: 0 rows.
    folder = write_small_drop(tmp_path / "drop2")
    write(folder / "visits.csv", "case_id,visit_date\r\n")
    result = read_drop(folder)
    assert result.tables["visits"].height == 0
    visits = next(r for r in result.files if r.table == "visits")
    assert (visits.rows_read, visits.rows_kept) == (0, 0)


def test_a_symlink_in_a_drop_folder_is_not_followed(tmp_path):
    outside = write(tmp_path / "secret.csv", f"身份证号,姓名\r\n{PERSON},李明\r\n")
    folder = write_small_drop(tmp_path / "drop")
    (folder / "visits.csv").symlink_to(outside)
    result = read_drop(folder)
    assert ("visits.csv", R_SYMLINK) in result.ignored and "visits" not in result.tables
    (folder / "staff.csv").unlink()
    (folder / "staff.csv").symlink_to(outside)
    with pytest.raises(DropError) as err:
        read_drop(folder)
    message = str(err.value)
    assert "staff（工作人员）" in message and "staff.csv 是符号链接" in message
    assert_no_planted(message)


def test_a_pipe_named_like_a_table_is_never_opened(tmp_path):
    folder = write_small_drop(tmp_path / "drop")
    os.mkfifo(folder / "visits.csv")  # opening it to read would wait for a writer forever
    result = read_drop(folder)
    assert ("visits.csv", R_SPECIAL) in result.ignored
    assert "不是普通文件" in refused(folder / "visits.csv", "visits")


def test_os_errors_name_the_file_only(tmp_path, monkeypatch):
    path = write(tmp_path / "ledger.csv", csv_text(ledger_rows(3)))

    def denied(self, *args, **kwargs):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", denied)
    assert "没有权限读取文件 ledger.csv" in refused(path)
    monkeypatch.undo()

    def vanished(self, *args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", str(self))

    monkeypatch.setattr(Path, "read_bytes", vanished)
    assert "已不存在" in refused(path)
    monkeypatch.undo()
    too_long = tmp_path / ("资金实发明细" * 30 + ".csv")
    with pytest.raises(DropError) as err:
        read_table_file(too_long, "ledger")
    assert "过长" in str(err.value) and str(tmp_path) not in str(err.value)


# --- size and memory --------------------------------------------------------------------------


def test_a_large_csv_is_read_in_full(tmp_path):
    rows = ledger_rows(250_000)
    rows[123_456][8] = "一千五"
    path = write(tmp_path / "ledger.csv", csv_text(rows))
    assert path.stat().st_size > 30_000_000
    frame, rejects, report = balanced(path)
    assert (report.rows_read, frame.height) == (250_000, 249_999)
    assert rejects.select("row", "column").rows() == [(123_458, "金额")]


def test_an_oversized_csv_cell_is_refused_naming_row_and_column(tmp_path):
    rows = ledger_rows(10)
    rows[5][10] = PERSON * 2000  # 36,000 characters in 摘要, row 7
    message = refused(write(tmp_path / "ledger.csv", csv_text(rows)))
    assert "第7行“摘要”列" in message and "32767" in message


def test_an_oversized_cell_in_the_header_rows_is_refused(tmp_path):
    text = f"{PERSON * 10_000}\r\n" + csv_text(ledger_rows(3))  # a "title" of 180,000 characters
    assert "第1行" in refused(write(tmp_path / "ledger.csv", text))


def test_an_oversized_parquet_cell_is_refused(tmp_path):
    rows = ledger_rows(10)
    rows[2][10] = PHONE * 5000
    frame = pl.DataFrame(
        dict(
            zip(
                [
                    "txn_id",
                    "month",
                    "pay_date",
                    "street",
                    "fund_code",
                    "item",
                    "payee_id",
                    "account_no",
                    "amount",
                    "status",
                    "purpose",
                ],
                zip(*rows, strict=True),
                strict=True,
            )
        )
    )
    frame.write_parquet(tmp_path / "ledger.parquet")
    message = refused(tmp_path / "ledger.parquet")
    assert "第4行“purpose”列" in message


def test_parquet_limits_come_from_its_footer(tmp_path):
    frame = pl.DataFrame(
        {
            "txn_id": [f"T{i:07d}" for i in range(300_000)],
            "purpose": [f"{PHONE}{i}" for i in range(300_000)],
        }
    )
    frame.write_parquet(tmp_path / "ledger.parquet")
    message = refused(tmp_path / "ledger.parquet", limits=Limits(max_unpacked_mb=1))
    assert "解压后超过1MB" in message


COMPRESSED_CELL_PROBE = """
import resource, sys, time
from pathlib import Path
from analytics.model import DropError
from analytics.reader import read_table_file
read_table_file(Path(sys.argv[2]), "ledger")  # imports and caches warmed on a small file
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    read_table_file(Path(sys.argv[1]), "ledger")
    print("READ")
except DropError as exc:
    print(exc)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(f"{grown / 1024:.1f} MB {time.perf_counter() - started:.2f} s")
"""
RSS_BOUND_MB = 300


def test_a_highly_compressed_cell_is_refused_before_calamine_inflates_it(tmp_path):
    # 1.5 GB of one character in one cell, about 1.5 MB on disk: it once took the reader past
    # 12 GB. Streamed into the zip a megabyte at a time, so the test stays small too.
    run = b"9" * (1 << 20)
    path = workbook(
        tmp_path / "ledger.xlsx",
        [
            SHEET_HEAD,
            header_row_xml(),
            data_row_xml(2),
            f'<row r="3"><c r="A3" t="inlineStr"><is><t>{PERSON}',
            *([run] * 1500),
            "</t></is></c></row>",
            SHEET_TAIL,
        ],
    )
    assert path.stat().st_size < 3 << 20
    small = write_xlsx(tmp_path / "small.xlsx", ledger_rows(3))
    out = subprocess.run(
        [sys.executable, "-c", COMPRESSED_CELL_PROBE, str(path), str(small)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    message, measured = out.stdout.strip().splitlines()
    assert "ledger.xlsx" in message and "单元格 A3 的内容超过32767个字符" in message
    assert_no_planted(message)
    grown = float(measured.split()[0])
    assert grown < RSS_BOUND_MB, measured


def test_a_compressed_shared_string_is_refused(tmp_path):
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main"><si><t>' + "x" * 300_000 + "</t></si></sst>"
    )
    path = workbook(
        tmp_path / "ledger.xlsx",
        [SHEET_HEAD, header_row_xml(), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>', SHEET_TAIL],
        shared,
    )
    assert "共享文本中有一段的内容超过32767个字符" in refused(path)


def test_a_shared_string_repeated_by_many_cells_is_refused(tmp_path):
    # 3,000 cells naming one string of 30,000 characters: 90 MB once read, from 100 KB.
    shared = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main"><si><t>' + PHONE * 2_700 + "</t></si></sst>"
    )
    rows = (f'<row r="{r}"><c r="K{r}" t="s"><v>0</v></c></row>' for r in range(2, 3_002))
    path = workbook(
        tmp_path / "ledger.xlsx", [SHEET_HEAD, header_row_xml(), *rows, SHEET_TAIL], shared
    )
    assert "解压展开后超过50MB" in refused(path, limits=Limits(max_unpacked_mb=50))


FAR_CELLS = [
    '<c r="XFD1048576"><v>1</v></c>',
    '<x:c xmlns:x="urn:a" r="XFD1048576"><v>1</v></x:c>',  # any prefix: calamine reads it
    '<c r="xfd1048576"><v>1</v></c>',  # lowercase
    '<c r="A1048576" r="XFD1048576"><v>1</v></c>',  # repeated: the last one counts
    '<c s="0" r="XFD1048576"><v>1</v></c>',  # the reference not first
    '<c\nr = "XFD1048576"><v>1</v></c>',  # spaces around '='
    "<c><v>1</v></c>" * 40,  # no reference: one after another
]


@pytest.mark.parametrize("far", FAR_CELLS)
def test_two_cells_far_apart_are_refused_before_calamine_builds_their_grid(tmp_path, far):
    # A1 and XFD1048576: a grid of 17 billion cells, which aborts the process. The guard is
    # asked first, so that a guard that let it through fails here rather than abort the tests.
    path = workbook(
        tmp_path / "ledger.xlsx",
        [SHEET_HEAD, header_row_xml(), '<row r="1048576">', far, "</row>", SHEET_TAIL],
    )
    with pytest.raises(DropError, match="使用范围"):
        guard.check_xlsx(path, Limits())
    assert "使用范围" in refused(path)


def test_too_many_cells_are_refused(tmp_path):
    rows = (
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in "ABCDEFGHIJ") + "</row>"
        for r in range(2, 20_002)
    )
    path = workbook(tmp_path / "ledger.xlsx", [SHEET_HEAD, header_row_xml(), *rows, SHEET_TAIL])
    assert "超过100,000个单元格" in refused(path, limits=Limits(max_cells=100_000))


def test_an_ordinary_workbook_passes_the_guard(tmp_path):
    path = write_xlsx(tmp_path / "ledger.xlsx", ledger_rows(5_000))
    guard.check_xlsx(path, Limits())
    frame, rejects, report = balanced(path)
    assert report.rows_kept == 5_000 and rejects.is_empty()
