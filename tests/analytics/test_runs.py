"""Check runs started from the dashboard: their folders, their outputs and their summary."""

from __future__ import annotations

import os
from datetime import date

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
        "amount_fen": [0, 0, 12345, 0], "skipped": [None, "缺少事件（events），本项未检查", None, None],
    })
    table = runs.summary_table(summary)
    assert table.columns == ["检查项", "类别", "严重程度", "检查行数", "线索数", "涉及金额（元）",
                             "未检查原因"]
    assert table["检查项"].to_list() == ["丙", "丁", "甲", "乙"]
    assert table["类别"].to_list() == ["资金比对", "动态管理", "资金比对", "廉洁风险"]
    assert table["涉及金额（元）"].to_list() == [123.45, 0.0, 0.0, 0.0]
    assert runs.headline(summary) == {"ran": 3, "skipped": 1, "findings": 3, "amount_fen": 12345}
