"""analytics.export: spreadsheets hold no live formula, Markdown and Plotly show data as typed."""

from __future__ import annotations

import io
import re
import string
import zipfile
from datetime import date
from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analytics import export

HOSTILE = [
    '=HYPERLINK("http://evil.example","点我")',
    "=cmd|' /C calc'!A0",
    "+1+1",
    "@SUM(1)",
    "-2+3",
    "\t=1+1",
    "\r=1+1",
    "-",
    "=",
    "+",
    "-1e5",
    "-12.50 元",
]
PLAIN_NUMBERS = ["-12.50", "+3", "-1,550.00", "-0", "+.5", "-7.", "1550"]
HARMLESS = ["低保金", "http://example.org", "'=already", " =1+1", "a=1", "", "T0001"]


# --- neutralise -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_a_formula_like_text_gets_a_leading_apostrophe(text):
    frame = pl.DataFrame({"item": [text]})
    assert export.neutralise(frame)["item"].to_list() == ["'" + text]
    assert export.neutral_text(text) == "'" + text


@pytest.mark.parametrize("text", PLAIN_NUMBERS + HARMLESS)
def test_plain_numbers_and_ordinary_text_are_left_alone(text):
    frame = pl.DataFrame({"item": [text]})
    assert export.neutralise(frame)["item"].to_list() == [text]
    assert export.neutral_text(text) == text


def test_numbers_dates_and_nulls_are_never_touched():
    frame = pl.DataFrame(
        {
            "count": [-1, 2, None],
            "rate": [-0.5, None, 1.25],
            "yuan": pl.Series([Decimal("-12.50"), Decimal("3.00"), None], dtype=pl.Decimal(38, 2)),
            "day": [date(2026, 3, 1), None, date(2026, 3, 2)],
            "flag": [True, None, False],
            "text": [None, "=1+1", "-3"],
        }
    )
    out = export.neutralise(frame)
    assert out.schema == frame.schema
    assert out.drop("text").equals(frame.drop("text"))
    assert out["text"].to_list() == [None, "'=1+1", "-3"]


def test_categorical_text_and_header_names_are_neutralised_too():
    frame = pl.DataFrame({"=cmd": ["@x", "ok"]}).with_columns(
        pl.col("=cmd").cast(pl.Categorical).alias("kind")
    )
    out = export.neutralise(frame)
    assert out.columns == ["'=cmd", "kind"]
    assert out.rows() == [("'@x", "'@x"), ("ok", "ok")]


