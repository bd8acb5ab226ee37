"""审计日志 as the discipline role reads it: the entries filtered, the chain checked, exported.

Identifiers in the log were masked when they were written (analytics.store.audit); reading it
is itself logged by the page's export.
"""

from __future__ import annotations

from datetime import UTC, date

import polars as pl

from analytics import access
from analytics.access import Viewer
from analytics.store import audit
from analytics.store.db import Store

MAX_ROWS = 5_000
HEADERS = {"id": "编号", "at_local": "时间", "actor": "操作人", "role_label": "角色",
           "action_label": "操作", "target": "对象", "detail": "详情"}


def entries(store: Store, viewer: Viewer | None, *, since: date | None = None,
            until: date | None = None, actions: list[str] | None = None) -> pl.DataFrame:
    """The log entries this viewer may read (the discipline role only; nobody else gets a
    row), newest first, with Chinese headers, times in the server's time zone."""
    if not access.may(viewer, "audit_read"):
        raise access.AccessError("当前账号无权查看审计日志")
    rows = audit.entries_frame(store, since=since, until=until, actions=actions or None,
                               limit=MAX_ROWS)
    local = [at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S")
             for at in rows["at"].to_list()]
    return (rows.with_columns(
        pl.Series("at_local", local, pl.String),
        pl.col("role").replace_strict(access.ROLES, default=pl.col("role")).alias("role_label"))
        .select(list(HEADERS)).rename(HEADERS))


def chain_status(store: Store) -> tuple[bool, list[str]]:
    """(intact, the problems in Chinese): the same check as ``aidwatch audit verify``."""
    problems = audit.verify(store)
    return not problems, [p.message for p in problems]
