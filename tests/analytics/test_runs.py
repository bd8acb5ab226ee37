"""Check runs started from the dashboard: through the workspace as ``aidwatch check`` goes, in a
process of their own, and listed from the workspace's run log."""

from __future__ import annotations

import logging
import os
import shutil
from datetime import UTC, date
from pathlib import Path

import polars as pl
import pytest

from analytics import cli, reader, runs, tracking
from analytics.store import Workspace
from analytics.store.findings import get_run, runs_frame, states_frame
from analytics.store.models import Snapshot

OUTPUTS = ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv")


@pytest.fixture
def ws(tmp_path, db_url, monkeypatch):
    """A workspace on each kind of database; AIDWATCH_DATABASE_URL as a server would have it,
    so the command line and the runs' own processes find the same database."""
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "ws"))
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace
    workspace.store.dispose()


@pytest.fixture
def sqlite_ws(tmp_path, monkeypatch):
    monkeypatch.delenv("AIDWATCH_DATABASE_URL", raising=False)
    monkeypatch.setenv("AIDWATCH_WORKSPACE", str(tmp_path / "ws"))
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace
    workspace.store.dispose()


def check_cli(drop: Path, out: Path, ws: Workspace, *extra: str) -> None:
    """``aidwatch check`` into ``ws``, through the test's own handle on it (closed at the end)."""
    original = cli._workspace
    cli._workspace = lambda args: ws if args.workspace == ws.root else original(args)
    try:
        assert (
            cli.main(
                [
                    "check",
                    str(drop),
                    "--out",
                    str(out),
                    "--workspace",
                    str(ws.root),
                    "--quiet",
                    *extra,
                ]
            )
            == 0
        )
    finally:
        cli._workspace = original


