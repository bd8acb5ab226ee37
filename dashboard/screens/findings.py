"""线索清单: every finding of the run, of every family, filtered, one opened with its rule and its
evidence, exported to Excel."""

from __future__ import annotations

import streamlit as st

from analytics import report
from analytics.views import findings as view
from analytics.views.funds import yuan_short, yuan_text
from checks.registry import FAMILIES
from dashboard import data, ui

st.title("线索清单")
st.caption("本次检查发现的全部线索：资金比对、廉洁风险、动态管理和审批流程。线索是需要核实的疑点，"
           "不是对任何家庭的结论；每条线索附有所依据的规则和证据。")

out_dir = ui.current_out_dir()
if not (out_dir / "findings.csv").exists():
    st.info(f"检查结果文件夹中还没有检查结果：{ui.md(out_dir)}。{ui.how_to_run(out_dir)}")
    st.stop()

# Who may see what is decided in the service layer; None: everything.
visible = view.visible_findings(data.findings(out_dir), viewer=None)
options = view.options(visible)

# A choice kept from an earlier run may no longer exist: drop it before the widget sees it.
for key, choices in (("findings_families", options.families),
                     ("findings_checks", list(options.checks)),
                     ("findings_streets", options.streets), ("findings_months", options.months),
                     ("findings_severities", options.severities)):
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in choices]

# A link may name a street (?street=...), as 街镇 does: start the list on it.
linked_street = st.query_params.get("street")
if linked_street in options.streets and st.session_state.get("findings_linked") != linked_street:
    st.session_state["findings_streets"] = [linked_street]
st.session_state["findings_linked"] = linked_street

top = st.columns(3)
families = top[0].multiselect("类别", options.families, format_func=FAMILIES.get,
                              key="findings_families", placeholder="全部类别")
check_choices = [c for c in options.checks
                 if not families or options.check_family[c] in families]
checks = top[1].multiselect("检查项", check_choices, format_func=options.checks.get,
                            key="findings_checks", placeholder="全部检查项")
streets = top[2].multiselect("街镇", options.streets, key="findings_streets",
                             placeholder="全部街镇")
bottom = st.columns(3)
months = bottom[0].multiselect("月份", options.months, key="findings_months",
                               placeholder="全部月份（含不按月的线索）")
severities = bottom[1].multiselect("严重程度", options.severities, key="findings_severities",
                                   placeholder="全部")
case = bottom[2].text_input("救助编号", key="findings_case",
                            placeholder="输入救助编号的全部或一部分")
shown = view.filter_findings(visible, families=families, checks=checks, streets=streets,
                             months=months, severities=severities, case=case)

cols = st.columns([1, 1.6] + [1] * len(FAMILIES))
cols[0].metric("线索", f"{shown.height:,}")
money = int(shown.get_column("amount_fen").sum() or 0)
cols[1].metric("涉及金额（元）", yuan_short(money), help=f"{yuan_text(money)} 元")
counts = view.by_family(shown)
for col, title in zip(cols[2:], FAMILIES.values()):
    col.metric(title, f"{counts.get(title, 0):,}")

table = view.findings_table(shown.head(view.MAX_ROWS))
if shown.height > table.height:
    st.caption(f"共 {shown.height:,} 条，按严重程度和涉及金额排序，本页显示前 {table.height:,} 条，"
               "请用上方条件缩小范围；导出的 Excel 包含全部筛选结果。身份证号、银行账号已脱敏。"
               "勾选一行即可在下方查看该线索的规则和证据。")
else:
    st.caption(f"共 {table.height:,} 条，按严重程度和涉及金额排序；身份证号、银行账号已脱敏。"
               "勾选一行即可在下方查看该线索的规则和证据。")
event = ui.show_table(
    table, on_select="rerun", selection_mode="single-row", placeholder="—",
    key="findings_table",
    column_config={"涉及金额（元）": st.column_config.NumberColumn(format="accounting")})
scope = view.scope_text(families=[FAMILIES[f] for f in families],
                        checks=[options.checks[c] for c in checks], streets=streets,
                        months=months, severities=severities, case=case)
excel_col, pdf_col = st.columns([1, 3])
excel_col.download_button("导出 Excel", data=lambda: view.findings_excel(shown),
                          file_name="线索清单.xlsx", mime=ui.XLSX_MIME, key="findings_download",
                          icon=":material/download:", disabled=table.height == 0,
                          on_click="ignore")
sheet_rows = min(shown.height, report.SHEET_MAX_FINDINGS)
pdf_col.download_button(
    ("导出核查单（PDF）" if sheet_rows == shown.height
     else f"导出核查单（PDF，前 {sheet_rows:,} 条）"),
    data=lambda: report.verification_sheet(shown, scope), file_name="线索核查单.pdf",
    mime="application/pdf", key="findings_sheet", icon=":material/picture_as_pdf:",
    disabled=table.height == 0, on_click="ignore",
    help="供核查人员逐条核实的清单：每条线索一行，留有核查结果、核查人和日期栏，附所依据的规则。")

if table.height == 0:
    st.info("当前筛选条件下没有线索。")
    st.stop()

st.subheader("线索详情")
# A link may name a finding (?finding=F...); a row ticked in the table chooses one too.
pick = ui.pick_finding(shown, table.get_column("编号").to_list(), event, "findings_pick",
                       "查看线索")
finding = view.finding_by_id(shown, pick)

# Titles, families and severities are the registry's words; the rest comes from the data.
st.markdown(f"**{finding['title']}**（{finding['family_title']} · 严重程度：{finding['severity']}）"
            f" · {ui.md(finding['street'])} · 编号 {ui.md_code(finding['finding_id'])}")
st.info(ui.md(finding["summary"]))
published = view.rule(finding["check_id"])
if published is not None:
    st.markdown(f"**规则**：{published.description}")
links: list[tuple[str, str, dict | None]] = []
if view.opens_in_graph(finding):
    links.append(("graph", "在关系图谱中查看证据路径", {"finding": finding["finding_id"]}))
if finding["family"] == "funds":
    links.append(("funds", "在资金比对中查看应发与实发", {"finding": finding["finding_id"]}))
links.append(("rules", "查看全部检查规则及参数", None))
ui.page_links(links)
st.markdown("**证据**")
st.json(view.evidence_for_display(finding["evidence"]), expanded=2)
