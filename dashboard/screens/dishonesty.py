"""失信名单: the joint-meeting office's dishonesty records with their due process (notice,
objection window, decision, publication, repair), by state and street; records made by hand or
from a verified finding; the deadlines coming up; the records due published in one numbered
document (Excel and PDF, ID numbers masked, only the fields the rules allow)."""

from __future__ import annotations

from datetime import date

import polars as pl
import streamlit as st

from analytics.calendar import CalendarError
from analytics.parse import parse_id18
from analytics.schema import STREETS
from analytics.store import dishonesty as stored
from analytics.views import dishonesty as view
from analytics.workflow import dishonesty as rules
from dashboard import auth, data, ui

FLASH_KEY = "dishonesty_flash"
DRAWN_KEY = "dishonesty_drawn"  # the record, version and move the form was drawn for
ROUND_KEY = "dishonesty_form_round"
PUBLISHED_KEY = "dishonesty_publication"
PICK_NEXT_KEY = "dishonesty_pick_next"  # a record just made: open it on the next run
DAY = st.column_config.DateColumn(format="YYYY-MM-DD")
MONEY = st.column_config.NumberColumn(format="accounting")
DAYS = {
    name: DAY for name in ("告知日期", "异议期至", "异议答复期限", "决定日期", "公布期限至", "日期")
}

who = auth.require_page("dishonesty")
st.title("失信名单")
st.caption(
    "联席会议办公室的社会救助失信记录：列入前告知当事人理由、依据和权利，异议期满且无未决异议"
    "方可作出决定并公布；公布期满自动停止，信用修复或撤销后移出。每一步都记录操作人、日期和理由。"
)

actor = ui.acting_person("新建、告知、决定、公布等每一步记入处理记录的操作人姓名。")

today = view.today()
try:
    ws = data.workspace()
    calendar = view.calendar()
    settings = view.settings()
    records = view.records_today(ws.store, today, calendar, settings)
except Exception:  # an unreachable or broken database: say so, never quote it
    st.error("无法读取工作区的失信记录（数据库无法连接或读取），请联系管理员检查工作区设置。")
    st.stop()

if flash := st.session_state.pop(FLASH_KEY, None):
    st.success(ui.md(flash))


def done(message: str) -> None:
    st.session_state[FLASH_KEY] = message
    st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
    st.rerun()


def need_actor() -> bool:
    if not actor:
        st.caption(":orange[尚未登录，不能记录操作人：请先登录。]")
    return bool(actor)


tab_list, tab_new, tab_due, tab_publish = st.tabs(["名单", "新建记录", "待办期限", "公布"])

