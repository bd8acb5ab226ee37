import csv
import io
import random
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from stdnum.cn import ric, uscc

from analytics import parse, schema
from analytics.model import DropError
from analytics.reader import R_IGNORED, identify_table, read_drop, read_table_file


def make_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


APPLICANT = make_id("31010519800101123")
SPOUSE = make_id("31010519820305224")
OTHER = make_id("31010519660707335")
CHILD = make_id("31010520100219456")
STAFF = make_id("31010519750606031")
APPROVER = make_id("11010519491231002")  # check character X, written lowercase below
ORG = "91310105MA1FL0000" + uscc.calc_check_digit("91310105MA1FL0000")
WRONG = APPLICANT[:-1] + ("0" if APPLICANT[-1] != "0" else "1")
ACCOUNT = "6222021234561929"

# The small drop as an English CSV would hold it: every required table and a few optional ones.
DROP: dict[str, list[dict[str, str]]] = {
    "staff": [
        {
            "staff_id": "S001",
            "name": "王芳",
            "id_number": STAFF,
            "role": "街镇经办",
            "street": "华阳路街道",
            "phone": "021-6234 5678",
            "address": "上海市长宁区仙霞路100号201室",
            "salary_account": "6222 0212 3456 7890 123",
        },
        {
            "staff_id": "S002",
            "name": "刘洋",
            "id_number": APPROVER.lower(),
            "role": "区级审批",
            "street": "区民政局",
            "phone": "+86 139 1234 5678",
            "address": "",
            "salary_account": "",
        },
    ],
    "persons": [
        {
            "id_number": APPLICANT,
            "name": "李明",
            "household_id": "H001",
            "street": "华阳路街道",
            "committee": "华阳居委",
            "address": "长宁区 仙霞路１００号２０１室",
            "phone": "138 1234 5678",
            "hukou": "本市",
        },
        {
            "id_number": SPOUSE,
            "name": "张丽",
            "household_id": "H001",
            "street": "华阳路街道",
            "committee": "",
            "address": "",
            "phone": "",
            "hukou": "",
        },
        {
            "id_number": OTHER,
            "name": "赵强",
            "household_id": "H002",
            "street": "江苏路街道",
            "committee": "",
            "address": "上海市长宁区愚园路1号",
            "phone": "0086-13712345678",
            "hukou": "非本市",
        },
        {
            "id_number": CHILD,
            "name": "李小明",
            "household_id": "H001",
            "street": "华阳路街道",
            "committee": "",
            "address": "",
            "phone": "",
            "hukou": "本市",
        },
    ],
    "cases": [
        {
            "case_id": "C001",
            "household_id": "H001",
            "applicant_id_number": APPLICANT,
            "street": "华阳路街道",
            "assistance_type": "最低生活保障",
            "status": "在册",
            "accepted_date": "2026-01-05",
            "decided_date": "2026-02-10",
            "special_circumstance": "",
            "monthly_amount": "1,550.00",
            "start_month": "2026-02",
            "termination_date": "",
            "difficulty": "中",
            "handler_id": "S001",
            "reviewer_id": "",
            "approver_id": "S002",
        },
        {
            "case_id": "C002",
            "household_id": "H002",
            "applicant_id_number": OTHER,
            "street": "江苏路街道",
            "assistance_type": "临时救助",
            "status": "申请中",
            "accepted_date": "2026-03-02",
            "decided_date": "",
            "special_circumstance": "人户分离",
            "monthly_amount": "",
            "start_month": "",
            "termination_date": "",
            "difficulty": "",
            "handler_id": "S001",
            "reviewer_id": "",
            "approver_id": "",
        },
    ],
    "accounts": [
        {
            "case_id": "C001",
            "account_no": ACCOUNT,
            "bank": "工商银行",
            "holder_id_number": APPLICANT,
            "holder_name": "李明",
            "custodian_id_number": "",
            "custodian_name": "",
        },
        {
            "case_id": "C002",
            "account_no": "6217 0012 3456 7890",
            "bank": "建设银行",
            "holder_id_number": OTHER,
            "holder_name": "赵强",
            "custodian_id_number": SPOUSE,
            "custodian_name": "张丽",
        },
    ],
    "entitlements": [
        {
            "month": "2026-03",
            "case_id": "C001",
            "id_number": APPLICANT,
            "item": "低保金",
            "kind": "正常",
            "amount": "1550.00",
            "account_no": ACCOUNT,
        },
        {
            "month": "2026-03",
            "case_id": "C001",
            "id_number": APPLICANT,
            "item": "低保金",
            "kind": "补发",
            "amount": "¥775.50",
            "account_no": ACCOUNT,
        },
        {
            "month": "2026-03",
            "case_id": "C002",
            "id_number": OTHER,
            "item": "临时救助金",
            "kind": "正常",
            "amount": "2,000",
            "account_no": "",
        },
    ],
    "ledger": [
        {
            "txn_id": "T0001",
            "batch_id": "B202603",
            "month": "2026-03",
            "pay_date": "2026-03-10",
            "street": "华阳路街道",
            "fund_code": "JZ01",
            "item": "低保金",
            "case_id": "C001",
            "payee_id": APPLICANT,
            "payee_name": "李明",
            "account_no": ACCOUNT,
            "amount": "1,550.00",
            "status": "成功",
            "purpose": "3月低保金",
        },
        {
            "txn_id": "T0002",
            "batch_id": "B202603",
            "month": "2026-03",
            "pay_date": "2026-03-12",
            "street": "华阳路街道",
            "fund_code": "JZ01",
            "item": "低保金",
            "case_id": "C001",
            "payee_id": APPLICANT,
            "payee_name": "李明",
            "account_no": ACCOUNT,
            "amount": "775.5",
            "status": "成功",
            "purpose": "补发",
        },
        {
            "txn_id": "T0003",
            "batch_id": "",
            "month": "2026-03",
            "pay_date": "2026-03-20",
            "street": "区民政局",
            "fund_code": "JZ09",
            "item": "服务类救助",
            "case_id": "",
            "payee_id": ORG,
            "payee_name": "某养老服务中心",
            "account_no": "3100 1234 5678 9012",
            "amount": "3,000.00",
            "status": "退票",
            "purpose": "助餐服务",
        },
    ],
    "providers": [
        {"uscc": ORG, "name": "某养老服务中心", "items": "服务类救助"},
    ],
    "events": [
        {"id_number": SPOUSE, "event_type": "死亡", "event_date": "2026-02-01", "source": "公安局"},
    ],
    "visits": [
        {"case_id": "C001", "visit_date": "2026-02-15", "staff_id": "S001", "mode": "入户"},
        {"case_id": "C001", "visit_date": "2026-03-15", "staff_id": "", "mode": "电话"},
    ],
    "trainings": [
        {"street": "华阳路街道", "date": "2026-03-03", "topic": "政策培训", "participants": "12"},
    ],
}


