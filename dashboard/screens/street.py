"""街镇: one street office's indicators in a period and over time, the funnel of its leads
(found, verified, rectified, money recovered) with its rectification on-time and recurrence
rates, its findings by check, its overdue items and its four circles. The period starts as the
one chosen on 总览 and follows it when it changes there; the street and the period chosen here
are kept when the user goes to another page and comes back."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics.charts import overview as charts
from analytics.views import overview as periods
from analytics.views import street as view
from dashboard import auth, data, ui

LEVEL_KEY = "street_level"
PERIOD_KEYS = {level: f"street_period_{level}" for level in periods.LEVELS}
# The 总览 choice this page last took over: a new choice there is taken over again.
FOLLOWED_KEY = "street_followed_overview"


def follow_overview(options: dict[str, list[str]]) -> None:
    """Take over the period chosen on 总览 when it is new to this page (the first visit, or
    the user changed it there since); otherwise the choice made here stands."""
    level = ui.kept("overview_level")
    if level not in options or not options[level]:
        return
    period = ui.kept(f"overview_period_{level}")
    chosen = (level, period if period in options[level] else None)
    if st.session_state.get(FOLLOWED_KEY) == chosen:
        return
    st.session_state[FOLLOWED_KEY] = chosen
    st.session_state[LEVEL_KEY] = level
    if chosen[1] is not None:
        st.session_state[PERIOD_KEYS[level]] = chosen[1]


who = auth.require_page("street")
ui.keep("street_name", LEVEL_KEY, *PERIOD_KEYS.values())
st.title("街镇")
st.caption("单个街镇的绩效指标变化、线索处置与整改、各检查项线索、超期事项和低收入人口四个圈层。")

out_dir = ui.current_out_dir()
indicators = ui.indicators_or_stop(out_dir)
findings = data.findings(out_dir)
summary = data.check_summary(out_dir)
options = periods.period_options(indicators)
levels = [lv for lv in periods.LEVELS if options[lv]]

# --- state ---------------------------------------------------------------------------------------
streets = view.street_options(indicators, who)
if st.session_state.get("street_name") not in streets:
    st.session_state.pop("street_name", None)  # a street of an earlier run, or not this viewer's
follow_overview(options)
if st.session_state.get(LEVEL_KEY) not in levels:
    st.session_state.pop(LEVEL_KEY, None)
street_col, level_col = st.columns([2, 3])
street = street_col.selectbox("街镇", streets, key="street_name")
if street is None:  # none of this viewer's streets has indicators in this run
    st.info("本次检查结果中没有当前账号可查看的街镇。")
    st.stop()
level = level_col.segmented_control(
    "期间类型",
    levels,
    format_func=lambda lv: periods.LEVELS[lv],
    default=levels[0],
    required=True,
    key=LEVEL_KEY,
)
period_key = PERIOD_KEYS[level]
if st.session_state.get(period_key) not in options[level]:
    st.session_state.pop(period_key, None)
period = st.pills(
    "期间",
    options[level],
    format_func=periods.period_label,
    default=options[level][0],
    required=True,
    key=period_key,
    wrap=True,
)

workflow: dict[str, pl.DataFrame] | None
try:
    workflow = data.workflow_frames()
except Exception:  # an unreachable or broken database: say so below, never quote it
    workflow = None
has_records = workflow is not None and workflow["findings"].height > 0
sv = view.street_view(
    indicators,
    findings,
    street,
    level,
    workflow=workflow if has_records else None,
    period=period,
    summary=summary,
)

# --- metrics -------------------------------------------------------------------------------------
st.markdown(f"**{ui.md(street)} · {sv.label}**")
# Three to a row: six side by side cut their labels and values on a laptop's screen.
metrics = view.headline_metrics(sv)
for start in range(0, len(metrics), 3):
    for col, (label, value, help_) in zip(st.columns(3), metrics[start : start + 3], strict=False):
        col.metric(label, value, help=help_)
if sv.unchecked:
    st.caption(view.unchecked_note(sv))

# --- charts, each with its table -----------------------------------------------------------------
st.subheader("指标变化")
chart_col, table_col = st.columns([3, 2])
chart_col.plotly_chart(
    charts.indicator_lines(sv.over_time, list(view.RATES), "及时率与合规率"),
    key="street_chart_rates",
)
chart_col.plotly_chart(
    charts.indicator_lines(sv.over_time, ["composite_score"], "综合得分"), key="street_chart_score"
)
with table_col:
    ui.show_table(view.over_time_table(sv))

st.subheader("线索处置与整改")
rectification = view.rectification_metrics(sv)
for col, (title, shown, note) in zip(st.columns(len(rectification)), rectification, strict=True):
    col.metric(title, shown, help=note)
ui.funnel_section(
    None if workflow is None else sv.funnel,
    sv.label,
    "street_chart_funnel",
    unavailable=workflow is None,
    where=street,
)
ui.page_links([("followup", f"查看{street}的回头看清单", {"street": street})])

st.subheader("各检查项线索")
chart_col, table_col = st.columns([3, 2])
chart_col.plotly_chart(
    charts.check_bars(sv.by_check, f"{sv.label}各检查项线索数"), key="street_chart_checks"
)
with table_col:
    ui.show_table(view.by_check_table(sv))
    st.caption(f"{sv.label}。{view.FINDINGS_NOTE}")
ui.page_links([("findings", f"查看{street}的全部线索及证据", {"street": street})])

st.subheader("超期事项")
overdue = view.overdue_table(sv)
shown_rows = (
    f"本页显示前 {view.MAX_ROWS:,} 件，下方导出的 Excel 包含全部；"
    if overdue.height > view.MAX_ROWS
    else ""
)
st.caption(
    f"{sv.label}内的审批超时与探访逾期共 {overdue.height:,} 件，"
    f"{shown_rows}身份证号、银行账号已脱敏。{view.overdue_note(sv)}"
)
ui.show_table(overdue.head(view.MAX_ROWS))

st.subheader("低收入人口四个圈层")
chart_col, table_col = st.columns([3, 2])
chart_col.plotly_chart(charts.circle_bars(sv.circles), key="street_chart_circles")
with table_col:
    ui.show_table(view.circles_table(sv))
    st.caption(
        "按检查基准日和 data/circles.toml 的规则划分，每户只计入一个圈层；不随所选期间变化。"
    )

ui.download_excel(
    "导出本页表格（Excel）",
    view.excel_sheets(sv),
    f"街镇_{street}_{sv.period}.xlsx",
    key="street_download",
)