# --- 名单 --------------------------------------------------------------------------------------
with tab_list:
    if records.height == 0:
        st.info("还没有失信记录：在「新建记录」中手工录入，或由已核实并追回资金的线索生成。")
    else:
        opts = view.options(records)
        for key, choices in (
            ("dishonesty_states", opts.states),
            ("dishonesty_streets", opts.streets),
        ):
            if key in st.session_state:
                st.session_state[key] = [v for v in st.session_state[key] if v in choices]
        cols = st.columns(2)
        states = cols[0].multiselect(
            "状态",
            opts.states,
            format_func=lambda state: rules.SHOWN[state],
            key="dishonesty_states",
            placeholder="全部状态",
        )
        streets = cols[1].multiselect(
            "街镇", opts.streets, key="dishonesty_streets", placeholder="全部街镇"
        )
        shown = view.filter_records(records, states, streets)
        counts = st.columns(4)
        for col, (label, n) in zip(
            counts,
            (
                ("记录", shown.height),
                ("已公布", shown.filter(shown["status"] == "published").height),
                ("异议中", shown.filter(shown["status"] == "objected").height),
                ("异议期", shown.filter(shown["status"] == "window").height),
            ),
            strict=True,
        ):
            col.metric(label, f"{n:,}")
        st.caption(
            f"截至 {today.isoformat()}，状态按日期计算（异议期、公布期满）；身份证号已脱敏。"
        )
        ui.show_table(
            view.list_table(shown.head(view.MAX_ROWS)),
            key="dishonesty_table",
            placeholder="—",
            column_config={**DAYS, "违规获得（元）": MONEY, "已退还（元）": MONEY},
        )
        if shown.height:
            ids = shown.get_column("record_id").to_list()
            labels = {r["record_id"]: view.record_label(r) for r in shown.iter_rows(named=True)}
            if st.session_state.get(PICK_NEXT_KEY) in ids:
                st.session_state["dishonesty_pick"] = st.session_state.pop(PICK_NEXT_KEY)
            if st.session_state.get("dishonesty_pick") not in ids:
                st.session_state.pop("dishonesty_pick", None)
            pick = st.selectbox(
                "查看记录", ids, format_func=lambda rid: labels[rid], key="dishonesty_pick"
            )
            row = view.record_of(records, pick)
            st.subheader("记录详情")
            st.markdown(
                f"**{ui.md(row['reference'])}** · {ui.md(row['name'])} · "
                f"状态：**{row['status_label']}**"
            )
            if row["status"] == "window":
                st.info(
                    f"异议期至 {row['window_end'].isoformat()}，"
                    "期满且无未决异议后方可作出决定并公布。"
                )
            elif row["state"] == "objected" and row["objection_due"]:
                late = "（已超期）" if row["objection_due"] < today else ""
                st.warning(f"异议中：应于 {row['objection_due'].isoformat()} 前核实答复{late}。")
            elif row["status"] == "published" and row["term_end"]:
                st.info(f"公布中，公布期限至 {row['term_end'].isoformat()}，期满自动停止公布。")
            with st.container(key="dishonesty_facts"):
                ui.show_table(view.facts_table(row))

            st.markdown("**可执行的操作**")
            moves = view.moves_for(row)
            if not moves:
                st.caption("这条记录当前没有可执行的操作。")
            else:
                name = ui.move_choice(
                    "操作",
                    [m.name for m in moves],
                    "dishonesty_move",
                    lambda n: rules.MOVES[n].label,
                )
                spec = rules.MOVES[name]
                prefix = f"dishonesty_f_{pick}_{st.session_state.get(ROUND_KEY, 0)}"
                low, high = settings.terms_months.get(row["severity"], (1, 36))
                with st.form("dishonesty_move_form"):
                    values: dict = {}
                    for field in sorted(spec.needs, key=list(rules.NEEDS_LABELS).index):
                        label = rules.NEEDS_LABELS[field]
                        key = f"{prefix}_{field}"
                        if field in (
                            "notified_on",
                            "raised_on",
                            "decision_date",
                            "returned_on",
                            "commitment_on",
                        ):
                            values[field] = st.date_input(
                                label, value=today, max_value=today, key=key, format="YYYY-MM-DD"
                            )
                        elif field == "notify_method":
                            values[field] = st.selectbox(label, rules.NOTIFY_METHODS, key=key)
                        elif field == "term_months":
                            values[field] = st.number_input(
                                f"{label}（{row['severity']}：{low} 至 {high} 个月）",
                                min_value=low,
                                max_value=high,
                                value=low,
                                step=1,
                                key=key,
                            )
                        elif field == "decision_no":
                            values[field] = st.text_input(label, key=key, max_chars=100)
                        elif field == "reason":
                            values[field] = st.text_area(
                                f"{label}（必填）", key=key, max_chars=2000, height=80
                            )
                    submitted = st.form_submit_button(
                        f"执行“{spec.label}”", type="primary", key="dishonesty_move_submit"
                    )
                drawn = st.session_state.get(DRAWN_KEY)
                if submitted and need_actor() and drawn and drawn["record"] == pick:
                    # The version is the one the form was drawn with: a change made by someone
                    # else meanwhile is refused, never overwritten.
                    try:
                        stored.apply(
                            ws.store,
                            pick,
                            drawn["move"],
                            rules.Given(**values),
                            by=actor,
                            expected_version=drawn["version"],
                            today=today,
                            calendar=calendar,
                            settings=settings,
                        )
                    except stored.StaleRecordError as exc:
                        st.error(ui.md(str(exc)))
                    except rules.DueProcessError as exc:
                        st.error(ui.md(str(exc)))
                    except CalendarError:
                        st.error("工作日历尚未收录所需年份，暂不能计算期限，请管理员补充工作日历。")
                    else:
                        done(f"已{rules.MOVES[drawn['move']].label}：{row['reference']}")
                st.session_state[DRAWN_KEY] = {
                    "record": pick,
                    "version": row["version"],
                    "move": name,
                }

            if row["state"] not in rules.ENDED:
                # the version the form was first drawn with: someone else's change since is
                # refused, never overwritten
                drawn_version = st.session_state.setdefault(
                    f"dishonesty_e_ver_{pick}_{st.session_state.get(ROUND_KEY, 0)}", row["version"]
                )
                with st.expander("更正记录内容（修改前的版本会保留）"):
                    with st.form("dishonesty_edit_form"):
                        fixed = {
                            "description": st.text_area(
                                "失信行为事实",
                                value=row["description"],
                                max_chars=2000,
                                key=f"{pick}_e_desc",
                            ),
                            "basis": st.text_input(
                                "列入依据", value=row["basis"], max_chars=500, key=f"{pick}_e_basis"
                            ),
                            "money_recovered_fen": round(
                                100
                                * st.number_input(
                                    "已追回金额（元）",
                                    min_value=0.0,
                                    step=100.0,
                                    value=(row["money_recovered_fen"] or 0) / 100,
                                    key=f"{pick}_e_recovered",
                                )
                            ),
                        }
                        why = st.text_area(
                            "更正理由（必填）", max_chars=1000, height=70, key=f"{pick}_e_reason"
                        )
                        edited = st.form_submit_button("保存更正", key="dishonesty_edit_submit")
                    if edited and need_actor():
                        changes = {k: v for k, v in fixed.items() if v != row[k]}
                        if not changes:
                            st.info("内容没有变化。")
                        else:
                            try:
                                stored.edit(
                                    ws.store,
                                    pick,
                                    changes,
                                    by=actor,
                                    reason=why,
                                    expected_version=drawn_version,
                                    today=today,
                                )
                            except rules.DueProcessError as exc:
                                st.error(ui.md(str(exc)))
                            else:
                                done(f"已更正：{row['reference']}")

            st.markdown("**处理记录**")
            with st.container(key="dishonesty_history"):
                ui.show_table(
                    view.history_table(ws.store, pick), placeholder="—", column_config=DAYS
                )
            earlier = view.earlier_versions_table(ws.store, pick)
            if earlier.height:
                st.markdown("**修改前的版本**")
                ui.show_table(earlier, key="dishonesty_earlier")

