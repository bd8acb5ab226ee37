"""总览: the district at a glance. The landing view is static: headline figures and the ten street
offices ranked with every indicator beside the score, coloured as a heat map. The ranking chart,
the heat map, the trends, the leads and the period's funnel of the follow-up loop, each with its
data table, open from a view selector; then the yearly evaluation report (with the year's
funnel). The workspace's records are read only for the funnel view and the report: at a city's
scale they are too many to read on every load of the landing page."""

from __future__ import annotations

import streamlit as st

from analytics import access, schema
from analytics.charts import overview as charts
from analytics.views import overview as view
from dashboard import auth, data, ui

VIEWS = {
    "glance": "一览",
    "ranking": "街镇排名",
    "heat": "街镇 × 指标",
    "trend": "月度趋势",
    "leads": "线索分类",
    "funnel": "处置漏斗",
}
# The period (the 街镇 page starts from it too), the view and the trend's choices are kept when
# the user goes to another page and comes back.
PERIOD_KEYS = ("overview_level", *(f"overview_period_{level}" for level in view.LEVELS))
KEPT = (*PERIOD_KEYS, "overview_view", "overview_trend", "overview_trend_streets")


def read_workflow():
    """The workspace's findings, history and recoveries, read now; None when its database
    cannot be read (the rest of the page does not depend on it)."""
    try:
        return data.workflow_frames()
    except Exception:  # an unreachable or broken database: say so, never quote it
        return None


def has_records(workflow) -> bool:
    return workflow is not None and workflow["findings"].height > 0


who = auth.require_page("overview")
ui.keep(*KEPT)
st.title("总览")
st.caption("全区救助对象、资金发放与问题线索概况，十个街镇的绩效指标、综合得分排名与月度趋势。")

out_dir = ui.current_out_dir()
indicators = ui.indicators_or_stop(out_dir)
findings = data.findings(out_dir)
summary = data.check_summary(out_dir)
options = view.period_options(indicators)
levels = [lv for lv in view.LEVELS if options[lv]]

# --- state ---------------------------------------------------------------------------------------
# Segmented controls and pills rather than radios and select boxes: they share the browser code of
# the view selector below, where a select box would fetch its own (8 files, about 130 kB).
# One row that wraps: side by side on a wide screen, the periods below on a narrow one.
controls = st.container(horizontal=True, gap="medium")
level = controls.segmented_control(
    "期间类型",
    levels,
    format_func=lambda lv: view.LEVELS[lv],
    default=levels[0],
    required=True,
    key="overview_level",
)
period_key = f"overview_period_{level}"
if st.session_state.get(period_key) not in options[level]:
    st.session_state.pop(period_key, None)  # a period of an earlier run
period = controls.pills(
    "期间",
    options[level],
    format_func=view.period_label,
    default=options[level][0],
    required=True,
    key=period_key,
    wrap=True,
)
# Chosen on the trend view, kept while another view is open, and exported with the workbook.
trend = st.session_state.get("overview_trend") or view.TRENDED[0]
streets_shown = [s for s in schema.STREETS if who.streets is None or s in who.streets]
trend_streets = [
    s for s in st.session_state.get("overview_trend_streets") or [] if s in streets_shown
]

# The view chosen, known before its control is drawn: only the funnel view reads the workspace.
funnel_shown = st.session_state.get("overview_view") == "funnel"
workflow = read_workflow() if funnel_shown else None
ov = view.overview(
    indicators,
    findings,
    period,
    trend,
    streets=who.streets,
    workflow=workflow if has_records(workflow) else None,
    summary=summary,
    trend_streets=trend_streets,
)
not_computed = (view.NOT_COMPUTED_NOTE if ov.uncomputed else "") + view.scope_note(ov)

# --- metrics -------------------------------------------------------------------------------------
# One static block rather than nine st.metric elements: less for the browser to fetch and draw.
where = "全区" if who.streets is None else "、".join(who.streets)
st.caption(
    f"**{ov.label}** · {ui.md(where)}（在册案件为期末数，金额和线索为本期数；"
    "把鼠标停在 ⓘ 上可看口径）"
)
st.html(view.metrics_html(view.headline_metrics(ov)))

