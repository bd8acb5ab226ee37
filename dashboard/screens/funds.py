"""资金比对: the business system's entitlements against the fund ledger, finding by finding."""

from __future__ import annotations

import polars as pl
import streamlit as st

from analytics import formats
from analytics.charts import funds as charts
from analytics.model import DropError
from analytics.views import funds as view
from dashboard import auth, data, ui

# pandas Styler gives up above this many cells; bigger comparisons show the 差异 column only.
MAX_STYLED_CELLS = 100_000
FILTER_KEYS = ("funds_months", "funds_streets", "funds_checks")
PICK_KEY = "funds_pick"


# Column widths (px) of the comparison grids: the amount, the seventh column at most, shows in
# full at 1280 px with the sidebar open, and 差异 holds two field names.
MONEY_WIDTH, DIFF_WIDTH, OWN_ROW_WIDTH = 110, 150, 48


def side_config(frame) -> dict:
    """Column widths of one side of the comparison: the amounts and the 差异 column wide enough
    to read without widening a column by hand, money as 804,530.00."""
    money = formats.GRID_FORMAT[formats.MONEY]
    config = {
        c: st.column_config.NumberColumn(format=money, width=MONEY_WIDTH)
        for c in view.money_columns(frame)
    }
    config[view.DIFF] = st.column_config.TextColumn(width=DIFF_WIDTH)
    if view.OWN_ROW in frame.columns:
        config[view.OWN_ROW] = st.column_config.TextColumn(width=OWN_ROW_WIDTH)
    return config


def show_side(title: str, frame, cells, key: str) -> None:
    """One side of the comparison, across the page's width, its marked values highlighted."""
    st.markdown(f"**{title}**（{frame.height:,} 条）")
    if frame.height == 0:
        st.caption("没有对应的记录。")
    elif frame.height * frame.width <= MAX_STYLED_CELLS:
        ui.show_table(view.styled(frame, cells), column_config=side_config(frame), key=key)
    else:
        ui.show_table(frame, column_config=side_config(frame), key=key)


who = auth.require_page("funds")
# The filters keep their values when the user goes to another page and comes back.
ui.keep(*FILTER_KEYS)
st.title("资金比对")
st.caption(
    "业务系统应发名册与资金内控平台实发明细的比对结果：重复拨付、应发未发、金额不符、"
    "超范围使用资金等十一项检查发现的问题。"
)

out_dir = ui.current_out_dir()
if not (out_dir / "findings.csv").exists():
    st.info(f"检查结果文件夹中还没有检查结果{ui.at_folder(out_dir)}。{ui.how_to_run(out_dir)}")
    st.stop()

# Who may see what is decided in the service layer; None: everything.
visible = view.funds_findings(data.findings(out_dir), viewer=who)
options = view.filter_options(visible)
titles = dict(view.funds_checks().select("check_id", "title").iter_rows())

# A choice kept from an earlier run may no longer exist: drop it before the widget sees it.
for key, choices in zip(
    FILTER_KEYS, (options["months"], options["streets"], options["checks"]), strict=True
):
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in choices]

left, middle, right = st.columns(3)
months = left.multiselect("发放月份", options["months"], key="funds_months", placeholder="全部月份")
streets = middle.multiselect(
    "街镇", options["streets"], key="funds_streets", placeholder="全部街镇"
)
chosen_checks = right.multiselect(
    "检查项",
    options["checks"],
    format_func=lambda check: titles[check],
    key="funds_checks",
    placeholder="全部检查项",
)
shown = view.filter_findings(visible, months, streets, chosen_checks)

summary = view.metrics(shown, data.check_summary(out_dir))
# The money figure gets the widest box: it is written in full (804,530.00), never in 万.
cols = st.columns([2, 4, 3, 2])
cols[0].metric("发现数", formats.count(summary.findings))
cols[1].metric(view.MONEY_LABEL, formats.money_fen(summary.amount_fen), help=view.MONEY_HELP)
cols[2].metric("发现问题的检查项", f"{summary.checks_fired} / {summary.checks_run}")
cols[3].metric("跳过的检查项", formats.count(len(summary.skipped)))
if summary.skipped:
    st.warning(
        "以下资金比对检查项本次未检查：\n"
        + "\n".join(f"- {ui.md(title)}：{ui.md(reason)}" for title, reason in summary.skipped)
    )

# Every street the viewer may see (or chose) is listed, a street without findings with zero.
listed = view.shown_streets(who, streets)
by_check_tab, by_street_tab, matrix_tab = st.tabs(["按检查项", "按街镇", "街镇 × 检查项"])
with by_check_tab:
    totals = view.by_check(shown)
    st.plotly_chart(charts.check_bars(totals), key="funds_chart_checks")
    ui.show_table(view.check_table(totals))
    st.caption(
        "各检查项的涉及金额按同一口径分别计算；“汇总金额不符”是其他线索所涉流水的汇总，"
        "不计入涉及金额，其差额见发现明细。"
    )
with by_street_tab:
    totals = view.by_street(shown, listed)
    st.plotly_chart(charts.street_bars(totals), key="funds_chart_streets")
    ui.show_table(view.street_table(totals))
