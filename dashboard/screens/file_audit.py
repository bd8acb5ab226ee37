"""档案核查: the monthly file-audit session. A sample of case files drawn from the latest snapshot
by street office (reproducibly, weighted toward risk, with cases a supervisor names); each case
checked against the checklist; the progress, the report's tables and its PDF and workbook; the
sign-off, which takes every 不符合 item into the follow-up loop as a finding to rectify."""

from __future__ import annotations

from datetime import date

import streamlit as st

from analytics import access
from analytics import file_audit_report as report
from analytics.store import file_audit as stored
from analytics.store.findings import ConcurrentEditError
from analytics.views import file_audit as view
from analytics.workflow import file_audit as fa
from dashboard import auth, data, ui

FLASH_KEY = "file_audit_flash"  # what starting or closing did, shown once at the top
CASE_FLASH_KEY = "file_audit_case_flash"  # what saving a case did, shown once above its form
DRAWN_KEY = "file_audit_drawn"  # the form, session, case and answer versions drawn
STALE_KEY = "file_audit_stale"  # (form, message) of a save refused as stale
PREVIEW_KEY = "file_audit_preview"  # the sample last previewed, with its parameters
PICK_NEXT_KEY = "file_audit_pick_next"  # a session just started: open it on the next run
NEW_ROUND_KEY = "file_audit_new_round"
CASE_ROUND_KEY = "file_audit_case_round"
SESSION_KEY = "file_audit_session"
CASE_KEY = "file_audit_case"
ALL_STREETS = "全部街镇"
RESULT_LABELS = list(fa.RESULTS.values())
DAY = st.column_config.DateColumn(format="YYYY-MM-DD")

who = auth.require_page("file_audit")
st.title("档案核查")
st.caption(
    "每月档案材料集中核查：从最新数据中按街镇抽取案件（随机抽取并向风险因素加权，督查人员可"
    "指定案件），核查组按清单逐件核查档案材料，不符合项在结束核查时转入线索清单由街镇整改，"
    "并出具核查报告。"
)

actor = ui.acting_person("发起核查、填写核查结论、结束核查时记入记录的操作人姓名。")

today = date.today()
try:
    ws = data.workspace()
    snapshot = view.latest_snapshot(ws)
    sessions = stored.sessions_frame(ws.store)
except Exception:  # an unreachable or broken database: say so, never quote it
    st.error("无法读取工作区的档案核查记录（数据库无法连接或读取），请联系管理员检查工作区设置。")
    st.stop()

if snapshot is None:
    st.info(
        "工作区中还没有数据：请先在「数据导入」页读入数据并运行检查，再从中抽取案件发起档案核查。"
    )
    st.stop()

if flash := st.session_state.pop(FLASH_KEY, None):
    text, to_findings = flash
    st.success(ui.md(text))
    if to_findings:
        ui.page_links([("findings", "到线索清单查看整改")])


def done(
    message: str, round_key: str, flash_key: str = FLASH_KEY, *, to_findings: bool = False
) -> None:
    """Something was stored: say so after the rerun and start the form afresh."""
    st.session_state[flash_key] = (message, to_findings)
    st.session_state[round_key] = st.session_state.get(round_key, 0) + 1
    st.rerun()


def need_actor() -> bool:
    if not actor:
        st.caption(":orange[尚未登录，不能记录操作人：请先登录。]")
    return bool(actor)


# --- 发起核查 ------------------------------------------------------------------------------------

