"""Roles, deny by default, one scoping function; unmasking with a reason; what reaches the audit
log (moves, file audits, exports, settings changes), on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from datetime import date

import polars as pl
import pytest

from analytics import access
from analytics.access import AccessError, Viewer
from analytics.reference import PROJECT_ROOT
from analytics.store import audit
from analytics.store.db import open_store
from analytics.store.findings import apply_move, ingest, start_run
from analytics.views import findings as findings_view
from analytics.views import graph as graph_view
from analytics.workflow.triage import MoveInput

A, B = "华阳路街道", "新泾镇"
DISTRICT = Viewer(name="督查甲（d1）", role="discipline", account="d1")
STREET_A = Viewer(name="街镇乙（s1）", role="street", street=A, account="s1")
MEMBER = Viewer(name="成员丙", role="member_unit", unit="区住房保障局")


def test_roles_scope_rows_and_deny_by_default():
    rows = pl.DataFrame({"street": [A, B, None], "n": [1, 2, 3]})
    assert access.scope(rows, DISTRICT)["n"].to_list() == [1, 2, 3]
    assert access.scope(rows, STREET_A)["n"].to_list() == [1]  # no street: denied
    assert access.scope(rows, MEMBER).height == 0
    assert access.scope(rows, None).height == 0
    assert access.pages_for(MEMBER) == ["member_query"]
    assert "findings" in access.pages_for(STREET_A)
    assert "dishonesty" not in access.pages_for(STREET_A)
    assert not access.may_open(None, "overview") and not access.may(None, "unmask")
    assert not access.may_open(DISTRICT, "no_such_page")
    assert not access.may(DISTRICT, "no_such_action")
    with pytest.raises(ValueError):
        Viewer(name="x", role="street")  # a street user needs a street
    with pytest.raises(AccessError, match="其他街镇"):
        access.require_row(STREET_A, "triage", B)
    access.require_row(STREET_A, "triage", A)


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.dispose()


FINDING = {
    "finding_id": "F1",
    "street": A,
    "id_number": "310105198001011237",
    "account_no": "6222021234567891929",
    "check_id": "duplicate_payment",
}


def test_unmasking_needs_a_role_a_reason_and_is_logged_without_the_values(store):
    assert findings_view.unmaskable(FINDING, DISTRICT)
    assert not findings_view.unmaskable(FINDING, STREET_A)
    with pytest.raises(AccessError):
        findings_view.unmask(store, STREET_A, FINDING, "入户核实需要")
    with pytest.raises(ValueError, match="理由"):
        findings_view.unmask(store, DISTRICT, FINDING, " ")
    shown = findings_view.unmask(store, DISTRICT, FINDING, "入户核实需要核对身份证号")
    assert shown == {"身份证号": FINDING["id_number"], "银行账号": FINDING["account_no"]}
    log = audit.entries_frame(store, actions=["unmask"])
    assert log.select("actor", "role", "target").rows() == [(DISTRICT.name, "discipline", "F1")]
    dump = " ".join(str(v) for v in log.row(0))
    assert FINDING["id_number"] not in dump and FINDING["account_no"] not in dump
    assert "入户核实需要核对身份证号" in log["detail"][0]


def test_a_lookup_by_full_id_is_for_roles_that_may_and_is_logged_masked(store):
    with pytest.raises(AccessError):
        graph_view.log_lookup(store, MEMBER, "person", FINDING["id_number"])
    graph_view.log_lookup(store, DISTRICT, "person", FINDING["id_number"])
    log = audit.entries_frame(store, actions=["lookup_person"])
    assert log.height == 1 and FINDING["id_number"] not in log["target"][0]
    assert log["target"][0].startswith("310105") and audit.verify(store) == []


def test_state_changes_are_logged_by_whoever_made_them(store):
    run = start_run(store, kind="check", origin="test", by="测试")
    frame = pl.DataFrame(
        [
            dict(
                finding_id="F9",
                check_id="duplicate_payment",
                family="funds",
                severity="高",
                street=A,
                month="2026-03",
                case_id="C1",
                txn_id="T1",
                id_number=None,
                account_no=None,
                staff_id=None,
                item=None,
                amount_fen=100,
                summary="重复拨付",
                evidence="{}",
            )
        ]
    )
    ingest(
        store,
        run,
        frame,
        recipes={"duplicate_payment": "1:txn_id"},
        complete_checks=["duplicate_payment"],
        on_date=date(2026, 3, 31),
    )
    apply_move(
        store,
        "F9",
        "assign",
        MoveInput(assignee_street=A),
        by=DISTRICT.name,
        expected_version=1,
        today=date(2026, 4, 1),
        default_due=date(2026, 4, 15),
    )
    log = audit.entries_frame(store, actions=["state_change"])
    assert log.select("actor", "target").rows() == [(DISTRICT.name, "F9")]
    assert '"move": "assign"' in log["detail"][0]


def test_a_change_to_the_settings_or_to_what_is_logged_is_logged(store, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(PROJECT_ROOT / "data", data)
    monkeypatch.setenv("AIDWATCH_DATA_DIR", str(data))
    assert audit.note_settings(store, by="管理员")  # what is in force, first noted
    assert not audit.note_settings(store, by="管理员")  # unchanged: nothing more
    settings = data / "settings.toml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace(
            "lockout_failures = 5", "lockout_failures = 3"
        ),
        encoding="utf-8",
    )
    assert audit.note_settings(store, by="管理员")
    last = audit.entries_frame(store, actions=["settings_change"])
    assert last.height == 2 and '"changed": ["settings.toml"]' in last["detail"][0]
    monkeypatch.setitem(audit.ACTIONS, "new_action", "新的操作")  # what is logged changed
    assert audit.note_settings(store, by="管理员")
    assert (
        '"changed": ["audit_actions"]'
        in audit.entries_frame(store, actions=["settings_change"])["detail"][0]
    )
    assert audit.verify(store) == []