def test_a_browser_run_goes_through_the_workspace_as_the_command_line_does(
    ws, small_drop, tmp_path
):
    recorded = runs.run_and_write(ws, reader.read_drop(small_drop), small_drop, label="三月数据")

    assert recorded.out == ws.root / "runs" / f"{recorded.run_id:06d}"
    assert sorted(p.name for p in recorded.out.iterdir()) == sorted(OUTPUTS)
    run = get_run(ws.store, recorded.run_id)
    assert (run.kind, run.origin, run.by, run.status) == ("check", "browser", "浏览器用户", "ok")
    assert run.as_of == date(2026, 3, 31)  # the default check date: the latest month's end
    assert run.out_dir == recorded.out.name and run.findings == recorded.outcome.findings.height
    with ws.store.session() as s:
        assert s.get(Snapshot, recorded.snapshot_id).label == "三月数据"
    assert (ws.root / "snapshots" / recorded.snapshot_id / "manifest.json").is_file()
    # Its findings are in triage, new.
    states = states_frame(ws.store)
    assert recorded.outcome.findings.height > 0
    assert sorted(states["finding_id"]) == sorted(recorded.outcome.findings["finding_id"])
    assert set(states["state"]) == {"new"}

    # The same drop from the command line, in the same workspace: the same four files.
    check_cli(small_drop, tmp_path / "cli", ws)
    cli_run = runs_frame(ws.store).row(0, named=True)
    assert (cli_run["origin"], cli_run["kind"]) == ("cli", "check")
    for name in OUTPUTS:
        assert (recorded.out / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
        assert (ws.root / "runs" / cli_run["out_dir"] / name).read_bytes() == (
            tmp_path / "cli" / name
        ).read_bytes()
    assert states_frame(ws.store).height == states.height  # seen again, not new


def test_a_run_of_some_families_only_runs_those(sqlite_ws, small_drop):
    recorded = runs.run_and_write(
        sqlite_ws, reader.read_drop(small_drop), small_drop, only=["funds"]
    )
    assert set(recorded.outcome.summary["family"]) == {"funds"}
    assert set(pl.read_csv(recorded.out / "checks.csv")["family"]) == {"funds"}
    assert get_run(sqlite_ws.store, recorded.run_id).only == ["funds"]


def test_the_job_key_follows_the_workspace_the_files_the_date_and_the_checks(small_drop, tmp_path):
    ws = tmp_path / "ws"
    first = runs.job_key(small_drop, date(2026, 3, 31), None, ws)
    assert runs.job_key(small_drop, date(2026, 3, 31), None, ws) == first
    assert runs.job_key(small_drop, date(2026, 4, 30), None, ws) != first
    assert runs.job_key(small_drop, date(2026, 3, 31), ["funds"], ws) != first
    assert runs.job_key(small_drop, date(2026, 3, 31), None, tmp_path / "other") != first
    assert runs.job_key(small_drop, date(2026, 3, 31), ["funds", "process"], ws) == runs.job_key(
        small_drop, date(2026, 3, 31), ["process", "funds"], ws
    )

    ledger = small_drop / "资金实发明细.csv"
    stat = ledger.stat()
    os.utime(ledger, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert runs.job_key(small_drop, date(2026, 3, 31), None, ws) != first


def test_summary_table_orders_findings_then_clean_then_skipped():
    summary = pl.DataFrame(
        {
            "check_id": ["a", "b", "c", "d"],
            "title": ["甲", "乙", "丙", "丁"],
            "family": ["funds", "integrity", "funds", "dynamic"],
            "severity": ["高", "中", "低", "高"],
            "rows_examined": [10, 0, 10, 10],
            "findings": [0, 0, 2, 1],
            "amount_fen": [0, 0, 12345, 0],
            "skipped": [None, "缺少事件（events），本项未检查", None, None],
            "note": [None, None, "服务类救助的收款方未核对", None],
        }
    )
    table = runs.summary_table(summary)
    assert table.columns == [
        "检查项",
        "类别",
        "严重程度",
        "检查行数",
        "线索数",
        "涉及金额（元）",
        "未检查原因",
        "部分未检查说明",
    ]
    assert table["部分未检查说明"].to_list() == ["服务类救助的收款方未核对", "", "", ""]
    assert table["检查项"].to_list() == ["丙", "丁", "甲", "乙"]
    assert table["类别"].to_list() == ["资金比对", "动态管理", "资金比对", "廉洁风险"]
    assert table["涉及金额（元）"].to_list() == [123.45, 0.0, 0.0, 0.0]
    # 涉及金额 is that of the findings (analytics.amounts): a control total is not counted again
    findings = pl.DataFrame(
        {
            "check_id": ["c", "c", "d", "control_total_mismatch"],
            "txn_id": ["T1", "T2", None, None],
            "amount_fen": [12000, 345, None, 12345],
        }
    )
    assert runs.headline(summary, findings) == {
        "ran": 3,
        "skipped": 1,
        "findings": 3,
        "amount_fen": 12345,
    }


def test_history_lists_the_check_runs_of_the_run_log_newest_first(
    ws, small_drop, tmp_path, monkeypatch
):
    read = reader.read_drop(small_drop)
    check_cli(small_drop, tmp_path / "cli", ws, "--only", "funds")  # run 1
    browser = runs.run_and_write(ws, read, small_drop, label="三月数据")  # run 2
    replayed = tracking.replay(ws, browser.run_id, by="审计员")  # run 3
    tracking.import_drop(ws, small_drop, read, by="审计员", origin="cli")  # no check
    with monkeypatch.context() as patch, pytest.raises(ZeroDivisionError):
        patch.setattr(runs.pipeline, "run_read", lambda *a, **k: 1 / 0)
        runs.run_and_write(ws, read, small_drop)  # failed

    past = runs.history(ws)

    assert past["run_id"].to_list() == [replayed.replay_id, browser.run_id, 1]
    assert past["kind"].to_list() == ["replay", "check", "check"]
    assert past["origin"].to_list() == ["cli", "browser", "cli"]
    assert past["by"].to_list() == ["审计员", "浏览器用户", tracking.who()]
    assert past["scope"].to_list() == ["全部", "全部", "资金比对"]
    assert set(past["as_of"]) == {date(2026, 3, 31)} and past["out_exists"].all()
    head = runs.headline(browser.outcome.summary, browser.outcome.findings)
    row = past.row(1, named=True)
    assert (row["checks"], row["findings"], row["amount_fen"]) == (
        head["ran"],
        head["findings"],
        head["amount_fen"],
    )
    assert row["out"] == str(browser.out)
    # The CLI imported the drop first: its snapshot keeps the name it was given then.
    assert set(past["label"]) == {small_drop.name}
    assert set(past["source"]) == {str(small_drop.resolve())}

    shutil.rmtree(browser.out)  # an outputs folder someone removed
    past = runs.history(ws)
    assert past["out_exists"].to_list() == [True, False, True]

    table = runs.history_table(past, current=ws.root / "runs" / "000001")
    assert table.columns == [
        "当前显示",
        "编号",
        "完成时间",
        "操作人",
        "来源",
        "数据来源",
        "检查基准日",
        "检查范围",
        "检查项数",
        "线索数",
        "涉及金额（元）",
        "备注",
    ]
    assert table["当前显示"].to_list() == ["", "", "✓"]
    # The folder `check --out` wrote is a copy of run 1: shown, it marks run 1 as well
    # (the demo's pages show demo/out, the run log keeps workspace/runs/000001).
    assert runs.marked_run(tmp_path / "cli") == 1
    marked = runs.history_table(past, current=tmp_path / "cli")
    assert marked["当前显示"].to_list() == ["", "", "✓"]
    assert runs.history_table(past, current=tmp_path)["当前显示"].to_list() == ["", "", ""]
    # 数据来源 names the drop's folder; a viewer not shown the server's folders sees its name
    on_server = past.with_columns(pl.lit("/srv/drops/三月数据").alias("label"))
    assert runs.history_table(on_server)["数据来源"].to_list() == ["/srv/drops/三月数据"] * 3
    hidden = runs.history_table(on_server, paths=False)["数据来源"].to_list()
    assert hidden == ["三月数据"] * 3
    assert runs.history_table(past, paths=False)["数据来源"].to_list() == [small_drop.name] * 3
    assert table["来源"].to_list() == [f"命令行（重放第 {browser.run_id} 次）", "浏览器", "命令行"]
    assert table["备注"].to_list() == ["", "结果文件夹已不在工作区中", ""]
    assert table["检查基准日"].to_list() == ["2026-03-31"] * 3
    finished = get_run(ws.store, 1).finished_at
    local = finished.replace(tzinfo=UTC).astimezone()
    assert table["完成时间"][2] == local.strftime("%Y-%m-%d %H:%M")


def test_history_of_an_empty_workspace_is_empty(sqlite_ws):
    assert runs.history(sqlite_ws).height == 0
    assert runs.history_table(runs.history(sqlite_ws)).height == 0


def test_a_run_asked_for_twice_while_running_is_one_job(ws, small_drop, tmp_path):
    """In the run's own process, which finds the workspace's database (SQLite or PostgreSQL)
    as the server does."""
    march = date(2026, 3, 31)
    first = runs.start_job(small_drop, march, workspace=ws.root)
    # A spawned interpreter takes a second to start: the same run asked for again meanwhile.
    second = runs.start_job(small_drop, march, workspace=ws.root)
    assert second is first and not first.done.is_set()
    assert runs.job(first.key) is first
    assert first.done.wait(180)
    assert first.error is None, first.error
    assert first.out == ws.root / "runs" / f"{first.run_id:06d}"
    assert (first.message, first.fraction) == ("完成", 1.0)
    log = runs_frame(ws.store)
    assert log.select("id", "kind", "origin", "by", "status").rows() == [
        (first.run_id, "check", "browser", "浏览器用户", "ok")
    ]
    check_cli(small_drop, tmp_path / "cli", ws)
    for name in OUTPUTS:
        assert (first.out / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    findings = pl.read_csv(first.out / "findings.csv")
    assert states_frame(ws.store).height == findings.height > 0
    # Finished, the same run may be asked for again: a new job, a new run of the log.
    third = runs.start_job(small_drop, march, workspace=ws.root, by="督查员")
    assert third is not first and third.done.wait(180) and third.error is None
    assert third.run_id > first.run_id
    assert get_run(ws.store, third.run_id).by == "督查员"


def test_a_run_whose_drop_went_away_says_why(sqlite_ws, small_drop):
    (small_drop / "资金实发明细.csv").unlink()  # between the page's read and the run's
    job = runs.start_job(small_drop, date(2026, 3, 31), workspace=sqlite_ws.root)
    assert job.done.wait(180)
    assert job.out is None and job.error.startswith("检查未能完成，未写入任何结果：")
    assert "资金实发明细" in job.error
    assert list((sqlite_ws.root / "runs").iterdir()) == []
    assert runs_frame(sqlite_ws.store).height == 0


def test_progress_is_clamped():
    job = runs.Job(key="k", source=Path("."))
    job.progress("x", 1.7)
    assert job.fraction == 1.0
    job.progress("x", -1)
    assert job.fraction == 0.0


def test_execute_reports_progress_then_the_folder_and_the_run(sqlite_ws, small_drop):
    messages = []
    runs.execute(small_drop, date(2026, 3, 31), None, sqlite_ws.root, "三月", messages.append)
    kinds = [m[0] for m in messages]
    assert kinds[-1] == "done" and set(kinds[:-1]) == {"progress"}
    fractions = [m[2] for m in messages if m[0] == "progress"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m[2] <= runs.READ_SHARE and "读取" in m[1] for m in messages[:-1])
    assert [m[1] for m in messages if m[0] == "progress" and m[2] == 1.0] == ["完成"]
    _, out, run_id = messages[-1]
    assert Path(out) == sqlite_ws.root / "runs" / f"{run_id:06d}"
    assert runs.history(sqlite_ws)["label"].to_list() == ["三月"]


def test_an_unexpected_error_is_reported_without_the_values_it_names(
    sqlite_ws, small_drop, monkeypatch, caplog
):
    secret = "310105199001011234"

    def broken(*args, **kwargs):
        raise ValueError(f"cannot cast {secret}")

    monkeypatch.setattr(runs.pipeline, "run_read", broken)
    messages = []
    with caplog.at_level(logging.ERROR, logger="analytics.runs"):
        runs.execute(small_drop, date(2026, 3, 31), None, sqlite_ws.root, None, messages.append)
    kind, text = messages[-1]
    assert kind == "error" and "ValueError" in text and secret not in text
    assert caplog.records and all(secret not in r.getMessage() for r in caplog.records)
    assert list((sqlite_ws.root / "runs").iterdir()) == []
    # The run log says it failed, and how, by the kind of error only.
    log = runs_frame(sqlite_ws.store)
    assert log["status"].to_list() == ["failed"]
    assert get_run(sqlite_ws.store, log["id"][0]).error == "ValueError"
    assert runs.history(sqlite_ws).height == 0


def test_a_drop_that_cannot_be_judged_is_reported_as_such(sqlite_ws, small_drop, monkeypatch):
    from analytics.calendar import CalendarError

    def refuse(*args, **kwargs):
        raise CalendarError("缺少 2031 年的工作日历")

    monkeypatch.setattr(runs.pipeline, "run_read", refuse)
    messages = []
    runs.execute(small_drop, date(2026, 3, 31), None, sqlite_ws.root, None, messages.append)
    assert messages[-1] == ("error", "检查未能完成，未写入任何结果：缺少 2031 年的工作日历")


def test_a_database_that_cannot_be_reached_is_reported_without_its_address(
    small_drop, tmp_path, monkeypatch
):
    url = "postgresql+psycopg://auditor:s3cret@127.0.0.1:1/aidwatch?connect_timeout=2"
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", url)
    messages = []
    runs.execute(small_drop, date(2026, 3, 31), None, tmp_path / "ws", None, messages.append)
    kind, text = messages[-1]
    assert kind == "error" and text.startswith("无法读写工作区的数据库（")
    assert "s3cret" not in text and "127.0.0.1" not in text
    assert [m for m in messages if m[0] == "progress"] == []  # stopped before reading the drop
