"""回头看: by street office, what the follow-up loop waits for (open, overdue, rectified awaiting
回头看, re-checked, recurred, exceptions ending), each street's list with its deadlines, the
re-check schedule, and a workbook of each street's list for the street to answer."""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import formats
from analytics.charts import overview as charts
from analytics.views import followup as view
from dashboard import auth, data, ui

# Dates as days: the grid would show a date with a time of day.
DAYS = {
    name: st.column_config.DateColumn(name, format="YYYY-MM-DD")
    for name in ("期限", "回头看日期", "整改完成日期")
}
COUNT = formats.GRID_FORMAT[formats.COUNT]
COUNT_COLUMNS = {
    name: st.column_config.NumberColumn(name, format=COUNT) for name in view.COUNTS.values()
}

who = auth.require_page("followup")
st.title("回头看")
st.caption(
    "已整改线索按期回头看，未办结线索按期限督办：各街镇的未办结、超期、待回头看、"
    "回头看通过、复发和容错免责到期情况，可导出各街镇清单交街镇逐条反馈。"
)

try:
    workflow = data.workflow_frames()
except Exception:  # an unreachable or broken database: say so, never quote it
    st.error("无法读取工作区的处置记录（数据库无法连接或读取），请联系管理员检查工作区设置。")
    st.stop()

# The street chosen is kept when the user leaves the page and comes back; a link followed then
# counts as new.
if "followup_street" not in st.session_state:
    st.session_state.pop("followup_street_wanted", None)
ui.keep("followup_street")

today = date.today()
fv = view.followup_view(
    workflow["findings"],
    workflow["history"],
    today=today,
    rules=view.rules_from(),
    streets=who.streets,
)
if fv.tracked == 0:
    st.info(
        "工作区中还没有线索：请先在「数据导入」页读入数据并运行检查（或由管理员运行 "
        f"{ui.md_code('aidwatch check')}），线索核实、整改后在这里按街镇跟踪回头看。"
    )
    st.stop()
if fv.items.height == 0:
    st.info(
        f"工作区中的 {fv.tracked:,} 条线索都已办结（不属实、已追回、已处置或回头看通过），"
        "目前没有需要回头看或督办的线索。"
    )
    st.stop()

# --- by street office ----------------------------------------------------------------------------
st.subheader("各街镇情况")
total = view.counts_of(fv.summary)
cols = st.columns(len(view.COUNTS))
for col, (name, label) in zip(cols, view.COUNTS.items(), strict=True):
    col.metric(label, f"{total[name]:,}", help=view.COUNT_HELP[name])
summary = view.summary_table(fv.summary)
ui.show_table(
    summary,
    key="followup_summary",
    height=35 * (summary.height + 1) + 3,
    column_config=COUNT_COLUMNS,
)
st.caption(
    f"截至 {today.isoformat()}。已整改的线索在整改完成 {fv.rules.recheck_after_months} "
    f"个月后回头看；容错免责在到期前 {fv.rules.exception_warning_days} 天提醒。"
)
st.plotly_chart(charts.followup_bars(fv.summary), key="followup_chart_streets")

# --- one street's list ---------------------------------------------------------------------------
st.subheader("街镇清单")
choices = view.street_choices(fv)
wanted = st.query_params.get("street")
if wanted in choices and st.session_state.get("followup_street_wanted") != wanted:
    st.session_state["followup_street"] = wanted
st.session_state["followup_street_wanted"] = wanted
if st.session_state.get("followup_street") not in choices:
    # A street kept from before that has nothing left: the box shows (and the page lists) all.
    st.session_state["followup_street"] = choices[0]
ui.keep("followup_street")  # the kept copy follows a street linked or dropped above
street = st.selectbox("街镇", choices, key="followup_street", width=360)
items = view.items_of(fv, street)
table = view.items_table(items)
if table.height > view.MAX_ROWS:
    st.caption(
        f"共 {table.height:,} 条，本页显示前 {view.MAX_ROWS:,} 条，下方导出的 Excel 包含全部。"
    )
else:
    st.caption(f"共 {table.height:,} 条，按街镇和期限排列；超期的标“是”。")
ui.show_table(
    table.head(view.MAX_ROWS), key="followup_items", column_config=DAYS, placeholder=formats.DASH
)

# --- the re-check schedule -----------------------------------------------------------------------
st.subheader("回头看计划")
due = view.schedule(items)
if due.height == 0:
    st.caption("所选范围内没有已整改、等待回头看的线索。")
else:
    st.caption(
        f"已整改、等待回头看的线索 {due.height:,} 条，按回头看日期排列"
        f"（整改完成后 {fv.rules.recheck_after_months} 个月）。"
    )
    month_col, list_col = st.columns([1, 4])
    with month_col:
        ui.show_table(view.schedule_by_month(due), key="followup_schedule_months")
    with list_col:
        ui.show_table(
            view.schedule_table(due).head(view.MAX_ROWS),
            key="followup_schedule",
            column_config=DAYS,
            placeholder=formats.DASH,
        )

# --- the workbook the streets answer -------------------------------------------------------------
scope = "各街镇" if street == view.ALL_STREETS else street
ui.download_excel(
    f"导出{ui.md(scope)}回头看清单（Excel）",
    view.answer_sheets(fv, street),
    f"回头看清单_{view.sheet_name(scope, ())}_{today.isoformat()}.xlsx",
    key="followup_download",
)
st.caption(
    "工作簿首页为各街镇汇总，其后每个街镇一页，末尾留有“核查结果”“说明”两列，由街镇逐条填写后交回。"
)
