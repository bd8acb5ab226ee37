"""Helpers shared by the pages: folders in use, masked tables, Excel downloads, data grids.

The table builders return Polars frames with Chinese headers and are tested without a browser;
only the functions at the bottom touch Streamlit.

Data from the audited systems is never rendered as Markdown: a page puts it into st.markdown,
st.info, st.caption, expander labels and the like only through :func:`md` (or :func:`md_code`),
and shows frames only through :func:`show_table`, whose grid (and its CSV download) holds
neutralised text like every export.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import polars as pl
import streamlit as st

from analytics import export, formats, reference, schema
from analytics.masking import mask_rejects
from analytics.model import ReadResult

DROP_KEY = "app_drop_dir"
OUT_KEY = "app_out_dir"
PENDING_FOLDERS_KEY = "app_pending_folders"
PAGES_KEY = "app_pages"
JOB_KEY = "app_job"  # the run this session started and follows
JOB_ERROR_KEY = "app_job_error"  # why that run did not finish, for 数据导入 to show
LAST_RUN_KEY = "app_last_run"  # {"source", "out"} of the run last taken in
NOTICE_KEY = "app_notice"  # a message for the next run of the app to show once

REJECT_HEADERS = {"file": "文件", "row": "行号", "column": "列", "value": "值", "reason": "原因"}
FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel", "parquet": "Parquet"}
ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gb18030": "GB18030/GBK"}
log = logging.getLogger(__name__)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Data text as literal Markdown, and as a literal code span (analytics.export).
md = export.md_escape
md_code = export.md_code


# --- Folders ---------------------------------------------------------------------------------


def default_drop_dir() -> Path:
    return Path(os.environ.get("AIDWATCH_DROP") or reference.PROJECT_ROOT / "demo" / "drop")


def default_out_dir() -> Path:
    return Path(os.environ.get("AIDWATCH_OUT") or reference.PROJECT_ROOT / "demo" / "out")


def current_drop_dir() -> Path:
    """The drop folder chosen in the sidebar, or the default when a page runs on its own."""
    return Path(st.session_state.get(DROP_KEY) or default_drop_dir())


def current_out_dir() -> Path:
    return Path(st.session_state.get(OUT_KEY) or default_out_dir())


def shows_paths() -> bool:
    """Whether this viewer is shown folders on the server: an administrator, who chooses them
    (or a page run without a login, in a test). Other roles are told what a folder is for,
    never where it is."""
    from analytics import access
    from dashboard import auth

    who = auth.viewer()
    return who is None or access.may(who, "choose_folder")


def how_to_run(out_dir: Path) -> str:
    """Markdown: how to get results into ``out_dir`` (the folder shown as typed, to an
    administrator only)."""
    if not shows_paths():
        return (
            "请在「数据导入」页读入数据后点击「运行全部检查」（或请管理员在服务器上运行 "
            f"{md_code('aidwatch check')}），或在「数据导入」页的检查记录中选择已有的检查。"
        )
    command = md_code(f"aidwatch check 数据文件夹 --out {out_dir}")
    return (
        "请在「数据导入」页读入数据后点击「运行全部检查」（或由管理员运行 "
        f"{command}），或在「数据导入」页的检查记录中选择已有的检查。"
    )


def at_folder(path: Path | str) -> str:
    """'：<folder>' for a viewer who is shown server folders (shows_paths), '' for anyone else:
    a message names where the results are only to the administrator, who chooses it."""
    return f"：{md(path)}" if shows_paths() else ""


def init_folder_state() -> None:
    """Before the sidebar's folder inputs are drawn: their defaults, or the folders a check run
    started on a page asked for (a widget's value cannot change once it is drawn)."""
    pending = st.session_state.pop(PENDING_FOLDERS_KEY, None)
    if pending:
        st.session_state[DROP_KEY], st.session_state[OUT_KEY] = pending
    st.session_state.setdefault(DROP_KEY, str(default_drop_dir()))
    st.session_state.setdefault(OUT_KEY, str(default_out_dir()))


def use_folders(drop_dir: Path, out_dir: Path) -> None:
    """Show this drop and these results on every page from now on: the app runs again."""
    st.session_state[PENDING_FOLDERS_KEY] = (str(drop_dir), str(out_dir))
    st.rerun()


# --- Tables for the 数据导入 page -------------------------------------------------------------


def table_label(name: str) -> str:
    table = schema.TABLES.get(name)
    return f"{table.zh}（{name}）" if table else name


def files_table(result: ReadResult) -> pl.DataFrame:
    """One row per recognised file: what it is, how it was read, how many rows survived."""
    rejected = (
        result.rejects.group_by("file").agg(pl.col("row").n_unique().alias("n"))
        if result.rejects.height
        else pl.DataFrame(schema={"file": pl.String, "n": pl.UInt32})
    )
    per_file = dict(zip(rejected["file"].to_list(), rejected["n"].to_list(), strict=True))
    rows = [
        {
            "数据表": schema.TABLES[r.table].zh if r.table in schema.TABLES else r.table,
            "英文名": r.table,
            "文件": r.path,
            "格式": FORMAT_NAMES.get(r.format, r.format),
            "编码": ENCODING_NAMES.get(r.encoding, r.encoding) if r.encoding else "—",
            "表头行": r.header_row,
            "读入行数": r.rows_read,
            "保留行数": r.rows_kept,
            "拒收行数": per_file.get(r.path, r.rows_read - r.rows_kept),
            "说明": "；".join(r.notes),
        }
        for r in result.files
    ]
    return pl.DataFrame(
        rows,
        schema={
            "数据表": pl.String,
            "英文名": pl.String,
            "文件": pl.String,
            "格式": pl.String,
            "编码": pl.String,
            "表头行": pl.Int64,
            "读入行数": pl.Int64,
            "保留行数": pl.Int64,
            "拒收行数": pl.Int64,
            "说明": pl.String,
        },
    )


def mapping_table(table: str, mapping: dict[str, str]) -> pl.DataFrame:
    """Every contract column of the table, the header found for it, and whether it is required."""
    columns = schema.TABLES[table].columns
    return pl.DataFrame(
        {
            "字段": [c.name for c in columns],
            "标准表头": [c.zh for c in columns],
            "必填": ["是" if c.required else "" for c in columns],
            "文件中的表头": [mapping.get(c.name, "（未提供）") for c in columns],
        }
    )


def missing_tables(result: ReadResult) -> tuple[list[str], list[str]]:
    """(required tables not read, optional tables not read), as Chinese labels."""
    found = {r.table for r in result.files}
    required = [table_label(t) for t in schema.REQUIRED_TABLES if t not in found]
    optional = [table_label(t) for t in schema.OPTIONAL_TABLES if t in result.missing_optional]
    return required, optional


def ignored_table(result: ReadResult) -> pl.DataFrame:
    """The files ignored and why; the demo generator's answer key says what it is, however
    the files were read (a folder or an upload)."""
    from analytics.reader import COMPANIONS, R_SPECIAL, R_SYMLINK

    reasons = [
        COMPANIONS.get(f, why) if why not in (R_SYMLINK, R_SPECIAL) else why
        for f, why in result.ignored
    ]
    return pl.DataFrame(
        {"文件": [f for f, _ in result.ignored], "原因": reasons},
        schema={"文件": pl.String, "原因": pl.String},
    )


def expected_files_table() -> pl.DataFrame:
    """Every contract table, whether it is required, and the file names it is recognised by."""
    rows = []
    for name, table in schema.TABLES.items():
        rows.append(
            {
                "数据表": table.zh,
                "英文名": name,
                "是否必需": "必需" if name in schema.REQUIRED_TABLES else "可选",
                "可用的文件名": "、".join(f"{stem}.csv" for stem in table.file_stems)
                + "（或同名的 .xlsx、.parquet 文件）",
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "数据表": pl.String,
            "英文名": pl.String,
            "是否必需": pl.String,
            "可用的文件名": pl.String,
        },
    )


def rejects_for_display(rejects: pl.DataFrame) -> pl.DataFrame:
    """Rejects with ID numbers, accounts and phones masked and Chinese headers."""
    masked = mask_rejects(rejects.select(schema.REJECTS_COLUMNS))
    return masked.sort("file", "row", "column", maintain_order=True).rename(REJECT_HEADERS)


def excel_bytes(frames: dict[str, pl.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame, neutralised (analytics.export)."""
    return export.excel_bytes(frames)


# --- Streamlit ---------------------------------------------------------------------------------


def has_job() -> bool:
    return bool(st.session_state.get(JOB_KEY))


@st.fragment(run_every=0.5)
def follow_job(where: str = "page") -> None:
    """The progress of the run this session started, redrawn every half second, on 数据导入
    (``where="page"``) or in the sidebar of any other page. When it is done, every page is
    switched to its results; an error is kept for 数据导入 to show."""
    from analytics import runs

    job = runs.job(st.session_state.get(JOB_KEY))
    if job is None:
        st.session_state.pop(JOB_KEY, None)
        return
    if not job.done.is_set():
        st.progress(job.fraction, text=f"{md(job.message)}（{job.fraction:.0%}）")
        st.caption(
            "检查在后台进行，可以先浏览其他页面，回到本页即可看到进度。"
            if where == "page"
            else "检查在后台进行，完成后各页面自动切换到本次结果。"
        )
        return
    del st.session_state[JOB_KEY]
    if job.error:
        st.session_state[JOB_ERROR_KEY] = job.error
        if where == "sidebar":
            st.session_state[NOTICE_KEY] = "检查未能完成，原因见「数据导入」页。"
        st.rerun()
    # A run that ended without an error wrote its results: the job holds their folder.
    assert job.out is not None
    st.session_state[LAST_RUN_KEY] = {"source": str(job.source), "out": str(job.out)}
    if where == "sidebar":
        st.session_state[NOTICE_KEY] = "检查完成，各页面已切换到本次结果。"
    use_folders(job.source, job.out)


def pick_finding(
    findings: pl.DataFrame,
    drawn: list[str],
    event,
    key: str,
    label: str,
    *,
    everything: pl.DataFrame | None = None,
) -> str:
    """The finding to open below a findings grid: the one a link names (``?finding=F...``, even
    beyond the rows drawn) when the link is new, else a row ticked in the grid when that is new,
    else the box's own choice, else the first row. ``findings``: every filtered finding
    (finding_id, title, summary); ``drawn``: the ids of the grid's rows in order; ``event``: the
    grid's selection; ``everything``: the findings the viewer may see whatever the filters (a
    link to one the filters hide still opens it), default ``findings``.

    The box is always given the finding returned, so the label it shows is the finding whose
    detail the page shows, also after a filter change. Its choice is kept when the user leaves
    the page and comes back (as :func:`keep` does), and a link is followed again on coming
    back through it."""
    pool = findings if everything is None else everything
    ids = list(drawn)
    wanted = st.query_params.get("finding")
    if wanted and wanted not in ids and pool.filter(pl.col("finding_id") == wanted).height:
        ids = [wanted, *ids]
    rows = (
        pool.filter(pl.col("finding_id").is_in(ids))
        .unique("finding_id", keep="first", maintain_order=True)
        .select("finding_id", "title", "summary")
        .rows()
    )
    texts = {fid: f"{title} · {summary}" for fid, title, summary in rows}
    seen: dict[str, int] = {}
    for text in texts.values():
        seen[text] = seen.get(text, 0) + 1
    # Two findings with one title and summary are told apart by their numbers: the box knows
    # its choice by the label it shows.
    labels = {fid: text if seen[text] == 1 else f"{text} · {fid}" for fid, text in texts.items()}

    shadow = KEEP_PREFIX + key
    arrived = key not in st.session_state  # the page's first run, or back from another page
    current = st.session_state.get(shadow) if arrived else st.session_state.get(key)
    if wanted in ids and (arrived or st.session_state.get(f"{key}_wanted") != wanted):
        current = wanted
    st.session_state[f"{key}_wanted"] = wanted
    picked = list(event.selection.rows) if event else []
    ticked = drawn[picked[0]] if picked and picked[0] < len(drawn) else None
    if ticked is not None and ticked != st.session_state.get(f"{key}_ticked"):
        current = ticked
    st.session_state[f"{key}_ticked"] = ticked
    if current not in ids:
        current = ids[0] if ids else None
    # Set on every run: the browser then draws this label, never one kept from other options.
    st.session_state[key] = current
    choice = st.selectbox(label, ids, format_func=lambda fid: labels.get(fid, fid), key=key)
    st.session_state[shadow] = choice
    return choice


def register_pages(pages: dict) -> None:
    """The app's pages by file name (``funds`` for screens/funds.py), for links between pages;
    set by the entrypoint on every run."""
    st.session_state[PAGES_KEY] = pages


def page_links(links: list[tuple]) -> None:
    """A row of links to other pages, (file name, label) or (file name, label, query
    parameters) each; none when a page runs on its own."""
    pages = st.session_state.get(PAGES_KEY) or {}
    present = [
        (pages[link[0]], link[1], link[2] if len(link) > 2 else None)
        for link in links
        if link[0] in pages
    ]
    if not present:
        return
    for col, (page, label, params) in zip(st.columns(len(present)), present, strict=True):
        col.page_link(page, label=label, icon=":material/arrow_forward:", query_params=params)


def show_table(frame, **kwargs):
    """The one way a page draws a data grid: ``frame`` (Polars, or a pandas Styler of one)
    neutralised first, since the grid's own download is a CSV file people open in a spreadsheet.
    Returns what st.dataframe returns (the selection, with ``on_select``)."""
    if isinstance(frame, pl.DataFrame):
        frame = export.neutralise(frame)
        # One format per kind of figure (analytics.formats), read from the header's unit.
        config = {
            name: st.column_config.NumberColumn(format=fmt)
            for name, fmt in formats.grid_formats(frame).items()
        }
        config.update(kwargs.pop("column_config", None) or {})
        if config:
            kwargs["column_config"] = config
    kwargs.setdefault("placeholder", formats.DASH)  # an empty cell is "—", never "None"
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    return st.dataframe(frame, **kwargs)


def download_excel(label: str, frames: dict[str, pl.DataFrame], file_name: str, key: str) -> None:
    # Built only when clicked: a large rejects table need not be rendered to Excel on each rerun.
    # No rerun on the click: a rerun could retire the deferred file before the browser asks.
    download_button(
        st,
        label,
        data=lambda: excel_bytes(frames),
        file_name=file_name,
        mime=XLSX_MIME,
        key=key,
        icon=":material/download:",
        on_click="ignore",
    )


def download_button(where, label: str, data, *, file_name: str, key: str, **kwargs):
    """The one way a page offers a file: ``where`` (st or a column) draws the button, and the
    file, built when the browser asks for it, is logged in the audit log as an export by the
    viewer (who, which file, from which page key), never with its content."""
    from dashboard import auth
    from dashboard import data as page_data

    who = auth.viewer()
    build = data if callable(data) else (lambda: data)

    def logged():
        content = build()
        try:
            from analytics.store import audit

            audit.record(
                page_data.workspace().store,
                actor=who.name if who else "（未登录）",
                role=who.role if who else None,
                action="export",
                target=file_name,
                detail={"key": key, "bytes": len(content)},
            )
        except Exception as exc:  # noqa: BLE001 - the log's trouble must not lose the file
            log.error("export not logged: %s", type(exc).__name__)
        return content

    return where.download_button(label, data=logged, file_name=file_name, key=key, **kwargs)


def indicators_or_stop(out_dir: Path) -> pl.DataFrame:
    """The run's indicators, or a message saying how to make them and the page stops."""
    from dashboard import data

    indicators = data.indicators(out_dir)
    if indicators.height == 0:
        st.info(f"检查结果文件夹中还没有绩效指标{at_folder(out_dir)}。{how_to_run(out_dir)}")
        st.stop()
    return indicators


FUNNEL_UNAVAILABLE = (
    "无法读取工作区的处置记录（数据库无法连接或读取），处置漏斗暂不显示；"
    "请联系管理员检查工作区设置。"
)
FUNNEL_EMPTY = (
    "工作区中还没有线索处置记录：在「数据导入」页运行检查后，线索的核实、整改和追回在"
    "「线索清单」登记，这里按期间汇总。"
)


def funnel_section(
    funnel: pl.DataFrame | None,
    label: str,
    key: str,
    *,
    unavailable: bool = False,
    where: str | None = None,
) -> None:
    """The funnel of a period (leads → verified → rectified → recovered) as a chart and a table,
    or why there is none: the database cannot be read, or nothing was recorded yet."""
    from analytics.charts import overview as charts
    from analytics.views import overview as periods

    if unavailable:
        st.warning(FUNNEL_UNAVAILABLE)
        return
    if funnel is None:
        st.info(FUNNEL_EMPTY)
        return
    chart_col, table_col = st.columns([3, 2])
    chart_col.plotly_chart(charts.funnel_chart(funnel, f"{label}线索处置漏斗"), key=key)
    with table_col:
        show_table(periods.funnel_table(funnel))
        st.caption(f"{md(where) + ' · ' if where else ''}{label}。{periods.FUNNEL_NOTE}")


def acting_person(help_text: str, placeholder: str = "") -> str:
    """The name every move, answer and record is written under: the logged-in user's (see
    dashboard.auth); empty when nobody is logged in, and the page then refuses to act."""
    from dashboard import auth

    who = auth.viewer()
    return who.name if who is not None else ""


def move_choice(label: str, names: list[str], key: str, format_func) -> str:
    """A row of the moves open now; a choice kept from before that is no longer open (the
    record moved on, another was opened) is dropped rather than failing the widget."""
    if st.session_state.get(key) not in names:
        st.session_state.pop(key, None)
    return st.radio(label, names, format_func=format_func, horizontal=True, key=key)


KEEP_PREFIX = "_kept_"


def keep(*keys: str) -> None:
    """Keep the values of the widgets ``keys`` when the user leaves the page and comes back.

    Streamlit forgets a widget's value once a run does not draw it (another page ran). Call this
    at the top of a page, before drawing the widgets: a widget value not in the session state is
    put back from its copy, and each run copies the current value. A value that is no longer an
    option is for the widget to refuse (pass ``options`` that still hold it, or check it)."""
    for key in keys:
        shadow = KEEP_PREFIX + key
        if key not in st.session_state and shadow in st.session_state:
            st.session_state[key] = st.session_state[shadow]
        if key in st.session_state:
            st.session_state[shadow] = st.session_state[key]


def kept(key: str, default=None):
    """The last value the widget ``key`` had on any page (its kept copy), or ``default``: how a
    page reads a choice made on another page (the period chosen on 总览, on 街镇)."""
    if key in st.session_state:
        return st.session_state[key]
    return st.session_state.get(KEEP_PREFIX + key, default)


EVIDENCE_RAW = "原始证据（JSON）"


def show_evidence(evidence: str | None, finding_id: str, key: str) -> None:
    """A finding's evidence as the rows and values a person checks (analytics.evidence): each
    section a grid under its Chinese title, then the evidence as JSON, masked like the grids,
    to read in an expander and to download (``evidence-<finding id>.json``)."""
    from analytics import evidence as ev

    parts = ev.sections(evidence)
    if not parts:
        st.caption("这条线索没有附带证据明细。")
    for n, (title, table) in enumerate(parts):
        st.markdown(f"**{md(title)}**")
        show_table(table, key=f"{key}_{n}", placeholder=formats.DASH)
    download_button(
        st,
        "下载原始证据（JSON）",
        data=lambda: ev.masked_json(evidence),
        file_name=ev.file_name(finding_id),
        key=f"{key}_download",
        mime="application/json",
        icon=":material/download:",
        on_click="ignore",
        help="证据的原始结构（身份证号、银行账号已脱敏），供存档或交其他系统核对。",
    )
    with st.expander(EVIDENCE_RAW):
        st.json(ev.masked(evidence), expanded=2)
