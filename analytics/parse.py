"""Parsers for the type words of the data contract (analytics.schema).

Each type word has two forms that must agree value for value (a property test holds them to it):

- ``parse_<word>(value, ...) -> (result, reason)``: the readable reference for one cell;
- ``<word>_column(raw, ...) -> (values, reasons)``: the same over a whole column, fast at
  millions of rows. Cells already written the way a system export writes them (a valid ID, a
  plain amount, an ISO date) are typed by vectorised Polars expressions; the others are parsed
  once per distinct (value, numeric) pair and joined back, vectorised too where a column can
  hold a million distinct values (IDs, accounts, phones, addresses), by the scalar function
  where distinct values are few (dates, months, amounts).

``reason`` is None for a usable cell and a Chinese sentence otherwise; a blank cell gives
``(None, None)``, or the reason 必填项为空 when the column is required. ``numeric`` says that the
cell was a number cell in a spreadsheet: only then is a date an Excel serial number, and an ID or
account longer than 15 digits has already lost its last digits in Excel.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import polars as pl
from polars._typing import PolarsDataType
from polars.expr.whenthen import ChainedThen, Then
from stdnum.cn import uscc as _uscc

from analytics import schema

# --- reasons (user-facing, Chinese) ----------------------------------------------------------

R_REQUIRED = "必填项为空"
R_EXCEL_DIGITS = (
    "数值被Excel按科学计数法或15位精度保存，末几位已丢失，请将该列设为文本格式后重新导出"
)
R_ID_LENGTH = "身份证号应为18位（或旧版15位），实为{}位"
R_ID_CHARS = "身份证号只能由数字组成，最后一位可以是X"
R_ID_CHECK = "校验位错误"
R_ID_BIRTH = "出生日期不存在"
R_ID_FUTURE = "出生日期晚于今天"
R_PAYEE = "既不是有效的身份证号，也不是有效的统一社会信用代码"
R_MONEY_FORMAT = "不是有效金额（应为如 1550、1550.00、1,550.00 或 ¥1,550.00 的形式）"
R_MONEY_DECIMALS = "金额小数超过两位"
R_MONEY_THOUSANDS = "千分位分隔符位置不对"
R_MONEY_RANGE = "金额过大"
R_MONEY_NEGATIVE = "金额不能为负数（退款应记为退票行，不能填负数）"
R_DATE_FORMAT = "无法识别的日期（应为如 2026-03-05、2026/3/5、20260305 或 2026年3月5日 的形式）"
R_DATE_INVALID = "日期不存在"
R_DATE_RANGE = "年份超出1900年至2100年的范围"
R_DATE_SERIAL_60 = "Excel日期序列号60对应的1900年2月29日并不存在"
R_MONTH_FORMAT = "无法识别的月份（应为如 2026-03、2026/03、202603 或 2026年3月 的形式）"
R_MONTH_INVALID = "月份不存在"
R_MONTH_NOT_FIRST = "应填月份，不能填具体日期（只接受每月1日）"
R_MONTH_NUMERIC = "月份被Excel存成了数字，无法区分1月与10月，请将该列设为文本格式后重新导出"
R_PHONE_CHARS = "电话号码含有数字以外的字符"
R_PHONE_SHORT = "电话号码不足7位"
R_PHONE_LONG = "电话号码超过12位"
R_ACCOUNT_CHARS = "银行账号只能由数字组成（空格和短横线除外）"
R_ACCOUNT_LENGTH = "银行账号应为10至30位数字，实为{}位"
R_INT = "不是整数"
R_ENUM = "不是允许的取值（允许：{}）"
R_ITEMS = "服务项目不在目录中：{}（目录：{}）"

# Characters treated as blank. Spelled out rather than using str.isspace / regex \s, whose
# definitions differ between Python and Polars (U+001C..U+001F); U+FEFF and U+200B come with
# copy-pasted cells.
BLANKS = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
    "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff\u200b"
)
_BLANK_CLASS = "[" + BLANKS + "]"
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
_SEP_CLASS = "[" + BLANKS + _DASHES.replace("-", "") + "-]"  # '-' last: literal in a class
_PHONE_SEP_CLASS = "[" + BLANKS + "()." + _DASHES.replace("-", "") + "-]"

# An ID or account that went through a spreadsheet number: 3.10105E+17, 310105198001010000.0
_SCI = r"[+-]?[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+"
_FLOAT_ARTEFACT = r"[0-9]{15,}\.[0-9]*"
_EXCEL_RE = re.compile(f"{_SCI}|{_FLOAT_ARTEFACT}")
_EXCEL_PL = f"^(?:{_SCI}|{_FLOAT_ARTEFACT})$"
_EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_MIN_YEAR, _MAX_YEAR = 1900, 2100
_MIN_DATE = date(_MIN_YEAR, 1, 1)

_PHONE_CC = r"\+ ?86|00 ?86|\(\+?86\)|86[ -]"
_PHONE_CC_RE = re.compile(_PHONE_CC)
_ADDRESS_PREFIX = schema.DISTRICT_INFO.address_prefix
_ADDRESS_PREFIX_RE = re.compile(_ADDRESS_PREFIX)

Parsed = tuple[Any, "str | None"]


# --- shared helpers ----------------------------------------------------------------------------


def _nfkc(value: str) -> str:
    return value if value.isascii() else unicodedata.normalize("NFKC", value)


def _clean(value: str | None) -> str:
    """Full-width to half-width (NFKC), surrounding blanks removed."""
    return "" if value is None else _nfkc(value).strip(BLANKS)


def _blank(required: bool) -> Parsed:
    return None, (R_REQUIRED if required else None)


def _excel_mangled(v: str, numeric: bool) -> bool:
    if numeric and sum(c in "0123456789" for c in v) > _EXCEL_DIGITS:
        return True
    return _EXCEL_RE.fullmatch(v) is not None


def _nfkc_series(s: pl.Series) -> pl.Series:
    """NFKC by Python's unicodedata, so that column and scalar agree (Polars' own tables are a
    newer Unicode version); pure-ASCII values, nearly all IDs and accounts, are left alone."""
    odd = s.str.contains(r"[^\x00-\x7F]").arg_true()
    if odd.is_empty():
        return s
    normal = [unicodedata.normalize("NFKC", x) for x in s.gather(odd).to_list()]
    return s.scatter(odd, pl.Series(normal, dtype=pl.String))


def _clean_expr(s: pl.Series) -> pl.Expr:
    return pl.lit(_nfkc_series(s)).str.strip_chars(BLANKS)


# --- text and enum -----------------------------------------------------------------------------


def parse_text(
    value: str | None, *, numeric: bool = False, required: bool = False, **_: Any
) -> Parsed:
    """Surrounding blanks removed; a blank cell is null. A spreadsheet number of more than 15
    digits (a transaction or case number typed as a number) has lost its last digits."""
    v = "" if value is None else value.strip(BLANKS)
    if not v:
        return _blank(required)
    if numeric and sum(c in "0123456789" for c in v) > _EXCEL_DIGITS:
        return None, R_EXCEL_DIGITS
    return v, None


def parse_enum(
    value: str | None, *, allowed: Sequence[str], required: bool = False, **_: Any
) -> Parsed:
    """Exact match, after surrounding blanks are removed, against the allowed values."""
    v = "" if value is None else value.strip(BLANKS)
    if not v:
        return _blank(required)
    if v in allowed:
        return v, None
    return None, R_ENUM.format("、".join(allowed))


def parse_address(value: str | None, *, required: bool = False, **_: Any) -> Parsed:
    """The comparison form: NFKC, no blanks, no leading city / district (data/district.toml),
    no trailing 室."""
    v = re.sub(_BLANK_CLASS, "", _nfkc(value or ""))
    v = _ADDRESS_PREFIX_RE.sub("", v, count=1).removesuffix("室")
    return (v, None) if v else _blank(required)


# --- identifiers -------------------------------------------------------------------------------


def id18_check_digit(body17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body17, _ID_WEIGHTS, strict=True)) % 11]


def parse_id18(
    value: str | None,
    *,
    numeric: bool = False,
    required: bool = False,
    today: date | None = None,
    **_: Any,
) -> Parsed:
    """Resident ID number: 18 characters, valid check digit, real birth date not in the future;
    a lowercase x is upper-cased and a legacy 15-digit number is upgraded to 18."""
    v = _clean(value).removeprefix("'").replace("x", "X")
    if not v:
        return _blank(required)
    if _excel_mangled(v, numeric):
        return None, R_EXCEL_DIGITS
    if len(v) not in (15, 18):
        return None, R_ID_LENGTH.format(len(v))
    if len(v) == 15:
        if not re.fullmatch("[0-9]{15}", v):
            return None, R_ID_CHARS
        body = v[:6] + "19" + v[6:]
        v = body + id18_check_digit(body)
    else:
        if not re.fullmatch("[0-9]{17}[0-9X]", v):
            return None, R_ID_CHARS
        if v[17] != id18_check_digit(v[:17]):
            return None, R_ID_CHECK
    year, month, day = int(v[6:10]), int(v[10:12]), int(v[12:14])
    if year < _MIN_YEAR:
        return None, R_ID_BIRTH
    try:
        birth = date(year, month, day)
    except ValueError:
        return None, R_ID_BIRTH
    if birth > (today or date.today()):
        return None, R_ID_FUTURE
    return v, None


def _looks_like_person_id(v: str) -> bool:
    return re.fullmatch("[0-9]{15}|[0-9]{17}[0-9Xx]", v) is not None


def parse_payee(
    value: str | None,
    *,
    numeric: bool = False,
    required: bool = False,
    today: date | None = None,
    **_: Any,
) -> Parsed:
    """A resident ID number (normalised as by parse_id18) or a unified social credit code."""
    person, reason = parse_id18(value, numeric=numeric, required=required, today=today)
    if reason is None or reason in (R_EXCEL_DIGITS, R_REQUIRED):
        return person, reason
    v = _clean(value).removeprefix("'")
    code = v.upper()
    if len(code) == 18 and _uscc.compact(code) == code and _uscc.is_valid(code):
        return code, None
    return None, (reason if _looks_like_person_id(v) else R_PAYEE)


def parse_account(
    value: str | None, *, numeric: bool = False, required: bool = False, **_: Any
) -> Parsed:
    """Bank account: the digits left after spaces and dashes are removed, 10 to 30 of them."""
    v = _clean(value).removeprefix("'")
    if not v:
        return _blank(required)
    if _excel_mangled(v, numeric):
        return None, R_EXCEL_DIGITS
    digits = re.sub(_SEP_CLASS, "", v)
    if not re.fullmatch("[0-9]+", digits):
        return None, R_ACCOUNT_CHARS
    if not 10 <= len(digits) <= 30:
        return None, R_ACCOUNT_LENGTH.format(len(digits))
    return digits, None


def parse_phone(value: str | None, *, required: bool = False, **_: Any) -> Parsed:
    """Digits of the national number: separators and a +86 / 0086 / 86- prefix removed; a
    landline written internationally gets its trunk 0 back (+86 21 ... -> 021...)."""
    v = _clean(value)
    if not v:
        return _blank(required)
    m = _PHONE_CC_RE.match(v)
    country = m is not None
    if m:
        v = v[m.end() :]
    digits = re.sub(_PHONE_SEP_CLASS, "", v)
    if not country and re.fullmatch("861[0-9]{10}", digits):
        digits, country = digits[2:], True
    # a mobile is 11 digits starting with 1; anything else written internationally is a
    # landline whose trunk 0 was dropped (Beijing's area code 10 starts with 1 too)
    mobile = digits.startswith("1") and len(digits) == 11
    if country and digits and not digits.startswith("0") and not mobile:
        digits = "0" + digits
    if not re.fullmatch("[0-9]+", digits):
        return None, R_PHONE_CHARS
    if len(digits) < 7:
        return None, R_PHONE_SHORT
    if len(digits) > 12:
        return None, R_PHONE_LONG
    return digits, None


# --- numbers -----------------------------------------------------------------------------------

_MONEY_RE = re.compile(
    r"(?P<s1>-)? *(?:¥ *)?(?P<s2>-)?(?P<int>[0-9][0-9,]*)(?:\.(?P<frac>[0-9]+))? *元?"
)
_MONEY_GROUPED = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+")
_MONEY_MAX_INT_DIGITS = 14


def parse_money(
    value: str | None, *, numeric: bool = False, required: bool = False, **_: Any
) -> Parsed:
    """Yuan with at most 2 decimals -> integer fen; never through float. A spreadsheet number
    cell may carry a binary artefact (1550.4999999999998), which is rounded to the fen.

    A minus sign is rejected whatever follows it, "-0" included: an amount is never negative
    (a returned payment is a 退票 row, not a negative one)."""
    v = _clean(value)
    if not v:
        return _blank(required)
    m = _MONEY_RE.fullmatch(v)
    if m is None or (m["s1"] and m["s2"]):
        return None, R_MONEY_FORMAT
    if m["s1"] or m["s2"]:
        return None, R_MONEY_NEGATIVE
    whole = m["int"]
    if "," in whole:
        if not _MONEY_GROUPED.fullmatch(whole):
            return None, R_MONEY_THOUSANDS
        whole = whole.replace(",", "")
    frac = m["frac"] or ""
    if len(whole.lstrip("0")) > _MONEY_MAX_INT_DIGITS:
        return None, R_MONEY_RANGE
    if len(frac) > 2:
        exact = Decimal(f"{whole}.{frac}")
        rounded = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        if not numeric or abs(exact - rounded) > Decimal("0.000001"):
            return None, R_MONEY_DECIMALS
        whole, frac = str(rounded).split(".")
        if len(whole.lstrip("0")) > _MONEY_MAX_INT_DIGITS:
            return None, R_MONEY_RANGE
    return int(whole) * 100 + int(frac.ljust(2, "0")), None


_INT_RE = re.compile(r"([+-]?)([0-9]+)(?:\.0*)?")


def parse_int(value: str | None, *, required: bool = False, **_: Any) -> Parsed:
    """A whole number (a spreadsheet may write it as 12.0)."""
    v = _clean(value)
    if not v:
        return _blank(required)
    m = _INT_RE.fullmatch(v)
    if m is None or len(m[2].lstrip("0")) > 18:
        return None, R_INT
    n = int(m[2])
    return (-n if m[1] == "-" else n), None


# --- dates and months --------------------------------------------------------------------------

_TIME = r"(?:[ T]([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?)?"
_DATE_SEP = re.compile(r"([0-9]{4})([-/.])([0-9]{1,2})\2([0-9]{1,2})" + _TIME)
_DATE_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})")
_DATE_ZH = re.compile(r"([0-9]{4})年([0-9]{1,2})月([0-9]{1,2})日?")
_SERIAL = re.compile(r"([0-9]{1,7})(?:\.[0-9]+)?")
_EXCEL_EPOCH = date(1899, 12, 30)


def _make_date(year: int, month: int, day: int) -> Parsed:
    try:
        d = date(year, month, day)
    except ValueError:
        return None, R_DATE_INVALID
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None, R_DATE_RANGE
    return d, None


def _from_serial(serial: int) -> Parsed:
    if serial == 60:
        return None, R_DATE_SERIAL_60
    if serial < 1:
        return None, R_DATE_RANGE
    # Excel counts 1900-02-29 as a day: serials below 60 are one day later than the epoch says.
    try:
        d = _EXCEL_EPOCH + timedelta(days=serial + (1 if serial < 60 else 0))
    except OverflowError:
        return None, R_DATE_RANGE
    return _make_date(d.year, d.month, d.day)


def parse_date(
    value: str | None, *, numeric: bool = False, required: bool = False, **_: Any
) -> Parsed:
    """2026-03-05, 2026/3/5, 2026.3.5, 20260305, 2026年3月5日, an ISO date-time (the date is
    kept), and an Excel serial number when the cell was a number cell."""
    v = _clean(value)
    if not v:
        return _blank(required)
    if numeric and (m := _SERIAL.fullmatch(v)) and len(m[1]) < 8:
        return _from_serial(int(m[1]))
    if m := _DATE_SEP.fullmatch(v):
        hh, mm, ss = m[5], m[6], m[7]
        if hh is not None and (int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59):
            return None, R_DATE_FORMAT
        return _make_date(int(m[1]), int(m[3]), int(m[4]))
    if (m := _DATE_COMPACT.fullmatch(v)) or (m := _DATE_ZH.fullmatch(v)):
        return _make_date(int(m[1]), int(m[2]), int(m[3]))
    return None, R_DATE_FORMAT


_MONTH_SEP = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})")
_MONTH_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})")
_MONTH_ZH = re.compile(r"([0-9]{4})年([0-9]{1,2})月")


def parse_month(
    value: str | None, *, numeric: bool = False, required: bool = False, **_: Any
) -> Parsed:
    """'YYYY-MM' from 2026-03, 2026/3, 2026.3, 202603, 2026年3月, or the first day of the month
    (a spreadsheet date cell)."""
    v = _clean(value)
    if not v:
        return _blank(required)
    if numeric and "." in v:
        return None, R_MONTH_NUMERIC
    m = _MONTH_SEP.fullmatch(v) or _MONTH_COMPACT.fullmatch(v) or _MONTH_ZH.fullmatch(v)
    if m:
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            return None, R_MONTH_INVALID
        if not _MIN_YEAR <= year <= _MAX_YEAR:
            return None, R_DATE_RANGE
        return f"{year:04d}-{month:02d}", None
    d, reason = parse_date(v, numeric=numeric)
    if d is not None:
        return (f"{d.year:04d}-{d.month:02d}", None) if d.day == 1 else (None, R_MONTH_NOT_FIRST)
    return None, (R_MONTH_FORMAT if reason == R_DATE_FORMAT else reason)


def parse_items(
    value: str | None, *, allowed: Sequence[str], required: bool = False, **_: Any
) -> Parsed:
    """';'-separated catalogue items (a full-width '；' too), normalised to ';'-joined."""
    v = "" if value is None else value.replace("；", ";")
    parts = [p.strip(BLANKS) for p in v.split(";")]
    parts = [p for p in parts if p]
    if not parts:
        return _blank(required)
    unknown = [p for p in parts if p not in allowed]
    if unknown:
        return None, R_ITEMS.format("、".join(unknown), "、".join(allowed))
    return ";".join(parts), None


# --- column functions --------------------------------------------------------------------------

Column = tuple[pl.Series, pl.Series]
Fast = Callable[[pl.Series, pl.Series], tuple[pl.Series, pl.Series]]
Slow = Callable[[pl.Series, pl.Series], tuple[pl.Series, pl.Series]]


def _column(
    raw: pl.Series,
    numeric: pl.Series | None,
    *,
    dtype: PolarsDataType,
    slow: Slow,
    fast: Fast | None = None,
    dedupe: bool = True,
) -> Column:
    """Cells already in the canonical form a system export writes are typed by ``fast`` over the
    whole column (it returns which cells it vouches for, and their values); the rest, usually
    few, go through ``slow`` once per distinct (value, numeric) pair."""
    name = raw.name
    raw = raw.cast(pl.String).fill_null("")
    num = (
        numeric.cast(pl.Boolean).fill_null(False)
        if numeric is not None
        else pl.repeat(False, len(raw), eager=True)
    )
    values = pl.repeat(None, len(raw), dtype=dtype, eager=True)
    reasons = pl.repeat(None, len(raw), dtype=pl.String, eager=True)
    if fast is None:
        rest = None
    else:
        ok, fast_values = fast(raw, num)
        ok = ok.fill_null(False)
        values = pl.select(pl.when(ok).then(fast_values.cast(dtype))).to_series()
        rest = (~ok).arg_true()
        if rest.is_empty():
            return values.alias(name), reasons.alias(name)
    if rest is not None and len(rest) < len(raw):
        sub, sub_num = raw.gather(rest), num.gather(rest)
    else:
        rest, sub, sub_num = None, raw, num
    if dedupe:
        sub_values, sub_reasons = _by_unique(sub, sub_num, slow)
    else:
        sub_values, sub_reasons = slow(sub, sub_num)
    sub_values, sub_reasons = sub_values.cast(dtype), sub_reasons.cast(pl.String)
    if rest is None:
        return sub_values.alias(name), sub_reasons.alias(name)
    values, reasons = values.scatter(rest, sub_values), reasons.scatter(rest, sub_reasons)
    return values.alias(name), reasons.alias(name)


def _by_unique(raw: pl.Series, numeric: pl.Series, slow: Slow) -> Column:
    """``slow`` on the distinct (value, numeric) pairs, joined back to every cell."""
    frame = pl.DataFrame({"raw": raw})
    keys = ["raw"]  # one key joins faster, and only spreadsheet columns have number cells
    if numeric.any():
        frame = frame.with_columns(numeric=numeric)
        keys.append("numeric")
    uniq = frame.unique()
    flags = uniq["numeric"] if len(keys) == 2 else pl.repeat(False, uniq.height, eager=True)
    values, reasons = slow(uniq["raw"], flags)
    mapped = uniq.with_columns(value=values, reason=reasons.cast(pl.String))
    out = frame.join(mapped, on=keys, how="left", maintain_order="left")
    return out["value"], out["reason"]


def _scalar_slow(fn: Callable[..., Parsed], dtype: PolarsDataType, **kw: Any) -> Slow:
    def slow(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
        results = [
            fn(r, numeric=n, **kw) for r, n in zip(raw.to_list(), numeric.to_list(), strict=True)
        ]
        return (
            pl.Series([r[0] for r in results], dtype=dtype),
            pl.Series([r[1] for r in results], dtype=pl.String),
        )

    return slow


def _finish(
    frame: pl.DataFrame,
    value: pl.Expr,
    checks: list[tuple[pl.Expr, pl.Expr]],
    blank: pl.Expr,
    required: bool,
) -> tuple[pl.Series, pl.Series]:
    """The first failing check gives the reason; a blank cell is null (or 必填项为空)."""
    chain: Then | ChainedThen = pl.when(blank).then(
        pl.lit(R_REQUIRED if required else None, dtype=pl.String)
    )
    for cond, text in checks:
        chain = chain.when(cond).then(text)
    reason = chain.otherwise(pl.lit(None, dtype=pl.String))
    out = frame.with_columns(_reason=reason).select(
        value=pl.when(pl.col("_reason").is_null() & ~blank).then(value), reason=pl.col("_reason")
    )
    return out["value"], out["reason"]


def text_column(
    raw: pl.Series, *, numeric: pl.Series | None = None, required: bool = False, **_: Any
) -> Column:
    v = raw.cast(pl.String).str.strip_chars(BLANKS)
    lost: pl.Expr | pl.Series = pl.lit(False)
    if numeric is not None and numeric.any():
        lost = numeric.fill_null(False) & (v.str.count_matches("[0-9]") > _EXCEL_DIGITS)
    frame = pl.DataFrame({"v": v}).with_columns(blank=v.is_null() | (v == ""), lost=lost)
    values, reasons = _finish(
        frame, pl.col("v"), [(pl.col("lost"), pl.lit(R_EXCEL_DIGITS))], pl.col("blank"), required
    )
    return values.alias(raw.name), reasons.alias(raw.name)


def enum_column(
    raw: pl.Series,
    *,
    allowed: Sequence[str],
    numeric: pl.Series | None = None,
    required: bool = False,
    **_: Any,
) -> Column:
    v = raw.cast(pl.String).str.strip_chars(BLANKS)
    frame = pl.DataFrame({"v": v, "blank": v.is_null() | (v == ""), "ok": v.is_in(list(allowed))})
    values, reasons = _finish(
        frame,
        pl.col("v"),
        [
            (~pl.col("ok"), pl.lit(R_ENUM.format("、".join(allowed)))),
        ],
        pl.col("blank"),
        required,
    )
    return values.alias(raw.name), reasons.alias(raw.name)


def _excel_expr() -> pl.Expr:
    return (pl.col("numeric") & (pl.col("v").str.count_matches("[0-9]") > _EXCEL_DIGITS)) | pl.col(
        "v"
    ).str.contains(_EXCEL_PL)


def _check_char(body17: pl.Expr) -> pl.Expr:
    """MOD 11-2 check character of 17 digits: sum d_i * 2^(17-i) mod 11, and 13 = 2 (mod 11), so
    reading the digits in base 13 gives the same remainder in one step (as stdnum does)."""
    r = body17.str.to_integer(base=13, strict=False) % 11
    c = (23 - 2 * r) % 11  # (1 - 2r) mod 11, kept non-negative
    return pl.when(c == 10).then(pl.lit("X")).otherwise(c.cast(pl.String))


def _id18_fast(today: date) -> Fast:
    """Valid IDs written exactly as the contract says: value = cell."""

    def fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
        v = pl.col("v")
        birth = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
        ok = (
            v.str.contains("^[0-9]{17}[0-9X]$")
            & ~pl.col("numeric")
            & (v.str.slice(17, 1) == _check_char(v.str.slice(0, 17)))
            & birth.is_between(_MIN_DATE, today)
        )
        return pl.DataFrame({"v": raw, "numeric": numeric}).select(ok)["v"], raw

    return fast


def _id18_frame(raw: pl.Series, numeric: pl.Series, today: date) -> pl.DataFrame:
    """parse_id18 over distinct values, vectorised: columns value, reason (null for a blank
    cell whatever ``required`` says) and blank."""
    cleaned = _clean_expr(raw).str.strip_prefix("'").str.replace_all("x", "X", literal=True)
    frame = pl.DataFrame({"numeric": numeric}).with_columns(v=cleaned)
    v = pl.col("v")
    is15 = v.str.contains("^[0-9]{15}$")
    is18 = v.str.contains("^[0-9]{17}[0-9X]$")
    upgraded = pl.concat_str(v.str.slice(0, 6), pl.lit("19"), v.str.slice(6))
    body = pl.when(is15).then(upgraded).otherwise(v.str.slice(0, 17))
    frame = frame.with_columns(is15=is15, is18=is18, body=body, n=pl.col("v").str.len_chars())
    year = pl.col("body").str.slice(6, 4).cast(pl.Int64, strict=False)
    birth = pl.col("body").str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    frame = frame.with_columns(
        check=pl.when(pl.col("is15") | pl.col("is18")).then(_check_char(pl.col("body"))),
        birth_ok=(year >= _MIN_YEAR) & birth.is_not_null(),
        future=birth > pl.lit(today),
        blank=pl.col("v") == "",
    )
    values, reasons = _finish(
        frame,
        pl.when(pl.col("is15")).then(pl.concat_str("body", "check")).otherwise(pl.col("v")),
        [
            (_excel_expr(), pl.lit(R_EXCEL_DIGITS)),
            (~pl.col("n").is_in([15, 18]), pl.format(R_ID_LENGTH, pl.col("n"))),
            (~(pl.col("is15") | pl.col("is18")), pl.lit(R_ID_CHARS)),
            (
                pl.col("is18") & (pl.col("v").str.slice(17, 1) != pl.col("check")),
                pl.lit(R_ID_CHECK),
            ),
            (~pl.col("birth_ok"), pl.lit(R_ID_BIRTH)),
            (pl.col("future"), pl.lit(R_ID_FUTURE)),
        ],
        pl.col("blank"),
        required=False,
    )
    return pl.DataFrame({"value": values, "reason": reasons, "blank": frame["blank"]})


def id18_column(
    raw: pl.Series,
    *,
    numeric: pl.Series | None = None,
    required: bool = False,
    today: date | None = None,
    **_: Any,
) -> Column:
    today = today or date.today()

    def slow(r: pl.Series, n: pl.Series) -> tuple[pl.Series, pl.Series]:
        f = _id18_frame(r, n, today)
        if required:
            f = f.with_columns(reason=pl.when("blank").then(pl.lit(R_REQUIRED)).otherwise("reason"))
        return f["value"], f["reason"]

    return _column(raw, numeric, dtype=pl.String, fast=_id18_fast(today), slow=slow)


def payee_column(
    raw: pl.Series,
    *,
    numeric: pl.Series | None = None,
    required: bool = False,
    today: date | None = None,
    **_: Any,
) -> Column:
    """As id18_column; the few values that are no person's ID are then tried as organisation
    codes by parse_payee itself."""
    today = today or date.today()

    def slow(r: pl.Series, n: pl.Series) -> tuple[pl.Series, pl.Series]:
        f = _id18_frame(r, n, today)
        values, reasons = f["value"].to_list(), f["reason"].to_list()
        retry = (f["reason"].is_not_null() & (f["reason"] != R_EXCEL_DIGITS)).arg_true()
        raws, nums = r.to_list(), n.to_list()
        for i in retry.to_list():
            values[i], reasons[i] = parse_payee(raws[i], numeric=nums[i], today=today)
        if required:
            reasons = [
                R_REQUIRED if b else x for b, x in zip(f["blank"].to_list(), reasons, strict=True)
            ]
        return pl.Series(values, dtype=pl.String), pl.Series(reasons, dtype=pl.String)

    return _column(raw, numeric, dtype=pl.String, fast=_id18_fast(today), slow=slow)


def _matches(pattern: str, *, text: bool = True) -> Fast:
    """Cells matching ``pattern`` are their own value (text cells only, unless ``text`` is
    False)."""

    def fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
        ok = raw.str.contains(pattern)
        return (ok & ~numeric if text else ok), raw

    return fast


def account_column(
    raw: pl.Series, *, numeric: pl.Series | None = None, required: bool = False, **_: Any
) -> Column:
    def slow(r: pl.Series, n: pl.Series) -> tuple[pl.Series, pl.Series]:
        frame = pl.DataFrame({"v": pl.select(_clean_expr(r)).to_series(), "numeric": n})
        frame = frame.with_columns(v=pl.col("v").str.strip_prefix("'"))
        frame = frame.with_columns(d=pl.col("v").str.replace_all(_SEP_CLASS, ""))
        frame = frame.with_columns(n=pl.col("d").str.len_chars())
        return _finish(
            frame,
            pl.col("d"),
            [
                (_excel_expr(), pl.lit(R_EXCEL_DIGITS)),
                (~pl.col("d").str.contains("^[0-9]+$"), pl.lit(R_ACCOUNT_CHARS)),
                ((pl.col("n") < 10) | (pl.col("n") > 30), pl.format(R_ACCOUNT_LENGTH, pl.col("n"))),
            ],
            pl.col("v") == "",
            required,
        )

    return _column(raw, numeric, dtype=pl.String, fast=_matches("^[0-9]{10,30}$"), slow=slow)


def _phone_fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
    # 7 to 12 bare digits are a national number as they stand, unless they begin with 0086
    return raw.str.contains("^[0-9]{7,12}$") & ~raw.str.starts_with("0086"), raw


def phone_column(
    raw: pl.Series, *, numeric: pl.Series | None = None, required: bool = False, **_: Any
) -> Column:
    def slow(r: pl.Series, n: pl.Series) -> tuple[pl.Series, pl.Series]:
        frame = pl.DataFrame({"v": pl.select(_clean_expr(r)).to_series()})
        prefix = "^(?:" + _PHONE_CC + ")"
        frame = frame.with_columns(country=pl.col("v").str.contains(prefix)).with_columns(
            d=pl.col("v").str.replace(prefix, "").str.replace_all(_PHONE_SEP_CLASS, "")
        )
        bare = ~pl.col("country") & pl.col("d").str.contains("^861[0-9]{10}$")
        frame = frame.with_columns(
            d=pl.when(bare).then(pl.col("d").str.slice(2)).otherwise("d"),
            country=pl.col("country") | bare,
        )
        mobile = pl.col("d").str.starts_with("1") & (pl.col("d").str.len_chars() == 11)
        trunk = (
            pl.col("country") & (pl.col("d") != "") & ~pl.col("d").str.starts_with("0") & ~mobile
        )
        frame = frame.with_columns(
            d=pl.when(trunk).then(pl.concat_str(pl.lit("0"), "d")).otherwise("d")
        )
        frame = frame.with_columns(n=pl.col("d").str.len_chars())
        return _finish(
            frame,
            pl.col("d"),
            [
                (~pl.col("d").str.contains("^[0-9]+$"), pl.lit(R_PHONE_CHARS)),
                (pl.col("n") < 7, pl.lit(R_PHONE_SHORT)),
                (pl.col("n") > 12, pl.lit(R_PHONE_LONG)),
            ],
            pl.col("v") == "",
            required,
        )

    return _column(raw, numeric, dtype=pl.String, fast=_phone_fast, slow=slow)


def address_column(
    raw: pl.Series, *, numeric: pl.Series | None = None, required: bool = False, **_: Any
) -> Column:
    def slow(r: pl.Series, n: pl.Series) -> tuple[pl.Series, pl.Series]:
        frame = pl.DataFrame({"v": _nfkc_series(r)}).with_columns(
            v=pl.col("v")
            .str.replace_all(_BLANK_CLASS, "")
            .str.replace("^" + _ADDRESS_PREFIX, "")
            .str.strip_suffix("室")
        )
        return _finish(frame, pl.col("v"), [], pl.col("v") == "", required)

    # addresses hardly repeat: deduplicating would cost more than it saves
    return _column(raw, numeric, dtype=pl.String, slow=slow, dedupe=False)


def address_expr(expr: pl.Expr) -> pl.Expr:
    """address_column's normalised form as an expression, for frames built in code."""
    return expr.map_batches(
        lambda s: address_column(s)[0], return_dtype=pl.String, is_elementwise=True
    )


