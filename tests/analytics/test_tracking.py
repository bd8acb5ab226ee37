"""The workspace end to end: snapshots written whole, the run log, replay."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from analytics import pipeline, tracking
from analytics.reader import read_drop
from analytics.store import Workspace
from analytics.store.findings import get_run, runs_frame, states_frame

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path, db_url, monkeypatch):
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)
    workspace = Workspace.open(tmp_path / "ws")
    yield workspace
    workspace.store.dispose()


def test_a_check_run_is_logged_with_its_inputs_reference_data_and_counts(ws, small_drop):
    recorded = tracking.record_check(
        ws, small_drop, read_drop(small_drop), by="测试", origin="test"
    )
    log = runs_frame(ws.store)
    assert log["kind"].to_list() == ["check"] and log["status"].to_list() == ["ok"]
    row = get_run(ws.store, recorded.run_id)
    names = {f["name"] for f in row.input_files}
    assert names == {p.name for p in small_drop.iterdir()}
    assert all(len(f["sha256"]) == 64 for f in row.input_files)
    assert {"settings.toml", "catalogue.csv"} <= set(row.reference)
    assert row.as_of is not None and row.rows["persons"] == 2 and row.rejects == 1
    assert row.findings == recorded.outcome.findings.height
    assert sum(v["findings"] for v in row.checks.values()) == row.findings
    assert row.code_version
    assert sorted(p.name for p in recorded.out.iterdir()) == sorted(tracking.OUTPUTS)
    assert states_frame(ws.store).height == recorded.outcome.findings.height


def test_the_same_files_make_one_snapshot(ws, small_drop):
    read = read_drop(small_drop)
    first, _ = tracking.import_drop(ws, small_drop, read, by="测试", origin="test")
    second, _ = tracking.import_drop(ws, small_drop, read, by="测试", origin="test")
    assert first == second
    assert [p.name for p in (ws.root / "snapshots").iterdir()] == [first]
    assert runs_frame(ws.store)["kind"].to_list() == ["import", "import"]


def test_replay_reproduces_the_findings_and_says_when_an_input_changed(ws, small_drop):
    recorded = tracking.record_check(
        ws, small_drop, read_drop(small_drop), by="测试", origin="test"
    )
    same = tracking.replay(ws, recorded.run_id, by="测试")
    assert same.identical and same.differences == [] and same.changed_inputs == []
    # the drop's ledger is edited after the import: the replay still runs from the snapshot,
    # finds the same, and says the file changed
    ledger = small_drop / "资金实发明细.csv"
    ledger.write_bytes(
        ledger.read_bytes()
        + "T0002,2026-03,2026-03-10,华阳路街道,JZ01,低保金,C001,".encode("gb18030")
        + b"x\r\n"
    )
    again = tracking.replay(ws, recorded.run_id, by="测试")
    assert again.identical
    assert len(again.changed_inputs) == 1 and "资金实发明细.csv" in again.changed_inputs[0]
    log = runs_frame(ws.store)
    assert log.filter(pl.col("kind") == "replay")["replay_of"].to_list() == [recorded.run_id] * 2


def test_replay_says_when_findings_differ(ws, small_drop):
    recorded = tracking.record_check(
        ws, small_drop, read_drop(small_drop), by="测试", origin="test"
    )
    findings = recorded.out / "findings.csv"
    frame = pl.read_csv(findings, infer_schema=False)
    assert frame.height > 0
    frame.head(frame.height - 1).write_csv(findings)  # one finding lost from the record
    result = tracking.replay(ws, recorded.run_id, by="测试")
    assert not result.identical
    assert result.differences == ["重放有而原运行没有的线索 1 条"]


KILLED_IMPORT = r"""
import os, signal, sys
from pathlib import Path
import polars as pl
from analytics import tracking
from analytics.reader import read_drop
from analytics.store import Workspace

ws = Workspace.open(Path(sys.argv[1]))
read = read_drop(Path(sys.argv[2]))
original = pl.DataFrame.write_parquet
count = [0]

def dying(self, *args, **kwargs):
    count[0] += 1
    if count[0] == 3:  # halfway through the tables
        os.kill(os.getpid(), signal.SIGKILL)
    return original(self, *args, **kwargs)

