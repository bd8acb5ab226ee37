"""Masking of ID numbers, bank accounts and phone numbers for screens and exports.

Each masker keeps a fixed head and tail and stars the rest, so a masked value still has the
shape of the original (same number of characters) and can be told apart from its neighbours
without revealing it. A value too short to keep anything safely is starred entirely. The
Python and Polars versions give the same output; both strip surrounding whitespace, and the
account and phone maskers also drop inner spaces and dashes, as those are layout, not data.
"""

from __future__ import annotations

import unicodedata

import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from analytics import schema

_STARS = "*" * 256
_STAR_GROUPS = "**** " * 64
_BLANKS = " \t\r\n\u3000"  # the full-width space is common in Chinese exports
_LAYOUT_RE = "[" + _BLANKS + r"\-]"
_DROP_LAYOUT = str.maketrans("", "", _BLANKS + "-")

# (characters kept at the start, at the end); shorter values are starred entirely
_ID_KEEP = (6, 4)
_ACCOUNT_KEEP = (4, 4)
_PHONE_KEEP = (3, 4)


def _stars(n: int) -> str:
    return "*" * max(n, 0)


def _grouped_stars(n: int) -> str:
    return " ".join(_stars(n)[i : i + 4] for i in range(0, n, 4))


def _mask(s: str, head: int, tail: int) -> str:
    if len(s) <= head + tail:
        return _stars(len(s))
    return s[:head] + _stars(len(s) - head - tail) + s[-tail:]


def mask_id(s: str | None) -> str | None:
    """``310105199001011234`` -> ``310105********1234``."""
    if s is None:
        return None
    return _mask(s.strip(_BLANKS), *_ID_KEEP)


def mask_phone(s: str | None) -> str | None:
    """``138 1234 5678`` -> ``138****5678``."""
    if s is None:
        return None
    return _mask(s.translate(_DROP_LAYOUT), *_PHONE_KEEP)


def mask_account(s: str | None) -> str | None:
    """``6222021234561929`` -> ``6222 **** **** 1929``: the stars in groups of four."""
    if s is None:
        return None
    s = s.translate(_DROP_LAYOUT)
    head, tail = _ACCOUNT_KEEP
    if len(s) <= head + tail:
        return _stars(len(s))
    return f"{s[:head]} {_grouped_stars(len(s) - head - tail)} {s[-tail:]}"


# --- Polars expressions --------------------------------------------------------------------


def _expr(value: pl.Expr | str) -> pl.Expr:
    return pl.col(value) if isinstance(value, str) else value


def _mask_expr(s: pl.Expr, head: int, tail: int) -> pl.Expr:
    n = s.str.len_chars()
    hidden = (n - head - tail).clip(lower_bound=0)
    return (
        pl.when(n <= head + tail)
        .then(pl.lit(_STARS).str.slice(0, n))
        .otherwise(
            pl.concat_str(s.str.head(head), pl.lit(_STARS).str.slice(0, hidden), s.str.tail(tail))
        )
    )


def mask_id_expr(value: pl.Expr | str) -> pl.Expr:
    return _mask_expr(_expr(value).str.strip_chars(_BLANKS), *_ID_KEEP)


def mask_phone_expr(value: pl.Expr | str) -> pl.Expr:
    return _mask_expr(_expr(value).str.replace_all(_LAYOUT_RE, ""), *_PHONE_KEEP)


def mask_account_expr(value: pl.Expr | str) -> pl.Expr:
    s = _expr(value).str.replace_all(_LAYOUT_RE, "")
    head, tail = _ACCOUNT_KEEP
    n = s.str.len_chars()
    hidden = (n - head - tail).clip(lower_bound=0)
    grouped = pl.lit(_STAR_GROUPS).str.slice(0, hidden + (hidden - 1) // 4)
    return (
        pl.when(n <= head + tail)
        .then(pl.lit(_STARS).str.slice(0, n))
        .otherwise(pl.concat_str(s.str.head(head), grouped, s.str.tail(tail), separator=" "))
    )


# --- Which columns hold what ---------------------------------------------------------------

_KIND_OF_TYPE = {"id18": "id", "payee": "id", "account": "account", "phone": "phone"}


def header_key(text: str) -> str:
    """A header as the reader matches it: full-width folded (NFKC), trimmed, case-folded, so
    that ``Account_No`` and ``ＰＨＯＮＥ`` are the columns the reader took them for."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _header_key_expr(column: pl.Expr) -> pl.Expr:
    # Contract headers are ASCII or Chinese, where casefold() and lower-casing agree.
    return column.str.normalize("NFKC").str.strip_chars().str.to_lowercase()


def _sensitive_headers() -> dict[str, str]:
    """Every contract column name and header whose type is an ID, account or phone."""
    out: dict[str, str] = {}
    for table in schema.TABLES.values():
        for column in table.columns:
            kind = _KIND_OF_TYPE.get(column.type)
            if kind:
                for header in column.headers:
                    out[header] = kind
    return out


SENSITIVE_COLUMNS: dict[str, str] = _sensitive_headers()
_SENSITIVE_KEYS = {header_key(h): kind for h, kind in SENSITIVE_COLUMNS.items()}
_KNOWN_KEYS = frozenset(
    header_key(h) for t in schema.TABLES.values() for c in t.columns for h in c.headers
)
# Record numbers (case, transaction, batch, staff, household) name records, not people: long
# digit runs in them are the numbering, and are shown as they are.
_RECORD_KEYS = frozenset(
    header_key(h)
    for t in schema.TABLES.values()
    for c in t.columns
    if c.type == "text" and c.name.endswith("_id")
    for h in c.headers
)
_MASKERS = {"id": mask_id_expr, "account": mask_account_expr, "phone": mask_phone_expr}
# A run of ten or more digits (an ID number may end in X) inside free text: an account, a phone
# or an ID number typed where it does not belong. Shorter runs (dates, amounts) are left alone.
_LONG_DIGITS = r"([0-9]{3})[0-9]{3,}([0-9]{3}[0-9Xx])"


def mask_digit_runs_expr(value: pl.Expr | str) -> pl.Expr:
    """Free text with every run of ten or more digits masked (``310****123X``)."""
    return _expr(value).str.replace_all(_LONG_DIGITS, "${1}****${2}")


def mask_by_column(value: pl.Expr | str, column: pl.Expr | str) -> pl.Expr:
    """Mask ``value`` according to the contract column named in ``column`` (rejects rows),
    matched as the reader matches headers (case and width folded).

    A value under a column the contract does not know is masked like an ID when it holds a run of
    seven or more digits, since it may be any of the three; under any other column, runs of ten
    or more digits are masked wherever they stand (an ID number typed into an amount column),
    except under record numbers (case_id, txn_id, ...).
    """
    value, column = _expr(value), _expr(column)
    key = _header_key_expr(column)
    kind = key.replace_strict(_SENSITIVE_KEYS, default=None, return_dtype=pl.String)
    known = key.is_in(list(_KNOWN_KEYS)).fill_null(False)
    out: Then | ChainedThen = pl.when(kind.is_null() & ~known & value.str.contains(r"\d{7,}")).then(
        mask_id_expr(value)
    )
    for name, masker in _MASKERS.items():
        out = out.when(kind == name).then(masker(value))
    record = key.is_in(list(_RECORD_KEYS)).fill_null(False)
    return out.when(record).then(value).otherwise(mask_digit_runs_expr(value))


def mask_rejects(rejects: pl.DataFrame) -> pl.DataFrame:
    """The rejects table (schema.REJECTS_COLUMNS) with sensitive values masked."""
    return rejects.with_columns(value=mask_by_column("value", "column"))
