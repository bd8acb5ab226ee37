"""The hash-chained audit log on SQLite and PostgreSQL: appends, masking, tampering found and
named, the PostgreSQL trigger, concurrent appends, ``aidwatch audit``."""

from __future__ import annotations

import argparse
import itertools
import json
import threading
from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DBAPIError

from analytics import audit_cli
from analytics import cli as aidwatch_cli
from analytics.masking import mask_account, mask_id, mask_phone
from analytics.store import audit
from analytics.store.audit import GENESIS, Problem, entry_hash
from analytics.store.db import Store, make_engine, open_store
from analytics.store.models import AuditEntry
from tests.conftest import APPLICANT

ACCOUNT_19 = "6217009988776655443"
PHONE = "13987654321"
DIGEST = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
FINDING = "F0123456789abcdef"


@pytest.fixture
def store(db_url):
    opened = open_store(db_url)
    yield opened
    opened.dispose()


def _fill(store: Store, n: int = 5) -> list[int]:
    return [
        audit.record(
            store,
            actor=f"user{i}",
            role="discipline",
            action="export",
            target=f"线索 F00{i}",
            detail={"n": i, "note": f"第{i}次导出"},
        )
        for i in range(1, n + 1)
    ]


def _tamper(store: Store, sql: str, **params) -> None:
    """Raw SQL on the table from a connection of its own, as the database's superuser would;
    on PostgreSQL the append-only trigger is switched off for this transaction only."""
    engine = create_engine(store.engine.url)
    try:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _json_param(store: Store) -> str:
    return "CAST(:detail AS json)" if store.dialect == "postgresql" else ":detail"


def _row(store: Store, row_id: int):
    with store.engine.connect() as conn:
        return conn.execute(select(AuditEntry.__table__).where(AuditEntry.id == row_id)).one()


def _insert_forged(store: Store, row_id: int, prev_hash: str, actor: str = "mallory") -> None:
    """A row with a correctly computed hash over ``prev_hash``, written behind the log's back."""
    at = datetime(2026, 3, 5, 9, 30, 0, 123456)
    detail = {"note": "伪造"}
    digest = entry_hash(prev_hash, at, actor, "admin", "export", None, detail)
    _tamper(
        store,
        "INSERT INTO audit_log (id, at, actor, role, action, target, detail, "
        f"prev_hash, hash) VALUES (:id, :at, :actor, 'admin', 'export', NULL, "
        f"{_json_param(store)}, :prev, :hash)",
        id=row_id,
        at=at,
        actor=actor,
        detail=json.dumps(detail, ensure_ascii=False),
        prev=prev_hash,
        hash=digest,
    )


# --- appending --------------------------------------------------------------------------------


def test_rows_are_chained_and_verify_finds_an_intact_log(store):
    assert audit.verify(store) == []
    assert audit.head(store) is None
    ids = _fill(store, 3)
    ids.append(
        audit.record(
            store,
            actor="王芳",
            action="state_change",
            target=FINDING,
            at=datetime(2026, 3, 5, 8, 0, tzinfo=UTC),
            detail={"on": date(2026, 3, 5), "pair": (1, 2), "金额": 1550.5},
        )
    )
    assert ids == [1, 2, 3, 4]
    with store.engine.connect() as conn:
        rows = conn.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)).all()
    assert rows[0].prev_hash == GENESIS
    for before, row in itertools.pairwise(rows):
        assert row.prev_hash == before.hash
    for row in rows:
        assert row.hash == entry_hash(
            row.prev_hash, row.at, row.actor, row.role, row.action, row.target, row.detail
        )
    assert rows[3].at == datetime(2026, 3, 5, 8, 0)  # naive UTC
    assert rows[3].detail == {"on": "2026-03-05", "pair": [1, 2], "金额": 1550.5}
    assert audit.verify(store) == []
    assert audit.head(store) == (4, rows[3].hash)
    assert audit.count(store) == 4