@given(
    st.lists(st.one_of(st.none(), st.text(), st.sampled_from(HOSTILE + PLAIN_NUMBERS)), max_size=20)
)
def test_the_polars_rule_is_the_python_rule_and_idempotent(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    once = export.neutralise(frame)
    assert once["v"].to_list() == [export.neutral_text(v) for v in values]
    assert export.neutralise(once).equals(once)
    for before, after in zip(values, once["v"].to_list(), strict=True):
        assert after in (before, None if before is None else "'" + before)
        assert (
            after is None
            or not re.match(r"[=+\-@\t\r]", after)
            or re.fullmatch(export.PLAIN_NUMBER, after)
        )


# --- the files ------------------------------------------------------------------------------------


def sheet_cells(content: bytes) -> tuple[list[str], list[str]]:
    """(every text cell, every numeric cell) of every sheet, read from the workbook's XML; fails
    on a formula or a hyperlink."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = archive.namelist()
        shared = (
            archive.read("xl/sharedStrings.xml").decode()
            if ("xl/sharedStrings.xml" in names)
            else ""
        )
        strings = [_unxml(m) for m in re.findall(r"<si>(.*?)</si>", shared, re.S)]
        texts, numbers = [], []
        for name in names:
            if not re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name):
                continue
            xml = archive.read(name).decode()
            assert "<f>" not in xml and "<f " not in xml, name
            assert "<hyperlink" not in xml, name
            for attrs, body in re.findall(r"<c ([^>]*?)(?:/>|>(.*?)</c>)", xml, re.S):
                value = re.search(r"<v>(.*?)</v>", body or "")
                if 't="s"' in attrs:
                    texts.append(strings[int(value.group(1))])
                elif 't="inlineStr"' in attrs:
                    texts.append(_unxml(body))
                elif value:
                    numbers.append(value.group(1))
        assert not any(
            "hyperlink" in archive.read(n).decode().lower() for n in names if n.endswith(".rels")
        ), "a hyperlink relationship"
    return texts, numbers


def _unxml(fragment: str) -> str:
    import html

    text = html.unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", fragment, re.S)))
    # OOXML writes control characters as _xHHHH_.
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def test_excel_holds_text_as_neutralised_text_and_numbers_as_numbers():
    frame = pl.DataFrame(
        {
            "项目": HOSTILE + PLAIN_NUMBERS,
            "金额": [float(-i) for i in range(len(HOSTILE + PLAIN_NUMBERS))],
        }
    )
    content = export.excel_bytes({"表": frame, "空": frame.head(0)}, float_precision=2)

    texts, numbers = sheet_cells(content)
    assert texts == ["项目", "金额", *("'" + t for t in HOSTILE), *PLAIN_NUMBERS, "项目", "金额"]
    assert [float(n) for n in numbers] == frame["金额"].to_list()
    back = pl.read_excel(io.BytesIO(content), sheet_name="表", infer_schema_length=0)
    assert back["项目"].to_list() == [export.neutral_text(t) for t in frame["项目"]]


def test_an_unprotected_workbook_would_hold_formulas():
    """The check above can fail: xlsxwriter's defaults make these strings live."""
    import xlsxwriter

    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, {"in_memory": True}) as workbook:
        pl.DataFrame({"项目": HOSTILE}).write_excel(workbook, worksheet="表")
    with pytest.raises(AssertionError):
        sheet_cells(buffer.getvalue())


def test_write_csv_neutralises_and_keeps_numbers(tmp_path):
    frame = pl.DataFrame({"item": ["=1+1", "-12.50", None, "低保金"], "amount": [-1.5, 2, 3, 4]})
    path = tmp_path / "findings.csv"
    export.write_csv(frame, path)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "item,amount",
        "'=1+1,-1.5",
        "-12.50,2.0",
        ",3.0",
        "低保金,4.0",
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["findings.csv"]


def test_a_failed_csv_write_leaves_the_previous_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "findings.csv"
    path.write_text("before\n", encoding="utf-8")

    def broken(self, file, **kwargs):
        with open(file, "w", encoding="utf-8") as fh:
            fh.write("half")
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, "write_csv", broken)
    with pytest.raises(OSError):
        export.write_csv(pl.DataFrame({"a": ["x"]}), path)
    assert path.read_text(encoding="utf-8") == "before\n"
    assert [p.name for p in tmp_path.iterdir()] == ["findings.csv"]


# --- Markdown -------------------------------------------------------------------------------------


def rendered(markdown: str) -> tuple[str, list[int]]:
    """The text CommonMark makes of ``markdown`` when it holds only backslash escapes, numeric
    character references and plain characters; and the positions of ASCII punctuation that
    stands unescaped (would be syntax), other than the references themselves."""
    out, raw, i = [], [], 0
    while i < len(markdown):
        ch = markdown[i]
        ref = re.match(r"&#(\d+);", markdown[i:])
        if ch == "\\" and i + 1 < len(markdown) and markdown[i + 1] in string.punctuation:
            out.append(markdown[i + 1])
            i += 2
        elif ref:
            out.append(chr(int(ref.group(1))))
            i += len(ref.group(0))
        else:
            if ch in string.punctuation:
                raw.append(i)
            out.append(ch)
            i += 1
    return "".join(out), raw


LINE_BREAKS = r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]"
JS_BLANK = r"[\s\ufeff]"
MARKDOWN_TEXT = st.one_of(
    st.text(
        alphabet=st.one_of(
            st.sampled_from(
                list(string.punctuation + " \t\n\r\u3000") + ["低", "保", "a", "1", "："]
            ),
            st.characters(),
        )
    ),
    st.lists(
        st.sampled_from(
            [
                "http://",
                "HTTPS://",
                "www.",
                "a@b.cn",
                ":smile:",
                " -> ",
                "<b>",
                "](",
                "$x$",
                "低保",
                " ",
                "\n",
            ]
        )
    ).map("".join),
)