def _date_fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
    d = raw.str.to_date("%Y-%m-%d", strict=False)
    ok = raw.str.contains("^[0-9]{4}-[0-9]{2}-[0-9]{2}$") & d.is_between(
        date(_MIN_YEAR, 1, 1), date(_MAX_YEAR, 12, 31)
    )
    return ok, d


def _money_fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
    # Plain non-negative amounts only; a signed cell is rejected by parse_money.
    ok = raw.str.contains(r"^[0-9]{1,14}(?:\.[0-9]{1,2})?$")
    whole = raw.str.extract(r"^([0-9]+)", 1).cast(pl.Int64, strict=False)
    cents = raw.str.extract(r"\.([0-9]+)$", 1).fill_null("").str.pad_end(2, "0")
    return ok, whole * 100 + cents.cast(pl.Int64, strict=False)


def _int_fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
    return raw.str.contains("^-?[0-9]{1,18}$"), raw.cast(pl.Int64, strict=False)


def _month_fast(raw: pl.Series, numeric: pl.Series) -> tuple[pl.Series, pl.Series]:
    year = raw.str.slice(0, 4).cast(pl.Int64, strict=False)
    ok = raw.str.contains("^[0-9]{4}-(?:0[1-9]|1[0-2])$") & year.is_between(_MIN_YEAR, _MAX_YEAR)
    return ok, raw


