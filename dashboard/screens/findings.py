"""线索清单: every finding of the run, of every family, with its workflow state, filtered; one
opened with its rule, its evidence and the triage moves open to it (with its history); many
ticked moved at once; exported to Excel."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import streamlit as st

from analytics import amounts, formats, report
from analytics.model import DropError
from analytics.views import findings as view
from analytics.views import triage
from checks.registry import FINDING_FAMILIES as FAMILIES
from dashboard import auth, data, ui

TABLE_KEY = "findings_table"
CLEAR_SELECTION_KEY = "findings_clear_selection"
FLASH_KEY = "findings_flash"  # what the last move did, shown once after the rerun
BULK_FLASH_KEY = "findings_bulk_flash"
DRAWN_KEY = "findings_drawn"  # the finding, version and move the form was drawn for
BULK_DRAWN_KEY = "findings_bulk_drawn"  # the move and the versions the bulk form was drawn for
UNMASKED_KEY = "findings_unmasked"  # (finding id, full values) asked for with a reason
NO_SELECTION: dict[str, dict[str, list[Any]]] = {
    "selection": {"rows": [], "columns": [], "cells": []}
}
# The filters, kept when the user leaves the page and comes back (the finding opened is kept by
# ui.pick_finding).
FILTER_KEYS = (
    "findings_families",
    "findings_checks",
    "findings_streets",
    "findings_months",
    "findings_severities",
    "findings_case",
    "findings_states",
    "findings_assignees",
    "findings_due",
)

who = auth.require_page("findings")
st.title("线索清单")
st.caption(
    "本次检查发现的全部线索：资金比对、廉洁风险、动态管理和审批流程。线索是需要核实的疑点，"
    "不是对任何家庭的结论；每条线索附有所依据的规则和证据，核查和处置的每一步都留有记录。"
)

out_dir = ui.current_out_dir()
if not (out_dir / "findings.csv").exists():
    st.info(f"检查结果文件夹中还没有检查结果{ui.at_folder(out_dir)}。{ui.how_to_run(out_dir)}")
    st.stop()

actor = ui.acting_person(
    "处理线索（分派、核实、处置）时记入处理记录的操作人姓名。", "处理线索前填写本人姓名"
)

# The filters' widgets are gone when the user comes back from another page: a link followed
# then counts as new, and the filters are put back as they were left.
arrived = "findings_due" not in st.session_state
if arrived:
    st.session_state.pop("findings_linked", None)
ui.keep(*FILTER_KEYS)

today = date.today()
ws, states, unavailable = triage.read_states(data.workspace, data.finding_states)
if unavailable:
    st.warning(unavailable)
# Who may see what is decided in the service layer, by the viewer.
# The run's findings, and those people recorded in the workspace (档案核查), which no run makes.
found = triage.with_recorded(data.findings(out_dir), data.recorded_findings(ws))
visible = triage.with_states(view.visible_findings(found, viewer=who), states, today=today)
linked_finding = st.query_params.get("finding")
if view.link_status(visible, visible, linked_finding) == "unknown":
    st.warning(view.LINK_NOT_FOUND)
options = view.options(visible)
workflow_options = triage.triage_options(visible)

# A choice kept from an earlier run may no longer exist: drop it before the widget sees it.
for key, choices in (
    ("findings_families", options.families),
    ("findings_checks", list(options.checks)),
    ("findings_streets", options.streets),
    ("findings_months", options.months),
    ("findings_severities", options.severities),
    ("findings_states", workflow_options.states),
    ("findings_assignees", workflow_options.assignees),
):
    if key in st.session_state:
        st.session_state[key] = [v for v in st.session_state[key] if v in choices]

# A link may name a street (?street=...), as 街镇 does: start the list on it.
linked_street = st.query_params.get("street")
if linked_street in options.streets and st.session_state.get("findings_linked") != linked_street:
    st.session_state["findings_streets"] = [linked_street]
st.session_state["findings_linked"] = linked_street
ui.keep(*FILTER_KEYS)  # the kept copies follow the choices dropped or linked above

top = st.columns(3)
families = top[0].multiselect(
    "类别",
    options.families,
    format_func=lambda family: FAMILIES[family],
    key="findings_families",
    placeholder="全部类别",
)
check_choices = [c for c in options.checks if not families or options.check_family[c] in families]
checks = top[1].multiselect(
    "检查项",
    check_choices,
    format_func=lambda check: options.checks[check],
    key="findings_checks",
    placeholder="全部检查项",
)
streets = top[2].multiselect(
    "街镇", options.streets, key="findings_streets", placeholder="全部街镇"
)
bottom = st.columns(3)
months = bottom[0].multiselect(
    "月份", options.months, key="findings_months", placeholder="全部月份（含不按月的线索）"
)
severities = bottom[1].multiselect(
    "严重程度", options.severities, key="findings_severities", placeholder="全部"
)
case = bottom[2].text_input(
    "救助编号", key="findings_case", placeholder="输入救助编号的全部或一部分"
)
workflow = st.columns(3)
chosen_states = workflow[0].multiselect(
    "状态",
    workflow_options.states,
    format_func=triage.state_choice_label,
    key="findings_states",
    placeholder="全部状态",
)
assignees = workflow[1].multiselect(
    "承办", workflow_options.assignees, key="findings_assignees", placeholder="全部（街镇或核实人）"
)
due = workflow[2].selectbox(
    "期限",
    list(triage.DUE_CHOICES),
    format_func=lambda d: triage.DUE_CHOICES[d],
    key="findings_due",
)
shown = view.filter_findings(
    visible,
    families=families,
    checks=checks,
    streets=streets,
    months=months,
    severities=severities,
    case=case,
)
shown = triage.filter_triage(shown, states=chosen_states, assignees=assignees, due=due, today=today)

cols = st.columns([1, 1.6] + [1] * len(FAMILIES))
cols[0].metric("线索", f"{shown.height:,}")
cols[1].metric(
    "涉及金额（元）", formats.money_fen(amounts.money_at_risk_fen(shown)), help=amounts.HELP
)
counts = view.by_family(shown)
for col, title in zip(cols[2:], FAMILIES.values(), strict=True):
    col.metric(title, f"{counts.get(title, 0):,}")

table = view.findings_table(shown.head(view.MAX_ROWS))
how_to_pick = "勾选一行即可在下方查看该线索的规则、证据和处理记录；勾选多行可批量处理。"
if shown.height > table.height:
    st.caption(
        f"共 {shown.height:,} 条，按严重程度和涉及金额排序，本页显示前 {table.height:,} 条，"
        "请用上方条件缩小范围；导出的 Excel 包含全部筛选结果。身份证号、银行账号已脱敏。"
        + how_to_pick
    )
else:
    st.caption(
        f"共 {table.height:,} 条，按严重程度和涉及金额排序；身份证号、银行账号已脱敏。"
        + how_to_pick
    )
if ws is not None and visible.height and not visible.get_column("registered").any():
    st.caption(
        "本次检查的线索未登记到当前工作区（检查在工作区之外或另一工作区中运行），状态显示为"
        "“未登记”，只能查看，不能在此处理。"
    )
# After a move the rows may no longer be where they were: a ticked row would name another.
if st.session_state.pop(CLEAR_SELECTION_KEY, False):
    st.session_state[TABLE_KEY] = NO_SELECTION
event = ui.show_table(
    table,
    on_select="rerun",
    selection_mode="multi-row",
    placeholder=formats.DASH,
    key=TABLE_KEY,
    column_config={"期限": st.column_config.DateColumn(format="YYYY-MM-DD")},
)
scope = view.scope_text(
    families=[FAMILIES[f] for f in families],
    checks=[options.checks[c] for c in checks],
    streets=streets,
    months=months,
    severities=severities,
    case=case,
    states=[triage.state_choice_label(s) for s in chosen_states],
    assignees=assignees,
    due=None if due == "all" else triage.DUE_CHOICES[due],
)
excel_col, pdf_col = st.columns([1, 3])
ui.download_button(
    excel_col,
    "导出 Excel",
    data=lambda: view.findings_excel(shown),
    file_name="线索清单.xlsx",
    mime=ui.XLSX_MIME,
    key="findings_download",
    icon=":material/download:",
    disabled=table.height == 0,
    on_click="ignore",
)
sheet_rows = min(shown.height, report.SHEET_MAX_FINDINGS)
ui.download_button(
    pdf_col,
    (
        "导出核查单（PDF）"
        if sheet_rows == shown.height
        else f"导出核查单（PDF，前 {sheet_rows:,} 条）"
    ),
    data=lambda: report.verification_sheet(shown, scope),
    file_name="线索核查单.pdf",
    mime="application/pdf",
    key="findings_sheet",
    icon=":material/picture_as_pdf:",
    disabled=table.height == 0,
    on_click="ignore",
    help="供核查人员逐条核实的清单：每条线索一行，留有核查结果、核查人和日期栏，附所依据的规则。",
)


def after_move(flash_key: str, flash, round_key: str) -> None:
    """A move was made: say so after the rerun, start its form afresh, untick the grid."""
    st.session_state[flash_key] = flash
    st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
    st.session_state[CLEAR_SELECTION_KEY] = True
    st.rerun()


def move_fields(
    spec: triage.FormSpec, prefix: str, default_due: date | None, max_exception_days: int
) -> dict:
    """The form's fields for what the move needs, keyed ``prefix``_field; the values given."""
    values: dict = {}
    for field in spec.fields:
        required = field in spec.required
        key = f"{prefix}_{field}"
        if field == "assignee":
            street_col, person_col = st.columns(2)
            values["assignee_street"] = street_col.selectbox(
                "分派给街镇",
                triage.assignable_streets(who),
                index=None,
                key=f"{key}_street",
                placeholder="选择街镇",
            )
            values["assignee"] = person_col.text_input(
                "或核实人", key=key, max_chars=100, placeholder="核实人姓名"
            )
            st.caption("街镇和核实人至少填写一项。")
        elif field == "due_date":
            values["due_date"] = st.date_input(
                "期限", value=default_due, min_value=today, key=key, format="YYYY-MM-DD"
            )
            if default_due is None:
                st.caption(triage.DUE_UNKNOWN if not required else "请填写新的期限。")
            else:
                st.caption("默认按设置中的工作日数计算，可以修改。")
        elif field == "amount":
            values["amount_yuan"] = st.number_input(
                "追回金额（元）", min_value=0.0, value=None, step=100.0, format="%.2f", key=key
            )
        elif field == "paid_on":
            values["paid_on"] = st.date_input(
                "到账日期", value=today, max_value=today, key=key, format="YYYY-MM-DD"
            )
        elif field == "expires_on":
            values["expires_on"] = st.date_input(
                "免责到期日",
                value=None,
                min_value=today + timedelta(days=1),
                max_value=today + timedelta(days=max_exception_days),
                key=key,
                format="YYYY-MM-DD",
            )
        elif field == "reason":
            values["reason"] = st.text_area(
                "理由" + ("（必填）" if required else "（选填）"),
                key=key,
                max_chars=2000,
                height=80,
            )
        elif field == "note":
            values["note"] = st.text_area("备注（选填）", key=key, max_chars=2000, height=68)
    return values


