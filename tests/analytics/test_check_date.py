"""A check date (--as-of, 检查基准日) before the drop's payment months is refused; one inside
them is said to look back, with what that means; the default needs nothing said."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics import pipeline, runs
from analytics.cli import main
from analytics.generate import MIN_HOUSEHOLDS, generate
from analytics.model import DropError
from analytics.reader import read_drop
from analytics.store import Workspace
from analytics.store.findings import runs_frame


@pytest.fixture(scope="module")
def district(tmp_path_factory) -> Path:
    """Six payment months, 2026-05 to 2026-10."""
    drop = tmp_path_factory.mktemp("as-of") / "drop"
    generate(drop, households=MIN_HOUSEHOLDS, seed=7)
    return drop


@pytest.fixture(scope="module")
def tables(district):
    return read_drop(district).tables


def test_payment_months_span_entitlements_and_ledger():
    tables = {
        "entitlements": pl.DataFrame({"month": ["2026-04", "2026-06"]}),
        "ledger": pl.DataFrame({"month": ["2026-03", "2026-05", None]}),
    }
    assert pipeline.payment_months(tables) == ("2026-03", "2026-06")
    assert pipeline.default_as_of(tables) == date(2026, 6, 30)
    assert (
        pipeline.payment_months(
            {"ledger": pl.DataFrame({"month": [None]}, schema={"month": pl.String})}
        )
        is None
    )


def test_the_default_date_needs_no_word(tables):
    assert pipeline.payment_months(tables) == ("2026-05", "2026-10")
    assert pipeline.as_of_note(tables, None) is None
    assert pipeline.as_of_note(tables, pipeline.default_as_of(tables)) is None


@pytest.mark.parametrize("as_of", [date(2026, 1, 1), date(2026, 4, 30), date(2025, 12, 31)])
def test_a_date_before_the_first_payment_month_is_refused(tables, as_of):
    note = pipeline.as_of_note(tables, as_of)
    assert note.level == "refuse"
    assert f"检查基准日 {as_of.isoformat()} 早于本批数据的第一个发放月份 2026-05" in note.message
    assert "请选择 2026-05-01 至 2026-10-31 之间的日期" in note.message
    assert "探访逾期" in note.message


@pytest.mark.parametrize("as_of", [date(2026, 5, 1), date(2026, 9, 30), date(2026, 10, 30)])
def test_a_date_inside_the_months_asks_for_the_users_word(tables, as_of):
    note = pipeline.as_of_note(tables, as_of)
    assert note.level == "confirm"
    assert "早于本批数据最后一个发放月份 2026-10 的月末 2026-10-31" in note.message
    assert "此日之后的探访、身故和备案不计入" in note.message
    assert "资金比对类检查也照样检查此日之后的发放" in note.message


def test_a_date_after_the_data_is_a_note(tables):
    note = pipeline.as_of_note(tables, date(2027, 1, 31))
    assert note.level == "note" and "晚于本批数据的截止日 2026-10-31" in note.message


def test_the_checks_leave_out_visits_after_the_date(district, tables):
    """What the look-back warning says: a visit after the check date does not count."""
    read = read_drop(district)
    visits = tables["visits"]
    september = pipeline.run_read(read, as_of=date(2026, 9, 30), only=["visit_overdue"])
    late = visits.filter(pl.col("visit_date") > date(2026, 9, 30))
    assert late.height > 0
    evidence = september.findings["evidence"].to_list()
    assert evidence and all('"as_of":"2026-09-30"' in e for e in evidence)
    assert not any(
        f'"last_visit":"{d:%Y-%m-%d}"' in e
        for e in evidence
        for d in late["visit_date"].unique().to_list()
    )


def test_cli_refuses_a_date_before_the_data_and_writes_nothing(district, tmp_path, capsys):
    out, ws = tmp_path / "out", tmp_path / "ws"
    code = main(
        [
            "check",
            str(district),
            "--out",
            str(out),
            "--as-of",
            "2026-01-01",
            "--quiet",
            "--workspace",
            str(ws),
        ]
    )
    captured = capsys.readouterr()
    assert code == 2 and not captured.out
    assert captured.err.startswith(
        "错误：检查基准日 2026-01-01 早于本批数据的第一个发放月份 2026-05"
    )
    assert "Traceback" not in captured.err
    assert not out.exists()
    workspace = Workspace.open(ws)
    try:
        assert runs_frame(workspace.store).height == 0  # not even a failed run
    finally:
        workspace.close()


def test_cli_runs_a_look_back_date_and_says_what_it_means(district, tmp_path, capsys):
    code = main(
        [
            "check",
            str(district),
            "--out",
            str(tmp_path / "out"),
            "--as-of",
            "2026-09-30",
            "--quiet",
            "--workspace",
            str(tmp_path / "ws"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0
    assert "检查基准日：2026-09-30" in captured.out
    assert captured.err.startswith("注意：检查基准日 2026-09-30 早于本批数据最后一个发放月份")
    assert "注意" not in captured.out


def test_cli_default_date_says_nothing_on_stderr(district, tmp_path, capsys):
    code = main(
        [
            "check",
            str(district),
            "--out",
            str(tmp_path / "out"),
            "--quiet",
            "--workspace",
            str(tmp_path / "ws"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0 and "检查基准日：2026-10-31" in captured.out
    assert "检查基准日" not in captured.err


def test_a_browser_run_with_a_date_before_the_data_is_refused(district, tmp_path):
    ws = Workspace.open(tmp_path / "ws")
    try:
        with pytest.raises(DropError, match="早于本批数据的第一个发放月份"):
            runs.run_and_write(ws, read_drop(district), district, as_of=date(2026, 1, 1))
        assert runs_frame(ws.store).height == 0
    finally:
        ws.close()