def test_an_unknown_action_is_refused(store):
    with pytest.raises(ValueError, match="未知的审计操作"):
        audit.record(store, actor="a", action="coffee")
    assert audit.count(store) == 0


def test_entries_frame_newest_first_and_filtered(store):
    _fill(store, 3)
    audit.record(
        store,
        actor="李明",
        role="street",
        action="login",
        target="李明",
        at=datetime(2020, 1, 2, 3, 4, 5),
    )
    frame = audit.entries_frame(store)
    assert frame["id"].to_list() == [4, 3, 2, 1]
    assert frame.columns == list(audit.ENTRIES_SCHEMA)
    assert frame.row(0, named=True)["action_label"] == "登录"
    assert json.loads(frame.row(1, named=True)["detail"]) == {"n": 3, "note": "第3次导出"}
    assert audit.entries_frame(store, actions=["login"])["id"].to_list() == [4]
    assert audit.entries_frame(store, actor="user2")["id"].to_list() == [2]
    assert audit.entries_frame(store, limit=2)["id"].to_list() == [4, 3]
    assert audit.entries_frame(store, until=date(2020, 1, 2))["id"].to_list() == [4]
    assert audit.entries_frame(store, since=date(2020, 1, 3))["id"].to_list() == [3, 2, 1]


# --- masking ----------------------------------------------------------------------------------


def test_identifiers_are_masked_in_what_is_stored(store):
    detail = {
        "query": f"按身份证{APPLICANT}查询",
        "accounts": [ACCOUNT_19],
        "contact": {"phone": PHONE, APPLICANT: "作为键"},
        "snapshot": DIGEST,
        "finding": FINDING,
        "file": "资金实发明细_20260305.csv",
        "fen": 1234567890,
    }
    audit.record(
        store, actor="纪检", action="lookup_person", target=f"{APPLICANT}/{PHONE}", detail=detail
    )
    audit.record(
        store,
        actor=PHONE,
        action="login_failed",
        target=PHONE,  # typed as user name
        detail={"reason": "unknown_user"},
    )
    with store.engine.connect() as conn:
        dump = " ".join(
            str(v)
            for row in conn.execute(
                text(
                    "SELECT id, at, actor, role, action, target, CAST(detail AS TEXT), prev_hash, "
                    "hash FROM audit_log"
                )
            )
            for v in row
        )
    for secret in (APPLICANT, APPLICANT[6:14], ACCOUNT_19, ACCOUNT_19[4:15], PHONE, PHONE[3:7]):
        assert secret not in dump
    row = _row(store, 1)
    assert row.target == f"{mask_id(APPLICANT)}/{mask_phone(PHONE)}"
    assert row.detail["query"] == f"按身份证{mask_id(APPLICANT)}查询"
    assert row.detail["accounts"] == [mask_account(ACCOUNT_19)]
    assert row.detail["contact"] == {"phone": mask_phone(PHONE), mask_id(APPLICANT): "作为键"}
    # record ids, digests and dates name no one and are kept; numbers that are not text too
    assert (row.detail["snapshot"], row.detail["finding"]) == (DIGEST, FINDING)
    assert row.detail["file"] == "资金实发明细_20260305.csv"
    assert row.detail["fen"] == 1234567890
    assert _row(store, 2).actor == mask_phone(PHONE)
    assert audit.verify(store) == []


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("310105198001011234", "310105********1234"),
        ("31010519800101123X", "310105********123X"),
        ("身份证：310105 19800101 123x。", "身份证：310105********123x。"),
        ("310105800101123", "310105*****1123"),
        ("电话138-1234-5678", "电话138****5678"),
        ("１３８１２３４５６７８", "１３８****５６７８"),
        ("卡号 6222 0212 3456 1929 已冻结", "卡号 6222 **** **** 1929 已冻结"),
        ("acct6222021234561929", "acct6222 **** **** 1929"),
        ("123456789012", "1234 **** 9012"),
        ("编号0123456789", "编号012****6789"),
        ("座机12345678，日期20260305", "座机********，日期20260305"),
        ("1234567 与 123456", "******* 与 123456"),
        (f"快照 {DIGEST}", f"快照 {DIGEST}"),
        (f"线索{FINDING}", f"线索{FINDING}"),
        ("abc13812345678", "abc138****5678"),
        ("2026-03-05 金额 1550.00", "2026-03-05 金额 1550.00"),
    ],
)
def test_mask_text(raw, masked):
    assert audit.mask_text(raw) == masked