# --- the view: a static table by default, the charts and data grids on request ----------------
# The landing view draws plain HTML: Streamlit's Plotly component (4.7 MB of script) and its data
# grid are fetched by the browser only when a view that uses them is opened.
shown = st.segmented_control(
    "视图",
    list(VIEWS),
    format_func=lambda v: VIEWS[v],
    default="glance",
    required=True,
    key="overview_view",
    label_visibility="collapsed",
)
if shown == "glance":
    st.html(view.glance_html(ov.ranking, ov.heat, ov.uncomputed, ov.unchecked))
    st.caption(
        f"{ov.label}。排名按综合得分从高到低，得分相同的并列，蓝条长短即综合得分。"
        "格内数字为指标本身的值，颜色为该项得分（0–100分，红差绿好；算法见“街镇 × 指标”视图"
        "和“指标定义”）；培训次数未达要求的街镇标红。" + not_computed
    )
elif shown == "ranking":
    chart_col, table_col = st.columns([2, 3])
    chart_col.plotly_chart(charts.ranking_bars(ov.ranking), key="overview_chart_ranking")
    with table_col:
        ui.show_table(view.ranking_table(ov.ranking, ov))
        st.caption(
            f"{ov.label}。排名按综合得分从高到低，得分相同的并列；红色条表示当年培训次数"
            "未达要求；“综合得分未计入”列出该街镇没有值而未参与计分的指标。" + not_computed
        )
elif shown == "heat":
    st.plotly_chart(charts.heatmap(ov.heat), key="overview_chart_heat")
    st.caption(f"{ov.label}。{view.HEAT_NOTE}" + not_computed)
    st.markdown("**指标值**（即热力图格内数字）")
    ui.show_table(view.heat_table(ov.heat), key="overview_heat_values")
    st.markdown("**各项得分**（0–100分，即热力图的颜色）")
    ui.show_table(view.score_table(ov.heat), key="overview_heat_scores")
elif shown == "trend":
    pick, choose = st.columns([2, 3])
    pick.selectbox("趋势指标", view.TRENDED, format_func=view.indicator_title, key="overview_trend")
    choose.multiselect(
        "对比街镇",
        streets_shown,
        key="overview_trend_streets",
        placeholder="选择要与全区对比的街镇（不选则只看全区）"
        if who.streets is None
        else "选择街镇（不选则显示全部可见街镇）",
    )
    st.plotly_chart(charts.trend_lines(ov.trends, trend), key="overview_chart_trend")
    ui.show_table(view.trend_table(ov.trends, trend), key="overview_trend_table")
elif shown == "funnel":
    ui.funnel_section(
        None if workflow is None else ov.funnel,
        ov.label,
        "overview_chart_funnel",
        unavailable=workflow is None,
    )
    ui.page_links([("followup", "查看各街镇回头看情况")])
else:
    chart_col, table_col = st.columns([3, 2])
    chart_col.plotly_chart(charts.leads_bars(ov.leads), key="overview_chart_leads")
    with table_col:
        ui.show_table(view.leads_table(ov.leads))

ui.download_excel(
    "导出本页表格（Excel）",
    view.excel_sheets(ov),
    f"总览_{ov.period}.xlsx",
    key="overview_download",
)

# --- the yearly evaluation -----------------------------------------------------------------------
# It ranks every street against the others: the district's document, not a street office's.
if access.may(who, "yearly_report"):
    st.subheader("年度绩效评价报告")
    year_col, button_col = st.columns([1, 3], vertical_alignment="bottom")
    year = year_col.segmented_control(
        "评价年度",
        options["year"],
        format_func=view.period_label,
        default=options["year"][0] if options["year"] else None,
        required=bool(options["year"]),
        key="overview_year",
    )

    def yearly_pdf() -> bytes:
        from analytics import report  # fpdf2 is loaded only when a report is asked for

        if year is None:  # the run has no yearly indicators
            raise report.ReportError("检查结果中没有年度指标，无法生成年度报告。")
        records = read_workflow()
        funnel = view.funnel_by_street(records, year) if has_records(records) else None
        return report.yearly_report(indicators, findings, year, funnel=funnel)

    ui.download_button(
        button_col,
        "生成并下载 PDF 报告",
        data=yearly_pdf,
        file_name=f"街镇绩效评价_{year}.pdf",
        mime="application/pdf",
        key="overview_report",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
    )

# Drawn only once opened (a rerun): the long table would otherwise be laid out on every load.
definitions = st.expander("指标定义", key="overview_definitions", on_change="rerun")
if definitions.open:
    with definitions:
        # Static HTML wraps the long definitions, which a data grid would cut off, and needs none
        # of the browser code of st.table (about 1 MB of Arrow decoding).
        st.html(view.definitions_html())
