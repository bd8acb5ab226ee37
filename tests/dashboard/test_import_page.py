import polars as pl
from streamlit.testing.v1 import AppTest

from analytics import schema
from dashboard import data, ui

PAGE = str(data.reference.PROJECT_ROOT / "dashboard" / "screens" / "import_data.py")


def frames(at) -> list[pl.DataFrame]:
    return [pl.from_pandas(df.value) for df in at.dataframe]


def run_page(monkeypatch, drop) -> AppTest:
    monkeypatch.setenv("AIDWATCH_DROP", str(drop))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def test_page_shows_recognised_tables_and_a_masked_reject(monkeypatch, small_drop):
    at = run_page(monkeypatch, small_drop)

    assert at.title[0].value == "数据导入"
    files = frames(at)[0]
    assert set(files["英文名"]) == set(schema.REQUIRED_TABLES)
    ledger = files.filter(pl.col("英文名") == "ledger").row(0, named=True)
    assert ledger["数据表"] == "资金实发明细" and ledger["编码"] == "GB18030/GBK"
    assert files.filter(pl.col("英文名") == "persons")["拒收行数"].item() == 1

    rejects = frames(at)[-1]
    assert list(rejects.columns) == ["文件", "行号", "列", "值", "原因"]
    bad = rejects.filter(pl.col("文件") == "persons.csv").row(0, named=True)
    assert bad["行号"] == 4
    assert bad["值"] == bad["值"][:6] + "********" + bad["值"][-4:]
    assert bad["原因"]
    assert "会议记录.csv" in frames(at)[1]["文件"].to_list()
    assert any("可选数据表" in info.value for info in at.info)
    assert [b.label for b in at.get("download_button")] == ["下载拒收记录（Excel）"]


def test_no_unmasked_id_reaches_the_page(monkeypatch, small_drop):
    lines = (small_drop / "persons.csv").read_text(encoding="utf-8").splitlines()
    ids = [line.split(",")[0] for line in lines[1:]]
    at = run_page(monkeypatch, small_drop)
    shown = " ".join(
        str(v) for frame in frames(at) for column in frame.columns for v in frame[column]
    )
    shown += " ".join(str(e.value) for e in (*at.markdown, *at.caption, *at.info, *at.warning))
    assert not any(id_number in shown for id_number in ids)


def test_drop_error_is_shown_as_an_error(monkeypatch, small_drop):
    (small_drop / "persons.csv").write_bytes(b"\xff\xfeid_number\n")  # UTF-16: unreadable
    at = run_page(monkeypatch, small_drop)
    assert len(at.error) == 1
    assert ui.md("persons.csv") in at.error[0].value and ui.md("UTF-16") in at.error[0].value
    assert not at.dataframe


def test_a_folder_missing_a_table_is_shown_table_by_table(monkeypatch, small_drop):
    """As an upload is: the tables that are there, and a warning naming the missing one."""
    (small_drop / "资金实发明细.csv").unlink()
    at = run_page(monkeypatch, small_drop)
    assert not at.error
    (warning,) = [w.value for w in at.warning if "缺少必需的数据表" in w.value]
    assert "资金实发明细（ledger）" in warning
    files = frames(at)[0]
    assert set(files["英文名"]) == set(schema.REQUIRED_TABLES) - {"ledger"}
    assert not at.button


def test_missing_folder_is_a_warning(monkeypatch, tmp_path):
    at = run_page(monkeypatch, tmp_path / "nowhere")
    # a district supervisor is not shown the server's folder
    assert at.warning[0].value.startswith("管理员设置的数据文件夹不存在")
    assert "nowhere" not in at.warning[0].value
    assert not at.error


def test_partial_upload_is_read_table_by_table(small_drop, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "UPLOAD_ROOT", tmp_path / "uploads")
    uploads = [
        (p.name, p.read_bytes())
        for p in sorted(small_drop.iterdir())
        if p.name in ("persons.csv", "会议记录.csv")
    ]
    folder = data.save_uploads(uploads)
    assert folder.parent == tmp_path / "uploads"
    assert data.save_uploads(list(reversed(uploads))) == folder

    result = data.read_uploads(folder)

    assert [r.table for r in result.files] == ["persons"]
    assert result.rejects["file"].to_list() == ["persons.csv"]
    assert [name for name, _ in result.ignored] == ["会议记录.csv"]
    required, _ = ui.missing_tables(result)
    assert "资金实发明细（ledger）" in required and "人员信息（persons）" not in required


def test_full_upload_is_read_as_a_drop(small_drop, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "UPLOAD_ROOT", tmp_path / "uploads")
    uploads = [(p.name, p.read_bytes()) for p in sorted(small_drop.iterdir())]
    result = data.read_uploads(data.save_uploads(uploads))
    assert {r.table for r in result.files} == set(schema.REQUIRED_TABLES)
    assert result.rejects.height >= 1


def test_old_uploads_are_deleted_and_the_current_one_kept(small_drop, tmp_path, monkeypatch):
    import os

    monkeypatch.setattr(data, "UPLOAD_ROOT", tmp_path / "uploads")
    monkeypatch.setenv("AIDWATCH_UPLOADS_KEEP_DAYS", "30")
    old = data.save_uploads([("persons.csv", b"old")])
    recent = data.save_uploads([("persons.csv", b"recent")])
    day = 86_400
    os.utime(old, (os.path.getatime(old) - 31 * day, os.path.getmtime(old) - 31 * day))
    os.utime(recent, (os.path.getatime(recent) - 29 * day, os.path.getmtime(recent) - 29 * day))

    current = data.save_uploads([(p.name, p.read_bytes()) for p in sorted(small_drop.iterdir())])

    assert not old.exists()
    assert recent.exists() and current.exists()
    # Uploading the same files again renews their folder: it is not deleted while in use.
    os.utime(current, (0, 0))
    assert (
        data.save_uploads([(p.name, p.read_bytes()) for p in sorted(small_drop.iterdir())])
        == current
        and current.exists()
    )
    assert data.uploads_keep_days() == 30
    monkeypatch.setenv("AIDWATCH_UPLOADS_KEEP_DAYS", "nonsense")
    assert data.uploads_keep_days() == 30


def test_the_uploader_says_the_size_limit_in_chinese(monkeypatch, small_drop):
    monkeypatch.setenv("AIDWATCH_DROP", str(small_drop))
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    at.radio(key="import_source").set_value("上传文件").run()
    assert not at.exception
    # the label names the server's own limit (server.maxUploadSize), in MB
    assert at.session_state["import_source"] == "上传文件"
    from streamlit import config

    limit = config.get_option("server.maxUploadSize")
    labels = [w.proto.label for w in at.get("file_uploader")]
    assert labels and f"每个文件不超过 {limit} MB" in labels[0]
