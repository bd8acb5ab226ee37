import io
import zipfile
from pathlib import Path

import polars as pl

from analytics import schema
from analytics.model import FileReport, ReadResult
from dashboard import ui

RAW_ID = "31010519900909456X"
RAW_ACCOUNT = "6222021234561929"


def rejects() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "file": ["persons.csv", "accounts.csv", "persons.csv"],
            "row": [7, 3, 4],
            "column": ["id_number", "银行账号", "name"],
            "value": [RAW_ID, RAW_ACCOUNT, None],
            "reason": ["身份证号校验位错误", "银行账号应为10至30位数字", "必填项为空"],
        },
        schema=schema.REJECTS_SCHEMA,
    )


def report(table: str, path: str, read: int, kept: int, **kw) -> FileReport:
    return FileReport(
        table=table,
        path=path,
        format=kw.get("format", "csv"),
        encoding=kw.get("encoding", "utf-8"),
        header_row=1,
        rows_read=read,
        rows_kept=kept,
        mapping=kw.get("mapping", {}),
        extra_columns=[],
    )


def result() -> ReadResult:
    return ReadResult(
        tables={},
        rejects=rejects(),
        files=[
            report("persons", "persons.csv", 10, 8, encoding="gb18030"),
            report("accounts", "accounts.csv", 5, 4, format="xlsx", encoding=None),
        ],
        ignored=[("说明.csv", "未能识别为数据规范中的任何一张表")],
        missing_optional=["visits"],
    )


def test_rejects_for_display_masks_sorts_and_speaks_chinese():
    shown = ui.rejects_for_display(rejects())
    assert shown.columns == ["文件", "行号", "列", "值", "原因"]
    assert shown.rows() == [
        ("accounts.csv", 3, "银行账号", "6222 **** **** 1929", "银行账号应为10至30位数字"),
        ("persons.csv", 4, "name", None, "必填项为空"),
        ("persons.csv", 7, "id_number", "310105********456X", "身份证号校验位错误"),
    ]


def test_excel_bytes_round_trip_without_hidden_digits():
    shown = ui.rejects_for_display(rejects())
    content = ui.excel_bytes({"拒收记录": shown})

    back = pl.read_excel(io.BytesIO(content), sheet_name="拒收记录", infer_schema_length=0)
    assert back.columns == shown.columns
    assert back["值"].to_list() == shown["值"].to_list()
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = b"".join(archive.read(name) for name in archive.namelist())
    assert RAW_ID.encode() not in xml and RAW_ACCOUNT.encode() not in xml
    assert b"310105********456X" in xml


def test_files_table_counts_rejected_rows_per_file():
    table = ui.files_table(result())
    assert table.select("数据表", "格式", "编码", "拒收行数").rows() == [
        ("人员信息", "CSV", "GB18030/GBK", 2),
        ("收款账户", "Excel", "—", 1),
    ]


def test_mapping_table_lists_every_contract_column():
    table = ui.mapping_table("accounts", {"case_id": "救助编号", "account_no": "账号"})
    assert table["字段"].to_list() == list(schema.TABLES["accounts"].column_names)
    assert table.row(1, named=True) == {
        "字段": "account_no",
        "标准表头": "银行账号",
        "必填": "是",
        "文件中的表头": "账号",
    }
    assert table.filter(pl.col("字段") == "bank")["文件中的表头"].item() == "（未提供）"


def test_missing_tables_and_ignored_files():
    required, optional = ui.missing_tables(result())
    assert "资金实发明细（ledger）" in required and "人员信息（persons）" not in required
    assert optional == ["探访记录（visits）"]
    assert ui.ignored_table(result()).rows() == [("说明.csv", "未能识别为数据规范中的任何一张表")]


def test_default_folders_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AIDWATCH_DROP", str(tmp_path / "d"))
    monkeypatch.delenv("AIDWATCH_OUT", raising=False)
    assert ui.current_drop_dir() == tmp_path / "d"
    assert ui.current_out_dir().parts[-2:] == ("demo", "out")


def test_excel_bytes_writes_formula_like_text_as_text():
    frame = pl.DataFrame({"值": ["=1+1", "-12.50", "@SUM(1)"], "行号": [1, 2, 3]})
    content = ui.excel_bytes({"拒收记录": frame})
    back = pl.read_excel(io.BytesIO(content), sheet_name="拒收记录", infer_schema_length=0)
    assert back["值"].to_list() == ["'=1+1", "-12.50", "'@SUM(1)"]
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert b"<f>" not in archive.read("xl/worksheets/sheet1.xml")


def test_show_table_hands_the_grid_neutralised_text(monkeypatch):
    drawn = {}

    def dataframe(frame, **kwargs):
        drawn.update(frame=frame, **kwargs)
        return "event"

    monkeypatch.setattr(ui.st, "dataframe", dataframe)
    frame = pl.DataFrame({"项目": ["=cmd|' /C calc'!A0", "低保金"], "金额": [-1.5, 2.0]})
    assert ui.show_table(frame, key="k") == "event"
    assert drawn["frame"].rows() == [("'=cmd|' /C calc'!A0", -1.5), ("低保金", 2.0)]
    assert drawn["hide_index"] is True and drawn["width"] == "stretch" and drawn["key"] == "k"


def test_how_to_run_shows_the_folder_as_typed():
    text = ui.how_to_run(Path("/srv/out`[x](evil.example)"))
    assert "``aidwatch check 数据文件夹 --out /srv/out`[x](evil.example)``" in text