snapshot_id, snapshot_label = snapshot
# Only the district's supervisors start a session (a street office sees its own cases).
if access.may(who, "file_audit_start"):
    with st.expander("发起核查", expanded=sessions.height == 0, icon=":material/add_task:"):
        st.caption(
            f"从最新的数据快照（{ui.md(snapshot_label)}）中抽取：每个街镇按件数或比例随机抽取，"
            "有风险因素的案件更可能被抽中；随机种子和参数相同，再次抽取得到相同的案件。"
            "可先预览抽样结果，确认后发起。"
        )
        prefix = f"file_audit_new_{st.session_state.get(NEW_ROUND_KEY, 0)}"
        last_month = view.previous_month(today)
        defaults = view.default_params(last_month, seed=0)
        top = st.columns(3)
        month = top[0].text_input(
            "核查月份（YYYY-MM）", value=last_month, max_chars=7, key=f"{prefix}_month"
        )
        held_on = top[1].date_input(
            "核查日期", value=today, key=f"{prefix}_held_on", format="YYYY-MM-DD"
        )
        # The name follows the month until the person writes another.
        title_key, suggested = f"{prefix}_title", view.default_title(month)
        if st.session_state.get(title_key) in (None, st.session_state.get(f"{title_key}_was")):
            st.session_state[title_key] = suggested
        st.session_state[f"{title_key}_was"] = suggested
        title = top[2].text_input("名称", key=title_key, max_chars=100)
        team_text = st.text_input(
            "核查组成员",
            key=f"{prefix}_team",
            max_chars=500,
            placeholder="姓名之间用顿号或逗号分隔，如：张三、李四",
        )
        size = st.columns(3)
        per_street = size[0].number_input(
            "每个街镇抽取（件）",
            min_value=0,
            max_value=10_000,
            value=defaults.per_street,
            step=1,
            key=f"{prefix}_per_street",
        )
        share = size[1].number_input(
            "或按比例抽取（%）",
            min_value=0.0,
            max_value=100.0,
            value=defaults.share * 100,
            step=5.0,
            format="%.1f",
            key=f"{prefix}_share",
            help="每个街镇抽取其案件数的这一比例；与件数同时设置时取较大者。",
        )
        min_per_street = size[2].number_input(
            "每个街镇至少（件）",
            min_value=0,
            max_value=10_000,
            value=defaults.min_per_street,
            step=1,
            key=f"{prefix}_min",
            help="案件不足的街镇全部抽取。",
        )
        st.caption(
            "风险加权：每件案件的基础权重为 1，有下列情形的加上相应权重，权重越大越可能被抽中。"
            "这些都是案件办理过程中的情况，与救助家庭本身无关。"
        )
        weight_cols = st.columns(len(fa.REASONS))
        weights = {
            code: col.number_input(
                label,
                min_value=0.0,
                max_value=100.0,
                step=0.5,
                value=float(defaults.risk_weights.get(code, 0.0)),
                key=f"{prefix}_weight_{code}",
            )
            for col, (code, label) in zip(weight_cols, fa.REASONS.items(), strict=True)
        }
        manual_text = st.text_area(
            "指定案件（选填）",
            key=f"{prefix}_manual",
            height=68,
            max_chars=20_000,
            placeholder="救助编号，用逗号、空格或换行分隔",
            help="督查人员指定必须核查的案件，另加于随机抽取之外。",
        )
        seed_key = f"{prefix}_seed"
        st.session_state.setdefault(seed_key, view.new_seed())
        seed = st.number_input(
            "随机种子",
            min_value=0,
            max_value=2**31 - 1,
            step=1,
            key=seed_key,
            width=240,
            help="记下种子即可复核抽样：同一数据快照、同一种子和参数，再次抽取得到相同的案件。",
        )
        params = view.default_params(
            month.strip(),
            seed=int(seed),
            per_street=int(per_street),
            share=share / 100,
            min_per_street=int(min_per_street),
            risk_weights=weights,
            manual=view.parse_case_ids(manual_text),
        )
        buttons = st.columns([1, 1, 4])
        previewed = buttons[0].button(
            "预览抽样", key="file_audit_preview_button", icon=":material/preview:"
        )
        started = buttons[1].button("发起核查", type="primary", key="file_audit_start")
        if previewed:
            try:
                st.session_state[PREVIEW_KEY] = {
                    "params": params.to_dict(),
                    "snapshot": snapshot_id,
                    "sample": view.draw(ws, snapshot_id, params),
                }
            except fa.FileAuditError as exc:
                st.session_state.pop(PREVIEW_KEY, None)
                st.error(ui.md(str(exc)))
        if started and need_actor():
            try:
                sid = view.start_session(
                    ws,
                    snapshot_id,
                    params,
                    held_on=held_on,
                    title=title,
                    team=view.team_names(team_text),
                    by=actor,
                    viewer=who,
                )
            except fa.FileAuditError as exc:
                st.error(ui.md(str(exc)))
            else:
                st.session_state[PICK_NEXT_KEY] = sid
                st.session_state.pop(PREVIEW_KEY, None)
                done(
                    f"已发起第 {sid} 期档案核查：{title.strip()}。请逐件填写核查清单。",
                    NEW_ROUND_KEY,
                )
        preview = st.session_state.get(PREVIEW_KEY)
        if preview and (
            preview["params"] != params.to_dict() or preview["snapshot"] != snapshot_id
        ):
            st.session_state.pop(PREVIEW_KEY)
            if not previewed:
                st.caption("参数已改变，请重新预览。")
            preview = None
        if preview:
            sample = preview["sample"]
            manual = int(sample["manual"].sum())
            st.caption(
                f"预览：按上述参数抽取 {sample.height:,} 件"
                + (f"（含督查人员指定 {manual:,} 件）" if manual else "")
                + "，尚未保存；点击“发起核查”保存并开始核查。"
            )
            ui.show_table(view.preview_table(sample), key="file_audit_preview_table")