# --- 新建记录 ----------------------------------------------------------------------------------
with tab_new:
    source = st.radio(
        "来源",
        ["finding", "hand"],
        horizontal=True,
        key="dishonesty_source",
        format_func=lambda kind: {"finding": "由已核实线索生成", "hand": "手工录入"}[kind],
    )
    prefill: dict = {}
    if source == "finding":
        candidates: pl.DataFrame | None
        try:
            workflow = data.workflow_frames()
            candidates = view.candidates(workflow["findings"], records, workflow["recoveries"])
            candidates = view.candidates(
                workflow["findings"],
                records,
                workflow["recoveries"],
                view.finding_people(ws.store, candidates.get_column("finding_id").to_list()),
            )
        except Exception:
            st.warning("无法读取工作区的线索处置记录，请手工录入。")
            candidates = None
        if candidates is None or candidates.height == 0:
            st.info(
                "没有可生成失信记录的线索：线索经核实属实并处置为“追回资金”后，可在此生成失信记录。"
            )
        else:
            st.caption("经核实属实、处置为追回资金且尚未生成失信记录的线索；身份证号已脱敏。")
            ui.show_table(
                view.candidates_table(candidates),
                key="dishonesty_candidates",
                column_config={"涉及金额（元）": MONEY, "已追回（元）": MONEY},
            )
            fids = candidates.get_column("finding_id").to_list()
            labels = {
                r["finding_id"]: view.candidate_label(r) for r in candidates.iter_rows(named=True)
            }
            if st.session_state.get("dishonesty_finding") not in fids:
                st.session_state.pop("dishonesty_finding", None)
            fid = st.selectbox(
                "线索", fids, format_func=lambda f: labels[f], key="dishonesty_finding"
            )
            prefill = candidates.filter(candidates["finding_id"] == fid).row(0, named=True)
    if source == "hand" or prefill:
        tag = prefill.get("finding_id", "hand")
        prefix = f"dishonesty_new_{tag}_{st.session_state.get(ROUND_KEY, 0)}"
        street = prefill.get("street")
        with st.form("dishonesty_new_form"):
            a, b = st.columns(2)
            id_number = a.text_input(
                "身份证号", value=prefill.get("id_number") or "", key=f"{prefix}_id", max_chars=18
            )
            name = b.text_input("姓名", key=f"{prefix}_name", max_chars=100)
            household = a.text_input("户编号（选填）", key=f"{prefix}_household", max_chars=100)
            case = b.text_input(
                "救助编号（选填）",
                value=prefill.get("case_id") or "",
                key=f"{prefix}_case",
                max_chars=100,
            )
            street = a.selectbox(
                "街镇",
                STREETS,
                key=f"{prefix}_street",
                index=STREETS.index(street) if street in STREETS else None,
                placeholder="选择街镇",
            )
            conduct = b.selectbox("失信行为", rules.CONDUCTS, key=f"{prefix}_conduct")
            severity = a.selectbox(
                "严重程度", list(rules.SEVERITIES), index=1, key=f"{prefix}_severity"
            )
            body = b.text_input(
                "作出决定单位", value=view.DECISION_BODY, key=f"{prefix}_body", max_chars=200
            )
            obtained = a.number_input(
                "违规获得金额（元）",
                min_value=0.0,
                step=100.0,
                format="%.2f",
                value=view.yuan(prefill.get("amount_fen")) or 0.0,
                key=f"{prefix}_obtained",
            )
            recovered = b.number_input(
                "已退还金额（元）",
                min_value=0.0,
                step=100.0,
                format="%.2f",
                value=view.yuan(prefill.get("recovered_fen")) or 0.0,
                key=f"{prefix}_recovered",
            )
            description = st.text_area(
                "失信事实", key=f"{prefix}_description", max_chars=4000, height=100
            )
            basis = st.text_area(
                "列入依据",
                key=f"{prefix}_basis",
                max_chars=2000,
                height=68,
                placeholder="如：《上海市社会救助条例》第××条",
            )
            create = st.form_submit_button(
                "新建记录（拟列入）", type="primary", key="dishonesty_create"
            )
        if create and need_actor():
            number, problem = parse_id18(id_number, today=today)
            if number is None:
                st.error(f"身份证号有误：{ui.md(problem or '请填写')}")
            elif not name.strip():
                st.error("请填写姓名。")
            else:
                try:
                    rid = stored.create_record(
                        ws.store,
                        by=actor,
                        today=today,
                        id_number=number,
                        name=name,
                        conduct=conduct,
                        description=description,
                        severity=severity,
                        basis=basis,
                        money_obtained_fen=view.fen(obtained),
                        money_recovered_fen=view.fen(recovered),
                        household_id=household.strip() or None,
                        case_id=case.strip() or None,
                        street=street,
                        finding_id=prefill.get("finding_id"),
                        issuing_body=body.strip() or None,
                    )
                except rules.DueProcessError as exc:
                    st.error(ui.md(str(exc)))
                else:
                    st.session_state[PICK_NEXT_KEY] = rid
                    done("已新建失信记录（拟列入），请在「名单」中告知当事人。")