def test_mask_detail_is_recursive():
    assert audit.mask_detail({"a": [PHONE, {"b": (PHONE, 1)}], PHONE: None, "n": 13987654321}) == {
        "a": ["139****4321", {"b": ["139****4321", 1]}],
        "139****4321": None,
        "n": 13987654321,
    }


# --- tampering --------------------------------------------------------------------------------


def test_an_edited_row_is_named(store):
    _fill(store)
    raw = json.dumps(_row(store, 3).detail, ensure_ascii=False)
    changed = raw.replace("3", "4", 1)  # one character of the detail
    assert changed != raw
    _tamper(
        store, f"UPDATE audit_log SET detail = {_json_param(store)} WHERE id = 3", detail=changed
    )
    _tamper(store, "UPDATE audit_log SET actor = 'user6' WHERE id = 5")
    assert audit.verify(store) == [
        Problem(3, "edited", "第 3 条记录的内容被修改（哈希不符）"),
        Problem(5, "edited", "第 5 条记录的内容被修改（哈希不符）"),
    ]


def test_a_deleted_row_is_named_by_the_row_after_it(store):
    _fill(store)
    _tamper(store, "DELETE FROM audit_log WHERE id = 3")
    problems = audit.verify(store)
    assert [(p.row_id, p.kind) for p in problems] == [(4, "deleted")]
    assert problems[0].message.startswith("第 4 条记录之前有记录被删除（前一条哈希不符）")
    _tamper(store, "DELETE FROM audit_log WHERE id = 1")
    assert [(p.row_id, p.kind) for p in audit.verify(store)] == [(2, "deleted"), (4, "deleted")]


def test_an_inserted_row_is_named(store):
    _fill(store)
    _insert_forged(store, 6, _row(store, 2).hash)  # at the end, chained on row 2
    problems = audit.verify(store)
    assert [(p.row_id, p.kind) for p in problems] == [(6, "inserted")]
    assert problems[0].message == "第 6 条记录是插入的（它与第 3 条记录都声称接在第 2 条记录之后）"
    _insert_forged(store, 0, GENESIS, actor="eve")  # before the first row, as a first row
    assert [(p.row_id, p.kind) for p in audit.verify(store)] == [(0, "inserted"), (6, "inserted")]


def test_postgresql_refuses_update_delete_and_truncate(store):
    if store.dialect != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    _fill(store, 3)
    before = _row(store, 2)
    for statement in (
        "UPDATE audit_log SET actor = 'x' WHERE id = 2",
        "DELETE FROM audit_log WHERE id = 2",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(statement))
    with pytest.raises(DBAPIError, match="append-only"), store.session() as s:
        s.get(AuditEntry, 2).actor = "x"
    assert _row(store, 2) == before
    assert audit.count(store) == 3
    assert audit.verify(store) == []


# --- the classification, without a database --------------------------------------------------


def _chain(n: int) -> list[SimpleNamespace]:
    rows, prev = [], GENESIS
    for i in range(1, n + 1):
        row = SimpleNamespace(
            id=i,
            at=datetime(2026, 1, 1, 0, 0, i),
            actor=f"u{i}",
            role=None,
            action="run",
            target=None,
            detail={"i": i},
            prev_hash=prev,
        )
        row.hash = prev = entry_hash(
            row.prev_hash, row.at, row.actor, row.role, row.action, row.target, row.detail
        )
        rows.append(row)
    return rows


