"""Every registered check: documented, uniquely named, tested, and shaped right on empty input."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from analytics.minidrop import mini_drop
from analytics.schema import FINDINGS_COLUMNS, FINDINGS_SCHEMA, TABLES
from checks.engine import run_checks, shape_findings
from checks.registry import FAMILIES, REGISTRY, check, ordered, select

SPECS = ordered()
TEST_TEXT = "\n".join(p.read_text(encoding="utf-8")
                      for p in Path(__file__).resolve().parent.parent.rglob("test_*.py")
                      if p.name != "test_registry.py")


def empty_drop():
    return mini_drop(**{name: [] for name in TABLES})


def test_every_contract_check_is_registered():
    contract = Path(__file__).resolve().parents[3] / "shared" / "contract.md"
    if not contract.exists():
        pytest.skip("the shared contract is not beside this checkout")
    section5 = contract.read_text("utf-8").split("## 5.")[1]
    ids = set(re.findall(r"^\| ([a-z_]+) \| ", section5, re.M))
    ids.discard("check_id")
    assert len(ids) == 26
    assert {s.check_id for s in SPECS} == ids
    per_family = {f: sum(s.family == f for s in SPECS) for f in FAMILIES}
    assert per_family == {"funds": 11, "integrity": 9, "dynamic": 5, "process": 1}


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


def test_select_by_family_and_id():
    assert {s.family for s in select(["funds"])} == {"funds"}
    assert [s.check_id for s in select(["late_disbursement"])] == ["late_disbursement"]
    with pytest.raises(ValueError, match="未知"):
        select(["no_such_check"])