# --- fixture writers ----------------------------------------------------------------------------


def _header(column: schema.Column, chinese: bool) -> str:
    return column.zh if chinese else column.name


def _columns(table: str, shuffle: bool) -> list[schema.Column]:
    columns = list(schema.TABLES[table].columns)
    if shuffle:
        random.Random(table).shuffle(columns)
    return columns


def write_csv(
    path: Path,
    table: str,
    rows: list[dict[str, str]],
    *,
    encoding: str = "utf-8",
    chinese: bool = False,
    shuffle: bool = False,
    extra: bool = False,
    blank_line_before: int | None = None,
) -> Path:
    columns = _columns(table, shuffle)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_header(c, chinese) for c in columns] + (["备注"] if extra else []))
    for i, row in enumerate(rows):
        if i == blank_line_before:
            out.write("\r\n")
        writer.writerow([row.get(c.name, "") for c in columns] + (["无"] if extra else []))
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def _excel_serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


def write_xlsx(
    path: Path,
    table: str,
    rows: list[dict[str, str]],
    *,
    title: bool = True,
    blank_rows: int = 1,
    total: bool = False,
    blank_row_before: int | None = None,
    cell_kinds: dict[tuple[int, str], str] | None = None,
) -> Path:
    """Dates as date cells and money as number cells, unless ``cell_kinds`` says otherwise for
    (data row index, column): "text", "serial" (a date as a plain number) or "number"."""
    cell_kinds = cell_kinds or {}
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Sheet1")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    columns = _columns(table, shuffle=False)
    r = 0
    if title:
        sheet.write_string(r, 0, f"长宁区{schema.TABLES[table].zh}（2026年3月）")
        r += 1
    r += blank_rows
    for j, column in enumerate(columns):
        sheet.write_string(r, j, _header(column, chinese=True))
    for i, row in enumerate(rows):
        r += 1 + (i == blank_row_before)
        for j, column in enumerate(columns):
            value = row.get(column.name, "")
            kind = cell_kinds.get((i, column.name))
            if value == "":
                continue
            if kind == "text":
                sheet.write_string(r, j, value)
            elif kind == "number":
                sheet.write_number(r, j, float(value))
            elif kind == "serial":
                sheet.write_number(r, j, _excel_serial(parse.parse_date(value)[0]))
            elif column.type == "date" or kind == "date":
                d = parse.parse_date(value)[0]
                sheet.write_datetime(r, j, datetime(d.year, d.month, d.day), date_format)
            elif column.type == "month" and kind == "first-of-month":
                y, m = parse.parse_month(value)[0].split("-")
                sheet.write_datetime(r, j, datetime(int(y), int(m), 1), date_format)
            elif column.type in ("money", "int"):
                number = parse.parse_money(value)[0] if column.type == "money" else int(value)
                sheet.write_number(r, j, number / 100 if column.type == "money" else number)
            else:
                sheet.write_string(r, j, value)
    if total:
        r += 1
        sheet.write_string(r, 0, "合计")
        money = [j for j, c in enumerate(columns) if c.type == "money"]
        for j in money:
            sheet.write_number(r, j, 9999.99)
    book.close()
    return path


