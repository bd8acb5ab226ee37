"""审计日志: every login, unmasking, export, import, run, state change, member-unit query and
settings change, hash-chained; the chain checked on the page, the entries exported."""

from __future__ import annotations

from datetime import date, timedelta

import streamlit as st

from analytics.store import audit
from analytics.views import audit_log as view
from dashboard import auth, data, ui

who = auth.require_page("audit_log")
st.title("审计日志")
st.caption(
    "登录、查看完整身份证号、导出、导入、检查运行、线索处置、档案核查、失信名单操作、成员单位"
    "查询和账号变更都记入审计日志。日志只能追加：每条记录含有前一条的哈希值，任何修改、插入或"
    "删除都会被发现；日志中的身份证号、银行账号和电话已脱敏。"
)

try:
    store = data.workspace().store
    intact, problems = view.chain_status(store)
except Exception:  # an unreachable or broken database: say so, never quote it
    st.error("无法读取审计日志（数据库无法连接或读取），请联系管理员检查工作区设置。")
    st.stop()
if intact:
    st.success("审计日志完整：哈希链逐条核对无误。")
else:
    st.error(
        "审计日志的哈希链有断点，可能被修改、插入或删除：\n\n"
        + "\n".join(f"- {ui.md(p)}" for p in problems)
    )

today = date.today()
cols = st.columns([1, 1, 2])
since = cols[0].date_input(
    "起始日期", value=today - timedelta(days=30), key="audit_since", format="YYYY-MM-DD"
)
until = cols[1].date_input("截止日期", value=today, key="audit_until", format="YYYY-MM-DD")
actions = cols[2].multiselect(
    "操作",
    list(audit.ACTIONS),
    format_func=lambda action: audit.ACTIONS[action],
    key="audit_actions",
    placeholder="全部操作",
)
table = view.entries(store, who, since=since, until=until, actions=actions)
st.caption(
    f"共 {table.height:,} 条（最近的在前，最多显示 {view.MAX_ROWS:,} 条）；时间为服务器所在时区。"
)
ui.show_table(table, key="audit_table", placeholder="—")
ui.download_excel(
    "导出审计日志（Excel）",
    {"审计日志": table},
    f"审计日志_{since.isoformat()}_{until.isoformat()}.xlsx",
    key="audit_export",
)