# --- the session chosen ------------------------------------------------------------------------

if sessions.height == 0:
    st.info("还没有档案核查：在上方「发起核查」中设置抽样参数，预览后发起。")
    st.stop()

ids = sessions["id"].to_list()
# A link may name a session (?session=3).
wanted = st.query_params.get("session")
wanted_id = int(wanted) if wanted and wanted.isdigit() else None
if wanted_id in ids and st.session_state.get(f"{SESSION_KEY}_wanted") != wanted:
    st.session_state[SESSION_KEY] = wanted_id
st.session_state[f"{SESSION_KEY}_wanted"] = wanted
if PICK_NEXT_KEY in st.session_state:
    st.session_state[SESSION_KEY] = st.session_state.pop(PICK_NEXT_KEY)
if st.session_state.get(SESSION_KEY) not in ids:
    st.session_state.pop(SESSION_KEY, None)
sid = st.selectbox(
    "档案核查",
    ids,
    key=SESSION_KEY,
    persist_state="session",
    format_func=lambda i: view.session_choice_label(sessions, i),
)
with st.expander(f"历次档案核查（{len(ids)}）"):
    ui.show_table(
        view.sessions_table(sessions),
        key="file_audit_sessions",
        column_config={"核查日期": DAY, "结束日期": DAY},
    )

sv = view.session_view(ws, sid, who)
info = sv.info
st.subheader(ui.md(info.title))
st.caption(
    f"第 {info.id} 期 · 核查月份 {info.month} · 核查日期 {info.held_on.isoformat()} · "
    f"核查组：{ui.md('、'.join(info.team))} · "
    f"状态：{stored.SESSION_STATES.get(info.state, info.state)} · "
    f"发起人：{ui.md(info.created_by)}"
)
progress = view.progress(sv)
cols = st.columns(4)
for col, (label, n) in zip(
    cols,
    (
        ("抽查案件", progress["cases"]),
        ("已核查", progress["done"]),
        ("合格案件", progress["passed"]),
        ("不合格案件", progress["failed_cases"]),
    ),
    strict=True,
):
    col.metric(label, f"{n:,}")
with st.expander("抽样方法"):
    st.markdown("\n".join(f"- {ui.md(line)}" for line in fa.params_text(info.params)))
    st.caption(
        f"数据快照 {ui.md_code(info.snapshot_id[:12])}；核查清单 {len(info.checklist)} 项，"
        "为发起时的清单。"
    )
if info.closed:
    due_text = info.rectify_due.isoformat() if info.rectify_due else "—"
    st.info(
        f"本次核查已于 {info.closed_on.isoformat() if info.closed_on else '—'} 由 "
        f"{ui.md(info.closed_by)} 结束并签发：不符合项已转入线索清单，由所在街镇于 {due_text} "
        "前整改。核查结论只能查看，不能再修改。"
    )
    ui.page_links([("findings", "到线索清单查看整改")])

# --- the sample and one case's checklist --------------------------------------------------------

st.subheader("抽查案件")
streets = list(dict.fromkeys(sv.sample["street"].to_list()))
if st.session_state.get("file_audit_street") not in [ALL_STREETS, *streets]:
    st.session_state.pop("file_audit_street", None)
