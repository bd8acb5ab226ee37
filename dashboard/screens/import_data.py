"""数据导入: what the reader made of a drop folder or of uploaded files."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analytics import access, amounts, formats, pipeline, reader, runs
from analytics.model import DropError, ReadResult
from checks.registry import FAMILIES
from dashboard import auth, data, ui

who = auth.require_page("import_data")
# Only an administrator is shown, or chooses, folders on the server.
admin = access.may(who, "choose_folder")
st.title("数据导入")
st.caption(
    "读入各系统导出的数据文件：识别了哪些表、各列如何对应、哪些行被拒收及原因；"
    "数据齐全后即可在本页运行检查，各页面随即显示检查结果。"
)

source = st.radio("数据来源", ["数据文件夹", "上传文件"], horizontal=True, key="import_source")


def read_folder(path: Path) -> ReadResult:
    """The drop folder read whole; one lacking required tables is read table by table, as an
    upload is, so that the page shows the same account of what is there and what is not."""
    try:
        return data.read_drop(path)
    except DropError:
        if not reader.required_missing(path):
            raise
    return reader.read_drop(path, partial=True)


def load() -> tuple[Path, ReadResult] | None:
    """(the folder read, what the reader made of it), or None when there is nothing to read."""
    if source == "数据文件夹":
        # One folder for every page, set in the sidebar (by an administrator): shown here, not
        # typed here, so that this page and the others never read two different folders.
        path = ui.current_drop_dir()
        if admin:
            st.caption(
                f"读取侧栏“数据文件夹”中设置的文件夹 {ui.md_code(path)}；"
                "要读取其他文件夹，请在侧栏中修改（各页面随之使用该文件夹）。"
            )
        else:
            st.caption("读取管理员设置的数据文件夹；其他数据请用“上传文件”。")
        if not path.is_dir():
            st.warning(
                f"找不到文件夹：{ui.md(path)}"
                if admin
                else "管理员设置的数据文件夹不存在，请联系管理员，或改用“上传文件”。"
            )
            return None
        return path, read_folder(path)
    limit = st.get_option("server.maxUploadSize")
    uploads = st.file_uploader(
        f"上传数据文件（可多选，.csv / .xlsx / .parquet，每个文件不超过 {limit} MB）",
        type=["csv", "xlsx", "parquet"],
        accept_multiple_files=True,
        key="import_uploads",
        help=f"单个文件超过 {limit} MB 时无法上传；全市规模的数据请由管理员"
        "在服务器上用 aidwatch check 运行检查。",
    )
    if not uploads:
        st.info("请选择要上传的文件。")
        return None
    folder = data.save_uploads([(f.name, f.getvalue()) for f in uploads])
    return folder, data.read_uploads(folder)


def source_label(folder: Path, result: ReadResult) -> str:
    """How a run's drop is named in the list of runs: the folder, or the files uploaded."""
    if source == "数据文件夹":
        return str(folder)
    return f"上传的 {len(result.files)} 个文件（{folder.name[:8]}）"