def write_parquet(
    path: Path, table: str, rows: list[dict[str, str]], *, float_money: bool = False
) -> Path:
    """Native types, as a generator would write them: dates as Date, money as Decimal yuan (or
    float yuan), whole numbers as Int64, the rest as text."""
    data = {}
    for column in schema.TABLES[table].columns:
        values = [row.get(column.name, "") or None for row in rows]
        if column.type == "date":
            data[column.name] = pl.Series([parse.parse_date(v)[0] for v in values], dtype=pl.Date)
        elif column.type == "money":
            fen = [parse.parse_money(v)[0] for v in values]
            if float_money:
                data[column.name] = pl.Series(
                    [f / 100 if f is not None else None for f in fen], dtype=pl.Float64
                )
            else:
                data[column.name] = pl.Series(
                    [Decimal(f).scaleb(-2) if f is not None else None for f in fen],
                    dtype=pl.Decimal(14, 2),
                )
        elif column.type == "int":
            data[column.name] = pl.Series([int(v) if v else None for v in values], dtype=pl.Int64)
        else:
            data[column.name] = pl.Series(values, dtype=pl.String)
    pl.DataFrame(data).write_parquet(path)
    return path


def write_drop(folder: Path, style: str, tables: dict[str, list[dict[str, str]]] = DROP) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        zh = schema.TABLES[table].zh
        if style == "csv":
            write_csv(folder / f"{table}.csv", table, rows)
        elif style == "csv-bom":
            write_csv(folder / f"{table}.csv", table, rows, encoding="utf-8-sig", chinese=True)
        elif style == "gb18030":
            write_csv(
                folder / f"{zh}.csv",
                table,
                rows,
                encoding="gb18030",
                chinese=True,
                shuffle=True,
                extra=True,
            )
        elif style == "xlsx":
            kinds = {}
            if table == "ledger":
                kinds = {(1, "pay_date"): "serial", (2, "pay_date"): "text"}
            if table == "entitlements":
                kinds = {(0, "month"): "first-of-month"}
            write_xlsx(
                folder / f"{zh}.xlsx",
                table,
                rows,
                total=table in ("ledger", "entitlements"),
                cell_kinds=kinds,
            )
        elif style == "parquet":
            write_parquet(folder / f"{table}.parquet", table, rows, float_money=table == "ledger")
    return folder


# --- a good drop in every format reads the same ------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return read_drop(write_drop(tmp_path_factory.mktemp("csv"), "csv"))


def test_reference_drop_is_clean_and_typed(reference):
    assert reference.rejects.is_empty()
    assert reference.ignored == []
    assert sorted(reference.missing_optional) == sorted(
        ["relations", "relative_filings", "custody_filings", "dishonesty"]
    )
    for name, frame in reference.tables.items():
        assert frame.schema == pl.Schema(schema.polars_schema(name))
        assert frame.height == len(DROP[name])


