"""关系图谱: the evidence subgraph of a finding, person, staff member, account or cluster."""

from __future__ import annotations

import streamlit as st

from analytics import amounts, formats
from analytics.charts.graph import network_figure
from analytics.linkgraph import ACCOUNT, PERSON, STAFF
from analytics.model import DropError
from analytics.schema import STREETS
from analytics.views import graph as views
from dashboard import auth, data, ui

FROM_FINDING, FROM_PERSON, FROM_STAFF, FROM_ACCOUNT, FROM_CLUSTER = (
    "从线索",
    "从人员",
    "从工作人员",
    "从银行账户",
    "从线索群",
)
STARTS = [FROM_FINDING, FROM_PERSON, FROM_STAFF, FROM_ACCOUNT, FROM_CLUSTER]
KEPT = (
    "graph_start",
    "graph_finding",
    "graph_cluster",
    "graph_staff",
    f"graph_{PERSON}",
    f"graph_{ACCOUNT}",
    "graph_street",
    "graph_export",
)

who = auth.require_page("graph")
st.title("关系图谱")
st.caption(
    "近亲属、共用账户、卡折代管和共用联系方式构成的关系网络。红色粗线为线索的证据路径；"
    f"每张图最多显示 {views.MAX_NODES} 个节点，节点较多时只标注起点、证据路径和关系最多的"
    "节点，其余名称见鼠标悬停提示。身份证号、银行账号、电话和住址均已脱敏。"
)

# The widgets are gone when the user comes back from another page: a link followed then counts
# as new, and the choices are put back as they were left.
if "graph_start" not in st.session_state:
    st.session_state.pop("graph_wanted", None)
ui.keep(*KEPT)

drop_dir, out_dir = ui.current_drop_dir(), ui.current_out_dir()
if not drop_dir.is_dir():
    st.warning(f"找不到数据文件夹{ui.at_folder(drop_dir)}。请管理员在侧栏设置数据文件夹。")
    st.stop()
try:
    read = data.read_drop(drop_dir)
    graph = data.link_graph(drop_dir)
except DropError as exc:
    st.error(ui.md(exc))
    st.stop()
findings = data.findings(out_dir)

# A run made on another drop names people, accounts and cases this drop does not have.
fit = views.pairing(graph, findings)
if fit.mismatched:
    try:
        record = views.run_record(data.workspace(), out_dir)
    except (DropError, OSError):
        record = None
    st.warning(
        ui.md(
            views.pairing_warning(
                fit,
                views.drop_label(drop_dir, read.tables.get("ledger")),
                views.run_label(out_dir, findings, record),
            )
        )
    )

cases = read.tables.get("cases")
ranked = views.rank_clusters(graph, findings, cases=cases)
cluster_names = views.cluster_labels(ranked)

# A link may name a finding (?finding=F...): open the page on it.
wanted = st.query_params.get("finding")
choices = dict(views.finding_choices(findings))
if wanted and wanted not in choices:
    if wanted in set(findings.get_column("finding_id")):
        row = findings.filter(findings["finding_id"] == wanted).row(0, named=True)
        choices = {wanted: f"{row['title']}｜{(row['summary'] or '')[:60]}", **choices}
    else:
        st.warning("链接所指的线索不在当前检查结果中，请从下方选择线索。")
# Each new link wins once; a finding picked by hand afterwards stays picked.
if wanted in choices and st.session_state.get("graph_wanted") != wanted:
    st.session_state["graph_start"] = FROM_FINDING
    st.session_state["graph_finding"] = wanted
st.session_state["graph_wanted"] = wanted

staff_names = views.staff_labels(graph, read.tables.get("staff"))
# A choice kept from another run or drop may no longer exist: drop it before the widget sees it.
for key, options in (
    ("graph_start", STARTS),
    ("graph_finding", choices),
    ("graph_cluster", cluster_names),
    ("graph_staff", staff_names),
    ("graph_street", [views.ALL_STREETS, *STREETS]),
):
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]
ui.keep(*KEPT)  # the kept copies follow the choices linked or dropped above

start = st.radio("起点", STARTS, horizontal=True, key="graph_start")