def _scalar_column(
    fn: Callable[..., Parsed], dtype: PolarsDataType, fast: Fast | None = None
) -> Callable[..., Column]:
    def column(raw: pl.Series, *, numeric: pl.Series | None = None, **kw: Any) -> Column:
        return _column(raw, numeric, dtype=dtype, fast=fast, slow=_scalar_slow(fn, dtype, **kw))

    column.__name__ = fn.__name__.removeprefix("parse_") + "_column"
    column.__doc__ = f"Column form of {fn.__name__}."
    return column


money_column = _scalar_column(parse_money, pl.Int64, _money_fast)
date_column = _scalar_column(parse_date, pl.Date, _date_fast)
month_column = _scalar_column(parse_month, pl.String, _month_fast)
int_column = _scalar_column(parse_int, pl.Int64, _int_fast)
items_column = _scalar_column(parse_items, pl.String)


# --- dispatch by type word ---------------------------------------------------------------------

SCALAR_PARSERS: dict[str, Callable[..., Parsed]] = {
    "id18": parse_id18,
    "date": parse_date,
    "month": parse_month,
    "money": parse_money,
    "text": parse_text,
    "enum": parse_enum,
    "phone": parse_phone,
    "address": parse_address,
    "account": parse_account,
    "payee": parse_payee,
    "int": parse_int,
    "items": parse_items,
}
COLUMN_PARSERS: dict[str, Callable[..., Column]] = {
    "id18": id18_column,
    "date": date_column,
    "month": month_column,
    "money": money_column,
    "text": text_column,
    "enum": enum_column,
    "phone": phone_column,
    "address": address_column,
    "account": account_column,
    "payee": payee_column,
    "int": int_column,
    "items": items_column,
}


def allowed_values(column: schema.Column, catalogue: pl.DataFrame | None) -> tuple[str, ...]:
    """Enum values of a column: listed in the schema, or a column of the catalogue."""
    ref: tuple[str, ...] | str | None
    if column.type == "items":
        ref = schema.CATALOGUE_ITEM
    else:
        ref = column.values
    if isinstance(ref, str):
        if catalogue is None:
            from analytics.reference import load_catalogue

            catalogue = load_catalogue()
        field = ref.removeprefix("catalogue:")
        return tuple(catalogue[field].drop_nulls().unique(maintain_order=True).to_list())
    return tuple(ref or ())


def parse_series(
    column: schema.Column,
    raw: pl.Series,
    *,
    numeric: pl.Series | None = None,
    catalogue: pl.DataFrame | None = None,
    today: date | None = None,
) -> Column:
    """Parse one file column by its contract column (type word, required, allowed values)."""
    kw: dict[str, Any] = {"required": column.required, "numeric": numeric}
    if column.type in ("enum", "items"):
        kw["allowed"] = allowed_values(column, catalogue)
    if column.type in ("id18", "payee"):
        kw["today"] = today
    return COLUMN_PARSERS[column.type](raw, **kw)