with matrix_tab:
    st.plotly_chart(
        charts.street_check_heatmap(
            view.matrix(shown, streets=listed), view.matrix(shown, "amount_fen", listed)
        ),
        key="funds_chart_matrix",
    )
    ui.show_table(view.matrix_table(shown, listed))

st.subheader("发现明细")
drawn = shown.head(view.MAX_ROWS)
table = view.findings_table(drawn)
COUNTED_NOTE = (
    "“计入合计”说明该条的金额是否计入上方的资金类线索涉及金额。"
    "勾选一行即可在下方查看应发与实发的对照。"
)
if shown.height > drawn.height:
    st.caption(
        f"共 {shown.height:,} 条，按严重程度和涉及金额排序，本页显示前 {drawn.height:,} 条，"
        "请用上方条件缩小范围；身份证号、银行账号已脱敏。" + COUNTED_NOTE
    )
else:
    st.caption(
        f"共 {table.height:,} 条，按严重程度和涉及金额排序；身份证号、银行账号已脱敏。"
        + COUNTED_NOTE
    )
event = ui.show_table(table, on_select="rerun", selection_mode="single-row", key="funds_table")
# The export buttons sit under the table; they are filled in once the finding shown below and its
# rows are known, since the export holds those rows too.
exports = st.container()


def export_buttons(
    comparison: view.Comparison | None = None, finding_id: str | None = None
) -> None:
    """The export holds the rows on screen (and the entitlement and ledger rows shown below);
    when the screen shows only the first rows, a second export holds every filtered finding."""
    extra = (
        "；另含下方“应发与实发对照”所示的应发名册与实发明细两张工作表"
        if comparison is not None
        else ""
    )
    export_col, all_col = exports.columns([1, 3])
    ui.download_button(
        export_col,
        (
            "导出 Excel"
            if shown.height == drawn.height
            else f"导出本页显示的 {drawn.height:,} 条（Excel）"
        ),
        data=lambda: view.findings_excel(drawn, comparison, finding_id),
        file_name="资金比对发现.xlsx",
        mime=ui.XLSX_MIME,
        key="funds_download",
        icon=":material/download:",
        disabled=table.height == 0,
        on_click="ignore",
        help=f"发现明细{extra}。",
    )
    if shown.height > drawn.height:
        ui.download_button(
            all_col,
            f"导出全部 {shown.height:,} 条筛选结果（Excel）",
            data=lambda: view.findings_excel(shown, comparison, finding_id),
            file_name="资金比对发现_全部.xlsx",
            mime=ui.XLSX_MIME,
            key="funds_download_all",
            icon=":material/download:",
            on_click="ignore",
            help=f"全部筛选结果{extra}。",
        )


# A link may name a finding (?finding=F...), even one the filters hide; one that names no
# finding this viewer may see says so (in the same words whether it does not exist or is
# another street's), and the list's first finding is shown.
wanted = st.query_params.get("finding")
linked = bool(wanted) and visible.filter(pl.col("finding_id") == wanted).height > 0
if wanted and not linked:
    st.warning(view.LINK_NOT_FOUND)
if table.height == 0 and not linked:
    export_buttons()
    st.info("当前筛选条件下没有发现。")
    st.stop()

st.subheader("应发与实发对照")
# A row ticked in the table chooses a finding too; ui.pick_finding gives the box the finding it
# returns on every run, so the box's label is the finding shown below, also after a filter change.
drawn_ids = table.get_column("编号").to_list()
pick = ui.pick_finding(shown, drawn_ids, event, PICK_KEY, "查看发现", everything=visible)
finding = view.finding_by_id(visible, pick)
# pick_finding chooses among the rows drawn and a linked finding this viewer may see.
assert finding is not None
if linked and pick == wanted and wanted not in shown["finding_id"]:
    st.caption(view.LINK_FILTERED)

# Titles and severities are the registry's words; the rest comes from the data.
st.markdown(
    f"**{finding['title']}**（严重程度：{finding['severity']}）· {ui.md(finding['street'])}"
    f" · 编号 {ui.md_code(finding['finding_id'])}"
)
st.info(ui.md(finding["summary"]))

drop_dir, drop, comparison = ui.current_drop_dir(), None, None
if not drop_dir.is_dir():
    st.warning(f"找不到数据文件夹{ui.at_folder(drop_dir)}，不能显示应发与实发的对照。")
else:
    try:
        drop = data.read_drop(drop_dir)
    except DropError as exc:
        st.warning(f"无法读取数据文件夹，不能显示应发与实发的对照：{ui.md(exc)}")
if drop is not None:
    comparison = view.compare(finding, drop.tables)
    st.caption(
        ui.md(comparison.scope) + "标红的值与另一方不一致或构成本条发现；“差异”列列出这些字段。"
    )
    # One above the other, each across the page: side by side, the amounts did not show.
    show_side(
        "应发名册（业务系统）", comparison.entitled, comparison.entitled_cells, "funds_entitled"
    )
    show_side("资金实发明细（资金内控平台）", comparison.paid, comparison.paid_cells, "funds_paid")
export_buttons(comparison, finding["finding_id"])

st.markdown("**证据**")
ui.show_evidence(finding["evidence"], finding["finding_id"], "funds_evidence")