def pick_view() -> views.GraphView | None:
    if start == FROM_FINDING:
        if not choices:
            st.info("检查结果中没有廉洁风险线索。请先运行检查，或从人员、工作人员、账户开始。")
            return None
        finding = st.selectbox(
            "线索",
            list(choices),
            format_func=lambda f: choices[f],
            key="graph_finding",
            placeholder="请选择线索",
        )
        ui.page_links([("findings", "在线索清单中查看规则和证据", {"finding": finding})])
        return views.finding_view(graph, findings, finding)
    if start == FROM_CLUSTER:
        if not cluster_names:
            st.info("没有包含线索的线索群。")
            return None
        cluster = st.selectbox(
            "线索群（按线索数、涉及金额排序）",
            list(cluster_names),
            format_func=lambda c: cluster_names[c],
            key="graph_cluster",
            placeholder="请选择线索群",
        )
        return views.cluster_view(graph, findings, cluster)
    if start == FROM_STAFF:
        chosen = st.selectbox(
            "工作人员（工号 · 姓名 · 所属单位）",
            list(staff_names),
            format_func=lambda s: staff_names[s],
            key="graph_staff",
            index=None,
            placeholder="选择或输入工号、姓名",
        )
        return views.node_view(graph, findings, STAFF, chosen) if chosen else None
    kind, label = (PERSON, "身份证号") if start == FROM_PERSON else (ACCOUNT, "银行账号")
    value = st.text_input(
        label,
        key=f"graph_{kind}",
        placeholder=f"输入完整的{label}（可带空格，或页面上显示的脱敏号码）",
    )
    typed = views.normalise_ident(kind, value)
    if not typed:
        return None
    if st.session_state.get("graph_logged") != (kind, typed):  # once per look-up
        views.log_lookup(data.workspace().store, who, kind, typed)
        st.session_state["graph_logged"] = (kind, typed)
    try:
        return views.node_view(graph, findings, kind, value)
    except views.AmbiguousLookup as many:
        st.warning(
            f"有 {formats.count(many.matches)} 个{label}与输入的脱敏号码相符，请输入完整的{label}。"
        )
        return None


try:
    view = pick_view()
except KeyError:
    st.warning("关系图谱中没有找到该对象。")
    view = None

if view is not None:
    cols = st.columns(4)
    cols[0].metric("节点（个）", formats.count(view.nodes.height))
    cols[1].metric("关系（条）", formats.count(view.edges.height))
    cols[2].metric("关联线索（条）", formats.count(view.findings.height))
    cols[3].metric("涉及金额（元）", formats.money_fen(view.money_fen), help=amounts.HELP)
    st.plotly_chart(network_figure(view), key="graph_chart")
    if view.truncated:
        st.caption(f"关系较多，仅显示距起点最近的 {views.MAX_NODES} 个节点。")
    if start == FROM_FINDING:
        chosen = st.session_state["graph_finding"]
        # Masked identifiers hold asterisks, labels hold data: all of it shown as typed.
        st.markdown("**证据路径：** " + ui.md(views.path_text(findings, chosen)))
        st.caption(ui.md(views.summary_of(findings, chosen)))
    if view.cluster in cluster_names:
        st.caption(f"所属线索群：{ui.md(cluster_names[view.cluster])}")
    if view.findings.height:
        st.subheader("图中涉及的线索")
        ui.show_table(views.findings_table(view.findings))

st.subheader("线索群排名")
st.caption(
    "按线索数、涉及金额从高到低排列。选择「全部街镇」时每个线索群一行，街镇一栏列出其线索"
    "所在的全部街镇；选择一个街镇时只计该街镇的线索。户数为线索群中有救助案件的家庭数。"
)
street = st.selectbox(
    "街镇", [views.ALL_STREETS, *STREETS], key="graph_street", placeholder="请选择街镇"
)
shown = views.rank_clusters(graph, findings, street, cases=cases)
if shown.height == 0:
    st.info("该街镇没有包含廉洁风险线索的线索群。")
else:
    ui.show_table(views.clusters_table(shown))
    export_names = views.cluster_labels(shown)
    if st.session_state.get("graph_export") not in export_names:
        st.session_state.pop("graph_export", None)
    export = st.selectbox(
        "导出线索群",
        list(export_names),
        format_func=lambda c: export_names[c],
        key="graph_export",
        placeholder="请选择线索群",
    )
    ui.download_button(
        st,
        "导出该线索群的证据（Excel）",
        data=lambda: views.cluster_excel(graph, findings, export),
        file_name=f"线索群{export}.xlsx",
        mime=ui.XLSX_MIME,
        key="graph_export_download",
        icon=":material/download:",
        on_click="ignore",
    )

hubs = views.hubs_table(graph)
with st.expander(f"多人共用的电话和住址（{formats.count(hubs.height)} 个，不参与线索群连接）"):
    if hubs.height:
        ui.show_table(hubs)
    else:
        st.caption("没有超过阈值的共用电话或住址。")
