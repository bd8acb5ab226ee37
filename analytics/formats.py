"""How AidWatch writes a number: the same on every page, grid, chart, export and report.

One rule per kind of figure, so that a supervisor never sees the same amount written two ways:

=============  ====================  ======================  ===============  ==============
kind           text (pages, PDF)     grid (st.dataframe)     Excel            chart axis
=============  ====================  ======================  ===============  ==============
money (元)     ``804,530.00``        ``%,.2f``               ``#,##0.00``     万 (``80.5万``)
count          ``1,376``             ``%,d``                 ``#,##0``        plain
score (分)     ``89.0``              ``%.1f``                ``0.0``          plain
rate           ``100.0%``            ``%.1f%%`` (×100)       ``0.0"%"``       plain
per thousand   ``0.4``               ``%.1f``                ``0.0``          plain
=============  ====================  ======================  ===============  ==============

A column says its kind by its Chinese header's unit suffix (``涉及金额（元）``, ``得分（分）``,
``合规率（%）``, ``线索（条）``...), which is how :func:`kind_of` finds it; a rate column holds
percent values (already ×100). An empty value is ``—`` in text and blank in a grid, never
``None``.

Nothing here imports Streamlit; the dashboard turns :func:`grid_formats` into column configs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import SupportsFloat, SupportsIndex

import polars as pl

DASH = "—"

MONEY, COUNT, SCORE, RATE, PER_THOUSAND = "money", "count", "score", "rate", "per_thousand"

#: printf formats for Streamlit's NumberColumn (sprintf-js: ``,`` separates thousands).
GRID_FORMAT = {MONEY: "%,.2f", COUNT: "%,d", SCORE: "%.1f", RATE: "%.1f%%", PER_THOUSAND: "%.1f"}

#: Excel number formats (xlsxwriter ``num_format``).
EXCEL_FORMAT = {
    MONEY: "#,##0.00",
    COUNT: "#,##0",
    SCORE: "0.0",
    RATE: '0.0"%"',
    PER_THOUSAND: "0.0",
}

_SUFFIX_KIND = (
    (re.compile(r"[（(](?:万?元)[）)]$"), MONEY),
    (re.compile(r"[（(](?:%|％)[）)]$"), RATE),
    (re.compile(r"[（(]分[）)]$"), SCORE),
    (re.compile(r"[（(]每千笔[）)]$"), PER_THOUSAND),
    (re.compile(r"[（(](?:条|个|人|户|次|件|笔|项|天|个工作日|工作日|名|份|家|期)[）)]$"), COUNT),
    (re.compile(r"(?:数|次数|人数|户数|笔数|条数|件数|项数)$"), COUNT),
)


def kind_of(column: str) -> str | None:
    """The kind of figure a column holds, read from its header: ``涉及金额（元）`` -> money,
    ``线索数`` -> count; ``None`` when the header does not say."""
    for pattern, kind in _SUFFIX_KIND:
        if pattern.search(column):
            return kind
    return None


def money(yuan: float | int | None) -> str:
    """804530 -> '804,530.00'."""
    if yuan is None:
        return DASH
    return f"{float(yuan):,.2f}"


def money_fen(fen: int | None) -> str:
    """80453000 (fen) -> '804,530.00', exact (no float on the way)."""
    if fen is None:
        return DASH
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def count(n: float | int | None) -> str:
    """1376 -> '1,376'; 124.0 -> '124'."""
    if n is None:
        return DASH
    return f"{int(round(float(n))):,}"


def score(x: float | None) -> str:
    """89 -> '89.0'."""
    if x is None:
        return DASH
    return f"{float(x):.1f}"


def rate(fraction: float | None) -> str:
    """A share as a fraction: 1.0 -> '100.0%'."""
    if fraction is None:
        return DASH
    return f"{float(fraction) * 100:.1f}%"


def per_thousand(x: float | None) -> str:
    if x is None:
        return DASH
    return f"{float(x):.1f}"


#: How :func:`text` writes a figure of each kind.
_NUMBER_TEXT: dict[str, Callable[[float], str]] = {
    MONEY: money,
    COUNT: count,
    SCORE: score,
    PER_THOUSAND: per_thousand,
    RATE: lambda v: f"{float(v):.1f}%",
}


def text(kind: str | None, value: object) -> str:
    """``value`` written as its kind says (``None`` kind: as text, empty as ``—``)."""
    if value is None:
        return DASH
    number_text = _NUMBER_TEXT.get(kind) if kind is not None else None
    if number_text is None:
        return str(value)
    if not isinstance(value, str | SupportsFloat | SupportsIndex):
        raise TypeError(f"a {kind} figure must be a number, not {type(value).__name__}")
    return number_text(float(value))


def grid_formats(frame: pl.DataFrame) -> dict[str, str]:
    """Column -> printf format for each numeric column whose header names its kind."""
    out: dict[str, str] = {}
    for name, dtype in frame.schema.items():
        if not dtype.is_numeric():
            continue
        kind = kind_of(name)
        if kind is not None:
            out[name] = GRID_FORMAT[kind]
    return out


def excel_formats(frame: pl.DataFrame) -> dict[str, str]:
    """Column -> Excel number format for each numeric column whose header names its kind;
    other float columns get two decimals, other integer columns thousands separators."""
    out: dict[str, str] = {}
    for name, dtype in frame.schema.items():
        if not dtype.is_numeric():
            continue
        kind = kind_of(name)
        if kind is not None:
            out[name] = EXCEL_FORMAT[kind]
        elif dtype.is_integer():
            out[name] = EXCEL_FORMAT[COUNT]
        else:
            out[name] = "#,##0.00"
    return out


def axis_wan(values: Iterable[float | None], n: int = 5) -> tuple[list[float], list[str]]:
    """Tick positions and 万 labels for a money axis spanning ``values``: plotly writes '4M'
    otherwise."""
    finite = [float(v) for v in values if v is not None]
    top = max([0.0, *finite])
    bottom = min([0.0, *finite])
    span = top - bottom
    if span <= 0:
        return [0.0], ["0"]
    raw = span / max(n - 1, 1)
    magnitude = 10 ** (len(str(int(raw))) - 1) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(bottom / step) * step
    steps = math.ceil((top - start) / step)
    ticks = [start + i * step for i in range(steps + 1)]
    if max(abs(t) for t in ticks) < 10_000:
        return ticks, [f"{t:,.0f}" for t in ticks]
    # One unit on the whole axis: 0.5万, 1.0万, 1.5万, never "5,000" beside "1.0万".
    digits = 0 if all(t % 10_000 == 0 for t in ticks) else 1
    return ticks, [f"{t / 1e4:,.{digits}f}万" if t else "0" for t in ticks]
