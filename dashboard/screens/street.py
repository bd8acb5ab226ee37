"""街镇: one street office's indicators over time, the funnel of its leads (found, verified,
rectified, money recovered) with its rectification on-time and recurrence rates, its findings by
check, its overdue items and its four circles."""

from __future__ import annotations

import streamlit as st

from analytics.charts import overview as charts
from analytics.views import overview as periods
from analytics.views import street as view
from dashboard import auth, data, ui

who = auth.require_page("street")
st.title("街镇")
st.caption("单个街镇的绩效指标变化、线索处置与整改、各检查项线索、超期事项和低收入人口四个圈层。")

out_dir = ui.current_out_dir()
indicators = ui.indicators_or_stop(out_dir)
findings = data.findings(out_dir)

# --- state ---------------------------------------------------------------------------------------
streets = view.street_options(indicators, who)
left, right = st.columns([2, 3])
street = left.selectbox("街镇", streets, key="street_name")
level = right.radio("期间类型", list(periods.LEVELS), format_func=periods.LEVELS.get,
                    horizontal=True, key="street_level")

try:
    workflow = data.workflow_frames()
except Exception:  # an unreachable or broken database: say so below, never quote it
    workflow = None
has_records = workflow is not None and workflow["findings"].height > 0
sv = view.street_view(indicators, findings, street, level,
                      workflow=workflow if has_records else None)

# --- metrics -------------------------------------------------------------------------------------
st.markdown(f"**{street} · {sv.label}**")
headline = sv.latest.filter(sv.latest["indicator"].is_in(
    ["composite_score", "approval_on_time_rate", "disbursement_on_time_rate",
     "visit_compliance_rate", "funds_findings_per_1000", "dynamic_leads"]))
cols = st.columns(headline.height)
for col, row in zip(cols, headline.iter_rows(named=True)):
    col.metric(row["title"], row["shown"],
               help=f"上一期：{row['previous']}" if row["previous"] else None)

# --- charts, each with its table -----------------------------------------------------------------
st.subheader("指标变化")
chart_col, table_col = st.columns([3, 2])
chart_col.plotly_chart(charts.indicator_lines(sv.over_time, list(view.RATES), "及时率与合规率"),
                       key="street_chart_rates")
chart_col.plotly_chart(charts.indicator_lines(sv.over_time, ["composite_score"], "综合得分"),
                       key="street_chart_score")
with table_col:
    ui.show_table(view.over_time_table(sv))

st.subheader("线索处置与整改")
for col, (title, shown, note) in zip(st.columns(4), view.rectification_metrics(sv)):
    col.metric(title, shown, help=note)
ui.funnel_section(None if workflow is None else sv.funnel, sv.label, "street_chart_funnel",
                  unavailable=workflow is None, where=street)
ui.page_links([("followup", f"查看{street}的回头看清单", {"street": street})])

st.subheader("各检查项线索")
chart_col, table_col = st.columns([3, 2])
chart_col.plotly_chart(charts.check_bars(sv.by_check), key="street_chart_checks")
with table_col:
    ui.show_table(view.by_check_table(sv))
ui.page_links([("findings", f"查看{street}的全部线索及证据", {"street": street})])

st.subheader("超期事项")
overdue = view.overdue_table(sv)
if overdue.height > view.MAX_ROWS:
    st.caption(f"审批超时与探访逾期共 {overdue.height:,} 件，本页显示前 {view.MAX_ROWS:,} 件，"
               "下方导出的 Excel 包含全部；身份证号、银行账号已脱敏。")
else:
    st.caption(f"审批超时与探访逾期共 {overdue.height:,} 件；身份证号、银行账号已脱敏。")
ui.show_table(overdue.head(view.MAX_ROWS))

st.subheader("低收入人口四个圈层")
chart_col, table_col = st.columns([3, 2])
chart_col.plotly_chart(charts.circle_bars(sv.circles), key="street_chart_circles")
with table_col:
    ui.show_table(view.circles_table(sv))
    st.caption("按检查基准日和 data/circles.toml 的规则划分，每户只计入一个圈层。")

ui.download_excel("导出本页表格（Excel）", view.excel_sheets(sv), f"街镇_{street}.xlsx",
                  key="street_download")
