"""失信查询 (他处受限): a member unit asks whether people are on the 失信名单, one full ID number
typed or a list uploaded, with a purpose; the answer is only 已列入 / 未列入 and, when listed,
the record's reference, its term and 异议中 when disputed. Every query is logged (who, unit,
when, purpose, how many numbers; never the numbers), and the office sees the log below."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from analytics import access
from analytics.reference import load_settings
from analytics.store import dishonesty as stored
from analytics.views import member_query as view
from analytics.workflow.dishonesty import DueProcessError
from dashboard import auth, data, ui

if TYPE_CHECKING:
    from streamlit.runtime.uploaded_file_manager import UploadedFile

ANSWERS_KEY = "member_query_answers"
DAYS = {
    name: st.column_config.DateColumn(name, format="YYYY-MM-DD")
    for name in ("公布起始日期", "公布截止日期")
}

who = auth.require_page("member_query")
st.title("失信查询")
st.caption(
    "联席会议成员单位查询当事人是否列入社会救助失信名单（一处失信、他处受限）：输入完整的"
    "身份证号或上传名单，只答复“已列入”或“未列入”；已列入的给出失信记录编号、公布期限，"
    "有异议尚未处理的标注“异议中”，不提供当事人的其他信息。每次查询都登记查询人、单位、时间、"
    "用途和查询数量（不登记所查号码）。"
)

settings = load_settings().dishonesty
# Who asks, for which unit: the logged-in account's (a 成员单位 account carries its unit).
by = who.name
if who.unit:
    unit = who.unit
else:
    with st.sidebar:
        st.markdown("#### 失信查询")
        unit = st.text_input(
            "查询单位", key="member_query_unit", help="代成员单位查询时填写单位名称，如区住房保障局"
        )

try:
    store = data.workspace().store
except Exception:  # an unreachable or broken database: say so, never quote it
    st.error("无法读取工作区的失信名单（数据库无法连接或读取），请联系管理员检查工作区设置。")
    st.stop()

# --- the query ---------------------------------------------------------------------------------
st.subheader("查询")
mode = st.radio("查询方式", ["输入身份证号", "上传名单"], horizontal=True, key="member_query_mode")
with st.form("member_query_form", clear_on_submit=True):
    purpose = st.selectbox(
        "查询用途",
        settings.query_purposes,
        index=None,
        placeholder="请选择查询用途",
        key="member_query_purpose",
    )
    typed: str | None
    upload: UploadedFile | None
    if mode == "输入身份证号":
        typed = st.text_input(
            "身份证号", key="member_query_number", placeholder="完整的18位身份证号（旧版15位亦可）"
        )
        upload = None
    else:
        typed = None
        upload = st.file_uploader(
            "名单文件（CSV、XLSX 或 TXT，每行一个身份证号，"
            f"最多 {settings.query_max_numbers:,} 个）",
            type=list(view.UPLOAD_TYPES),
            key="member_query_upload",
        )
    submitted = st.form_submit_button("查询", type="primary")

if submitted:
    st.session_state.pop(ANSWERS_KEY, None)
    problems = [
        text
        for text, missing in (
            ("请在左侧填写查询单位", not unit.strip()),
            ("请在左侧填写查询人", not by.strip()),
            ("请选择查询用途", purpose is None),
            ("请上传名单文件", mode == "上传名单" and upload is None),
        )
        if missing
    ]
    if problems:
        st.error("；".join(problems) + "。")
    else:
        try:
            asked = (
                view.parse_typed(typed)
                if upload is None  # a number typed (a missing upload was refused above)
                else view.parse_upload(upload.name, upload.getvalue(), settings.query_max_numbers)
            )
            if not asked.numbers:
                raise view.QueryInputError(
                    view.invalid_message(asked.invalid_lines) or "没有可查询的身份证号"
                )
            answers = stored.member_query(
                store,
                asked.numbers,
                unit=unit.strip(),
                purpose=purpose,
                by=by.strip(),
                today=view.today(),
                settings=settings,
            )
            st.session_state[ANSWERS_KEY] = (
                view.answers_table(asked, answers),
                asked.invalid_lines,
            )
        except (view.QueryInputError, DueProcessError) as exc:
            st.error(ui.md(str(exc)))

if ANSWERS_KEY in st.session_state:
    table, invalid = st.session_state[ANSWERS_KEY]
    st.success(view.summary_line(table))
    if message := view.invalid_message(invalid):
        st.warning(message)
    ui.show_table(table, key="member_query_table", column_config=DAYS)
    ui.download_excel(
        "下载查询结果（Excel）",
        {"查询结果": table},
        "失信查询结果.xlsx",
        key="member_query_download",
    )
    st.caption(
        "身份证号已脱敏，按查询顺序排列；“行号”为名单文件中的行。“已列入”指查询当日处于"
        "公布期内；“异议中”指当事人已提出异议、尚未作出决定，使用时应予注意。"
    )

# --- the office's log --------------------------------------------------------------------------
if not access.may(who, "member_query_log"):
    st.stop()  # a member unit sees its answers, never who else asked
st.subheader("查询记录")
try:
    log = view.log_table(stored.query_log(store))
except Exception:
    st.error("无法读取查询记录（数据库无法连接或读取），请联系管理员检查工作区设置。")
    st.stop()
if log.height == 0:
    st.caption("还没有成员单位查询过失信名单。")
else:
    st.caption(f"共 {log.height:,} 次查询，最近的在前；只登记查询数量，不登记所查的身份证号。")
    ui.show_table(log, key="member_query_log")