def run_section(folder: Path, result: ReadResult, required_missing: list[str]) -> None:
    """运行检查: all checks over the drop just read, with progress; then every page shows them."""
    st.subheader("运行检查")
    running = runs.job(st.session_state.get(ui.JOB_KEY))
    if running is not None:
        ui.follow_job("page")
    if st.session_state.get(ui.JOB_ERROR_KEY):
        st.error(ui.md(st.session_state[ui.JOB_ERROR_KEY]))
    if required_missing:
        st.caption("补齐必需的数据表后即可在此运行检查。")
        return
    try:
        default_as_of = pipeline.default_as_of(result.tables)
    except DropError as exc:
        st.error(ui.md(exc))
        return
    left, right = st.columns([1, 2])
    # Keyed by the default: another drop's check date must not carry over to this one.
    as_of = left.date_input(
        "检查基准日",
        value=default_as_of,
        format="YYYY-MM-DD",
        key=f"import_as_of_{default_as_of:%Y%m%d}",
        help="默认取应发名册和资金实发明细中最后一个月的月末；"
        "动态管理和审批时限类检查以此日为准。不能早于数据的第一个发放月份",
    )
    families = right.multiselect(
        "检查类别",
        list(FAMILIES),
        default=list(FAMILIES),
        format_func=lambda family: FAMILIES[family],
        key="import_families",
        placeholder="请选择检查类别",
        help="默认运行全部类别；依赖未提供数据表的检查将跳过并说明原因",
    )
    note = pipeline.as_of_note(result.tables, as_of)
    allowed = True
    if note is not None and note.level == "refuse":
        st.error(note.message)
        allowed = False
    elif note is not None and note.level == "confirm":
        st.warning(note.message)
        allowed = st.checkbox(
            "我了解上述影响，仍按此基准日检查", key=f"import_as_of_confirm_{as_of:%Y%m%d}"
        )
    elif note is not None:
        st.warning(note.message)
    if result.rejects.height:
        st.caption(
            f"有 {formats.count(result.rejects.height)} 个单元格被拒收，所在行不参加检查"
            "（见下方拒收记录），修正后重新导出可纳入检查。"
        )
    if st.button(
        "运行全部检查" if len(families) == len(FAMILIES) else "运行所选检查",
        type="primary",
        key="import_run",
        disabled=(
            not families or not allowed or (running is not None and not running.done.is_set())
        ),
        icon=":material/play_arrow:",
    ):
        # The run goes on in a process of its own: this page may be left and come back to.
        started = runs.start_job(
            folder,
            as_of,
            label=source_label(folder, result),
            only=None if len(families) == len(FAMILIES) else families,
            workspace=data.workspace().root,
            by=who.name,
        )
        st.session_state[ui.JOB_KEY] = started.key
        st.session_state.pop(ui.JOB_ERROR_KEY, None)
        st.rerun()
    last = st.session_state.get(ui.LAST_RUN_KEY)
    if not last or last["source"] != str(folder):
        return
    out = Path(last["out"])
    summary = data.check_summary(out)
    if summary.height == 0:
        return
    head = runs.headline(summary, data.findings(out))
    # No folder of the server in the message: where the results are is the workspace's matter.
    where = (
        "各页面已切换到本次结果。"
        if ui.current_out_dir() == out
        else "各页面当前显示的是另一次检查的结果，可在下方检查记录中切换到本次。"
    )
    logged = (
        f"已记入工作区的运行记录（第 {int(out.name)} 次），线索进入核查流程。"
        if out.name.isdigit()
        else ""
    )
    st.success(
        f"检查完成：运行 {head['ran']} 项检查，发现线索 {formats.count(head['findings'])} 条，"
        f"涉及金额 {formats.money_fen(head['amount_fen'])} 元。{where}{logged}"
    )
    cols = st.columns(4)
    cols[0].metric("运行的检查", formats.count(head["ran"]))
    cols[1].metric("跳过的检查", formats.count(head["skipped"]))
    cols[2].metric("线索", formats.count(head["findings"]))
    cols[3].metric("涉及金额（元）", formats.money_fen(head["amount_fen"]), help=amounts.HELP)
    ui.show_table(runs.summary_table(summary), key="import_run_summary")
    ui.page_links(
        [
            ("overview", "查看总览"),
            ("findings", "查看线索清单"),
            ("funds", "查看资金比对"),
            ("graph", "查看关系图谱"),
            ("street", "查看街镇"),
        ]
    )


def files_section(
    result: ReadResult, required_missing: list[str], optional_missing: list[str]
) -> None:
    """The one account of what a drop holds, whether a folder or an upload: the tables
    recognised, the tables missing, the files not read and why."""
    files = ui.files_table(result)
    cols = st.columns(4)
    cols[0].metric("识别的数据表", formats.count(files.height))
    cols[1].metric("读入行数", formats.count(int(files["读入行数"].sum())))
    cols[2].metric("保留行数", formats.count(int(files["保留行数"].sum())))
    cols[3].metric("拒收行数", formats.count(int(files["拒收行数"].sum())))

    st.subheader("已识别的数据表")
    if files.height:
        ui.show_table(files)
    else:
        st.caption("没有一个文件的名称是数据约定中的表名。")
    unknown = reader.unrecognised_files(result.ignored)
    if required_missing:
        st.warning(
            "缺少必需的数据表，不能运行检查："
            + "、".join(required_missing)
            + "。请补齐后重新读取；各表可用的文件名见下方“数据文件应如何命名”。"
        )
    if unknown:
        st.warning(
            "未识别的文件："
            + "、".join(ui.md(name) for name in unknown)
            + "。文件名不是数据约定中任何一张表的名称，这些文件没有读取，也不在拒收记录中；"
            "如果其中有数据表，请按下方“数据文件应如何命名”改名后重新放入。"
        )
    if optional_missing:
        st.info("未提供的可选数据表（依赖它们的检查将跳过）：" + "、".join(optional_missing))
    if result.ignored:
        st.markdown("**已忽略的文件**")
        ui.show_table(ui.ignored_table(result))
    if required_missing or unknown:
        with st.expander("数据文件应如何命名", expanded=bool(required_missing)):
            st.caption("文件名（不含扩展名）为表的英文名或中文名即可识别；表头可用中文或英文。")
            ui.show_table(ui.expected_files_table())