# --- the flash of the last bulk move, and bulk work on the ticked rows ---------------------------

if flash := st.session_state.pop(BULK_FLASH_KEY, None):
    label, done, refused = flash
    st.success(f"“{label}”已执行 {done} 条" + (f"，{len(refused)} 条未执行：" if refused else "。"))
    if refused:
        ui.show_table(
            triage.refused_table(refused, visible),
            key="findings_bulk_refused",
            placeholder=formats.DASH,
        )

drawn_ids = table.get_column("编号").to_list()
ticked = [drawn_ids[i] for i in (event.selection.rows if event else []) if i < len(drawn_ids)]
if len(ticked) > 1 and ws is not None:
    st.subheader("批量处理")
    selected = shown.filter(shown.get_column("finding_id").is_in(ticked))
    bulk = triage.bulk_moves(selected, who)
    if not bulk:
        st.info("勾选的线索都不能在此处理（未登记到工作区，或已没有可执行的操作）。")
    else:
        st.caption(
            f"已勾选 {len(ticked)} 条。选择一项操作、填写一个理由，逐条按与单条处理相同的"
            "规则执行；不适用的线索不执行，并列出原因。"
        )
        name = ui.move_choice(
            "批量操作", [m.name for m in bulk], "findings_bulk_move", triage.MOVE_LABELS.get
        )
        spec = triage.bulk_form_spec(name)
        deadlines = triage.Deadlines.load()
        prefix = f"findings_bulkform_{st.session_state.get('findings_bulk_round', 0)}"
        with st.form("findings_bulk_form"):
            values = move_fields(
                spec, prefix, deadlines.default_due(name, None, today), deadlines.exception_max_days
            )
            submitted = st.form_submit_button(
                f"对勾选的 {len(ticked)} 条执行“{triage.MOVE_LABELS[name]}”",
                type="primary",
                key="findings_bulk_submit",
            )
        drawn = st.session_state.get(BULK_DRAWN_KEY)
        if submitted and drawn:
            try:
                outcome = triage.bulk_move(
                    ws,
                    drawn["versions"],
                    drawn["move"],
                    triage.move_input(**values),
                    by=actor,
                    today=today,
                    deadlines=deadlines,
                    viewer=who,
                    streets=dict(selected.select("finding_id", "street").iter_rows()),
                )
            except triage.MoveError as exc:
                st.error(ui.md(str(exc)))
            else:
                after_move(
                    BULK_FLASH_KEY,
                    (triage.MOVE_LABELS[drawn["move"]], len(outcome.done), outcome.refused),
                    "findings_bulk_round",
                )
        st.session_state[BULK_DRAWN_KEY] = {
            "move": name,
            "versions": dict(selected.select("finding_id", "version").iter_rows()),
        }