@given(MARKDOWN_TEXT)
def test_md_escape_renders_back_to_the_same_characters(text):
    shown, unescaped = rendered(export.md_escape(text))
    assert unescaped == []
    assert shown.replace(export.WORD_JOINER, "") == re.sub(LINE_BREAKS, " ", text).replace(
        export.WORD_JOINER, ""
    )


@given(MARKDOWN_TEXT)
def test_md_escape_leaves_nothing_streamlit_rewrites_after_parsing(text):
    markdown = export.md_escape(text)
    shown, _ = rendered(markdown)
    assert not re.search(LINE_BREAKS, markdown)
    assert not re.match(r"[ \t]", markdown)  # no indented code block
    assert ":material/" not in markdown
    # Bare links, e-mail addresses, shortcodes and arrows (the patterns Streamlit looks for in
    # parsed text) never form.
    assert not re.search(r"https?://|www\.", shown, re.I)
    assert not re.search(r"[-.\w+]+@[-\w]+(\.[-\w]+)+", shown)
    assert not re.search(r":[\w+-][\w+-]*:", shown, re.A)
    assert not re.search(rf"(^|{JS_BLANK})(<->|->|<-|--|>=|<=|~=)({JS_BLANK}|$)", shown)


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "[点此核实](http://evil.example)",
            "\\[点此核实\\]\\(http\\:\u2060\\/\\/evil\\.example\\)",
        ),
        ("![t](p.png)", r"\!\[t\]\(p\.png\)"),
        ("www.evil.example a@b.cn", "www\u2060\\.evil\\.example a\\@\u2060b\\.cn"),
        ("<img src=x onerror=alert(1)>", r"\<img src\=x onerror\=alert\(1\)\>"),
        (":red[x] $x$", r"\:red\[x\] \$x\$"),
        ("310105**9392） 310105**0376", r"310105\*\*9392） 310105\*\*0376"),
        (":streamlit: 10:30", "\\:\u2060streamlit\\: 10\\:30"),
        ("a -> b", "a \u2060\\-\\> b"),
        ("    缩进", "&#32;&#32;&#32;&#32;缩进"),
        ("两行\n# 标题", r"两行 \# 标题"),
        (None, ""),
    ],
)
def test_md_escape_examples(text, expected):
    assert export.md_escape(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("aidwatch check x --out /tmp/out", "`aidwatch check x --out /tmp/out`"),
        ("a`b", "``a`b``"),
        ("`x", "`` `x ``"),
        (" x ", "`  x  `"),
        ("", ""),
    ],
)
def test_md_code_fences_any_backticks(text, expected):
    assert export.md_code(text) == expected


def test_plot_text_escapes_what_plotly_would_draw_as_tags():
    assert export.plot_text('<a href="http://evil.example">x</a> & <b>') == (
        '&lt;a href="http://evil.example"&gt;x&lt;/a&gt; &amp; &lt;b&gt;'
    )
    assert export.plot_text(None) == ""


def test_findings_read_back_get_their_values_without_the_added_apostrophe(tmp_path):
    from analytics import export
    from analytics.results import load_findings
    from analytics.schema import FINDINGS_COLUMNS

    row = {c: None for c in FINDINGS_COLUMNS}
    row.update(
        check_id="duplicate_payment",
        severity="高",
        txn_id="@LS(1)",
        case_id="-2+3",
        item="-12.50",
        amount="12.50",
        summary="=1+1",
        evidence='{"finding_id":"F1"}',
    )
    frame = pl.DataFrame([row], schema={c: pl.String for c in FINDINGS_COLUMNS})
    export.write_csv(frame, tmp_path / "findings.csv")
    assert "'@LS(1)" in (tmp_path / "findings.csv").read_text(encoding="utf-8")
    back = load_findings(tmp_path).row(0, named=True)
    assert (back["txn_id"], back["case_id"], back["summary"]) == ("@LS(1)", "-2+3", "=1+1")
    assert back["item"] == "-12.50"  # a plain number was never prefixed, and stays