street = st.selectbox("街镇", [ALL_STREETS, *streets], key="file_audit_street", width=360)
table = view.sample_table(sv, None if street == ALL_STREETS else street)
case_ids = table["救助编号"].to_list()
st.caption(f"共 {table.height:,} 件；勾选一行即可在下方填写或查看该案件的核查清单。")
grid_key = f"file_audit_sample_{sid}_{([ALL_STREETS, *streets]).index(street)}"
event = ui.show_table(
    table,
    key=grid_key,
    on_select="rerun",
    selection_mode="single-row",
    column_config={"抽取权重": st.column_config.NumberColumn(format="%.2f")},
)
rows = list(event.selection.rows) if event else []
ticked = case_ids[rows[0]] if rows and rows[0] < len(case_ids) else None
if ticked is not None and ticked != st.session_state.get(f"{CASE_KEY}_ticked"):
    st.session_state[CASE_KEY] = ticked
st.session_state[f"{CASE_KEY}_ticked"] = ticked
if st.session_state.get(CASE_KEY) not in case_ids:
    st.session_state.pop(CASE_KEY, None)
labels = {
    c: f"{p}. {c}（{s}，{v}）"
    for p, c, s, v in table.select("序号", "救助编号", "街镇", "结论").iter_rows()
}
case_id = st.selectbox("核查案件", case_ids, format_func=lambda c: labels[c], key=CASE_KEY)

if case_id is not None:
    current = view.case_answers(sv, case_id)
    if info.closed or not access.may(who, "file_audit_answer"):
        answered = view.case_answers_table(sv, case_id)
        with st.container(key="file_audit_case_answers"):
            ui.show_table(answered, placeholder="—")
    else:
        if flash := st.session_state.pop(CASE_FLASH_KEY, None):
            st.success(ui.md(flash[0]))
        form = f"file_audit_f_{sid}_{case_id}_{st.session_state.get(CASE_ROUND_KEY, 0)}"
        # The versions the form's answers were first drawn with: someone else's change since is
        # refused, never overwritten.
        drawn = st.session_state.get(DRAWN_KEY) or {}
        if drawn.get("form") != form or any(
            f"{form}_{i.code}" not in st.session_state for i in info.checklist
        ):
            st.session_state[DRAWN_KEY] = {
                "form": form,
                "session": sid,
                "case": case_id,
                "versions": {code: a["version"] for code, a in current.items()},
            }
        st.caption(
            "逐项选择结论；不符合的须在说明中写明问题。将鼠标移到各项的问号上可查看核查要点。"
        )
        with st.form("file_audit_case_form"):
            given: dict[str, tuple[str | None, str]] = {}
            for item in info.checklist:
                answer = current.get(item.code) or {}
                shown = fa.RESULTS.get(answer.get("result") or "")
                result_col, note_col = st.columns([2, 3], vertical_alignment="bottom")
                result = result_col.radio(
                    ui.md(item.label),
                    RESULT_LABELS,
                    horizontal=True,
                    index=RESULT_LABELS.index(shown) if shown in RESULT_LABELS else None,
                    help=ui.md(item.guide) or None,
                    key=f"{form}_{item.code}",
                )
                note = note_col.text_input(
                    "说明",
                    value=answer.get("note") or "",
                    max_chars=500,
                    key=f"{form}_{item.code}_note",
                    placeholder="不符合的写明问题（必填）",
                )
                if answer:
                    st.caption(
                        f"上次由 {ui.md(answer['by'])} 于 {view.local_time(answer['at'])} 填写"
                    )
                given[item.code] = (result, note)
            saved = st.form_submit_button(
                "保存本案件核查结论", type="primary", key="file_audit_save"
            )
        if saved and need_actor():
            drawn = st.session_state[DRAWN_KEY]
            try:
                written = view.save_case(
                    ws, sid, case_id, given, drawn["versions"], by=actor, viewer=who
                )
            except ConcurrentEditError as exc:
                st.session_state[STALE_KEY] = (form, str(exc))
            except fa.FileAuditError as exc:
                st.error(ui.md(str(exc)))
            else:
                done(
                    f"已保存案件 {case_id} 的核查结论（{written} 项有更新）。",
                    CASE_ROUND_KEY,
                    CASE_FLASH_KEY,
                )
        stale = st.session_state.get(STALE_KEY)
        if stale and stale[0] == form:
            st.warning(
                f"{ui.md(stale[1])}。其他人在你填写期间修改了这个案件的结论，本次填写没有"
                "保存；请点击“载入最新结论”查看后再修改保存。"
            )
            if st.button("载入最新结论", key="file_audit_reload", icon=":material/refresh:"):
                st.session_state.pop(STALE_KEY, None)
                st.session_state[CASE_ROUND_KEY] = st.session_state.get(CASE_ROUND_KEY, 0) + 1
                st.rerun()

