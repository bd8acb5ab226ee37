"""The audit log: who did what, append-only and hash-chained, in the workspace database.

Every row holds the hash of the row before it (``prev_hash``; the first row 64 zeros) and its own
``hash``: sha256 over a canonical JSON serialisation of (prev_hash, at, actor, role, action,
target, detail) (:func:`entry_hash`). Editing a row breaks its own hash; deleting one leaves the
next row pointing at a hash no row has; inserting one makes two rows claim the same
predecessor, or leaves a row the chain does not pass through. :func:`verify` walks the rows in
id order and names each such row. What the chain cannot show: rows cut off at the end (keep the
last hash, :func:`head`, somewhere else to compare), or a tail rewritten whole with its hashes
recomputed. On PostgreSQL a trigger (migration 0004) refuses UPDATE, DELETE and TRUNCATE.

Appends are serialised so that the chain stays linear when several processes log at once: on
PostgreSQL a transaction-level advisory lock is taken before the last row is read; on SQLite the
transaction is opened with ``BEGIN IMMEDIATE`` (the write lock first), so that no other writer
can append between the read of the last hash and the insert.

Identifiers are masked before a row is hashed and written (:func:`mask_text`, in ``actor``,
``target`` and every string of ``detail``, keys included): ID numbers, bank accounts and phone
numbers in the display forms of :mod:`analytics.masking`, any other run of seven or more digits
as well. Two kinds of digit runs are left alone, since they name records rather than people
and the log would be useless without them: hexadecimal digests and record ids (a word of hex
characters with a letter in it and no run of 11 or more digits, such as a snapshot id or a
``F3a91…`` finding id), and 8-digit calendar dates (``20260305`` in a file name).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, overload

import polars as pl
from polars._typing import PolarsDataType
from sqlalchemy import Connection, Text, cast, func, insert, select

from analytics.masking import mask_account, mask_id, mask_phone
from analytics.store.db import Store
from analytics.store.models import AuditEntry, utcnow

ACTIONS: dict[str, str] = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "locked": "账号锁定",
    "unmask": "查看完整信息（去掩码）",
    "export": "导出",
    "import": "导入数据",
    "run": "运行检查",
    "state_change": "线索处置",
    "file_audit": "档案抽查",
    "dishonesty": "失信记录处理",
    "member_query": "成员单位查询",
    "settings_change": "修改设置",
    "user_add": "添加账号",
    "user_disable": "停用账号",
    "user_enable": "启用账号",
    "user_passwd": "设置密码",
    "lookup_person": "查询人员",
    "audit_export": "导出审计日志",
}

GENESIS = "0" * 64
# pg_advisory_xact_lock key of the audit log's appends (any constant bigint; "AIDWAUDI")
_PG_LOCK_KEY = 0x4149445741554449

_COLUMN_LIMITS = {"actor": 200, "role": 20, "target": 200}  # the columns' lengths


# --- masking ------------------------------------------------------------------------------------

_D = "0-9０-９"
_X = "XxＸｘ"
_LAYOUT = str.maketrans("", "", " -\u3000")
# A word of hex characters (optionally after one letter, as in F3a9… finding ids) with a hex
# letter in it: a digest or record id, kept unless it holds a run of 11+ digits.
_HEX_WORD = re.compile(r"(?<![0-9A-Za-z])[A-Za-z]?[0-9A-Fa-f]{8,}(?![0-9A-Za-z])")
_HEX_LETTER = re.compile(r"[A-Fa-f]")
_LONG_RUN = re.compile(f"[{_D}]{{11,}}")
_NUMBERS = re.compile(
    rf"(?<![{_D}])(?:"
    rf"(?P<id>[{_D}]{{6}}[ \u3000]?[{_D}]{{8}}[ \u3000]?[{_D}]{{3}}[{_D}{_X}]|[{_D}]{{17}}[{_X}])"
    rf"|(?P<phone>[1１][{_D}]{{2}}[ \-]?[{_D}]{{4}}[ \-]?[{_D}]{{4}})"
    rf"|(?P<account>[{_D}]{{4}}(?:[ \-][{_D}]{{4}}){{3}}(?:[ \-][{_D}]{{1,4}})*)"
    rf"|(?P<run>[{_D}]{{7,}})"
    rf")(?![{_D}])"
)


def _is_date(digits: str) -> bool:
    try:
        day = datetime.strptime(digits, "%Y%m%d")
    except ValueError:
        return False
    return 1900 <= day.year <= 2099


def _masked(text: str | None) -> str:
    """What a masking function gives for a string (a string: None only for None)."""
    assert text is not None
    return text


def _mask_number(match: re.Match[str]) -> str:
    value = match.group(0)
    if match.group("id"):
        return _masked(mask_id(value.translate(_LAYOUT)))
    if match.group("phone"):
        return _masked(mask_phone(value))
    if match.group("account"):
        return _masked(mask_account(value))
    n = len(value)
    if n in (15, 18):
        return _masked(mask_id(value))
    if n == 11 and value[0] in "1１":
        return _masked(mask_phone(value))
    if 12 <= n <= 25:
        return _masked(mask_account(value))
    if n >= 10:  # as analytics.masking.mask_digit_runs_expr
        return f"{value[:3]}****{value[-4:]}"
    if n == 8 and _is_date(value):
        return value
    return "*" * n  # 7 to 9 digits: too short to keep any of it safely


def _mask_numbers(text: str) -> str:
    return _NUMBERS.sub(_mask_number, text)


@overload
def mask_text(text: str) -> str: ...
@overload
def mask_text(text: None) -> None: ...
@overload
def mask_text(text: str | None) -> str | None: ...
def mask_text(text: str | None) -> str | None:
    """``text`` with ID numbers, bank accounts, phone numbers and any other run of seven or more
    digits masked (digests, record ids and 8-digit dates kept: see the module's notes)."""
    if text is None:
        return None
    out, start = [], 0
    for word in _HEX_WORD.finditer(text):
        if _HEX_LETTER.search(word.group(0)) and not _LONG_RUN.search(word.group(0)):
            out.append(_mask_numbers(text[start : word.start()]))
            out.append(word.group(0))
            start = word.end()
    out.append(_mask_numbers(text[start:]))
    return "".join(out)


def mask_detail(value: Any) -> Any:
    """Every string in ``value`` (dicts, their keys, lists) through :func:`mask_text`."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {mask_text(str(k)): mask_detail(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_detail(v) for v in value]
    return value


# --- the chain ----------------------------------------------------------------------------------


def _iso(at: datetime | str) -> str:
    return at.isoformat(timespec="microseconds") if isinstance(at, datetime) else str(at)


def entry_hash(
    prev_hash: str,
    at: datetime,
    actor: str,
    role: str | None,
    action: str,
    target: str | None,
    detail: dict[str, Any],
) -> str:
    """The hash of a row: sha256 (hex) of the canonical JSON of its fields and its
    predecessor's hash. ``at`` naive UTC, as stored."""
    canonical = json.dumps(
        [prev_hash, _iso(at), actor, role, action, target, detail],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo is not None else at


def _as_json(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as the JSON column gives it back (tuples as lists, keys as strings, dates as
    text), so that the hash computed now is the one recomputed from the stored row."""
    return json.loads(json.dumps(detail, ensure_ascii=False, default=str, allow_nan=False))


def _lock(conn: Connection) -> None:
    """Serialise appends: taken before the last row is read, held until the commit."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_KEY})")
    elif conn.dialect.name == "sqlite":
        # pysqlite opens a transaction only before a write: the read of the last row would run
        # outside of it. Take the write lock first instead.
        driver = conn.connection.driver_connection
        if driver is not None and driver.in_transaction:
            conn.exec_driver_sql("UPDATE audit_log SET id = id WHERE 0")  # takes the write lock
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def record(
    store: Store,
    *,
    actor: str,
    action: str,
    role: str | None = None,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one row to the audit log, in a transaction of its own; its id. ``actor``,
    ``target`` and ``detail`` are masked first (:func:`mask_text`: a user name typed at a failed
    login may be anything); an unknown ``action`` is a ValueError. Call it after the logged
    change's own transaction has ended: on SQLite it waits for every other writer."""
    if action not in ACTIONS:
        raise ValueError(f"未知的审计操作：{action}")
    if detail is not None and not isinstance(detail, dict):
        raise ValueError("审计详情应为字典")
    at = _naive_utc(at or utcnow())
    actor = mask_text(actor or "")[: _COLUMN_LIMITS["actor"]]
    role = role[: _COLUMN_LIMITS["role"]] if role is not None else None
    target = mask_text(target)[: _COLUMN_LIMITS["target"]] if target is not None else None
    detail = _as_json(mask_detail(detail or {}))
    with store.engine.connect() as conn:
        _lock(conn)
        prev_hash = (
            conn.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
            or GENESIS
        )
        result = conn.execute(
            insert(AuditEntry).values(
                at=at,
                actor=actor,
                role=role,
                action=action,
                target=target,
                detail=detail,
                prev_hash=prev_hash,
                hash=entry_hash(prev_hash, at, actor, role, action, target, detail),
            )
        )
        key = result.inserted_primary_key
        assert key is not None  # one row inserted
        row_id: int = key[0]
        conn.commit()
    return row_id


def audited(action: str, describe: Callable[..., tuple[str | None, dict[str, Any]]]):
    """Decorate a storage function ``fn(store, *args, by=..., **kwargs)``: once it has done its
    work (its own transaction committed), one row goes to the audit log, by ``by``, with the
    target and detail ``describe(result, *args, **kwargs)`` gives. A failure of the function
    is not logged here (nothing changed)."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(store: Store, *args, **kwargs):
            result = fn(store, *args, **kwargs)
            target, detail = describe(result, *args, **kwargs)
            record(
                store, actor=kwargs.get("by") or "系统", action=action, target=target, detail=detail
            )
            return result

        return inner

    return wrap


def head(store: Store) -> tuple[int, str] | None:
    """The last row's id and hash (to keep elsewhere and compare later), None when empty."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        ).first()
    return (row.id, row.hash) if row else None


def count(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(AuditEntry)).scalar_one()


# --- reading ------------------------------------------------------------------------------------

ENTRIES_SCHEMA: dict[str, PolarsDataType] = {
    "id": pl.Int64,
    "at": pl.Datetime("us"),
    "actor": pl.String,
    "role": pl.String,
    "action": pl.String,
    "action_label": pl.String,
    "target": pl.String,
    "detail": pl.String,
}


def entries_frame(
    store: Store,
    *,
    since: datetime | date | None = None,
    until: datetime | date | None = None,
    actions: Iterable[str] | None = None,
    actor: str | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """The log, newest first (ENTRIES_SCHEMA; ``detail`` as JSON text). ``since``/``until``:
    from/to (inclusive; a date covers its whole day, UTC); ``actions``: these codes only."""
    query = select(
        AuditEntry.id,
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.role,
        AuditEntry.action,
        AuditEntry.target,
        AuditEntry.detail,
    )
    if since is not None:
        if not isinstance(since, datetime):
            since = datetime.combine(since, datetime.min.time())
        query = query.where(AuditEntry.at >= _naive_utc(since))
    if until is not None:
        if isinstance(until, datetime):
            query = query.where(AuditEntry.at <= _naive_utc(until))
        else:
            query = query.where(
                AuditEntry.at < datetime.combine(until + timedelta(days=1), datetime.min.time())
            )
    if actions is not None:
        query = query.where(AuditEntry.action.in_(list(actions)))
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    query = query.order_by(AuditEntry.id.desc())
    if limit is not None:
        query = query.limit(limit)
    with store.engine.connect() as conn:
        rows = [
            (
                r.id,
                r.at,
                r.actor,
                r.role,
                r.action,
                ACTIONS.get(r.action, r.action),
                r.target,
                json.dumps(r.detail, ensure_ascii=False, sort_keys=True),
            )
            for r in conn.execute(query)
        ]
    return pl.DataFrame(rows, schema=ENTRIES_SCHEMA, orient="row")


# --- verifying ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """A break of the chain at one row. ``kind``: edited (the row's content, or one of its
    hashes, changed), inserted (the chain does not pass through it), deleted (rows before it are
    missing), reordered (it follows a row that comes after it)."""

    row_id: int | None
    kind: str
    message: str


@dataclass
class _Row:
    id: int
    prev: str  # stored prev_hash
    stored: str  # stored hash
    computed: str  # the hash recomputed from the stored fields and prev_hash
    content: tuple  # (at, actor, role, action, target, detail), to recompute with another prev

    @property
    def intact(self) -> bool:
        return self.computed == self.stored


def _row_of(r) -> _Row:
    """A stored row (anything with the columns as attributes) as the chain check sees it."""
    content = (r.at, r.actor, r.role, r.action, r.target, r.detail)
    return _Row(r.id, r.prev_hash, r.hash, entry_hash(r.prev_hash, *content), content)


def _parsed(text_at: str, text_detail: str) -> tuple[datetime | str, Any]:
    """The time and the detail of a row read as text, as written; a value that no longer parses
    (edited by hand) is kept as its text, so that it fails its hash instead of the check."""
    at: datetime | str
    try:
        at = datetime.fromisoformat(text_at)
    except (TypeError, ValueError):
        at = text_at
    try:
        detail = json.loads(text_detail)
    except (TypeError, ValueError):
        detail = text_detail
    return at, detail


def _rows(store: Store) -> list[_Row]:
    out = []
    with store.engine.connect() as conn:
        for r in conn.execute(
            select(
                AuditEntry.id,
                cast(AuditEntry.at, Text).label("at"),
                AuditEntry.actor,
                AuditEntry.role,
                AuditEntry.action,
                AuditEntry.target,
                cast(AuditEntry.detail, Text).label("detail"),
                AuditEntry.prev_hash,
                AuditEntry.hash,
            ).order_by(AuditEntry.id)
        ):
            at, detail = _parsed(r.at, r.detail)
            out.append(
                _row_of(
                    SimpleNamespace(
                        id=r.id,
                        at=at,
                        actor=r.actor,
                        role=r.role,
                        action=r.action,
                        target=r.target,
                        detail=detail,
                        prev_hash=r.prev_hash,
                        hash=r.hash,
                    )
                )
            )
    return out


_ROOT = -1  # the chain's start (its hash is GENESIS), before every row


def verify(store: Store) -> list[Problem]:
    """Every break of the chain, by row (empty: the log is intact)."""
    return _classify(_rows(store))


def _classify(rows: list[_Row]) -> list[Problem]:
    """Which rows make the chain, and what happened to the others.

    Rows are taken in id order (positions). Each row's predecessor is the row whose hash (as
    stored, else as recomputed, for a row whose hash field was edited) its prev_hash names; a
    row whose prev_hash names no earlier row is an orphan. The chain is the path from the start
    along these links, and across gaps to later orphans (rows deleted before them), that keeps
    the most rows, with the fewest gaps, and at a fork the lower id: a genuine log is one such
    path. Rows off it were inserted; an orphan on it had rows deleted before it; a row on it
    whose own hash does not match its fields was edited.
    """
    n = len(rows)
    by_stored: dict[str, int] = {}
    for i, row in enumerate(rows):
        by_stored.setdefault(row.stored, i)
    by_computed = {
        row.computed: i
        for i, row in enumerate(rows)
        if not row.intact and row.computed not in by_stored
    }

    parent: list[int | None] = []
    prev_field_edited: set[int] = set()
    for i, row in enumerate(rows):
        j = _ROOT if row.prev == GENESIS else by_stored.get(row.prev, by_computed.get(row.prev))
        if j is not None and j >= i:
            j = None  # names a later row (or itself): not a link, see "reordered" below
        if j is None and not row.intact:
            # only the prev_hash field changed: the row hashes right over its neighbour's hash
            before = rows[i - 1].stored if i else GENESIS
            if entry_hash(before, *row.content) == row.stored:
                j = i - 1 if i else _ROOT
                prev_field_edited.add(i)
        parent.append(j)
    children: dict[int, list[int]] = {}
    for i, j in enumerate(parent):
        if j is not None:
            children.setdefault(j, []).append(i)
    orphans = [i for i in range(n) if parent[i] is None]

    # best[i] = (rows, -gaps) of the best path from i on (i included); step[i] = the next row
    best: dict[int, tuple[int, int]] = {}
    step: dict[int, int | None] = {}
    gap_step: set[int] = set()  # rows whose next row is reached across a gap
    best_orphan: int | None = None  # the best orphan after the current position
    orphan_set = set(orphans)

    def choose(i: int) -> None:
        options = [((best[c][0], best[c][1]), 1, -c, c) for c in children.get(i, [])]
        if best_orphan is not None:
            r = best_orphan
            options.append(((best[r][0], best[r][1] - 1), 0, -r, r))
        if not options:
            best[i], step[i] = ((1, 0) if i != _ROOT else (0, 0)), None
            return
        (rows_after, neg_gaps), via_link, _, nxt = max(options)
        best[i] = (rows_after + (i != _ROOT), neg_gaps)
        step[i] = nxt
        if not via_link:
            gap_step.add(i)

    for i in range(n - 1, -1, -1):
        choose(i)
        if i in orphan_set:
            key = (best[i], -i)
            if best_orphan is None or key >= (best[best_orphan], -best_orphan):
                best_orphan = i
    choose(_ROOT)

    chain: list[int] = []
    gap_before: set[int] = set()
    at = _ROOT
    while (nxt := step.get(at)) is not None:
        if at in gap_step:
            gap_before.add(nxt)
        chain.append(nxt)
        at = nxt
    on_chain = set(chain)
    chain_prev = {c: (chain[k - 1] if k else _ROOT) for k, c in enumerate(chain)}

    def later_owner(i: int) -> int | None:
        j = by_stored.get(rows[i].prev)
        return j if j is not None and j > i else None

    # a row that names a later row as its predecessor, and that later row when the chain
    # leaves it out: their order was changed (ids swapped)
    reordered: dict[int, str] = {}
    for i in range(n):
        owner = later_owner(i) if parent[i] is None else None
        if owner is not None:
            reordered[i] = f"它的前一条哈希属于其后的第 {rows[owner].id} 条记录"
            if owner not in on_chain:
                reordered.setdefault(owner, f"其前的第 {rows[i].id} 条记录接在它之后")

    def name(i: int) -> str:
        return "链首" if i == _ROOT else f"第 {rows[i].id} 条记录"

    problems: list[Problem] = []
    for i, row in enumerate(rows):
        rid = row.id
        if i in reordered:
            problems.append(
                Problem(rid, "reordered", f"第 {rid} 条记录的顺序被调换（{reordered[i]}）")
            )
            continue
        if i not in on_chain:
            problems.append(
                Problem(
                    rid,
                    "inserted",
                    _inserted_message(rows, i, parent[i], on_chain, step, children, name),
                )
            )
            continue
        if i in gap_before:
            message = f"第 {rid} 条记录之前有记录被删除（前一条哈希不符）"
            chain_before = chain_prev[i]
            if chain_before != _ROOT and rows[chain_before].id == rid - 1:
                message += (
                    f"；前后编号连续，也可能是第 {rid - 1} 条记录被整条改写（内容与哈希一并重算）"
                )
            problems.append(Problem(rid, "deleted", message))
        if i in prev_field_edited:
            problems.append(
                Problem(rid, "edited", f"第 {rid} 条记录的内容被修改（所存的前一条哈希被改动）")
            )
        elif not row.intact:
            problems.append(Problem(rid, "edited", f"第 {rid} 条记录的内容被修改（哈希不符）"))
    return problems


def _inserted_message(
    rows: list[_Row],
    i: int,
    j: int | None,
    on_chain: set[int],
    step: dict[int, int | None],
    children: dict[int, list[int]],
    name,
) -> str:
    rid = rows[i].id
    if j is None:
        why = "它的前一条哈希不属于任何记录，链条也不经过它"
    elif j not in on_chain and j != _ROOT:
        why = f"它接在同样不在链上的{name(j)}之后"
    else:
        sibling = step.get(j)
        why = (
            f"它与第 {rows[sibling].id} 条记录都声称接在{name(j)}之后"
            if sibling is not None and sibling in children.get(j, ())
            else f"它声称接在{name(j)}之后，链条却不经过它"
        )
    if not rows[i].intact:
        why += "，且自身哈希不符"
    return f"第 {rid} 条记录是插入的（{why}）"


# --- what is logged, and the settings in force ----------------------------------------------------


def _reference_digests() -> dict[str, str]:
    """sha256 (its first 16 hex digits) of each reference file an administrator edits, and of
    the catalogue of what the log records (a change to what is logged is itself a change to
    log)."""
    from analytics import reference

    folder = reference.data_dir()
    out = {}
    for name in ("settings.toml", "checklist.toml", "catalogue.csv", "circles.toml"):
        path = folder / name
        out[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else ""
    out["audit_actions"] = hashlib.sha256(
        json.dumps(ACTIONS, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()[:16]
    return out


def note_settings(store: Store, *, by: str) -> bool:
    """Log a settings_change when the reference files or the catalogue of logged actions differ
    from those the log last noted (the first time, what is in force). Returns whether it
    logged. Called when a run starts and when someone logs in."""
    now = _reference_digests()
    with store.engine.connect() as conn:
        last = conn.execute(
            select(AuditEntry.detail)
            .where(AuditEntry.action == "settings_change")
            .order_by(AuditEntry.id.desc())
            .limit(1)
        ).scalar()
    before = (last or {}).get("files") or {}
    changed = sorted(name for name, digest in now.items() if before.get(name) != digest)
    if not changed:
        return False
    record(
        store,
        actor=by,
        action="settings_change",
        target="参考数据与审计范围",
        detail={"changed": changed, "files": now, "first": last is None},
    )
    return True
