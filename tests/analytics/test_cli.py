"""The aidwatch command end to end: generate, check, rerun byte for byte, bad drops."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from analytics.cli import main
from analytics.schema import FINDINGS_COLUMNS, INDICATORS_COLUMNS, REJECTS_COLUMNS
from checks.registry import ordered

OUTPUTS = ("findings.csv", "rejects.csv", "indicators.csv", "checks.csv")


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    drop = tmp_path_factory.mktemp("cli") / "drop"
    assert (
        main(["generate", "--out", str(drop), "--households", "400", "--seed", "3", "--quiet"]) == 0
    )
    return drop


def test_check_writes_the_contract_files_and_a_rerun_is_byte_identical(district, tmp_path, capsys):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["check", str(district), "--out", str(first), "--quiet"]) == 0
    summary = capsys.readouterr().out
    assert "检查基准日：2026-10-31" in summary and "发现线索" in summary
    assert main(["check", str(district), "--out", str(second), "--quiet"]) == 0
    for name in OUTPUTS:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert tuple(pl.read_csv(first / "findings.csv").columns) == FINDINGS_COLUMNS
    assert tuple(pl.read_csv(first / "rejects.csv").columns) == REJECTS_COLUMNS
    assert tuple(pl.read_csv(first / "indicators.csv").columns) == INDICATORS_COLUMNS
    findings = pl.read_csv(first / "findings.csv", infer_schema=False)
    assert findings.height > 0
    # Every check the generator planted fires (truth.csv lists the findings it must cause), and
    # every finding is of a registered check.
    planted = set(pl.read_csv(district / "truth.csv", infer_schema=False)["check_id"])
    fired = set(findings.get_column("check_id"))
    assert planted and planted <= fired <= {s.check_id for s in ordered()}


def test_only_runs_the_named_family_and_check(district, tmp_path):
    assert (
        main(
            [
                "check",
                str(district),
                "--out",
                str(tmp_path),
                "--quiet",
                "--only",
                "process,late_disbursement",
            ]
        )
        == 0
    )
    ids = set(pl.read_csv(tmp_path / "findings.csv").get_column("check_id"))
    assert ids == {"approval_overdue", "late_disbursement"}


def test_unknown_only_is_refused(district, tmp_path, capsys):
    assert main(["check", str(district), "--out", str(tmp_path / "o"), "--only", "nope"]) == 2
    assert "未知的检查项" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_as_of_moves_the_base_date(district, tmp_path, capsys):
    assert (
        main(["check", str(district), "--out", str(tmp_path), "--quiet", "--as-of", "2026-09-30"])
        == 0
    )
    assert "检查基准日：2026-09-30" in capsys.readouterr().out


def test_missing_required_table_stops_with_status_2_and_writes_nothing(district, tmp_path, capsys):
    drop = tmp_path / "drop"
    shutil.copytree(district, drop)
    (drop / "ledger.csv").unlink()
    out = tmp_path / "out"
    assert main(["check", str(drop), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "ledger" in err and "资金实发明细" in err
    assert not out.exists()


def test_strict_turns_a_reject_into_status_2(district, tmp_path, capsys):
    drop = tmp_path / "drop"
    shutil.copytree(district, drop)
    ledger = (drop / "ledger.csv").read_text(encoding="utf-8").splitlines()
    head, first = ledger[0].split(","), ledger[1].split(",")
    first[head.index("amount")] = "一千元"
    ledger[1] = ",".join(first)
    (drop / "ledger.csv").write_text("\n".join(ledger) + "\n", encoding="utf-8")

    lenient = tmp_path / "lenient"
    assert main(["check", str(drop), "--out", str(lenient), "--quiet"]) == 0
    rejects = pl.read_csv(lenient / "rejects.csv", infer_schema=False)
    assert rejects.rows() == [("ledger.csv", "2", "amount", "一千元", rejects["reason"][0])]

    strict = tmp_path / "strict"
    assert main(["check", str(drop), "--out", str(strict), "--strict", "--quiet"]) == 2
    assert "严格模式" in capsys.readouterr().err
    assert not (strict / "findings.csv").exists()


def test_bad_as_of_is_a_usage_error(district, tmp_path):
    with pytest.raises(SystemExit) as exc:
        main(["check", str(district), "--out", str(tmp_path), "--as-of", "2026-13-01"])
    assert exc.value.code == 2


@pytest.mark.parametrize("where", ["file", "under_file"])
def test_out_that_is_a_file_is_refused_before_the_run(district, tmp_path, capsys, where):
    blocker = tmp_path / "findings.txt"
    blocker.write_text("not a folder", encoding="utf-8")
    out = blocker if where == "file" else blocker / "run"
    assert main(["check", str(district), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "是一个文件，不是文件夹" in err and "Traceback" not in err
    assert blocker.read_text(encoding="utf-8") == "not a folder"


def test_out_that_cannot_be_written_is_refused_before_the_run(district, capsys):
    # /sys refuses new files even to root, as a read-only mount or a full disk would
    assert main(["check", str(district), "--out", "/sys/aidwatch-out", "--quiet"]) == 2
    assert "不可写" in capsys.readouterr().err


def test_output_closed_early_gives_no_traceback(district, tmp_path):
    import subprocess
    import sys

    script = (
        "import sys; from analytics.cli import main; "
        f"sys.exit(main(['check', {str(district)!r}, '--out', {str(tmp_path / 'o')!r},"
        " '--quiet']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[2],
    )
    proc.stdout.close()  # as `| head` does once it has what it wants
    with proc.stderr:
        err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0
    assert "BrokenPipeError" not in err and "Traceback" not in err


def test_check_runs_and_replay_are_recorded_in_the_workspace(district, tmp_path, capsys):
    ws = tmp_path / "ws"
    assert main(["import", str(district), "--workspace", str(ws), "--quiet"]) == 0
    assert "已导入工作区：快照" in capsys.readouterr().out
    assert (
        main(
            [
                "check",
                str(district),
                "--out",
                str(tmp_path / "o"),
                "--quiet",
                "--workspace",
                str(ws),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "已记入工作区（运行编号 2）" in out and "新线索" in out
    assert (
        main(
            [
                "check",
                str(district),
                "--out",
                str(tmp_path / "o2"),
                "--quiet",
                "--workspace",
                str(ws),
            ]
        )
        == 0
    )
    assert "新线索 0 条" in capsys.readouterr().out  # the same findings, seen again
    assert main(["replay", "2", "--workspace", str(ws), "--quiet"]) == 0
    assert "线索完全相同" in capsys.readouterr().out
    assert main(["runs", "--workspace", str(ws)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[1] for line in lines[1:]] == [
        "重放（重放第 2 次）",
        "检查",
        "检查",
        "导入",
    ]
    assert main(["replay", "1", "--workspace", str(ws)]) == 2
    assert "没有编号为 1 的检查运行" in capsys.readouterr().err
