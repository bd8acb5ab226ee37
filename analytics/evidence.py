"""A finding's evidence as the rows and values a person checks, in Chinese.

The engine stores each finding's evidence as JSON (checks/*.py build it): single values (dates,
counts, reasons, totals), lists of rows keyed by the table they come from (``ledger``,
``entitlements``, ``member_events``, ``dishonesty``, ``filings``) and, for the integrity
checks, an evidence path (``path``, ``nodes``, ``edges``). :func:`sections` turns it into
sections a page draws as grids:

- first 核查要点: one row per single value (项目, 内容), keys in Chinese (:data:`LABELS`), money
  as ``1,550.00`` under a （元） label, counts with separators, an empty value as ``—``;
- then one grid per list of rows, titled by the table's Chinese name, its columns headed by the
  contract's Chinese column names (analytics.schema), money as yuan under （元） headers;
- for a path, its steps (起点, 关系, 终点) and the people, accounts and cases on it, by their
  masked labels; the graph's keys (raw identifiers) never leave this module.

ID numbers, accounts and phones are masked as on every screen (analytics.masking); an
organisation's credit code is public and shown as it is. A key this module does not know is
shown as the key itself, its long digit runs masked; nothing here raises on odd evidence.

:func:`masked` is the evidence with its own keys and structure, masked the same way, for the
JSON a person may download. Pure: no Streamlit, no files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import polars as pl

from analytics import formats, schema
from analytics.masking import SENSITIVE_COLUMNS, mask_account, mask_id, mask_phone

FACTS = "核查要点"
FACT_HEADERS = ("项目", "内容")
EMPTY = formats.DASH
YUAN_SUFFIX = "（元）"
YUAN_TYPE = pl.Decimal(38, 2)

# Every single value the checks (checks/*.py) and 档案核查 (analytics.store.file_audit) put in
# evidence, in Chinese. Money keys carry their unit; counts theirs where the word does not say.
LABELS: dict[str, str] = {
    # funds
    "reason": "原因",
    "catalogue_fund_code": "目录资金科目",
    "entitlement_rows": "应发笔数",
    "entitled_rows": "应发笔数",
    "paid_rows": "实发笔数",
    "returned_rows": "退票笔数",
    "entitled_total": "应发合计（元）",
    "paid_total": "实发合计（元）",
    "termination_date": "终止日期",
    "death_date": "身故日期",
    "death_source": "身故信息来源部门",
    "registered_account": "登记收款账户",
    "due_date": "规定发放日",
    "days_late": "迟延天数",
    "cap": "上限（元）",
    "amount": "金额（元）",
    # integrity
    "path": "证据路径",
    "nodes": "涉及对象",
    "edges": "关系链",
    "relation": "亲属关系",
    "roles": "经办角色",
    "links": "关联方式",
    "how": "关联方式",
    "households": "涉及家庭（户）",
    "cases": "涉及案件（个）",
    "accounts": "代管账户（个）",
    "filed_accounts": "其中有效备案的账户（个）",
    "household": "救助家庭编号",
    "holder_household": "户名人所在家庭编号",
    "staff_count": "涉及工作人员（名）",
    "filings": "已有的卡折代管备案",
    # dynamic
    "as_of": "检查基准日",
    "days_since_death": "身故天数",
    "grace_days": "宽限天数",
    "decided_date": "审批日期",
    "event_type": "事项",
    "member_events": "家庭成员的部门共享信息",
    "difficulty": "困难程度",
    "cycle_months": "探访周期（月）",
    "last_visit": "最近一次探访",
    "due": "应探访日期",
    "days_overdue": "逾期天数",
    "status": "案件状态",
    "dishonesty": "失信名单记录",
    # process
    "accepted_date": "受理日期",
    "special_circumstance": "特殊情形",
    "working_days": "办理时限（工作日）",
    "calendar": "工作日历",
    "deadline": "审批期限",
    "judged_on": "判定日",
    "overdue_workdays": "超期工作日",
    "evidence": "证据",
    # 档案核查
    "session": "核查期次",
    "session_title": "核查名称",
    "held_on": "核查日期",
    "audit_item": "核查项",
    "audit_note": "问题说明",
    "audited_by": "核查人",
    "team": "核查组",
}
# Keys of single values not shown: the finding's own number is in the page's heading.
HIDDEN = frozenset({"finding_id"})
# Single values in yuan (text such as "1,550.00" from the checks; a whole number is fen).
MONEY_KEYS = frozenset({"entitled_total", "paid_total", "cap", "amount"})
# Whole numbers that are numbers of a record, written without separators.
NUMBER_KEYS = frozenset({"session"})

# Lists of rows: the contract table whose columns they hold, and their title.
ROW_TABLES: dict[str, str] = {
    "ledger": "ledger",
    "entitlements": "entitlements",
    "member_events": "events",
    "dishonesty": "dishonesty",
    "filings": "custody_filings",
}
# Columns of such rows the contract's table does not have.
COLUMN_LABELS: dict[str, str] = {"custodian": "代管人身份证号"}

NODE_KINDS = {
    "person": "人员",
    "staff": "工作人员",
    "case": "案件",
    "household": "家庭",
    "account": "银行账户",
    "phone": "联系电话",
    "address": "住址",
    "organisation": "机构",
}
PATH_HEADERS = ("起点", "关系", "终点")
NODE_HEADERS = ("类型", "名称")

# Sensitive values under keys the contract does not name.
_EXTRA_SENSITIVE = {"registered_account": "account", "custodian": "id"}
# Columns that hold a person's ID number or an organisation's public credit code.
_PAYEE_KEYS = frozenset(
    c.name for t in schema.TABLES.values() for c in t.columns if c.type == "payee"
)
_PERSON_ID = re.compile(r"^\d{17}[\dXx]$")
_MONEY_COLUMNS = frozenset(
    c.name for t in schema.TABLES.values() for c in t.columns if c.type == "money"
)
_LONG_DIGITS = re.compile(r"([0-9]{3})[0-9]{3,}([0-9]{3}[0-9Xx])")


def _schema_labels() -> dict[str, str]:
    """Column name -> Chinese header, first table first (for columns of no known table)."""
    labels: dict[str, str] = {}
    for table in schema.TABLES.values():
        for column in table.columns:
            labels.setdefault(column.name, column.zh)
    return labels


_SCHEMA_LABELS = _schema_labels()
_KNOWN = (
    frozenset(LABELS)
    | frozenset(_SCHEMA_LABELS)
    | HIDDEN
    | frozenset(COLUMN_LABELS)
    | {"id", "kind", "label", "from", "to"}
)


class Section(NamedTuple):
    """One part of the evidence: its title and its rows, with Chinese headers."""

    title: str
    table: pl.DataFrame


# --- values -------------------------------------------------------------------------------------


def _masked(text: str | None) -> str:
    """What a masking function gives for a string (a string: None only for None)."""
    assert text is not None
    return text


def mask_value(key: str, value: str) -> str:
    """``value`` under ``key`` as a screen shows it: ID numbers, accounts and phones masked, an
    organisation's credit code as it is, long digit runs under an unknown key masked."""
    kind = _EXTRA_SENSITIVE.get(key) or SENSITIVE_COLUMNS.get(key)
    if kind == "account":
        return _masked(mask_account(value))
    if kind == "phone":
        return _masked(mask_phone(value))
    if kind == "id":
        if key in _PAYEE_KEYS and not _PERSON_ID.match(value.strip()):
            return value
        return _masked(mask_id(value))
    if key not in _KNOWN:
        return _LONG_DIGITS.sub(r"\1****\2", value)
    return value


