"""救助资金监督审计台: the Streamlit entrypoint (page config, login, navigation, shared sidebar).

Nothing but the login page is served to a visitor who is not logged in; a viewer is served only
the pages their role may open (analytics.access.PAGES), and each page checks again."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics import access
from dashboard import auth, data, locale, ui

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
    ("audit_log.py", "审计日志", ":material/policy:"),
)

st.set_page_config(page_title="救助资金监督审计台", layout="wide")
locale.apply()

try:
    workspace = data.workspace()
    viewer = auth.resolve(workspace)
except Exception as exc:  # noqa: BLE001 - the accounts cannot be read: nobody gets in
    # The kind only: a driver's message may carry the database address.
    auth.log.error("login unavailable: %s", type(exc).__name__)
    st.error("无法连接工作区数据库，暂时无法登录。请联系管理员检查工作区和数据库设置。")
    st.stop()
if viewer is None:
    # Every address serves the login page (a deep link is kept: after logging in, the visitor is
    # on the page the link named, if their role may open it).
    st.navigation(
        [
            st.Page(
                auth.login_page,
                title="登录",
                icon=":material/login:",
                url_path="login",
                default=True,
            )
        ]
        + [
            st.Page(auth.login_page_at(Path(file).stem), title="登录", url_path=Path(file).stem)
            for file, _, _ in PAGES
        ],
        position="hidden",
    ).run()
    st.stop()

auth.sync_cookie()  # a login's cookie is written here, once
allowed = access.pages_for(viewer)
by_name = {
    Path(file).stem: st.Page(
        PAGES_DIR / file,
        title=title,
        icon=icon,
        url_path=Path(file).stem,
        default=Path(file).stem == allowed[0],
    )
    for file, title, icon in PAGES
    if (PAGES_DIR / file).exists() and Path(file).stem in allowed
}
pages = list(by_name.values())
ui.register_pages(by_name)

ui.init_folder_state()
with st.sidebar:
    st.markdown("### 救助资金监督审计台")
    where = f" · {viewer.street}" if viewer.street else (f" · {viewer.unit}" if viewer.unit else "")
    st.caption(f"当前用户：{ui.md(viewer.name)}（{viewer.role_label}{ui.md(where)}）")
    if st.button("退出登录", key="auth_logout", icon=":material/logout:"):
        auth.logout(workspace)
    # Only an administrator may point the app at a folder on the server.
    if access.may(viewer, "choose_folder"):
        # The one place a folder is chosen: 数据导入 and every other page read this one.
        st.text_input(
            "数据文件夹",
            key=ui.DROP_KEY,
            help="各系统导出的数据文件所在文件夹，「数据导入」和其他各页面都读取这里设置的"
            "文件夹（默认取环境变量 AIDWATCH_DROP）",
        )
        st.text_input(
            "检查结果文件夹",
            key=ui.OUT_KEY,
            help="检查结果所在文件夹：「数据导入」页运行检查后自动切换到本次结果"
            "（默认取环境变量 AIDWATCH_OUT）",
        )
        for label, path in (
            ("数据文件夹", ui.current_drop_dir()),
            ("检查结果文件夹", ui.current_out_dir()),
        ):
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
