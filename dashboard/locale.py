"""The interface in Chinese where Streamlit itself writes English, and key figures that fit.

:func:`apply` runs once per script run, before any page draws (dashboard/app.py calls it right
after ``st.set_page_config``, so the login page has it too). What Streamlit's options can set is
set in .streamlit/config.toml (``client.toolbarMode = "viewer"`` hides the developer controls
and the Deploy button, ``client.showErrorLinks = false`` the "Ask Google" links). The rest is
Streamlit's own frontend text, which it offers no option for:

- a style sheet (:data:`CSS`): the ⋮ menu hidden (Print, Settings and About, in English; the
  browser prints a page as well), the Deploy button should a configuration show it, and the
  labels of ``st.metric`` wrapping and its values shrinking to their column instead of being
  cut with "…";
- a small script (:data:`SCRIPT`, no network, no data) that puts :data:`WORDS` and
  :data:`PATTERNS` in place of Streamlit's English wherever its frontend writes them (text,
  placeholders, tooltips), now and whenever it draws again, and writes :data:`EMPTY_GRID` where
  an empty data grid would say "empty" on its canvas.

Each entry names where it applies (a CSS selector of Streamlit 1.67's own ``data-testid``
markers and attributes), and only the whole text is replaced, so that what a page writes (a
value from a data drop, a label, an option) is never rewritten.
"""

from __future__ import annotations

import json
from functools import cache

import streamlit as st

# Where Streamlit writes its words (its own data-testid markers and attributes). Each entry
# names one: what a page writes there (a label, an option, a cell) is never rewritten, except
# a text that is exactly Streamlit's own word in Streamlit's own place.
COMBOBOX = 'input[role="combobox"]'  # a selectbox's or multiselect's box
SELECT_ALL = '[data-key="__select_all__"]'  # the multiselect list's bulk choice
SELECT_MATCHES = '[data-key="__select_matches__"]'
NO_CHOICE = '[role="option"]:not([data-key])'  # a list's "nothing found" line
ANNOUNCED = '[role="log"]'  # what a screen reader is told
UPLOAD_BUTTON = '[data-testid="stFileUploader"] button'
UPLOADER = '[data-testid="stFileUploader"]'
UPLOAD_LIMIT = '[data-testid="stFileUploaderDropzoneInstructions"]'
INSTRUCTIONS = '[data-testid="InputInstructions"]'  # under a text box being typed in
DATE_FIELD = '[data-testid="stDateInputField"] [role="spinbutton"]'
STATUS = '[data-testid="stStatusWidget"]'
TOOLTIP = '[data-testid="stTooltipContent"]'
DIALOG = '[role="dialog"]'
TOOLBAR = '[data-testid="stElementToolbar"], [data-testid="stTooltipContent"], .modebar'
GRID_SEARCH = '[data-testid="stDataFrame"] label'
GRID_MENU = ", ".join(
    f'[data-testid="stDataFrame{menu}Menu"]'
    for menu in ("Column", "ColumnFormatting", "ColumnVisibility", "Statistics")
)
MODEBAR = ".modebar"  # a plotly chart's own toolbar
SKIP_LINK = '[data-testid="stSkipToContent"]'
NAVIGATION = '[data-testid="stSidebarNav"]'

