"""数据导入: what the reader made of a drop folder or of uploaded files."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics.model import DropError, ReadResult
from dashboard import data, ui

st.title("数据导入")
st.caption("检查数据文件能否按数据规范读入：识别了哪些表、各列如何对应、哪些行被拒收及原因。")

source = st.radio("数据来源", ["数据文件夹", "上传文件"], horizontal=True, key="import_source")


def load() -> ReadResult | None:
    if source == "数据文件夹":
        folder = st.text_input("数据文件夹", value=str(ui.current_drop_dir()),
                               key="import_drop_dir")
        path = Path(folder.strip()).expanduser()
        if not path.is_dir():
            st.warning(f"找不到文件夹：{path}")
            return None
        return data.read_drop(path)
    uploads = st.file_uploader("上传数据文件（可多选，.csv / .xlsx / .parquet）",
                               type=["csv", "xlsx", "parquet"], accept_multiple_files=True,
                               key="import_uploads")
    if not uploads:
        st.info("请选择要上传的文件。")
        return None
    return data.read_uploads(data.save_uploads([(f.name, f.getvalue()) for f in uploads]))


try:
    result = load()
except DropError as exc:
    st.error(str(exc))
    st.stop()
if result is None:
    st.stop()

files = ui.files_table(result)
required_missing, optional_missing = ui.missing_tables(result)

cols = st.columns(4)
cols[0].metric("识别的数据表", files.height)
cols[1].metric("读入行数", f"{files['读入行数'].sum():,}")
cols[2].metric("保留行数", f"{files['保留行数'].sum():,}")
cols[3].metric("拒收行数", f"{files['拒收行数'].sum():,}")

st.subheader("已识别的数据表")
ui.show_table(files)
if required_missing:
    st.warning("缺少必需的数据表，不能运行完整检查：" + "、".join(required_missing))
if optional_missing:
    st.info("未提供的可选数据表（依赖它们的检查将跳过）：" + "、".join(optional_missing))
if result.ignored:
    st.markdown("**已忽略的文件**")
    ui.show_table(ui.ignored_table(result))

st.subheader("列对应")
for report in result.files:
    with st.expander(f"{ui.table_label(report.table)} · {report.path}"):
        ui.show_table(ui.mapping_table(report.table, report.mapping))
        if report.extra_columns:
            st.caption("已忽略的多余列：" + "、".join(report.extra_columns))

st.subheader("拒收记录")
if result.rejects.height == 0:
    st.success("没有拒收记录。")
else:
    rejects = ui.rejects_for_display(result.rejects)
    st.caption(f"共 {rejects.height:,} 条。身份证号、银行账号和电话已脱敏显示。")
    ui.show_table(rejects)
    ui.download_excel("下载拒收记录（Excel）", {"拒收记录": rejects}, "拒收记录.xlsx",
                      key="import_rejects_download")
