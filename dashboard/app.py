"""救助资金监督审计台: the Streamlit entrypoint (page config, navigation, shared sidebar)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import ui

PAGES_DIR = Path(__file__).resolve().parent / "screens"

# (file in dashboard/screens, title, icon). A page appears once its file exists; its address is
# the file name. The folder is not called pages/: Streamlit would then serve a fresh server's
# first deep link in its older folder mode, running the page without this entrypoint.
PAGES = (
    ("overview.py", "总览", ":material/dashboard:"),
    ("findings.py", "线索清单", ":material/list_alt:"),
    ("funds.py", "资金比对", ":material/compare_arrows:"),
    ("graph.py", "关系图谱", ":material/hub:"),
    ("street.py", "街镇", ":material/location_city:"),
    ("followup.py", "回头看", ":material/event_repeat:"),
    ("file_audit.py", "档案核查", ":material/fact_check:"),
    ("dishonesty.py", "失信名单", ":material/gpp_bad:"),
    ("import_data.py", "数据导入", ":material/upload_file:"),
    ("rules.py", "检查规则", ":material/gavel:"),
    ("member_query.py", "失信查询", ":material/person_search:"),
)

st.set_page_config(page_title="救助资金监督审计台", layout="wide")

by_name = {
    Path(file).stem: st.Page(PAGES_DIR / file, title=title, icon=icon, url_path=Path(file).stem,
                             default=file == "overview.py")
    for file, title, icon in PAGES
    if (PAGES_DIR / file).exists()
}
pages = list(by_name.values())
ui.register_pages(by_name)

ui.init_folder_state()
with st.sidebar:
    st.markdown("### 救助资金监督审计台")
    st.text_input("数据文件夹", key=ui.DROP_KEY,
                  help="各系统导出的数据文件所在文件夹（默认取环境变量 AIDWATCH_DROP）")
    st.text_input("检查结果文件夹", key=ui.OUT_KEY,
                  help="检查结果所在文件夹：「数据导入」页运行检查后自动切换到本次结果"
                       "（默认取环境变量 AIDWATCH_OUT）")
    for label, path in (("数据文件夹", ui.current_drop_dir()), ("检查结果文件夹", ui.current_out_dir())):
        if not path.is_dir():
            st.caption(f":orange[{label}不存在：{ui.md(path)}]")

current = st.navigation(pages)
# A run started on 数据导入 is followed there; on any other page, in the sidebar.
if ui.has_job() and current.url_path != "import_data":
    with st.sidebar:
        ui.follow_job("sidebar")
if notice := st.session_state.pop(ui.NOTICE_KEY, None):
    st.toast(notice)
current.run()