# (Streamlit's English, the Chinese shown instead, where: a CSS selector the text's element
# must be in). The English is the whole text of a node or of an attribute (placeholder, title,
# aria-label, data-title).
WORDS: tuple[tuple[str, str, str], ...] = (
    # placeholders of a selectbox or multiselect a page left without one
    ("Choose an option", "请选择", COMBOBOX),
    ("Choose options", "请选择", COMBOBOX),
    ("Choose or add an option", "请选择或输入", COMBOBOX),
    ("Choose or add options", "请选择或输入", COMBOBOX),
    ("Add an option", "请输入", COMBOBOX),
    ("Add options", "请输入", COMBOBOX),
    ("No options to select", "没有可选项", COMBOBOX),
    ("No results", "没有匹配项", NO_CHOICE),
    ("Select all", "全选", SELECT_ALL),
    # st.file_uploader
    ("Upload", "上传文件", UPLOAD_BUTTON),
    ("Upload directories", "上传文件夹", UPLOAD_BUTTON),
    ("Add files", "添加文件", UPLOAD_BUTTON),
    ("Drag and drop a file here", "将文件拖放到此处", UPLOADER),
    ("Drag and drop files here", "将文件拖放到此处", UPLOADER),
    ("Drag and drop directories here", "将文件夹拖放到此处", UPLOADER),
    ("Error uploading file", "文件上传失败", UPLOADER),
    ("Error deleting file", "文件删除失败", UPLOADER),
    # what a text box says under it while being typed in
    ("Press Enter to apply", "按回车键确认", INSTRUCTIONS),
    ("Press Enter to submit form", "按回车键提交", INSTRUCTIONS),
    ("Press Ctrl+Enter to apply", "按 Ctrl+回车键确认", INSTRUCTIONS),
    ("Press Ctrl+Enter to submit form", "按 Ctrl+回车键提交", INSTRUCTIONS),
    ("Press ⌘+Enter to apply", "按 ⌘+回车键确认", INSTRUCTIONS),
    ("Press ⌘+Enter to submit form", "按 ⌘+回车键提交", INSTRUCTIONS),
    # an empty st.date_input
    ("yyyy", "年", DATE_FIELD),
    ("mm", "月", DATE_FIELD),
    ("dd", "日", DATE_FIELD),
    # the status in the top right corner while a page runs, and the connection's
    ("Running...", "正在运行…", STATUS),
    ("Stop", "停止", STATUS),
    ("Stopping...", "正在停止…", STATUS),
    ("Rerun", "重新运行", STATUS),
    ("Always rerun", "总是重新运行", STATUS),
    ("File change.", "程序文件已更改。", STATUS),
    ("Connecting", "正在连接", STATUS),
    ("Error", "连接中断", STATUS),
    ("Connecting to Streamlit server", "正在连接服务器", TOOLTIP),
    ("Unable to connect to Streamlit server", "无法连接服务器", TOOLTIP),
    # dialogs of the frontend
    ("Connection error", "连接中断", DIALOG),
    (
        "Is Streamlit still running? If you accidentally stopped Streamlit, just restart it in "
        "your terminal:",
        "无法连接服务器。请稍后刷新页面；如果一直无法连接，请联系系统管理员。",
        DIALOG,
    ),
    (
        "Streamlit server is not responding. Are you connected to the internet?",
        "服务器没有响应。请检查网络连接，稍后刷新页面。",
        DIALOG,
    ),
    ("Page not found", "页面不存在", DIALOG),
    ("Close", "关闭", DIALOG),
    # the toolbar of a data grid or chart, and a grid's search and column menu
    ("Download as CSV", "下载为 CSV", TOOLBAR),
    ("Search", "搜索", TOOLBAR),
    ("Show/hide columns", "显示/隐藏列", TOOLBAR),
    ("Clear selection", "清除选择", TOOLBAR),
    ("Fullscreen", "全屏", TOOLBAR),
    ("Close fullscreen", "退出全屏", TOOLBAR),
    ("Exit fullscreen", "退出全屏", TOOLBAR),
    ("Type to search", "输入以搜索", GRID_SEARCH),
    ("Sort ascending", "升序排列", GRID_MENU),
    ("Sort descending", "降序排列", GRID_MENU),
    ("Format", "数字格式", GRID_MENU),
    ("Autosize", "自动列宽", GRID_MENU),
    ("Pin column", "固定列", GRID_MENU),
    ("Unpin column", "取消固定列", GRID_MENU),
    ("Hide column", "隐藏列", GRID_MENU),
    ("Copy column name", "复制列名", GRID_MENU),
    ("Statistics", "统计", GRID_MENU),
    # a plotly chart's own toolbar (its tooltips)
    ("Download plot as a PNG", "下载为 PNG 图片", MODEBAR),
    ("Download plot", "下载图片", MODEBAR),
    ("Zoom", "框选放大", MODEBAR),
    ("Pan", "平移", MODEBAR),
    ("Box Select", "框选", MODEBAR),
    ("Lasso Select", "套索选择", MODEBAR),
    ("Zoom in", "放大", MODEBAR),
    ("Zoom out", "缩小", MODEBAR),
    ("Autoscale", "自动缩放", MODEBAR),
    ("Reset axes", "还原坐标轴", MODEBAR),
    ("Reset view", "还原视图", MODEBAR),
    ("Reset views", "还原视图", MODEBAR),
    ("Toggle Spike Lines", "显示或隐藏参考线", MODEBAR),
    ("Show closest data on hover", "悬停时显示最近的数据", MODEBAR),
    ("Compare data on hover", "悬停时比较数据", MODEBAR),
    ("Toggle show closest data on hover", "悬停时显示或隐藏最近的数据", MODEBAR),
    # the page itself
    ("Skip to main content", "跳到主要内容", SKIP_LINK),
    ("View less", "收起", NAVIGATION),
)

