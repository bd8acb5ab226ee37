"""审计日志 as the discipline role reads it: the entries filtered, the chain checked, exported.

Identifiers in the log were masked when they were written (analytics.store.audit); reading it
is itself logged by the page's export.
"""

from __future__ import annotations

import json
from datetime import UTC, date

import polars as pl

from analytics import access
from analytics.access import Viewer
from analytics.store import audit
from analytics.store.db import Store
from checks.registry import FAMILIES

MAX_ROWS = 5_000
HEADERS = {
    "id": "编号",
    "at_local": "时间",
    "actor": "操作人",
    "role_label": "角色",
    "action_label": "操作",
    "target": "对象",
    "detail_text": "详情",
    "detail": "详情（原始）",
}

# The keys the log's entries carry (analytics.store.audit.record and @audited), in Chinese.
DETAIL_KEYS = {
    "reason": "原因",
    "fields": "字段",
    "kind": "类别",
    "role": "角色",
    "street": "街镇",
    "unit": "单位",
    "sessions_ended": "结束的登录会话",
    "failures": "连续失败次数",
    "minutes": "锁定分钟数",
    "snapshot": "数据快照",
    "files": "文件数",
    "origin": "来源",
    "only": "检查范围",
    "findings": "线索数",
    "key": "下载项",
    "bytes": "字节数",
    "changed": "已变更",
    "first": "首次记录",
    "move": "操作",
    "version": "版本",
    "case_id": "救助编号",
    "cases": "案件数",
    "event": "事项",
    "gone": "不再发现",
    "listed": "列出",
    "month": "月份",
    "new": "新线索",
    "numbers": "编号",
    "purpose": "用途",
    "rectify_due": "整改期限",
    "recurred": "复发",
    "seen": "再次发现",
    "written": "写入",
}
DETAIL_VALUES = {
    "unknown_user": "账号不存在",
    "locked": "账号已锁定",
    "wrong_password": "密码错误",
    "disabled": "账号已停用",
    "check": "检查",
    "replay": "重放",
    "cli": "命令行",
    "browser": "浏览器",
    "create": "新建",
    "id_number": "身份证号",
    "account_no": "银行账号",
    "phone": "联系电话",
    "account": "银行账号",
    "person": "人员",
    **FAMILIES,
}


def _value_text(value) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None:
        return "—"
    if isinstance(value, list):
        return "、".join(_value_text(v) for v in value) if value else "（无）"
    if isinstance(value, dict):
        return "，".join(
            f"{DETAIL_KEYS.get(str(k), str(k))} {_value_text(v)}" for k, v in value.items()
        )
    if isinstance(value, int | float):
        return f"{value:,}"
    return DETAIL_VALUES.get(str(value), str(value))


def detail_text(detail: str | None) -> str:
    """An entry's detail (JSON text) as a person reads it: "原因：密码错误；连续失败次数：3".
    Keys and known values in Chinese; anything else as written; the raw JSON stays beside it."""
    if not detail:
        return ""
    try:
        parsed = json.loads(detail)
    except ValueError:
        return detail
    if not isinstance(parsed, dict):
        return _value_text(parsed)
    return "；".join(
        f"{DETAIL_KEYS.get(str(k), str(k))}：{_value_text(v)}" for k, v in parsed.items()
    )


def entries(
    store: Store,
    viewer: Viewer | None,
    *,
    since: date | None = None,
    until: date | None = None,
    actions: list[str] | None = None,
) -> pl.DataFrame:
    """The log entries this viewer may read (the discipline role only; nobody else gets a
    row), newest first, with Chinese headers, times in the server's time zone."""
    if not access.may(viewer, "audit_read"):
        raise access.AccessError("当前账号无权查看审计日志")
    rows = audit.entries_frame(
        store, since=since, until=until, actions=actions or None, limit=MAX_ROWS
    )
    local = [
        at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
        for at in rows["at"].to_list()
    ]
    return (
        rows.with_columns(
            pl.Series("at_local", local, pl.String),
            pl.Series("detail_text", [detail_text(d) for d in rows["detail"].to_list()], pl.String),
            pl.col("role").replace_strict(access.ROLES, default=pl.col("role")).alias("role_label"),
        )
        .select(list(HEADERS))
        .rename(HEADERS)
    )


def chain_status(store: Store) -> tuple[bool, list[str]]:
    """(intact, the problems in Chinese): the same check as ``aidwatch audit verify``."""
    problems = audit.verify(store)
    return not problems, [p.message for p in problems]