def test_reference_values(reference):
    t = reference.tables
    assert t["ledger"]["amount"].to_list() == [155000, 77550, 300000]
    assert t["ledger"]["payee_id"].to_list() == [APPLICANT, APPLICANT, ORG]
    assert t["ledger"]["account_no"][2] == "3100123456789012"
    assert t["ledger"]["batch_id"].to_list() == ["B202603", "B202603", None]
    assert t["entitlements"]["amount"].to_list() == [155000, 77550, 200000]
    assert t["cases"]["accepted_date"].to_list() == [date(2026, 1, 5), date(2026, 3, 2)]
    assert t["cases"]["decided_date"].to_list() == [date(2026, 2, 10), None]
    assert t["cases"]["monthly_amount"].to_list() == [155000, None]
    assert t["staff"]["id_number"][1] == APPROVER and APPROVER.endswith("X")
    assert t["staff"]["phone"].to_list() == ["02162345678", "13912345678"]
    assert t["staff"]["salary_account"].to_list() == ["6222021234567890123", None]
    assert t["staff"]["address"][0] == "上海市长宁区仙霞路100号201室"
    assert t["staff"]["address_norm"][0] == "仙霞路100号201"
    assert t["persons"]["address_norm"][0] == "仙霞路100号201"
    assert t["persons"]["phone"].to_list() == ["13812345678", None, "13712345678", None]
    assert t["trainings"]["participants"].to_list() == [12]
    assert t["providers"]["items"].to_list() == ["服务类救助"]


@pytest.mark.parametrize("style", ["csv-bom", "gb18030", "xlsx", "parquet"])
def test_every_format_reads_the_same(tmp_path, reference, style):
    result = read_drop(write_drop(tmp_path / style, style))
    assert result.rejects.is_empty()
    assert result.ignored == []
    assert result.tables.keys() == reference.tables.keys()
    for name, frame in reference.tables.items():
        assert_frame_equal(result.tables[name], frame)


def test_gb18030_report(tmp_path):
    result = read_drop(write_drop(tmp_path / "gb", "gb18030"))
    ledger = next(f for f in result.files if f.table == "ledger")
    assert ledger.path == "资金实发明细.csv"
    assert ledger.encoding == "gb18030"
    assert ledger.extra_columns == ["备注"]
    assert ledger.mapping["amount"] == "金额"
    assert ledger.header_row == 1


def test_xlsx_report(tmp_path):
    result = read_drop(write_drop(tmp_path / "xl", "xlsx"))
    ledger = next(f for f in result.files if f.table == "ledger")
    assert (ledger.format, ledger.header_row, ledger.rows_read, ledger.rows_kept) == (
        "xlsx",
        3,
        3,
        3,
    )
    assert "已跳过末尾的合计行（第7行）" in ledger.notes


def test_progress_is_reported_per_file(tmp_path):
    calls = []
    read_drop(write_drop(tmp_path / "p", "csv"), progress=lambda m, f: calls.append((m, f)))
    assert len(calls) == len(DROP) + 1
    assert [f for _, f in calls] == sorted(f for _, f in calls)
    assert calls[-1][1] == 1.0 and all(isinstance(m, str) for m, _ in calls)


def test_unrelated_files_are_ignored(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    (folder / "会议记录.csv").write_text("日期,议题\n2026-03-01,例会\n", encoding="utf-8")
    (folder / "ledger.txt").write_text("x", encoding="utf-8")
    result = read_drop(folder)
    assert result.ignored == [("ledger.txt", R_IGNORED), ("会议记录.csv", R_IGNORED)]


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("ledger.csv", "ledger"),
        ("LEDGER.CSV", "ledger"),
        ("资金实发明细.xlsx", "ledger"),
        ("实发明细.parquet", "ledger"),
        ("人员信息.Parquet", "persons"),
        (" staff .csv", "staff"),
        ("ledger.txt", None),
        ("ledger_2026.csv", None),
        ("~$ledger.xlsx", None),
    ],
)
def test_identify_table(name, table):
    assert identify_table(name) == table


# --- a bad drop: each kind of bad row once -----------------------------------------------------


