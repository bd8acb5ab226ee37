"""Check runs started from the dashboard: their folders, their outputs and their summary."""

from __future__ import annotations

import json
import logging
import os
from datetime import date
from pathlib import Path

import polars as pl

from analytics import pipeline, reader, runs


def test_a_run_writes_what_the_command_line_writes(small_drop, tmp_path):
    read = reader.read_drop(small_drop)
    out, outcome = runs.run_and_write(read, small_drop, root=tmp_path / "runs")

    cli_out = tmp_path / "cli"
    pipeline.write_outputs(pipeline.run(small_drop), cli_out)
    assert out.parent == tmp_path / "runs"
    assert out.name.startswith("20260331-")  # the default check date: the latest month's end
    for name in ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv"):
        assert (out / name).read_bytes() == (cli_out / name).read_bytes(), name
    assert outcome.drop.as_of == date(2026, 3, 31)
    assert outcome.drop.source == small_drop


def test_the_run_folder_follows_the_files_the_date_and_the_checks(small_drop, tmp_path):
    root = tmp_path / "runs"
    first = runs.run_dir(small_drop, date(2026, 3, 31), None, root)
    assert runs.run_dir(small_drop, date(2026, 3, 31), None, root) == first
    assert runs.run_dir(small_drop, date(2026, 4, 30), None, root) != first
    assert runs.run_dir(small_drop, date(2026, 3, 31), ["funds"], root) != first
    assert (runs.run_dir(small_drop, date(2026, 3, 31), ["funds", "process"], root)
            == runs.run_dir(small_drop, date(2026, 3, 31), ["process", "funds"], root))

    ledger = small_drop / "资金实发明细.csv"
    stat = ledger.stat()
    os.utime(ledger, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert runs.run_dir(small_drop, date(2026, 3, 31), None, root) != first


def test_a_run_of_some_families_only_runs_those(small_drop, tmp_path):
    read = reader.read_drop(small_drop)
    out, outcome = runs.run_and_write(read, small_drop, only=["funds"], root=tmp_path)
    assert set(outcome.summary["family"]) == {"funds"}
    assert set(pl.read_csv(out / "checks.csv")["family"]) == {"funds"}


def test_summary_table_orders_findings_then_clean_then_skipped():
    summary = pl.DataFrame({
        "check_id": ["a", "b", "c", "d"], "title": ["甲", "乙", "丙", "丁"],
        "family": ["funds", "integrity", "funds", "dynamic"], "severity": ["高", "中", "低", "高"],
        "rows_examined": [10, 0, 10, 10], "findings": [0, 0, 2, 1],
        "amount_fen": [0, 0, 12345, 0],
        "skipped": [None, "缺少事件（events），本项未检查", None, None],
        "note": [None, None, "服务类救助的收款方未核对", None],
    })
    table = runs.summary_table(summary)
    assert table.columns == ["检查项", "类别", "严重程度", "检查行数", "线索数", "涉及金额（元）",
                             "未检查原因", "部分未检查说明"]
    assert table["部分未检查说明"].to_list() == ["服务类救助的收款方未核对", "", "", ""]
    assert table["检查项"].to_list() == ["丙", "丁", "甲", "乙"]
    assert table["类别"].to_list() == ["资金比对", "动态管理", "资金比对", "廉洁风险"]
    assert table["涉及金额（元）"].to_list() == [123.45, 0.0, 0.0, 0.0]
    assert runs.headline(summary) == {"ran": 3, "skipped": 1, "findings": 3, "amount_fen": 12345}


def test_history_lists_runs_newest_first_and_skips_what_is_no_run(small_drop, tmp_path):
    root = tmp_path / "runs"
    read = reader.read_drop(small_drop)
    first, _ = runs.run_and_write(read, small_drop, only=["funds"], root=root, label="三月数据")
    second, outcome = runs.run_and_write(read, small_drop, root=root)
    manifest = json.loads((first / runs.MANIFEST).read_text(encoding="utf-8"))
    manifest["finished_at"] = "2026-01-01T09:00:00"  # the funds run finished earlier
    (first / runs.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (root / "half-written").mkdir()
    (root / "broken").mkdir()
    (root / "broken" / runs.MANIFEST).write_text("{", encoding="utf-8")

    past = runs.history(root)

    assert past["out"].to_list() == [str(second), str(first)]
    newest = past.row(0, named=True)
    head = runs.headline(outcome.summary)
    assert (newest["source"], newest["label"], newest["families"], newest["as_of"]) == (
        str(small_drop), str(small_drop), "全部", date(2026, 3, 31))
    assert (newest["checks"], newest["findings"], newest["amount_fen"]) == (
        head["ran"], head["findings"], head["amount_fen"])
    assert past.row(1, named=True)["label"] == "三月数据"
    assert past.row(1, named=True)["families"] == "资金比对"

    table = runs.history_table(past, current=str(first))
    assert table.columns == ["当前显示", "完成时间", "数据来源", "检查基准日", "检查类别",
                             "检查项数", "线索数", "涉及金额（元）"]
    assert table["当前显示"].to_list() == ["", "✓"]
    assert table["完成时间"][1] == "2026-01-01 09:00"
    assert runs.history(tmp_path / "nowhere").height == 0


def test_a_run_asked_for_twice_while_running_is_one_job(small_drop, tmp_path):
    march = date(2026, 3, 31)
    first = runs.start_job(small_drop, march, root=tmp_path / "runs")
    # A spawned interpreter takes a second to start: the same run asked for again meanwhile.
    second = runs.start_job(small_drop, march, root=tmp_path / "runs")
    assert second is first and not first.done.is_set()
    assert runs.job(first.key) is first
    assert first.done.wait(120)
    assert first.error is None and first.out == Path(first.key)
    assert (first.message, first.fraction) == ("完成", 1.0)
    cli = tmp_path / "cli"
    pipeline.write_outputs(pipeline.run(small_drop), cli)
    for name in ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv"):
        assert (first.out / name).read_bytes() == (cli / name).read_bytes(), name
    # Finished, the same run may be asked for again: a new job.
    third = runs.start_job(small_drop, march, root=tmp_path / "runs")
    assert third is not first and third.done.wait(120) and third.error is None


def test_a_run_whose_drop_went_away_says_why(small_drop, tmp_path):
    (small_drop / "资金实发明细.csv").unlink()  # between the page's read and the run's
    job = runs.start_job(small_drop, date(2026, 3, 31), root=tmp_path / "runs")
    assert job.done.wait(120)
    assert job.out is None and job.error.startswith("检查未能完成，未写入任何结果：")
    assert "资金实发明细" in job.error
    assert not (tmp_path / "runs").exists()


def test_progress_is_clamped():
    job = runs.Job(key="k", source=Path("."))
    job.progress("x", 1.7)
    assert job.fraction == 1.0
    job.progress("x", -1)
    assert job.fraction == 0.0


def test_execute_reports_progress_then_the_folder(small_drop, tmp_path):
    messages = []
    runs.execute(small_drop, date(2026, 3, 31), None, tmp_path / "runs", "三月", messages.append)
    kinds = [m[0] for m in messages]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
    fractions = [m[2] for m in messages if m[0] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m[2] <= runs.READ_SHARE and "读取" in m[1] for m in messages[:-1])
    out = Path(messages[-1][1])
    assert json.loads((out / runs.MANIFEST).read_text(encoding="utf-8"))["label"] == "三月"


def test_an_unexpected_error_is_reported_without_the_values_it_names(small_drop, tmp_path,
                                                                      monkeypatch, caplog):
    secret = "310105199001011234"

    def broken(*args, **kwargs):
        raise ValueError(f"cannot cast {secret}")

    monkeypatch.setattr(runs.pipeline, "run_read", broken)
    messages = []
    with caplog.at_level(logging.ERROR, logger="analytics.runs"):
        runs.execute(small_drop, date(2026, 3, 31), None, tmp_path / "runs", None,
                     messages.append)
    kind, text = messages[-1]
    assert kind == "error" and "ValueError" in text and secret not in text
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "runs").exists()


def test_a_drop_that_cannot_be_judged_is_reported_as_such(small_drop, tmp_path, monkeypatch):
    from analytics.calendar import CalendarError

    def refuse(*args, **kwargs):
        raise CalendarError("缺少 2031 年的工作日历")

    monkeypatch.setattr(runs.pipeline, "run_read", refuse)
    messages = []
    runs.execute(small_drop, date(2026, 3, 31), None, tmp_path / "runs", None, messages.append)
    assert messages[-1] == ("error", "检查未能完成，未写入任何结果：缺少 2031 年的工作日历")
