"""Text from the audited systems made safe where it leaves AidWatch.

Ledger items, purposes, names, addresses, file and header names come from other systems and may
hold anything: ``=HYPERLINK(...)``, a Markdown link, ``<img onerror=...>``. Three places would
run such text instead of showing it, and each has one helper here:

- spreadsheets (contract section 4): every Excel and CSV file a person opens goes through
  :func:`excel_bytes` or :func:`write_csv`, which write frames through :func:`neutralise`: a
  text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
  apostrophe, unless it is a plain number; numeric columns are never touched;
- Streamlit Markdown (``st.markdown``, ``st.info``, ``st.caption``, labels...): data goes in
  through :func:`md_escape` (or :func:`md_code` inside a code span), so it shows as typed;
- Plotly text and hover labels, which draw ``<a href>``, ``<b>``, ``<br>``: :func:`plot_text`.

Nothing here imports Streamlit, and nothing calls Python from Polars: the server runs this.
"""

from __future__ import annotations

import html
import io
import os
import re
import string
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import overload

import polars as pl
from polars._typing import ColumnFormatDict

# --- spreadsheets -------------------------------------------------------------------------------

# A text cell beginning with one of these is a formula to Excel, WPS or LibreOffice.
FORMULA_START = r"^[=+\-@\t\r]"
# ...unless it is a plain number (``-12.50``, ``+3``, ``-1,550.00``), which a spreadsheet reads as
# that number: no name, reference or operator after the sign, so nothing to run.
PLAIN_NUMBER = r"[+-]?(?:[0-9][0-9,]*(?:\.[0-9]*)?|\.[0-9]+)"
QUOTE = "'"
# Never turn a string into a formula, a link or a number, whatever it looks like.
WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    "in_memory": True,
}
TABLE_STYLE = "Table Style Light 9"

_FORMULA_START_RE = re.compile(FORMULA_START)
_PLAIN_NUMBER_RE = re.compile(PLAIN_NUMBER)


@overload
def neutral_text(text: str) -> str: ...
@overload
def neutral_text(text: None) -> None: ...
@overload
def neutral_text(text: str | None) -> str | None: ...
def neutral_text(text: str | None) -> str | None:
    """One text cell as a spreadsheet may hold it: ``=1+1`` -> ``'=1+1``; ``-12.50``, ``'=x`` and
    every other text unchanged. The same rule as :func:`neutralise_expr`, for single values."""
    if text is None or not _FORMULA_START_RE.match(text) or _PLAIN_NUMBER_RE.fullmatch(text):
        return text
    return QUOTE + text


def neutralise_expr(expr: pl.Expr) -> pl.Expr:
    """A String expression with every formula-like value prefixed with an apostrophe (nulls stay
    null). Name it with ``.alias``."""
    hostile = expr.str.contains(FORMULA_START) & ~expr.str.contains(f"^{PLAIN_NUMBER}$")
    return pl.when(hostile).then(pl.concat_str([pl.lit(QUOTE), expr])).otherwise(expr)


def restore_expr(expr: pl.Expr) -> pl.Expr:
    """The inverse of :func:`neutralise_expr`, for reading back a file AidWatch wrote: the
    apostrophe it added in front of a formula-like text is taken off again. (A text that itself
    began with an apostrophe and a formula character cannot be told from one and loses it: the
    price of writing neutralised cells idempotently.)"""
    rest = expr.str.slice(1)
    added = (
        expr.str.starts_with(QUOTE)
        & rest.str.contains(FORMULA_START)
        & ~rest.str.contains(f"^{PLAIN_NUMBER}$")
    )
    return pl.when(added).then(rest).otherwise(expr)