def _bad_drop(folder: Path) -> Path:
    tables = {name: [dict(r) for r in rows] for name, rows in DROP.items()}
    tables["persons"][1]["id_number"] = WRONG  # persons.csv row 3
    tables["entitlements"][0]["id_number"] = "3.10105E+17"  # entitlements.csv row 2
    tables["ledger"][1]["amount"] = "一千五"  # ledger.csv row 3
    tables["ledger"].append(dict(tables["ledger"][0], purpose="重复"))  # row 6, after a blank
    tables["visits"][0]["visit_date"] = "2026-02-30"  # visits.csv row 2
    tables["staff"][1]["name"] = ""  # staff.csv row 3
    tables["cases"][1]["status"] = "在办"  # cases.xlsx row 5
    tables["cases"].append(dict(tables["cases"][0], case_id="C003"))  # row 6, kept
    write_drop(folder, "csv", {k: v for k, v in tables.items() if k not in ("cases", "ledger")})
    write_csv(folder / "ledger.csv", "ledger", tables["ledger"], blank_line_before=3)
    write_xlsx(
        folder / "救助案件.xlsx",
        "cases",
        tables["cases"],
        cell_kinds={(0, "applicant_id_number"): "number"},
    )  # cases.xlsx row 4
    return folder


def test_bad_rows_are_rejected_with_file_row_column_and_reason(tmp_path):
    result = read_drop(_bad_drop(tmp_path / "bad"))
    got = result.rejects.rows()
    expected = [
        ("entitlements.csv", 2, "id_number", "3.10105E+17", parse.R_EXCEL_DIGITS),
        ("ledger.csv", 3, "amount", "一千五", parse.R_MONEY_FORMAT),
        ("ledger.csv", 6, "txn_id", "T0001", "流水号重复（与第2行相同）"),
        ("persons.csv", 3, "id_number", WRONG, parse.R_ID_CHECK),
        ("staff.csv", 3, "name", None, parse.R_REQUIRED),
        ("visits.csv", 2, "visit_date", "2026-02-30", parse.R_DATE_INVALID),
        ("救助案件.xlsx", 4, "申请人身份证号", "…", parse.R_EXCEL_DIGITS),
        ("救助案件.xlsx", 5, "状态", "在办", "不是允许的取值（允许：申请中、在册、终止、未通过）"),
    ]
    # The number cell holds what Excel kept of the ID: its first 15 digits, then noise.
    lost = got[6][3]
    assert lost[:15] == APPLICANT[:15] and len(lost) == 18 and lost != APPLICANT
    assert got[:6] + [got[6][:3] + ("…",) + got[6][4:]] + got[7:] == expected
    assert result.rejects.schema == pl.Schema(schema.REJECTS_SCHEMA)
    t = result.tables
    assert t["cases"]["case_id"].to_list() == ["C003"]
    assert t["ledger"]["txn_id"].to_list() == ["T0001", "T0003"]
    assert t["persons"].height == 3 and t["staff"].height == 1
    assert t["entitlements"].height == 2 and t["visits"].height == 1


# --- single files -------------------------------------------------------------------------------


def test_xlsx_row_numbers_with_leading_and_inner_blank_rows(tmp_path):
    rows = [dict(DROP["visits"][0]), dict(DROP["visits"][1], visit_date="2026-13-01")]
    path = write_xlsx(
        tmp_path / "visits.xlsx",
        "visits",
        rows,
        title=False,
        blank_rows=2,
        blank_row_before=1,
        cell_kinds={(1, "visit_date"): "text"},
    )
    frame, rejects, report = read_table_file(path, "visits")
    assert report.header_row == 3
    assert rejects.select("row", "column", "reason").rows() == [
        (6, "探访日期", parse.R_DATE_INVALID)
    ]
    assert "已跳过1个空行" in report.notes
    assert frame["visit_date"].to_list() == [date(2026, 2, 15)]


def test_xlsx_number_cells_are_told_from_text_cells(tmp_path):
    rows = [dict(DROP["events"][0]), dict(DROP["events"][0], id_number=OTHER)]
    path = write_xlsx(
        tmp_path / "events.xlsx",
        "events",
        rows,
        title=False,
        blank_rows=0,
        cell_kinds={(1, "id_number"): "number"},
    )
    frame, rejects, _ = read_table_file(path, "events")
    assert frame["id_number"].to_list() == [SPOUSE]
    assert rejects.select("row", "reason").rows() == [(3, parse.R_EXCEL_DIGITS)]


def test_xlsx_long_numbers_in_text_columns_are_rejected(tmp_path):
    rows = [
        dict(DROP["visits"][0], case_id="20260001"),
        dict(DROP["visits"][0], case_id="2026031000000012345"),
    ]
    path = write_xlsx(
        tmp_path / "visits.xlsx",
        "visits",
        rows,
        title=False,
        blank_rows=0,
        cell_kinds={(0, "case_id"): "number", (1, "case_id"): "number"},
    )
    frame, rejects, _ = read_table_file(path, "visits")
    assert frame["case_id"].to_list() == ["20260001"]
    assert rejects.select("row", "column", "reason").rows() == [
        (3, "救助编号", parse.R_EXCEL_DIGITS)
    ]