def _forge(row_id: int, prev_hash: str) -> SimpleNamespace:
    row = SimpleNamespace(
        id=row_id,
        at=datetime(2026, 2, 1),
        actor="x",
        role=None,
        action="run",
        target=None,
        detail={},
        prev_hash=prev_hash,
    )
    row.hash = entry_hash(prev_hash, row.at, row.actor, None, "run", None, {})
    return row


def _kinds(rows) -> list[tuple[int, str]]:
    rows = sorted(rows, key=lambda r: r.id)
    return [(p.row_id, p.kind) for p in audit._classify([audit._row_of(r) for r in rows])]


def test_classification():
    assert _kinds(_chain(6)) == []
    assert _kinds([]) == []

    rows = _chain(6)
    rows[2].hash = rows[2].hash[:-1] + ("0" if rows[2].hash[-1] != "0" else "1")
    assert _kinds(rows) == [(3, "edited")]  # its hash field: that row only

    rows = _chain(6)
    rows[2].prev_hash = "f" + rows[2].prev_hash[1:]
    assert _kinds(rows) == [(3, "edited")]  # its prev_hash field: that row only

    rows = _chain(6)
    rows[0].actor = "someone else"
    assert _kinds(rows) == [(1, "edited")]

    rows = _chain(6)
    assert _kinds(rows[:5]) == []  # the last row: not visible
    assert _kinds(rows[:2] + rows[4:]) == [(5, "deleted")]  # two rows in the middle
    assert _kinds(rows[2:]) == [(3, "deleted")]  # the first two

    rows = _chain(6)  # a row rewritten whole: the next one is named, both told
    forged = _forge(3, rows[1].hash)
    problems = audit._classify([audit._row_of(r) for r in rows[:2] + [forged] + rows[3:]])
    assert [(p.row_id, p.kind) for p in problems] == [(4, "deleted")]
    assert "也可能是第 3 条记录被整条改写" in problems[0].message

    rows = _chain(6)
    assert _kinds(rows + [_forge(7, rows[4].hash)]) == [(7, "inserted")]  # beside the last
    assert _kinds(rows + [_forge(7, rows[2].prev_hash)]) == [(7, "inserted")]  # copied prev
    assert _kinds(rows + [_forge(7, GENESIS)]) == [(7, "inserted")]
    gap = rows[:3] + [SimpleNamespace(**{**vars(r), "id": r.id + 1}) for r in rows[3:]]
    assert _kinds(gap + [_forge(4, rows[2].hash)]) == [(4, "inserted")]  # into an id gap
    assert _kinds(gap + [_forge(4, "ab" * 32)]) == [(4, "inserted")]  # made-up prev
    after = _forge(8, rows[5].hash)
    assert _kinds(rows + [_forge(7, rows[1].hash), after]) == [(7, "inserted")]

    rows = _chain(6)  # deleted and inserted at once: both named
    assert _kinds(rows[:2] + rows[3:] + [_forge(7, rows[4].hash)]) == [
        (4, "deleted"),
        (7, "inserted"),
    ]

    rows = _chain(6)  # two ids swapped
    rows[2].id, rows[3].id = 4, 3
    assert _kinds(rows) == [(3, "reordered"), (4, "reordered")]

    rows = _chain(4)  # a detail that no longer parses (edited as text)
    stored = [audit._row_of(r) for r in rows]
    at, detail = audit._parsed(rows[1].at.isoformat(sep=" "), '{"i": 2')
    stored[1] = audit._row_of(SimpleNamespace(**{**vars(rows[1]), "at": at, "detail": detail}))
    assert [(p.row_id, p.kind) for p in audit._classify(stored)] == [(2, "edited")]


# --- concurrency ------------------------------------------------------------------------------


