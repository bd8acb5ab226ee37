"""关系图谱: the evidence subgraph of a finding, person, staff member, account or cluster."""

from __future__ import annotations

import streamlit as st

from analytics.charts.graph import network_figure
from analytics.linkgraph import ACCOUNT, PERSON, STAFF
from analytics.model import DropError
from analytics.schema import STREETS
from analytics.views import graph as views
from dashboard import auth, data, ui

FROM_FINDING, FROM_PERSON, FROM_STAFF, FROM_ACCOUNT, FROM_CLUSTER = (
    "从线索", "从人员", "从工作人员", "从银行账户", "从线索群")

who = auth.require_page("graph")
st.title("关系图谱")
st.caption("近亲属、共用账户、卡折代管和共用联系方式构成的关系网络。红色粗线为线索的证据路径；"
           f"每张图最多显示 {views.MAX_NODES} 个节点，身份证号、银行账号、电话和住址均已脱敏。")

drop_dir, out_dir = ui.current_drop_dir(), ui.current_out_dir()
if not drop_dir.is_dir():
    st.warning(f"找不到数据文件夹：{ui.md(drop_dir)}")
    st.stop()
try:
    graph = data.link_graph(drop_dir)
except DropError as exc:
    st.error(ui.md(exc))
    st.stop()
findings = data.findings(out_dir)
ranked = views.rank_clusters(graph, findings)

# A link may name a finding (?finding=F...): open the page on it.
wanted = st.query_params.get("finding")
choices = dict(views.finding_choices(findings))
if wanted and wanted not in choices and wanted in set(findings.get_column("finding_id")):
    row = findings.filter(findings["finding_id"] == wanted).row(0, named=True)
    choices = {wanted: f"{row['title']}｜{row['summary'][:60]}", **choices}
# Each new link wins once; a finding picked by hand afterwards stays picked.
if wanted in choices and st.session_state.get("graph_wanted") != wanted:
    st.session_state["graph_start"] = FROM_FINDING
    st.session_state["graph_finding"] = wanted
st.session_state["graph_wanted"] = wanted

start = st.radio("起点", [FROM_FINDING, FROM_PERSON, FROM_STAFF, FROM_ACCOUNT, FROM_CLUSTER],
                 horizontal=True, key="graph_start")


def pick_view() -> views.GraphView | None:
    if start == FROM_FINDING:
        if not choices:
            st.info("检查结果中没有廉洁风险线索。请先运行检查，或从人员、工作人员、账户开始。")
            return None
        finding = st.selectbox("线索", list(choices), format_func=choices.get,
                               key="graph_finding")
        ui.page_links([("findings", "在线索清单中查看规则和证据", {"finding": finding})])
        return views.finding_view(graph, findings, finding)
    if start == FROM_CLUSTER:
        if ranked.height == 0:
            st.info("没有包含线索的线索群。")
            return None
        names = ranked.sort("findings", "amount_fen", descending=True)["cluster"].unique(
            maintain_order=True).to_list()
        cluster = st.selectbox("线索群（按线索数排序）", names, key="graph_cluster")
        return views.cluster_view(graph, findings, cluster)
    if start == FROM_STAFF:
        staff = views.staff_choices(graph)
        chosen = st.selectbox("工作人员工号", staff, key="graph_staff", index=None,
                              placeholder="选择或输入工号")
        return views.node_view(graph, findings, STAFF, chosen) if chosen else None
    kind, label = (PERSON, "身份证号") if start == FROM_PERSON else (ACCOUNT, "银行账号")
    value = st.text_input(label, key=f"graph_{kind}", placeholder=f"输入完整的{label}")
    if not value.strip():
        return None
    if st.session_state.get("graph_logged") != (kind, value.strip()):  # once per look-up
        views.log_lookup(data.workspace().store, who, kind, value)
        st.session_state["graph_logged"] = (kind, value.strip())
    return views.node_view(graph, findings, kind, value)


try:
    view = pick_view()
except KeyError:
    st.warning("关系图谱中没有找到该对象。")
    view = None

if view is not None:
    cols = st.columns(4)
    cols[0].metric("节点", view.nodes.height)
    cols[1].metric("关系", view.edges.height)
    cols[2].metric("关联线索", view.findings.height)
    cols[3].metric("涉及案件实发金额（元）", f"{view.money_fen / 100:,.2f}",
                   help="图中线索所涉案件的实发金额，每个案件只计一次")
    st.plotly_chart(network_figure(view), key="graph_chart")
    if view.truncated:
        st.caption(f"关系较多，仅显示距起点最近的 {views.MAX_NODES} 个节点。")
    if start == FROM_FINDING:
        chosen = st.session_state["graph_finding"]
        # Masked identifiers hold asterisks, labels hold data: all of it shown as typed.
        st.markdown("**证据路径：** " + ui.md(views.path_text(findings, chosen)))
        st.caption(ui.md(views.summary_of(findings, chosen)))
    if view.cluster:
        st.caption(f"所属线索群：{ui.md(view.cluster)}")
    if view.findings.height:
        st.subheader("图中涉及的线索")
        ui.show_table(views.findings_table(view.findings))

st.subheader("线索群排名")
street = st.selectbox("街镇", [views.ALL_STREETS, *STREETS], key="graph_street")
shown = views.rank_clusters(graph, findings, street)
if shown.height == 0:
    st.info("该街镇没有包含廉洁风险线索的线索群。")
else:
    ui.show_table(views.clusters_table(shown))
    export = st.selectbox("导出线索群", shown["cluster"].unique(maintain_order=True).to_list(),
                          key="graph_export")
    ui.download_button(st, "导出该线索群的证据（Excel）",
                       data=lambda: views.cluster_excel(graph, findings, export),
                       file_name=f"线索群{export}.xlsx", mime=ui.XLSX_MIME,
                       key="graph_export_download", icon=":material/download:",
                       on_click="ignore")

hubs = views.hubs_table(graph)
with st.expander(f"多人共用的电话和住址（{hubs.height} 个，不参与线索群连接）"):
    if hubs.height:
        ui.show_table(hubs)
    else:
        st.caption("没有超过阈值的共用电话或住址。")