def test_csv_title_line_above_header(tmp_path):
    table = write_csv(tmp_path / "v.csv", "visits", [dict(DROP["visits"][0], mode="上门")])
    path = tmp_path / "visits.csv"
    path.write_bytes("长宁区探访记录,,\r\n\r\n".encode() + table.read_bytes())
    frame, rejects, report = read_table_file(path, "visits")
    assert (report.header_row, report.encoding, frame.height) == (3, "utf-8", 0)
    assert rejects.select("row", "column", "value").rows() == [(4, "mode", "上门")]


def test_duplicate_key_keeps_the_first(tmp_path):
    rows = [
        dict(DROP["staff"][0], staff_id=""),
        DROP["staff"][0],
        DROP["staff"][1],
        dict(DROP["staff"][1], name="刘洋二"),
        dict(DROP["staff"][0], staff_id=" S001 "),
    ]
    frame, rejects, _ = read_table_file(write_csv(tmp_path / "staff.csv", "staff", rows), "staff")
    assert frame["name"].to_list() == ["王芳", "刘洋"]
    assert rejects.select("row", "value", "reason").rows() == [
        (2, None, parse.R_REQUIRED),
        (5, "S002", "工号重复（与第4行相同）"),
        (6, " S001 ", "工号重复（与第3行相同）"),
    ]


