"""资金比对: the business system's entitlements against the fund ledger, finding by finding."""

from __future__ import annotations

import streamlit as st

from analytics.charts import funds as charts
from analytics.model import DropError
from analytics.views import funds as view
from dashboard import auth, data, ui

# pandas Styler gives up above this many cells; bigger comparisons show the 差异 column only.
MAX_STYLED_CELLS = 100_000


def money_format(frame) -> dict:
    return {c: st.column_config.NumberColumn(format="accounting")
            for c in view.money_columns(frame)}


def show(frame, **kwargs) -> None:
    ui.show_table(frame, column_config=money_format(frame), placeholder="—", **kwargs)


def show_side(title: str, frame, cells) -> None:
    """One side of the comparison, its marked values highlighted."""
    st.markdown(f"**{title}**（{frame.height} 条）")
    if frame.height == 0:
        st.caption("没有对应的记录。")
    elif frame.height * frame.width <= MAX_STYLED_CELLS:
        ui.show_table(view.styled(frame, cells), placeholder="—")
    else:
        show(frame)


who = auth.require_page("funds")
st.title("资金比对")
st.caption("业务系统应发名册与资金内控平台实发明细的比对结果：重复拨付、应发未发、金额不符、"
           "超范围使用资金等十一项检查发现的问题。")

out_dir = ui.current_out_dir()
if not (out_dir / "findings.csv").exists():
    st.info(f"检查结果文件夹中还没有检查结果：{ui.md(out_dir)}。{ui.how_to_run(out_dir)}")
    st.stop()

# Who may see what is decided in the service layer; None: everything.
visible = view.funds_findings(data.findings(out_dir), viewer=who)
options = view.filter_options(visible)
titles = dict(view.funds_checks().select("check_id", "title").iter_rows())

# A choice kept from an earlier run may no longer exist: drop it before the widget sees it.
for key, choices in (("funds_months", options["months"]), ("funds_streets", options["streets"]),
                     ("funds_checks", options["checks"])):
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in choices]

left, middle, right = st.columns(3)
months = left.multiselect("发放月份", options["months"], key="funds_months",
                          placeholder="全部月份")
streets = middle.multiselect("街镇", options["streets"], key="funds_streets",
                             placeholder="全部街镇")
chosen_checks = right.multiselect("检查项", options["checks"], format_func=titles.get,
                                  key="funds_checks", placeholder="全部检查项")
shown = view.filter_findings(visible, months, streets, chosen_checks)

summary = view.metrics(shown, data.check_summary(out_dir))
cols = st.columns(4)
cols[0].metric("发现数", f"{summary.findings:,}")
cols[1].metric("涉及金额（元）", view.yuan_short(summary.amount_fen),
               help=f"{view.yuan_text(summary.amount_fen)} 元")
cols[2].metric("发现问题的检查项", f"{summary.checks_fired} / {summary.checks_run}")
cols[3].metric("跳过的检查项", len(summary.skipped))
if summary.skipped:
    st.warning("以下资金比对检查项本次未检查：\n"
               + "\n".join(f"- {ui.md(title)}：{ui.md(reason)}"
                           for title, reason in summary.skipped))

by_check_tab, by_street_tab, matrix_tab = st.tabs(["按检查项", "按街镇", "街镇 × 检查项"])
with by_check_tab:
    totals = view.by_check(shown)
    st.plotly_chart(charts.check_bars(totals), key="funds_chart_checks")
    show(view.check_table(totals))
with by_street_tab:
    totals = view.by_street(shown)
    st.plotly_chart(charts.street_bars(totals), key="funds_chart_streets")
    show(view.street_table(totals))
with matrix_tab:
    st.plotly_chart(charts.street_check_heatmap(view.matrix(shown),
                                                view.matrix(shown, "amount_fen")),
                    key="funds_chart_matrix")
    show(view.matrix_table(shown))

st.subheader("发现明细")
drawn = shown.head(view.MAX_ROWS)
table = view.findings_table(drawn)
if shown.height > drawn.height:
    st.caption(f"共 {shown.height:,} 条，按严重程度和涉及金额排序，本页显示前 {drawn.height:,} 条，"
               "请用上方条件缩小范围；身份证号、银行账号已脱敏。勾选一行即可在下方查看应发与实发的对照。")
else:
    st.caption(f"共 {table.height:,} 条，按严重程度和涉及金额排序；身份证号、银行账号已脱敏。"
               "勾选一行即可在下方查看应发与实发的对照。")
event = ui.show_table(table, on_select="rerun", selection_mode="single-row",
                      column_config=money_format(table), placeholder="—", key="funds_table")
# The export holds the rows on screen; when the screen shows only the first rows, a second
# export holds every filtered finding.
export_col, all_col = st.columns([1, 3])
ui.download_button(export_col,
    ("导出 Excel" if shown.height == drawn.height
     else f"导出本页显示的 {drawn.height:,} 条（Excel）"),
    data=lambda: view.findings_excel(drawn), file_name="资金比对发现.xlsx", mime=ui.XLSX_MIME,
    key="funds_download", icon=":material/download:", disabled=table.height == 0,
    on_click="ignore")
if shown.height > drawn.height:
    ui.download_button(all_col,
        f"导出全部 {shown.height:,} 条筛选结果（Excel）", data=lambda: view.findings_excel(shown),
        file_name="资金比对发现_全部.xlsx", mime=ui.XLSX_MIME, key="funds_download_all",
        icon=":material/download:", on_click="ignore")

if table.height == 0:
    st.info("当前筛选条件下没有发现。")
    st.stop()

st.subheader("应发与实发对照")
# A link may name a finding (?finding=F...); a row ticked in the table chooses one too.
pick = ui.pick_finding(shown, table.get_column("编号").to_list(), event, "funds_pick",
                       "查看发现")
finding = view.finding_by_id(shown, pick)

# Titles and severities are the registry's words; the rest comes from the data.
st.markdown(f"**{finding['title']}**（严重程度：{finding['severity']}）· {ui.md(finding['street'])}"
            f" · 编号 {ui.md_code(finding['finding_id'])}")
st.info(ui.md(finding["summary"]))

drop_dir, drop = ui.current_drop_dir(), None
if not drop_dir.is_dir():
    st.warning(f"找不到数据文件夹：{ui.md(drop_dir)}，不能显示应发与实发的对照。")
else:
    try:
        drop = data.read_drop(drop_dir)
    except DropError as exc:
        st.warning(f"无法读取数据文件夹，不能显示应发与实发的对照：{ui.md(exc)}")
if drop is not None:
    comparison = view.compare(finding, drop.tables)
    st.caption(ui.md(comparison.scope) + "标红的值与另一方不一致或构成本条发现；“差异”列列出这些字段。")
    ent_col, paid_col = st.columns(2)
    with ent_col:
        show_side("应发名册（业务系统）", comparison.entitled, comparison.entitled_cells)
    with paid_col:
        show_side("资金实发明细（资金内控平台）", comparison.paid, comparison.paid_cells)

st.markdown("**证据**")
st.json(view.evidence_for_display(finding["evidence"]), expanded=2)