# --- the report --------------------------------------------------------------------------------

st.subheader("核查报告")
if not info.closed:
    st.caption("核查尚未结束，下载的报告为草稿。")
st.markdown("**各街镇结果**")
ui.show_table(view.street_table(sv), key="file_audit_streets")
st.markdown("**各核查项结果**")
ui.show_table(view.item_table(sv), key="file_audit_items")
st.markdown("**不符合事项**")
failures = view.failures_table(sv)
if failures.height:
    ui.show_table(failures, key="file_audit_failures")
else:
    st.caption("目前没有不符合事项。")
pdf_col, excel_col = st.columns([1, 3])
ui.download_button(
    pdf_col,
    "下载核查报告（PDF）",
    data=lambda: report.session_pdf(sv, generated=today),
    file_name=report.file_name(sv, "pdf"),
    mime="application/pdf",
    key="file_audit_pdf",
    icon=":material/picture_as_pdf:",
    on_click="ignore",
)
ui.download_button(
    excel_col,
    "下载核查台账（Excel）",
    data=lambda: report.session_excel(sv),
    file_name=report.file_name(sv, "xlsx"),
    mime=ui.XLSX_MIME,
    key="file_audit_xlsx",
    icon=":material/download:",
    on_click="ignore",
)

# --- closing: the sign-off ---------------------------------------------------------------------

if not info.closed and access.may(who, "file_audit_close"):
    st.subheader("结束核查并签发")
    left = progress["cases"] - progress["done"]
    st.caption(
        (
            "全部案件已核查完毕。"
            if not left
            else f"还有 {left:,} 个案件没有填完核查清单，填完后才能结束核查。"
        )
        + "结束后核查结论不能再修改，不符合项转入线索清单，由所在街镇在整改期限前整改。"
    )
    due_default = view.default_due(today)
    close_prefix = f"file_audit_close_{sid}_{st.session_state.get(CASE_ROUND_KEY, 0)}"
    # The session as it was when this form was drawn: a change someone made since (an answer
    # saved) makes the sign-off stale, and it is refused rather than signing figures unseen.
    drawn_version = st.session_state.setdefault(f"{close_prefix}_version", info.version)
    with st.form("file_audit_close_form"):
        due = st.date_input(
            "整改期限",
            value=due_default,
            min_value=today,
            key=f"{close_prefix}_due",
            format="YYYY-MM-DD",
        )
        if due_default is None:
            st.caption("工作日历尚未收录所需年份，无法按工作日计算默认期限，请选择整改期限。")
        else:
            st.caption("默认按设置中的整改工作日数计算，可以修改。")
        confirmed = st.checkbox(
            "已核对全部核查结论，确认结束核查并签发报告", key=f"{close_prefix}_confirm"
        )
        closing = st.form_submit_button("结束核查并签发", type="primary", key="file_audit_close")
    if closing and need_actor():
        if not confirmed:
            st.error("请先勾选确认。")
        elif due is None:
            st.error("请选择整改期限。")
        else:
            try:
                closed = view.close_session(
                    ws,
                    sid,
                    by=actor,
                    today=today,
                    rectify_due=due,
                    expected_version=drawn_version,
                    viewer=who,
                )
            except ConcurrentEditError as exc:
                st.session_state[CASE_ROUND_KEY] = st.session_state.get(CASE_ROUND_KEY, 0) + 1
                st.warning(f"{ui.md(str(exc))}。页面已载入最新结论，请核对后再结束核查。")
            except fa.FileAuditError as exc:
                st.error(ui.md(str(exc)))
            else:
                failed = closed.new + closed.recurred + closed.seen
                text = (
                    f"已结束核查并签发：不符合事项 {failed} 项，其中新转入线索清单 "
                    f"{closed.new} 条、整改后再次发现（复发）{closed.recurred} 条、"
                    f"已在跟踪中 {closed.seen} 条，整改期限 {due.isoformat()}。"
                )
                if closed.gone:
                    text += f"此前不符合、本次核查符合的 {closed.gone} 条不再列为线索。"
                done(text, CASE_ROUND_KEY, to_findings=True)