def test_headers_with_spaces_in_any_order_and_optional_columns_absent(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(f" 事项 ,发生日期 , id_number\n死亡,2026/2/1,{SPOUSE}\n", encoding="utf-8")
    frame, rejects, report = read_table_file(path, "events")
    assert rejects.is_empty()
    assert frame.rows() == [(SPOUSE, "死亡", date(2026, 2, 1), None)]
    assert report.mapping == {
        "id_number": "id_number",
        "event_type": "事项",
        "event_date": "发生日期",
    }


# --- drops that cannot be used -----------------------------------------------------------------


def test_missing_required_table(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    (folder / "ledger.csv").unlink()
    with pytest.raises(DropError, match=r"ledger（资金实发明细）.*资金实发明细\.csv"):
        read_drop(folder)


def test_missing_required_column(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    (folder / "entitlements.csv").write_text(
        "month,case_id,id_number,item,kind\n2026-03,C001,x,低保金,正常\n", encoding="utf-8"
    )
    with pytest.raises(DropError) as err:
        read_drop(folder)
    message = str(err.value)
    assert "entitlements.csv" in message and "amount（应发金额）" in message
    assert "month、case_id、id_number、item、kind" in message


def test_a_file_without_a_header_row_is_refused_without_repeating_its_data(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    (folder / "persons.csv").write_text(
        f"{APPLICANT},李明,H001,华阳路街道,13812345678\n{SPOUSE},张丽,H001,华阳路街道,\n",
        encoding="utf-8",
    )
    with pytest.raises(DropError) as err:
        read_drop(folder)
    message = str(err.value)
    assert "persons.csv" in message and "没有找到表头行" in message
    assert "id_number（身份证号）" in message
    for value in (APPLICANT, SPOUSE, "李明", "13812345678", "H001"):
        assert value not in message


def test_undecodable_file(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    (folder / "visits.csv").write_bytes(b"case_id,visit_date\nC001,\x80\xff\n")
    with pytest.raises(DropError, match=r"visits\.csv.*编码"):
        read_drop(folder)


def test_two_files_for_one_table(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    write_xlsx(folder / "资金实发明细.xlsx", "ledger", DROP["ledger"])
    with pytest.raises(
        DropError, match=r"ledger.csv.*资金实发明细\.xlsx|资金实发明细\.xlsx.*ledger"
    ):
        read_drop(folder)


def test_missing_folder(tmp_path):
    with pytest.raises(DropError, match="数据目录"):
        read_drop(tmp_path / "nowhere")


def _persons_csv(rows: int) -> str:
    names = ["王芳", "李明", "张丽", "赵强", "陈静", "刘洋", "杨帆", "黄磊"]
    lines = ["身份证号,姓名,家庭编号,居住街镇"]
    for i in range(rows):
        body = f"310105198001{i % 28 + 1:02d}{i:03d}"
        lines.append(f"{make_id(body)},{names[i % len(names)]},H{i:03d},华阳路街道")
    return "\n".join(lines) + "\n"


def test_utf8_with_a_broken_byte_rejects_that_row_and_reads_the_rest(tmp_path):
    data = bytearray(_persons_csv(12).encode("utf-8"))
    # Row 4 (the third person): cut the last byte of the name's first character.
    start = data.index("张丽".encode())
    del data[start + 2]
    (tmp_path / "persons.csv").write_bytes(bytes(data))

    frame, rejects, report = read_table_file(tmp_path / "persons.csv", "persons")

    assert report.encoding == "utf-8"
    assert frame.height == 11 and "李明" in frame["name"].to_list()
    assert all("\ufffd" not in n for n in frame["name"].to_list())
    (reject,) = rejects.iter_rows(named=True)
    assert (reject["file"], reject["row"], reject["column"]) == ("persons.csv", 4, "姓名")
    assert "损坏" in reject["reason"] and "UTF-8" in reject["reason"]
    assert any("损坏" in note for note in report.notes)


def test_gb18030_is_still_read_as_gb18030_not_as_broken_utf8(tmp_path):
    (tmp_path / "persons.csv").write_bytes(_persons_csv(12).encode("gb18030"))
    frame, rejects, report = read_table_file(tmp_path / "persons.csv", "persons")
    assert report.encoding == "gb18030"
    assert rejects.is_empty() and frame.height == 12
    assert frame["street"].unique().to_list() == ["华阳路街道"]


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=400
    ),
    st.text(alphabet="0123456789,abc\n", max_size=200),
)
def test_gb18030_chinese_never_passes_for_broken_utf8(chinese, ascii_text):
    from analytics.reader import _damaged_utf8

    data = (ascii_text + chinese).encode("gb18030")
    assert _damaged_utf8(data) is None


# --- line endings, ragged rows, total rows, empty tables (contract section 1) --------------------


def test_a_drop_saved_as_csv_macintosh_reads_the_same(tmp_path, reference):
    folder = write_drop(tmp_path / "mac", "csv")
    for path in folder.iterdir():
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r"))
    result = read_drop(folder)
    assert result.rejects.is_empty()
    for name, frame in reference.tables.items():
        assert_frame_equal(result.tables[name], frame)
    assert all(report.extra_columns == [] for report in result.files)


def test_more_cells_than_the_header_is_a_reject_and_a_trailing_comma_is_not(tmp_path):
    path = write_csv(tmp_path / "ledger.csv", "ledger", DROP["ledger"])
    lines = path.read_bytes().decode().split("\r\n")
    lines[1] += ",备注"  # row 2: something beyond the header
    lines[2] += ","  # row 3: a blank cell beyond it
    path.write_text("\r\n".join(lines), encoding="utf-8")
    frame, rejects, report = read_table_file(path, "ledger")
    assert rejects.select("row", "column", "value", "reason").rows() == [
        (2, "第15列（表头之外）", "备注", "该行的单元格多于表头，多出的单元格有内容")
    ]
    assert frame["txn_id"].to_list() == ["T0002", "T0003"]
    assert (report.rows_read, report.rows_kept) == (3, 2)


def test_a_total_row_leaves_a_required_column_blank(tmp_path):
    rows = DROP["ledger"] + [dict(DROP["ledger"][0], txn_id="合计0001")]
    frame, _, report = read_table_file(write_csv(tmp_path / "ledger.csv", "ledger", rows), "ledger")
    assert frame["txn_id"].to_list()[-1] == "合计0001" and report.rows_read == 4
    rows = DROP["ledger"] + [{"txn_id": "合计", "amount": "5,325.50"}]
    frame, rejects, report = read_table_file(
        write_csv(tmp_path / "ledger.csv", "ledger", rows), "ledger"
    )
    assert rejects.is_empty() and frame.height == report.rows_read == 3
    assert "已跳过末尾的合计行（第5行）" in report.notes


def test_a_required_table_with_a_header_and_no_rows_stops_the_run(tmp_path):
    folder = write_drop(tmp_path / "d", "csv")
    write_csv(folder / "ledger.csv", "ledger", [])
    with pytest.raises(DropError, match=r"ledger\.csv 只有表头，没有数据行"):
        read_drop(folder)
    frame, rejects, report = read_table_file(folder / "ledger.csv", "ledger")
    assert frame.height == rejects.height == report.rows_read == 0