# --- 待办期限 ----------------------------------------------------------------------------------
with tab_due:
    due = view.deadlines(records, today)
    st.caption(
        f"{view.WINDOW_SOON_DAYS} 天内届满的异议期、待答复的异议（含已超期）、"
        f"{view.TERM_SOON_DAYS} 天内期满的公布期限；截至 {today.isoformat()}。"
    )
    if due.height == 0:
        st.info("近期没有到期的事项。")
    else:
        ui.show_table(
            view.deadlines_table(due, today), key="dishonesty_deadlines", column_config=DAYS
        )

# --- 公布 --------------------------------------------------------------------------------------
with tab_publish:
    pending = view.due_for_publication(records)
    st.caption(
        "已作出列入决定、公布期限未满且尚未编入公布文件的记录，一次编入一份公布文件（统一文号、"
        "日期），向联席会议成员单位公布。公布文件只列序号、姓名、脱敏身份证号、失信行为、"
        "决定书文号和公布期限。"
    )
    if pending.height == 0:
        st.info("目前没有待公布的记录。")
    else:
        ui.show_table(view.publication_table(pending), key="dishonesty_pending")
        if st.button(f"公布这 {pending.height} 条记录", type="primary", key="dishonesty_publish"):
            if need_actor():
                try:
                    pub = view.publish_batch(
                        ws.store, actor, today, calendar=calendar, rules_=settings
                    )
                except rules.DueProcessError as exc:
                    st.error(ui.md(str(exc)))
                else:
                    if pub is None:
                        st.info("没有待公布的记录（可能已由他人公布）。")
                    else:
                        st.session_state[PUBLISHED_KEY] = pub.number
                        done(f"已生成公布文件 {pub.number}，共 {len(pub.record_ids)} 条。")
    docs = view.publications(ws.store)
    if docs.height:
        st.markdown("**公布文件**")
        numbers = docs.get_column("number").to_list()
        dates = dict(docs.select("number", "on").iter_rows())
        if st.session_state.get(PUBLISHED_KEY) in numbers:
            st.session_state["dishonesty_doc"] = st.session_state.pop(PUBLISHED_KEY)
        if st.session_state.get("dishonesty_doc") not in numbers:
            st.session_state.pop("dishonesty_doc", None)
        number = st.selectbox(
            "公布文件",
            numbers,
            key="dishonesty_doc",
            format_func=lambda n: f"{n}（{dates[n].isoformat()}）",
        )
        on: date = dates[number]
        table = view.publication_table(view.publication_records(records, number))
        ui.show_table(table, key="dishonesty_doc_table")
        stem = view.file_stem(number)
        x, p = st.columns([1, 3])
        ui.download_button(
            x,
            "下载 Excel",
            data=lambda: view.publication_excel(table, number, on),
            file_name=f"{stem}.xlsx",
            mime=ui.XLSX_MIME,
            key="dishonesty_xlsx",
            icon=":material/download:",
            on_click="ignore",
        )
        ui.download_button(
            p,
            "下载 PDF",
            data=lambda: view.publication_pdf(table, number, on),
            file_name=f"{stem}.pdf",
            mime="application/pdf",
            key="dishonesty_pdf",
            icon=":material/picture_as_pdf:",
            on_click="ignore",
        )