# (JavaScript regular expression over a whole text, its replacement, where) for English with a
# number or a name in it.
PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"^(\d+(?:\.\d+)?) ?([KMGT]?B) per file$", "单个文件不超过 $1 $2", UPLOAD_LIMIT),
    (r"^(.+) files are not allowed\.$", "不接受 $1 类型的文件。", UPLOADER),
    (r"^Select (\d+) matches$", "选择全部 $1 个匹配项", SELECT_MATCHES),
    (r"^(\d+) options? available\.$", "共 $1 个选项。", ANNOUNCED),
    (r"^View (\d+) more$", "再显示 $1 个", NAVIGATION),
    (
        r"^(You have requested page .*|The page that you have requested does not seem to exist)"
        r"\. Running the app's main page\.$",
        "所请求的页面不存在，已打开首页。",
        DIALOG,
    ),
)

# What an empty data grid says in its only row (Streamlit draws "empty" on the grid's canvas).
EMPTY_GRID = "（无记录）"

CSS = """
/* The ⋮ menu (Print, Settings, About: Streamlit's English), and the Deploy button should a
   configuration ever show it (config.toml hides it). */
[data-testid="stMainMenu"], [data-testid="stAppDeployButton"] { display: none !important; }
/* The element that carries the script below takes no room on the page. */
[data-testid="stElementContainer"]:has(.aidwatch-locale) { display: none !important; }

/* Key figures (st.metric): a label wraps onto more lines instead of ending in "…", and a value
   is whole: its size follows the width of a column of its row (cqi: a hundredth of the row's
   width; the row's number of columns below), the same for every figure of the row, up to
   Streamlit's own size. 1,006,540.00 fits a seventh of the page at 1280 px. */
[data-testid="stHorizontalBlock"] { --aidwatch-columns: 1; }
[data-testid="stHorizontalBlock"]:has([data-testid="stMetric"]) { container-type: inline-size; }
[data-testid="stMetricLabel"] { height: auto; }
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"],
[data-testid="stMetricLabel"] [data-testid="stMarkdownContainer"] p {
    white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere;
    max-width: 100%; width: auto; min-width: 0;
}
[data-testid="stHorizontalBlock"] [data-testid="stMetricValue"] {
    font-size: clamp(1rem, calc(14cqi / var(--aidwatch-columns)), 2.25rem);
}
[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"],
[data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p {
    font-size: inherit; overflow: visible; text-overflow: clip;
}
""" + "".join(
    f'[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]:nth-child({n})) '
    f"{{ --aidwatch-columns: {n}; }}\n"
    for n in range(2, 13)
)

