"""Streamlit's own words in Chinese (dashboard/locale.py) and the options that hide the rest
(.streamlit/config.toml), checked against the Streamlit frontend that is installed: an upgrade
that renames a marker or a word shows here, not in front of a user."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from dashboard import locale

ROOT = Path(__file__).resolve().parents[2]
FRONTEND = Path(streamlit.__file__).parent / "static" / "static" / "js"


@pytest.fixture(scope="module")
def frontend() -> str:
    """The installed Streamlit frontend's code, all of it."""
    return "\n".join(
        path.read_text(encoding="utf-8", errors="replace") for path in FRONTEND.glob("*.js")
    )


def as_python(pattern: str, replacement: str) -> tuple[re.Pattern, str]:
    """A PATTERNS entry as Python's re reads it ($1 -> \\1)."""
    return re.compile(pattern), re.sub(r"\$(\d)", r"\\\1", replacement)


def chinese(text: str, patterns=locale.PATTERNS) -> str | None:
    words = {english: zh for english, zh, _ in locale.WORDS}
    if text in words:
        return words[text]
    for pattern, replacement, _ in patterns:
        regex, repl = as_python(pattern, replacement)
        if regex.search(text):
            return regex.sub(repl, text)
    return None


@pytest.mark.parametrize(
    ("english", "expected"),
    [
        ("Choose an option", "请选择"),
        ("Choose options", "请选择"),
        ("Select all", "全选"),
        ("Upload", "上传文件"),
        ("200MB per file", "单个文件不超过 200 MB"),
        ("20MB per file", "单个文件不超过 20 MB"),
        ("1.5GB per file", "单个文件不超过 1.5 GB"),
        ("Select 12 matches", "选择全部 12 个匹配项"),
        ("3 options available.", "共 3 个选项。"),
        (".exe files are not allowed.", "不接受 .exe 类型的文件。"),
        ("Press Enter to apply", "按回车键确认"),
        ("Press Enter to submit form", "按回车键提交"),
        ("Stop", "停止"),
        ("Running...", "正在运行…"),
        ("yyyy", "年"),
        ("View 2 more", "再显示 2 个"),
        (
            "You have requested page /import_data, but no corresponding file was found in the "
            "app's pages/ directory. Running the app's main page.",
            "所请求的页面不存在，已打开首页。",
        ),
    ],
)
def test_streamlits_english_becomes_chinese(english, expected):
    assert chinese(english) == expected


def written(english: str, frontend: str) -> bool:
    """Whether the frontend writes ``english``: as it is, or (a text box's instructions) put
    together from `Press Enter to ${action}` or `Press ${key}+Enter to ${action}`."""
    if english in frontend:
        return True
    parts = re.fullmatch(r"Press (?:Enter|Ctrl\+Enter|⌘\+Enter) to (apply|submit form)", english)
    return bool(parts) and all(
        piece in frontend
        for piece in ("`Press Enter to ${", "+Enter to ${", f"`{parts[1]}`", "`Ctrl`", "`⌘`")
    )


def test_every_word_is_one_the_installed_streamlit_writes(frontend):
    for english, zh, _ in locale.WORDS:
        assert written(english, frontend), english
        assert re.search(r"[\u4e00-\u9fff]", zh), zh
    # a pattern's fixed parts, e.g. "per file" of `${size} per file`
    for pattern, replacement, _ in locale.PATTERNS:
        parts = [part.strip() for part in re.split(r"\(.*?\)|\\.|[\^$]|.\?", pattern)]
        assert [part for part in parts if len(part) >= 3], pattern
        for part in (part for part in parts if len(part) >= 3):
            assert part in frontend, (pattern, part)
        assert re.search(r"[\u4e00-\u9fff]", replacement), replacement


def test_every_place_named_is_a_marker_of_the_installed_streamlit(frontend):
    selectors = [where for *_, where in (*locale.WORDS, *locale.PATTERNS)]
    selectors += [locale.CSS, locale.SCRIPT]
    markers = set()
    for text in selectors:
        markers.update(re.findall(r'data-testid="([A-Za-z-]+)"', text))
    assert {
        "stFileUploader",
        "stFileUploaderDropzoneInstructions",
        "stStatusWidget",
        "InputInstructions",
        "stDateInputField",
        "stMetricValue",
        "stMetricLabel",
        "stHorizontalBlock",
        "stColumn",
        "stMainMenu",
        "stDataFrame",
        "stDataFrameColumnMenu",
        "stElementToolbar",
        "stTooltipContent",
    } <= markers
    for marker in markers:
        assert f"`{marker}`" in frontend or f'"{marker}"' in frontend, marker
    # the multiselect's bulk choices are told apart by their keys
    for key in ("__select_all__", "__select_matches__"):
        assert f"`{key}`" in frontend
        assert any(
            f'[data-key="{key}"]' == where for *_, where in (*locale.WORDS, *locale.PATTERNS)
        )