def _is_money(key: str) -> bool:
    return key in MONEY_KEYS or key in _MONEY_COLUMNS


def _yuan(value: Any) -> Decimal | None:
    """A money value as yuan: text in yuan ("1,550.00"), a whole number in fen."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value) / 100
    if isinstance(value, float):
        return Decimal(str(value))
    try:
        return Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        return None


def _text(key: str, value: Any) -> str:
    """A single value as one cell of text."""
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, bool):
        return "是" if value else "否"
    if _is_money(key):
        yuan = _yuan(value)
        if yuan is not None:
            return formats.money(float(yuan))
    if isinstance(value, int):
        return str(value) if key in NUMBER_KEYS else formats.count(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, str):
        return mask_value(key, value)
    if isinstance(value, list):
        return "、".join(_text(key, v) for v in value)
    if isinstance(value, Mapping):
        return "；".join(f"{label(k)}：{_text(k, v)}" for k, v in value.items())
    return str(value)


def label(key: str, table: str | None = None) -> str:
    """The Chinese name of a key: a column of ``table``, a key the checks use, a contract
    column, or the key itself."""
    if table in schema.TABLES:
        names = schema.TABLES[table]
        for column in names.columns:
            if column.name == key:
                return column.zh
    table_of = ROW_TABLES.get(key, key)
    return (
        LABELS.get(key)
        or COLUMN_LABELS.get(key)
        or _SCHEMA_LABELS.get(key)
        or (schema.TABLES[table_of].zh if table_of in schema.TABLES else key)
    )


def _header(key: str, table: str | None) -> str:
    name = label(key, table)
    if _is_money(key) and not name.endswith(YUAN_SUFFIX):
        name += YUAN_SUFFIX
    return name


# --- sections -----------------------------------------------------------------------------------


def _rows_frame(rows: list[Mapping[str, Any]], table: str | None) -> pl.DataFrame:
    """A list of row dicts as a grid: contract headers, money in yuan, no nested cells."""
    keys = list(dict.fromkeys(k for row in rows for k in row))
    columns: dict[str, pl.Series] = {}
    for key in keys:
        values = [row.get(key) for row in rows]
        header = _header(key, table)
        while header in columns:  # two keys with one Chinese name: keep both
            header += "（续）"
        present = [v for v in values if v is not None]
        if _is_money(key):
            yuan = [_yuan(v) for v in values]
            if all(y is not None for y, v in zip(yuan, values, strict=True) if v is not None):
                columns[header] = pl.Series(header, yuan, dtype=YUAN_TYPE)
                continue
        if (
            present
            and all(isinstance(v, int) and not isinstance(v, bool) for v in present)
            and key not in NUMBER_KEYS
        ):
            columns[header] = pl.Series(header, values, dtype=pl.Int64)
            continue
        columns[header] = pl.Series(
            header, [None if v is None else _text(key, v) for v in values], dtype=pl.String
        )
    return pl.DataFrame(list(columns.values()))


def _node_kind(kind: str | None) -> str:
    if kind is None:
        return EMPTY
    return NODE_KINDS.get(kind, kind or EMPTY)


def _path_sections(nodes: list, edges: list) -> list[Section]:
    """The steps of an evidence path and what is on it, by masked labels (never by key)."""
    named = {n.get("id"): n.get("label") for n in nodes if isinstance(n, Mapping)}
    steps = [
        (
            named.get(e.get("from")) or EMPTY,
            e.get("label") or EMPTY,
            named.get(e.get("to")) or EMPTY,
        )
        for e in edges
        if isinstance(e, Mapping)
    ]
    out = []
    if steps:
        out.append(
            Section(
                LABELS["edges"],
                pl.DataFrame(steps, schema={h: pl.String for h in PATH_HEADERS}, orient="row"),
            )
        )
    things = [
        (_node_kind(n.get("kind")), n.get("label") or EMPTY)
        for n in nodes
        if isinstance(n, Mapping)
    ]
    if things:
        out.append(
            Section(
                LABELS["nodes"],
                pl.DataFrame(things, schema={h: pl.String for h in NODE_HEADERS}, orient="row"),
            )
        )
    return out


def _body(evidence: str | Mapping | None) -> Mapping[str, Any] | None:
    """The evidence as a mapping; None when it is not the JSON of an object."""
    if isinstance(evidence, Mapping):
        return evidence
    try:
        body = json.loads(evidence or "{}")
    except (TypeError, ValueError):
        return None
    if body is None:  # JSON null: no evidence
        return {}
    return body if isinstance(body, Mapping) else None


def _facts(facts: list[tuple[str, str]]) -> Section:
    return Section(
        FACTS, pl.DataFrame(facts, schema={h: pl.String for h in FACT_HEADERS}, orient="row")
    )


def sections(evidence: str | Mapping | None) -> list[Section]:
    """A finding's evidence (its JSON text, or already read) as the sections a person checks:
    核查要点 first (when there are single values), then each list of rows, then the path."""
    body = _body(evidence)
    if body is None:  # not JSON: shown as text, long digit runs masked
        return [_facts([(LABELS["evidence"], mask_value("", str(evidence)))])]
    facts: list[tuple[str, str]] = []
    grids: list[Section] = []
    for key, value in body.items():
        if key in HIDDEN or key in ("nodes", "edges"):
            continue
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            table = ROW_TABLES.get(key, key if key in schema.TABLES else None)
            title = LABELS.get(key) or (schema.TABLES[table].zh if table else key)
            grids.append(Section(title, _rows_frame(list(value), table)))
        elif isinstance(value, Mapping) and value:
            table = ROW_TABLES.get(key)
            grids.append(Section(label(key), _rows_frame([value], table)))
        else:
            facts.append((label(key), _text(key, value)))
    nodes, edges = body.get("nodes"), body.get("edges")
    path = _path_sections(
        nodes if isinstance(nodes, list) else [], edges if isinstance(edges, list) else []
    )
    return ([_facts(facts)] if facts else []) + grids + path


# --- the JSON a person may download -------------------------------------------------------------


def masked(evidence: str | Mapping | None) -> dict[str, Any]:
    """The evidence with its own keys and structure, every sensitive value masked as on screen
    and the path's nodes keyed by kind and masked label instead of the graph's raw keys."""
    body = _body(evidence)
    if body is None:
        return {"evidence": mask_value("", str(evidence))}
    body = dict(body)
    if isinstance(body.get("nodes"), list):
        keys: dict[Any, str] = {}
        nodes = []
        for n in body["nodes"]:
            if not isinstance(n, Mapping):
                continue
            key = f"{n.get('kind')}:{n.get('label')}"
            while key in keys.values():
                key += "'"
            keys[n.get("id")] = key
            nodes.append({**{k: v for k, v in n.items() if k != "id"}, "id": key})
        body["nodes"] = nodes
        body["edges"] = [
            {**e, "from": keys.get(e.get("from"), EMPTY), "to": keys.get(e.get("to"), EMPTY)}
            for e in body.get("edges") or []
            if isinstance(e, Mapping)
        ]

    def walk(value: Any, key: str) -> Any:
        if isinstance(value, Mapping):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if isinstance(value, str) and key not in ("id", "from", "to"):
            return mask_value(key, value)
        return value

    return walk(body, "")


def masked_json(evidence: str | Mapping | None) -> bytes:
    """:func:`masked` as indented UTF-8 JSON, for a download."""
    return json.dumps(masked(evidence), ensure_ascii=False, indent=2).encode("utf-8")


def file_name(finding_id: str | None) -> str:
    """``evidence-<finding id>.json``, the id reduced to letters, digits, - and _."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", str(finding_id or ""))[:64] or "finding"
    return f"evidence-{safe}.json"