def test_concurrent_appends_keep_the_chain_linear(store, db_url):
    per_thread, errors = 25, []
    stores = [Store(make_engine(db_url)) for _ in range(2)]
    start = threading.Barrier(len(stores))

    def append(own: Store, name: str) -> None:
        try:
            start.wait()
            for i in range(per_thread):
                audit.record(own, actor=name, action="run", detail={"i": i})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=append, args=(s, f"t{k}")) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.dispose()
    assert errors == []
    assert audit.count(store) == 2 * per_thread
    assert audit.verify(store) == []
    with store.engine.connect() as conn:
        prevs = conn.execute(select(AuditEntry.prev_hash)).scalars().all()
    assert len(set(prevs)) == len(prevs)  # no two rows chained on the same one


# --- aidwatch audit ---------------------------------------------------------------------------


@pytest.fixture
def aidwatch(db_url, tmp_path, monkeypatch, capsys):
    """``aidwatch(*argv) -> (exit status, stdout, stderr)`` over the test's database."""
    monkeypatch.setenv("AIDWATCH_DATABASE_URL", db_url)
    parser = argparse.ArgumentParser()
    audit_cli.register(parser.add_subparsers(dest="command", required=True))

    def run(*argv: str) -> tuple[int, str, str]:
        args = parser.parse_args([*argv, "--workspace", str(tmp_path / "ws")])
        try:
            status = args.run(args)
        finally:
            while aidwatch_cli._OPENED:
                aidwatch_cli._OPENED.pop().close()
        out = capsys.readouterr()
        return status, out.out, out.err

    return run


def test_cli_verify(store, aidwatch):
    assert aidwatch("audit", "verify")[:2] == (0, "审计日志完整：共 0 条（尚无记录）\n")
    _fill(store, 3)
    last_id, last_hash = audit.head(store)
    assert aidwatch("audit", "verify") == (
        0,
        f"审计日志完整：共 3 条，末条哈希 {last_hash}（第 {last_id} 条）\n",
        "",
    )
    _tamper(store, "UPDATE audit_log SET actor = 'usex2' WHERE id = 2")
    _tamper(store, "DELETE FROM audit_log WHERE id = 1")
    status, out, _ = aidwatch("audit", "verify")
    assert status == 1
    assert out.splitlines() == [
        "审计日志不完整：共 2 条，发现 2 处问题",
        "第 2 条记录之前有记录被删除（前一条哈希不符）",
        "第 2 条记录的内容被修改（哈希不符）",
    ]


def test_cli_list(store, aidwatch):
    _fill(store, 2)
    audit.record(store, actor="李明", role="street", action="login", target="李明")
    status, out, _ = aidwatch("audit", "list")
    lines = out.splitlines()
    assert status == 0
    assert lines[0] == "编号\t时间（UTC）\t操作人\t角色\t操作\t对象\t详情"
    assert [line.split("\t")[0] for line in lines[1:]] == ["3", "2", "1"]
    assert lines[1].split("\t")[2:] == ["李明", "街镇", "登录", "李明", "—"]
    assert lines[2].split("\t")[2:6] == ["user2", "纪检监督", "导出", "线索 F002"]
    status, out, _ = aidwatch("audit", "list", "--action", "导出", "--limit", "1")
    assert [line.split("\t")[0] for line in out.splitlines()[1:]] == ["2"]
    status, out, err = aidwatch("audit", "list", "--action", "coffee")
    assert status == 2 and out == "" and err.startswith("错误：未知的操作“coffee”")


def test_the_page_writes_each_entry_detail_in_chinese():
    from analytics.views.audit_log import detail_text

    assert (
        detail_text('{"reason": "wrong_password", "failures": 3}')
        == "原因：密码错误；连续失败次数：3"
    )
    assert detail_text('{"kind": "check", "only": ["funds"], "findings": 1376}') == (
        "类别：检查；检查范围：资金比对；线索数：1,376"
    )
    assert detail_text('{"only": [], "first": true}') == "检查范围：（无）；首次记录：是"
    assert detail_text('{"brand_new": "x"}') == "brand_new：x"  # a key not yet named: as written
    assert detail_text("") == "" and detail_text("not json") == "not json"
