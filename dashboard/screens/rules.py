"""检查规则: every rule a finding can come from, the thresholds it uses today, and the
definitions of the street indicators."""

from __future__ import annotations

import streamlit as st

from analytics.reference import load_settings
from analytics.views import overview as periods
from analytics.views import rules as view
from dashboard import auth, ui

who = auth.require_page("rules")
st.title("检查规则")
st.caption(
    "每一条线索都出自下面公开的规则：规则只依据各系统登记的事实（应发、实发、案件、账户、"
    "亲属关系、部门共享信息等），不以户籍、性别、年龄或残疾作为风险因素。"
    "线索是需要核实的疑点，不是对任何家庭的结论。"
)

rules = view.rules_table()
families = rules.get_column("类别").unique(maintain_order=True).to_list()
chosen = st.segmented_control("类别", ["全部", *families], default="全部", key="rules_family")
shown = rules if chosen in (None, "全部") else rules.filter(rules["类别"] == chosen)
st.caption(f"共 {shown.height} 项检查。")
# A static table: the rules are sentences to read whole, not cells to scroll.
with st.container(key="rules_table"):
    st.table(shown, hide_index=True, border="horizontal")

st.subheader("参数")
settings = load_settings()
st.caption(
    "规则所用的阈值，由管理员在 data/settings.toml 中设定；修改后本页即显示新值，"
    "重新运行检查后用于检查。"
)
ui.show_table(
    view.parameters_table(settings),
    key="rules_parameters",
    column_config={
        "参数": st.column_config.TextColumn(width="medium"),
        "当前值": st.column_config.TextColumn(width="large"),
        "用于": st.column_config.TextColumn(width="medium"),
    },
)

# Drawn only once opened: the definitions are long sentences, static HTML wraps them whole.
definitions = st.expander(
    "绩效指标定义（总览、街镇和年度评价报告所用）", key="rules_definitions", on_change="rerun"
)
if definitions.open:
    with definitions:
        st.html(periods.definitions_html())

ui.download_button(
    st,
    "导出检查规则（Excel）",
    data=lambda: view.rules_excel(settings),
    file_name="检查规则.xlsx",
    mime=ui.XLSX_MIME,
    key="rules_download",
    icon=":material/download:",
    on_click="ignore",
)