def show_drop(folder: Path, result: ReadResult) -> None:
    """What the reader made of the drop, the run section, the header mappings and the rejects."""
    required_missing, optional_missing = ui.missing_tables(result)
    files_section(result, required_missing, optional_missing)

    run_section(folder, result, required_missing)
    history_section()

    st.subheader("列对应")
    for report in result.files:
        with st.expander(f"{ui.table_label(report.table)} · {ui.md(report.path)}"):
            ui.show_table(ui.mapping_table(report.table, report.mapping))
            if report.extra_columns:
                st.caption("已忽略的多余列：" + "、".join(ui.md(c) for c in report.extra_columns))

    st.subheader("拒收记录")
    if result.rejects.height == 0:
        if reader.unrecognised_files(result.ignored):
            st.info("已读取的文件中没有拒收记录；未识别的文件没有读取，不在此列（见上方）。")
        elif result.files:
            st.success("没有拒收记录。")
        else:
            st.info("没有读取任何数据表，也就没有拒收记录。")
    else:
        rejects = ui.rejects_for_display(result.rejects)
        st.caption(f"共 {formats.count(rejects.height)} 条。身份证号、银行账号和电话已脱敏显示。")
        ui.show_table(rejects)
        ui.download_excel(
            "下载拒收记录（Excel）",
            {"拒收记录": rejects},
            "拒收记录.xlsx",
            key="import_rejects_download",
        )


def history_section() -> None:
    """检查记录: the check runs of the workspace's run log, from the command line or from here,
    newest first; one picked is shown on every page."""
    ws = data.workspace()
    past, problem = runs.read_history(ws)
    if problem:
        st.warning(problem)
        return
    if past.height == 0:
        return
    st.subheader("检查记录")
    st.caption(
        "工作区中完成的检查（在本页或用 aidwatch check 运行的），最新的在前。"
        "选中一次检查后点击下方按钮，各页面即显示该次结果。"
    )
    current = ui.current_out_dir()
    table = runs.history_table(past, current, paths=ui.shows_paths())
    picked = ui.show_table(
        table,
        key="import_history",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "编号": st.column_config.NumberColumn(format="plain"),
            "涉及金额（元）": st.column_config.NumberColumn(
                format=formats.GRID_FORMAT[formats.MONEY], help=amounts.HELP
            ),
        },
    )
    rows = picked.selection.rows
    if not rows:
        return
    chosen = past.row(rows[0], named=True)
    out = Path(chosen["out"])
    if not chosen["out_exists"]:
        where = f"（{ui.md(out)}）" if admin else ""
        st.warning(
            f"第 {chosen['run_id']} 次检查的结果文件夹已不在工作区中{where}，"
            "无法在各页面查看这次检查；其线索的核查状态仍保留在工作区中。"
        )
        return
    # The drop as its folder was (a snapshot holds typed tables, not files the reader reads).
    drop_dir = Path(chosen["source"] or out / "数据文件夹未知")
    if not drop_dir.is_dir():
        where = f"（{ui.md(drop_dir)}）" if admin else ""
        st.caption(
            f":orange[该次检查的数据文件夹已不存在{where}，"
            "关系图谱和应发、实发明细对照将不可用，其余结果照常显示。]"
        )
    if out.resolve() == current.resolve():
        st.caption("各页面当前显示的就是这次检查。")
    elif st.button("在各页面查看这次检查", key="import_history_use", icon=":material/visibility:"):
        st.session_state[ui.LAST_RUN_KEY] = {"source": str(drop_dir), "out": str(out)}
        ui.use_folders(drop_dir, out)


try:
    loaded = load()
except DropError as exc:
    st.error(ui.md(exc))
    loaded = None
if loaded is not None:
    show_drop(*loaded)
else:
    # A run started earlier is still followed when no drop is on the page now.
    if runs.job(st.session_state.get(ui.JOB_KEY)) is not None:
        ui.follow_job("page")
    history_section()