link = view.link_status(visible, shown, linked_finding)
if table.height == 0:
    st.info("当前筛选条件下没有线索。")
    if link != "filtered":
        st.stop()

st.subheader("线索详情")
# A link may name a finding (?finding=F...), even one the filters hide; a row ticked in the
# table chooses one too.
pick = ui.pick_finding(shown, drawn_ids, event, "findings_pick", "查看线索", everything=visible)
finding = view.finding_by_id(visible, pick)
# pick_finding chooses among the rows drawn and a linked finding this viewer may see.
assert finding is not None
if link == "filtered" and pick == linked_finding:
    st.caption(view.LINK_FILTERED)

# Titles, families and severities are the registry's words; the rest comes from the data.
st.markdown(
    f"**{finding['title']}**（{finding['family_title']} · 严重程度：{finding['severity']}）"
    f" · {ui.md(finding['street'])} · 编号 {ui.md_code(finding['finding_id'])}"
)
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
ui.show_evidence(finding["evidence"], finding["finding_id"], "findings_evidence")
if ws is not None and view.unmaskable(finding, who):
    with st.expander("查看完整身份证号、银行账号（需写明理由，记入审计日志）"):
        reason = st.text_input(
            "查看理由",
            key=f"findings_unmask_reason_{finding['finding_id']}",
            max_chars=200,
            placeholder="如：入户核实需要核对身份证号",
        )
        if st.button("查看完整信息", key="findings_unmask"):
            try:
                st.session_state[UNMASKED_KEY] = (
                    finding["finding_id"],
                    view.unmask(ws.store, who, finding, reason),
                )
            except (ValueError, PermissionError) as exc:
                st.error(ui.md(str(exc)))
        unmasked = st.session_state.get(UNMASKED_KEY)
        if unmasked and unmasked[0] == finding["finding_id"]:
            for label, value in unmasked[1].items():
                st.text(f"{label}：{value}")  # plain text, this finding only