def neutralise(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` as a spreadsheet may hold it: every text column (categoricals as text) through
    :func:`neutralise_expr`, header names through :func:`neutral_text`; numbers, dates and
    booleans as they are. Idempotent."""
    columns = []
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            columns.append(neutralise_expr(pl.col(name)).alias(name))
        elif isinstance(dtype, (pl.Categorical, pl.Enum)):
            columns.append(neutralise_expr(pl.col(name).cast(pl.String)).alias(name))
    shown = frame.with_columns(columns) if columns else frame
    renamed = {c: neutral_text(c) for c in shown.columns if neutral_text(c) != c}
    return shown.rename(renamed) if renamed else shown


def excel_bytes(
    frames: Mapping[str, pl.DataFrame],
    *,
    float_precision: int | None = None,
    table_style: str | None = TABLE_STYLE,
) -> bytes:
    """An .xlsx workbook with one sheet per frame (sheet name -> frame), each neutralised and
    written as text where it is text: no cell of it is a formula, a link or a number that was a
    string."""
    import xlsxwriter

    from analytics import formats

    options: dict = {"autofit": True, "freeze_panes": (1, 0)}
    if float_precision is not None:
        options["float_precision"] = float_precision
    if table_style:
        options["table_style"] = table_style
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS) as workbook:
        for sheet, frame in frames.items():
            shown = neutralise(frame)
            # Money as #,##0.00, counts as #,##0, scores 0.0...: one format per kind of figure,
            # read from the header's unit (analytics.formats), never General or text.
            column_formats: ColumnFormatDict = {
                column: fmt for column, fmt in formats.excel_formats(shown).items()
            }
            shown.write_excel(
                workbook, worksheet=sheet, column_formats=column_formats or None, **options
            )
    return buffer.getvalue()


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """``frame`` neutralised, as UTF-8 CSV with a header, written whole or not at all: a reader
    never sees half a file, and a failed write leaves the previous file in place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        neutralise(frame).write_csv(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- Streamlit Markdown ------------------------------------------------------------------------

# CommonMark lets a backslash escape any ASCII punctuation, and an escaped character is literal
# text: no emphasis, link, image, HTML, table, heading, list, math ($) or directive (:red[...]).
_ESCAPED = frozenset(string.punctuation)
# Streamlit turns some literal text into elements after parsing, where escapes no longer count:
# bare URLs and e-mail addresses (GFM autolinks), shortcodes (:streamlit:, emoji such as :smile:,
# :material_x:) and arrows between blanks (-> <- <-> -- >= <= ~=). An invisible word joiner where
# such a pattern would start or continue stops all of them; other text is left as it is.
WORD_JOINER = "\u2060"
_BLANK = r"[\s\ufeff]"  # JavaScript's \s, which those patterns use
_JOIN_AT = re.compile(
    r"(?<=:)(?=//|[A-Za-z0-9_+-]+:)"  # http:// https:// and :shortcode:
    r"|(?<=@)(?=[-\w])"  # name@host
    r"|(?i:(?<=www))(?=\.)"  # www.host
    rf"|(?:(?<={_BLANK})|^)(?=(?:<->|->|<-|--|>=|<=|~=)(?:{_BLANK}|\Z))"
)  # arrows
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")


def md_escape(text: object) -> str:
    """``text`` as a piece of Streamlit Markdown that shows exactly these characters, on one
    line: every ASCII punctuation backslash-escaped, line breaks as spaces, leading blanks as
    character references (no indented code block), links, shortcodes and arrows broken by an
    invisible word joiner. None shows as nothing."""
    if text is None:
        return ""
    plain = _JOIN_AT.sub(WORD_JOINER, _LINE_BREAK.sub(" ", str(text)))
    out: list[str] = []
    leading = True
    for ch in plain:
        if leading and ch in " \t":
            out.append(f"&#{ord(ch)};")
            continue
        leading = False
        out.append("\\" + ch if ch in _ESCAPED else ch)
    return "".join(out)


def md_code(text: object) -> str:
    """``text`` as a Markdown code span, fenced by more backticks than it holds (CommonMark):
    nothing inside is Markdown, and a backtick in it cannot close the span."""
    body = _LINE_BREAK.sub(" ", "" if text is None else str(text))
    if not body:
        return ""
    # Streamlit rewrites this before parsing, even inside code.
    body = body.replace(":material/", ":" + WORD_JOINER + "material/")
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = (
        " "
        if body[:1] == "`"
        or body[-1:] == "`"
        or (body[:1] == " " and body[-1:] == " " and body.strip(" "))
        else ""
    )
    return f"{fence}{pad}{body}{pad}{fence}"


# --- Plotly -------------------------------------------------------------------------------------


def plot_text(text: object) -> str:
    """``text`` for a Plotly title, tick, text or hover label: Plotly draws a few HTML tags there
    (``<a href>``, ``<b>``, ``<br>``), and shows ``&lt;`` as ``<``."""
    return "" if text is None else html.escape(str(text), quote=False)
