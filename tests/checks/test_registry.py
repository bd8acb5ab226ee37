"""Every registered check: documented, uniquely named, tested, and shaped right on empty input."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from analytics.minidrop import mini_drop
from analytics.schema import FINDINGS_COLUMNS, FINDINGS_SCHEMA, TABLES
from checks.engine import SUMMARY_SCHEMA, run_checks, shape_findings
from checks.registry import FAMILIES, REGISTRY, CheckSpec, check, ordered, select

SPECS = ordered()
TEST_TEXT = "\n".join(
    p.read_text(encoding="utf-8")
    for p in Path(__file__).resolve().parent.parent.rglob("test_*.py")
    if p.name != "test_registry.py"
)


def empty_drop():
    return mini_drop(**{name: [] for name in TABLES})


def test_every_contract_check_is_registered():
    contract = Path(__file__).resolve().parents[3] / "shared" / "contract.md"
    if not contract.exists():
        pytest.skip("the shared contract is not beside this checkout")
    section5 = contract.read_text("utf-8").split("## 5.")[1].split("\n## ")[0]
    # The table lists the checks under one bold row per family ("| **Funds: ...").
    per_family: dict[str, set[str]] = {}
    family = None
    for line in section5.splitlines():
        heading = re.match(r"^\| \*\*([A-Za-z]+)", line)
        if heading:
            family = heading.group(1).lower()
            continue
        row = re.match(r"^\| ([a-z_]+) \| ", line)
        if row and row.group(1) != "check_id":
            assert family in FAMILIES, line
            per_family.setdefault(family, set()).add(row.group(1))
    assert per_family == {f: {s.check_id for s in SPECS if s.family == f} for f in FAMILIES}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.check_id)
def test_check_is_documented_and_tested(spec):
    assert spec.description and len(spec.description) > 10
    assert spec.family in FAMILIES
    assert spec.title
    assert re.search(rf"\b{spec.check_id}\b", TEST_TEXT), f"no test names {spec.check_id}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.check_id)
def test_empty_input_gives_the_findings_schema(spec):
    shaped = shape_findings(spec, spec.fn(empty_drop()).collect())
    assert shaped.height == 0
    assert shaped.select(FINDINGS_COLUMNS).schema == pl.Schema(FINDINGS_SCHEMA)


def test_duplicate_check_id_fails_at_import():
    existing = SPECS[0]
    with pytest.raises(ValueError, match="registered twice"):

        def _dup(drop):
            """重复。"""

        _dup.__name__ = existing.check_id
        check(title="x", family="funds", severity="高", keys=("txn_id",), needs=("ledger",))(_dup)
    assert REGISTRY[existing.check_id] is existing


def test_missing_table_is_skipped_with_a_reason():
    d = mini_drop()  # required tables only, all empty; no optional ones
    summary = run_checks(d, only=["paid_after_death"]).summary
    assert summary.get_column("skipped")[0] == "缺少部门共享信息（events），本项未检查"


def test_summary_has_a_note_column_for_checks_that_ran_on_part_of_their_rule():
    summary = run_checks(mini_drop()).summary
    assert summary.schema == pl.Schema(SUMMARY_SCHEMA)
    noted = summary.filter(pl.col("note").is_not_null())
    # No providers table: out_of_scope_spending ran without its provider clause.
    assert noted["check_id"].to_list() == ["out_of_scope_spending"]
    assert noted["skipped"].to_list() == [None]
    # A skipped check says why in ``skipped``, never in ``note``.
    assert (
        summary.filter(pl.col("skipped").is_not_null())["note"].null_count()
        == summary["skipped"].is_not_null().sum()
    )


def test_summary_round_trips_through_checks_csv_and_older_files_read_without_note(tmp_path):
    from analytics.results import load_check_summary

    summary = run_checks(mini_drop()).summary
    summary.write_csv(tmp_path / "checks.csv")
    assert load_check_summary(tmp_path).equals(summary)
    summary.drop("note").write_csv(tmp_path / "checks.csv")  # written before the column existed
    older = load_check_summary(tmp_path)
    assert older.schema == pl.Schema(SUMMARY_SCHEMA)
    assert older["note"].null_count() == older.height
    assert older.drop("note").equals(summary.drop("note"))


def test_partial_reason_joins_table_notes_and_the_note_function():
    def fn(drop):
        return pl.LazyFrame()

    spec = CheckSpec(
        "x",
        "x",
        "funds",
        "高",
        ("txn_id",),
        ("ledger",),
        "规则。",
        fn,
        partial=(("providers", "甲未核对"), ("events", "乙未核对")),
        note_fn=lambda d: "丙未判断" if d.as_of.month == 3 else None,
    )
    assert spec.partial_reason(mini_drop()) == "甲未核对；乙未核对；丙未判断"
    assert spec.partial_reason(mini_drop(as_of="2026-04-30", providers=[], events=[])) is None
    assert spec.partial_reason(mini_drop(as_of="2026-04-30", providers=[])) == "乙未核对"
    plain = CheckSpec("y", "y", "funds", "高", ("txn_id",), ("ledger",), "规则。", fn)
    assert plain.partial_reason(mini_drop()) is None


@pytest.mark.parametrize(
    "partial",
    [{"ledger": "必需表"}, {"providers": "x", "nothing": "y"}, {"events": "已在 needs 中"}],
)
def test_partial_names_optional_tables_outside_needs(partial):
    def _never(drop):
        """从不注册。"""

    with pytest.raises(ValueError, match="partial"):
        check(
            title="x",
            family="funds",
            severity="高",
            keys=("txn_id",),
            needs=("ledger", "events"),
            partial=partial,
        )(_never)
    assert "_never" not in REGISTRY


def test_select_by_family_and_id():
    assert {s.family for s in select(["funds"])} == {"funds"}
    assert [s.check_id for s in select(["late_disbursement"])] == ["late_disbursement"]
    with pytest.raises(ValueError, match="未知"):
        select(["no_such_check"])