pl.DataFrame.write_parquet = dying
tracking.import_drop(ws, Path(sys.argv[2]), read, by="test", origin="test")
"""


def test_an_import_killed_halfway_leaves_no_snapshot(tmp_path, small_drop, monkeypatch):
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", f"sqlite:///{tmp_path / 'ws.db'}")
    root = tmp_path / "ws"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_IMPORT, str(root), str(small_drop)],
        cwd=ROOT,
        env={**os.environ},
        capture_output=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL
    leftovers = list((root / "snapshots").iterdir())
    assert all(p.name.startswith(".partial-") for p in leftovers) and leftovers
    ws = Workspace.open(root)
    assert not [p for p in (root / "snapshots").iterdir() if (p / "manifest.json").exists()]
    # the next import clears the dead one's partial folder and writes its own whole
    sid, _ = tracking.import_drop(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
    assert [p.name for p in (root / "snapshots").iterdir()] == [sid]
    manifest = json.loads((root / "snapshots" / sid / "manifest.json").read_text())
    assert manifest["rows"]["persons"] == 2
    ws.store.dispose()


# --- the rectification indicators of a run in a workspace ---------------------------------------

RECTIFICATION = ("rectification_on_time_rate", "recurrence_rate")


def rectification(
    indicators: pl.DataFrame, street: str = "华阳路街道", period: str = "2026-03"
) -> dict[str, tuple]:
    rows = indicators.filter(
        (pl.col("street") == street)
        & (pl.col("period") == period)
        & pl.col("indicator").is_in(RECTIFICATION)
    )
    return {
        r["indicator"]: (r["numerator"], r["denominator"], r["value"])
        for r in rows.iter_rows(named=True)
    }


def rectify(ws, finding_id: str, done_on: date, due: date) -> None:
    from analytics.store.findings import apply_move
    from analytics.workflow.triage import MoveInput

    for move, given in (
        ("assign", MoveInput(assignee_street="华阳路街道", due_date=due)),
        ("confirm", MoveInput()),
        ("rectify", MoveInput(due_date=due)),
        ("rectified", MoveInput()),
    ):
        version = states_frame(ws.store).filter(pl.col("finding_id") == finding_id)["version"]
        apply_move(
            ws.store,
            finding_id,
            move,
            given,
            by="督查员",
            expected_version=version.item(),
            today=done_on,
        )


def test_a_run_in_a_workspace_has_the_rectification_indicators(ws, small_drop):
    outside = pipeline.run(small_drop).indicators
    assert set(rectification(outside).values()) == {(None, None, None)}  # no workspace: blank

    first = tracking.record_check(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
    counts = rectification(first.outcome.indicators)
    assert counts == {name: (0.0, 0.0, None) for name in RECTIFICATION}  # none yet, not unknown
    (finding,) = first.outcome.findings["finding_id"].to_list()
    rectify(ws, finding, done_on=date(2026, 3, 20), due=date(2026, 3, 25))

    # The next run counts it: rectified on time, not (yet) recurred.
    second = tracking.record_check(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
    assert rectification(second.outcome.indicators) == {
        "rectification_on_time_rate": (1.0, 1.0, 1.0),
        "recurrence_rate": (0.0, 1.0, 0.0),
    }
    # That run found it again: it recurred, and the run after says so.
    assert states_frame(ws.store)["state"].to_list() == ["recurred"]
    third = tracking.record_check(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
    assert rectification(third.outcome.indicators)["recurrence_rate"] == (1.0, 1.0, 1.0)

    # A replay computes them from the moves made before the run it replays: the same file.
    replayed = tracking.replay(ws, second.run_id, by="测试")
    assert replayed.identical
    replay_out = ws.root / "runs" / f"{replayed.replay_id:06d}"
    assert (replay_out / "indicators.csv").read_bytes() == (
        second.out / "indicators.csv"
    ).read_bytes()
    again = tracking.replay(ws, replayed.replay_id, by="测试")  # a replay of the replay, too
    assert (ws.root / "runs" / f"{again.replay_id:06d}" / "indicators.csv").read_bytes() == (
        second.out / "indicators.csv"
    ).read_bytes()


def test_a_replay_runs_from_the_snapshot_it_replays(ws, small_drop):
    recorded = tracking.record_check(
        ws, small_drop, read_drop(small_drop), by="测试", origin="test"
    )
    result = tracking.replay(ws, recorded.run_id, by="测试")
    replay_run = get_run(ws.store, result.replay_id)
    assert replay_run.snapshot_id == recorded.snapshot_id
    assert replay_run.input_files == get_run(ws.store, recorded.run_id).input_files
    assert [p.name for p in (ws.root / "snapshots").iterdir()] == [recorded.snapshot_id]
    assert replay_run.kind == "replay" and replay_run.replay_of == recorded.run_id


def test_progress_of_a_recorded_run_ends_once(ws, small_drop):
    seen = []
    tracking.record_check(
        ws,
        small_drop,
        read_drop(small_drop),
        by="测试",
        origin="test",
        progress=lambda m, f: seen.append((m, f)),
    )
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and seen[0] == ("保存数据快照", 0.0)
    assert [m for m, f in seen if f >= 1.0] == ["完成"]
    assert ("记入线索台账", 0.9) in seen


# --- the check reads the workspace's 失信名单 ------------------------------------------------


def publish_applicant(ws, id_number: str | None = None) -> int:
    """A record for the small drop's applicant (or ``id_number``), published on 20 January 2026
    for six months: the case approved on 10 February falls inside it."""
    from analytics.store import dishonesty as stored
    from analytics.workflow.dishonesty import Given
    from tests.conftest import APPLICANT

    rid = stored.create_record(
        ws.store,
        by="联席办",
        today=date(2026, 1, 5),
        id_number=id_number or APPLICANT,
        name="李明",
        conduct="隐瞒",
        description="隐瞒就业收入",
        severity="一般",
        basis="《上海市社会救助条例》第五十七条",
        street="华阳路街道",
    )
    for move, today, given in (
        ("notify", date(2026, 1, 5), Given(notified_on=date(2026, 1, 5), notify_method="直接送达")),
        (
            "publish",
            date(2026, 1, 20),
            Given(decision_no="长民失〔2026〕1号", decision_date=date(2026, 1, 20), term_months=6),
        ),
    ):
        move_record(ws, rid, move, today, given)
    return rid


def move_record(ws, rid: int, move: str, today: date, given) -> None:
    from analytics.calendar import WorkdayCalendar
    from analytics.reference import load_settings
    from analytics.store import dishonesty as stored
    from analytics.workflow import dishonesty as rules

    version = stored.records_frame(ws.store).filter(pl.col("record_id") == rid)["version"]
    stored.apply(
        ws.store,
        rid,
        move,
        given,
        by="联席办",
        expected_version=version.item(),
        today=today,
        calendar=WorkdayCalendar.load(),
        settings=rules.rules_from(load_settings().dishonesty),
    )


def blacklisted(findings: pl.DataFrame) -> list[str]:
    return findings.filter(pl.col("check_id") == "blacklisted_recipient")["case_id"].to_list()


def dishonesty_counts(indicators: pl.DataFrame, period: str = "2026") -> dict:
    rows = indicators.filter(
        (pl.col("street") == "华阳路街道")
        & (pl.col("period") == period)
        & pl.col("indicator").str.starts_with("dishonesty_")
    )
    return dict(zip(rows["indicator"], rows["numerator"], strict=True))


def test_a_published_record_flags_approvals_in_a_workspace_run_and_replays_as_it_was(
    ws, small_drop
):
    from analytics.workflow.dishonesty import Given

    rid = publish_applicant(ws)
    outside = pipeline.run(small_drop)
    assert blacklisted(outside.findings) == []  # no workspace: the drop alone, unchanged
    assert set(dishonesty_counts(outside.indicators).values()) == {None}

    first = tracking.record_check(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
    assert blacklisted(first.outcome.findings) == ["C001"]
    assert dishonesty_counts(first.outcome.indicators) == {
        "dishonesty_proposed": 1.0,
        "dishonesty_published": 1.0,
        "dishonesty_repaired": 0.0,
    }
    # the snapshot keeps the drop as it was: the list is the workspace's, read by each run
    assert "dishonesty" not in ws.load_snapshot(first.snapshot_id).tables

    # repaired after that run: the next run no longer flags it and counts the repair
    move_record(
        ws,
        rid,
        "repair",
        date(2026, 3, 20),
        Given(
            reason="已签署信用承诺", returned_on=date(2026, 3, 18), commitment_on=date(2026, 3, 19)
        ),
    )
    second = tracking.record_check(ws, small_drop, read_drop(small_drop), by="测试", origin="test")
    assert blacklisted(second.outcome.findings) == []
    assert dishonesty_counts(second.outcome.indicators)["dishonesty_repaired"] == 1.0

    # a replay of the first run reads the list as it was then: the same files
    replayed = tracking.replay(ws, first.run_id, by="测试")
    assert replayed.identical
    out = ws.root / "runs" / f"{replayed.replay_id:06d}"
    for name in ("findings.csv", "indicators.csv"):
        assert (out / name).read_bytes() == (first.out / name).read_bytes()
    assert tracking.replay(ws, second.run_id, by="测试").identical


def test_the_list_as_it_was_matches_the_list_as_it_is(ws):
    """dishonesty_facts before a time after every move reads what the store reads now."""
    from datetime import datetime, timedelta

    from analytics.workflow.dishonesty import Given
    from tests.conftest import SPOUSE

    publish_applicant(ws)
    other = publish_applicant(ws, SPOUSE)
    move_record(
        ws, other, "object", date(2026, 2, 2), Given(raised_on=date(2026, 2, 2), reason="已退款")
    )
    now = tracking.dishonesty_facts(ws)
    later = tracking.dishonesty_facts(ws, datetime.now() + timedelta(days=1))
    assert now[0].equals(later[0]) and now[1].equals(later[1])
    assert now[0].height == 2
    earlier = tracking.dishonesty_facts(ws, datetime(2000, 1, 1))
    assert earlier[0].height == 0 and earlier[1].height == 0