def test_every_word_has_its_place():
    # Streamlit's own place, never anywhere: a page's text (a label, an option, a cell, a value
    # from a data drop) is not rewritten even where it reads like Streamlit's English
    for english, _, where in (*locale.WORDS, *locale.PATTERNS):
        assert where and where.strip(), english
        # not Markdown as such, not a whole data grid (its accessible table holds the cells)
        assert "stMarkdownContainer" not in where, english
        assert not re.search(r'\[data-testid="stDataFrame"\]\s*(,|$)', where), english
    places = {english: where for english, _, where in locale.WORDS}
    assert places["Select all"] == '[data-key="__select_all__"]'
    assert places["No results"] == '[role="option"]:not([data-key])'
    assert places["Upload"] == '[data-testid="stFileUploader"] button'
    assert places["Stop"] == '[data-testid="stStatusWidget"]'
    assert places["Choose an option"] == 'input[role="combobox"]'
    # text from a data drop with no English of Streamlit's in it is left alone
    for text in ("empty", "Upload report", "per file", "Select all rows", "王芳"):
        assert chinese(text) is None, text


def test_the_script_carries_its_words_as_data():
    script = locale.script()
    words = json.loads(
        re.search(r"for \(const \[en, zh, where\] of (\[.*?\]\]?)\) \{", script).group(1)
    )
    assert [tuple(w) for w in words] == [tuple(w) for w in locale.WORDS]
    assert "__WORDS__" not in script and "__PATTERNS__" not in script
    assert json.dumps(locale.EMPTY_GRID, ensure_ascii=False) in script
    assert "fetch(" not in script and "XMLHttpRequest" not in script and "http" not in script


def test_a_word_cannot_end_the_script(monkeypatch, request):
    # the script is built once per process: built again here, and again after the test
    request.addfinalizer(locale.script.cache_clear)
    locale.script.cache_clear()
    monkeypatch.setattr(locale, "WORDS", (("</script><b>", "x", None),))
    script = locale.script()
    assert "</script>" not in script and "<\\/script><b>" in script


def test_apply_sends_the_style_sheet_and_the_script():
    at = AppTest.from_string("from dashboard import locale\nlocale.apply()\n").run()
    assert not at.exception
    style, code = sorted(at.get("html"), key=lambda e: e.proto.unsafe_allow_javascript)
    assert style.proto.body == f"<style>{locale.CSS}</style>"
    assert not style.proto.unsafe_allow_javascript  # style only: the event container
    assert code.proto.unsafe_allow_javascript
    assert code.proto.body == (
        f'<span class="aidwatch-locale"></span><script>{locale.script()}</script>'
    )
    # the element that holds the script is hidden by the style sheet
    assert ":has(.aidwatch-locale) { display: none !important; }" in locale.CSS


def test_key_figures_wrap_and_shrink():
    css = locale.CSS
    assert re.search(
        r'\[data-testid="stMetricLabel"\] \[data-testid="stMarkdownContainer"\] p'
        r" \{\s*white-space: normal; overflow: visible; text-overflow: clip;",
        css,
    )
    assert "font-size: clamp(1rem, calc(14cqi / var(--aidwatch-columns)), 2.25rem);" in css
    # a row of seven figures counts seven columns
    assert (
        '[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"]:nth-child(7)) '
        "{ --aidwatch-columns: 7; }"
    ) in css


def test_streamlit_options_hide_the_developer_menu_and_error_links():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    client = config["client"]
    assert client["toolbarMode"] == "viewer"  # no Deploy, no developer items; keeps 停止
    assert client["showErrorLinks"] is False
    assert (
        '[data-testid="stMainMenu"], [data-testid="stAppDeployButton"] { display: none'
        in locale.CSS
    )


def test_the_entrypoint_applies_it_before_the_login():
    app = (ROOT / "dashboard" / "app.py").read_text(encoding="utf-8")
    config, apply, login = (
        app.index("st.set_page_config("),
        app.index("locale.apply()"),
        app.index("auth.resolve("),
    )
    assert config < apply < login