# Runs once per page load (a mark on window keeps a second copy from starting). Translates what
# is there, then every node and attribute Streamlit adds or changes (a MutationObserver); only
# whole texts found in WORDS/PATTERNS, at their place, are ever changed.
SCRIPT = r"""
(() => {
  if (window.__aidwatchLocale) return;
  window.__aidwatchLocale = true;
  const WORDS = new Map();
  for (const [en, zh, where] of __WORDS__) {
    if (!WORDS.has(en)) WORDS.set(en, []);
    WORDS.get(en).push([zh, where]);
  }
  const PATTERNS = __PATTERNS__.map(([re, zh, where]) => [new RegExp(re), zh, where]);
  const EMPTY_GRID = __EMPTY_GRID__;
  const ATTRS = ["placeholder", "title", "aria-label", "data-title"];

  const at = (el, where) => !!el && el.closest(where) !== null;
  function chinese(text, el) {
    const key = text.trim();
    if (!key || key.length > 200 || !/[A-Za-z]/.test(key)) return null;
    for (const [zh, where] of WORDS.get(key) || []) {
      if (at(el, where)) return text.replace(key, () => zh);
    }
    for (const [re, zh, where] of PATTERNS) {
      if (re.test(key) && at(el, where)) {
        const replaced = key.replace(re, zh);
        return text.replace(key, () => replaced);
      }
    }
    return null;
  }
  function fixText(node) {
    const parent = node.parentElement;
    if (!parent || parent.closest("script, style")) return;
    const zh = chinese(node.nodeValue, parent);
    if (zh !== null && zh !== node.nodeValue) node.nodeValue = zh;
  }
  function fixAttributes(el) {
    for (const name of ATTRS) {
      const value = el.getAttribute(name);
      if (!value) continue;
      const zh = chinese(value, el);
      if (zh !== null && zh !== value) el.setAttribute(name, zh);
    }
  }
  function fix(node) {
    if (node.nodeType === Node.TEXT_NODE) return fixText(node);
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    fixAttributes(node);
    node.querySelectorAll("[placeholder],[title],[aria-label],[data-title]")
        .forEach(fixAttributes);
    const walker = document.createTreeWalker(node, NodeFilter.SHOW_TEXT);
    for (let text = walker.nextNode(); text; text = walker.nextNode()) fixText(text);
  }
  new MutationObserver((changes) => {
    for (const change of changes) {
      if (change.type === "childList") change.addedNodes.forEach(fix);
      else if (change.type === "characterData") fixText(change.target);
      else if (change.type === "attributes") fixAttributes(change.target);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true, attributeFilter: ATTRS});
  fix(document.body);

  // An empty data grid: Streamlit writes "empty" into its one placeholder row, on the canvas.
  // Only there: the grid's accessible table has that one row and it is blank, so a cell whose
  // value is the word "empty" is drawn as it is.
  // The grid's first drawing comes before that table: then the placeholder is known by how it
  // is drawn (centred, in the faint text colour: a cell's value is drawn in the full one).
  const emptyGrid = (context) => {
    const canvas = context.canvas;
    const grid = canvas && canvas.closest && canvas.closest('[data-testid="stDataFrame"]');
    if (!grid) return false;
    const table = grid.querySelector('table[role="grid"]');
    if (!table) {
      return context.textAlign === "center"
        && /^rgba\(.*,\s*0?\.\d+\)$/.test(String(context.fillStyle));
    }
    if (table.getAttribute("aria-rowcount") !== "2") return false;
    return Array.from(table.querySelectorAll("td")).every((td) => td.textContent === "");
  };
  const fillText = CanvasRenderingContext2D.prototype.fillText;
  CanvasRenderingContext2D.prototype.fillText = function (text, ...rest) {
    if (text === "empty" && emptyGrid(this)) text = EMPTY_GRID;
    return fillText.call(this, text, ...rest);
  };
})();
"""


@cache
def script() -> str:
    """The script with its words in place (JSON: nothing in them can end the script early);
    built once per process, sent on every run."""

    def js(value) -> str:
        return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")

    return (
        SCRIPT.replace("__WORDS__", js(WORDS))
        .replace("__PATTERNS__", js(PATTERNS))
        .replace("__EMPTY_GRID__", js(EMPTY_GRID))
    )


def apply() -> None:
    """The style sheet (in Streamlit's event container: it takes no room) and the script."""
    st.html(f"<style>{CSS}</style>")
    st.html(
        f'<span class="aidwatch-locale"></span><script>{script()}</script>',
        unsafe_allow_javascript=True,
    )