# --- triage of the opened finding -----------------------------------------------------------------

st.subheader("核查处理")
st.markdown(f"**当前状态**：{ui.md(triage.status_text(finding))}")
if flash := st.session_state.pop(FLASH_KEY, None):
    st.success(flash)
if ws is None:
    st.stop()
if not finding["registered"]:
    st.info(triage.NOT_REGISTERED + "。")
    st.stop()

moves = triage.moves_for(finding, who)
if not moves:
    st.caption("这条线索当前没有可执行的操作。")
else:
    name = ui.move_choice("操作", [m.name for m in moves], "findings_move", triage.MOVE_LABELS.get)
    spec = triage.form_spec(name)
    deadlines = triage.Deadlines.load()
    fid = finding["finding_id"]
    # Fields keyed by finding and round: another finding, or a move made, starts them afresh.
    prefix = f"findings_form_{fid}_{st.session_state.get('findings_form_round', 0)}"
    with st.form("findings_move_form"):
        values = move_fields(
            spec,
            prefix,
            deadlines.default_due(name, finding["state"], today),
            deadlines.exception_max_days,
        )
        files = st.file_uploader(
            "附件（选填）",
            accept_multiple_files=True,
            key=f"{prefix}_files",
            max_upload_size=triage.ATTACHMENT_MAX_MB,
            help=f"核查报告、整改材料、收款凭证等，每个文件不超过 {triage.ATTACHMENT_MAX_MB} MB。",
        )
        submitted = st.form_submit_button(
            f"执行“{triage.MOVE_LABELS[name]}”", type="primary", key="findings_move_submit"
        )
    if not actor:
        st.caption(":orange[尚未填写操作人：请先在侧栏填写本人姓名。]")
    drawn = st.session_state.get(DRAWN_KEY)
    if submitted and drawn and drawn["finding"] == fid:
        # The move and the version are those the form was drawn with: a change made by someone
        # else meanwhile is refused, never overwritten.
        try:
            triage.make_move(
                ws,
                finding,
                drawn["move"],
                triage.move_input(**values),
                [(f.name, f.getvalue()) for f in files or []],
                by=actor,
                expected_version=drawn["version"],
                today=today,
                deadlines=deadlines,
                viewer=who,
            )
        except triage.ConcurrentEditError as exc:
            st.error(f"{ui.md(str(exc))}。{ui.md(triage.latest_text(ws, fid))}")
        except (triage.MoveError, DropError) as exc:
            st.error(ui.md(str(exc)))
        else:
            after_move(
                FLASH_KEY, triage.done_text(drawn["move"], finding["state"]), "findings_form_round"
            )
    st.session_state[DRAWN_KEY] = {"finding": fid, "version": finding["version"], "move": name}

DAY = st.column_config.DateColumn(format="YYYY-MM-DD")
st.markdown("**处理记录**")
with st.container(key="findings_history"):
    ui.show_table(
        triage.history_table(ws, finding["finding_id"]),
        placeholder=formats.DASH,
        column_config={"期限": DAY},
    )
st.markdown("**历次检查**")
with st.container(key="findings_occurrences"):
    ui.show_table(
        triage.occurrences_table(ws, finding["finding_id"]),
        placeholder=formats.DASH,
        column_config={"检查基准日": DAY},
    )
recovered = triage.recovered(ws, finding["finding_id"])
if triage.shows_recovery(finding, recovered):
    st.markdown(f"**追回资金**：{recovered.text}")
    if recovered.payments.height:
        with st.container(key="findings_recoveries"):
            ui.show_table(
                recovered.payments, placeholder=formats.DASH, column_config={"到账日期": DAY}
            )
