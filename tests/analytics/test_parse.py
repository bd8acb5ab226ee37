from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric, uscc

from analytics import parse, schema
from analytics.parse import (
    R_ACCOUNT_CHARS,
    R_ACCOUNT_LENGTH,
    R_DATE_FORMAT,
    R_DATE_INVALID,
    R_DATE_RANGE,
    R_DATE_SERIAL_60,
    R_EXCEL_DIGITS,
    R_ID_BIRTH,
    R_ID_CHARS,
    R_ID_CHECK,
    R_ID_FUTURE,
    R_ID_LENGTH,
    R_INT,
    R_MONEY_DECIMALS,
    R_MONEY_FORMAT,
    R_MONEY_NEGATIVE,
    R_MONEY_RANGE,
    R_MONEY_THOUSANDS,
    R_MONTH_FORMAT,
    R_MONTH_INVALID,
    R_MONTH_NOT_FIRST,
    R_MONTH_NUMERIC,
    R_PAYEE,
    R_PHONE_CHARS,
    R_PHONE_LONG,
    R_PHONE_SHORT,
    R_REQUIRED,
)

TODAY = date(2026, 4, 15)
ITEMS = ("低保金", "临时救助金", "服务类救助")


def make_id(body17: str) -> str:
    return body17 + ric.calc_check_digit(body17 + "0")


ID = make_id("31010519800101123")  # a valid ID
ID_X = make_id("11010519491231002")  # one whose check character is X
LEGACY = "310105800101123"  # 15 digits, born 1980-01-01
ORG = "91310105MA1FL0000" + uscc.calc_check_digit("91310105MA1FL0000")
WRONG = ID[:-1] + ("0" if ID[-1] != "0" else "1")
FW = str.maketrans("0123456789", "０１２３４５６７８９")


def test_fixtures_are_what_they_claim():
    assert ric.is_valid(ID) and ID_X.endswith("X") and uscc.is_valid(ORG)


# --- id18 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ID, ID),
        (f"  {ID}\t", ID),
        (ID_X.lower(), ID_X),
        (ID_X, ID_X),
        (ID.translate(FW), ID),  # full-width digits
        ("'" + ID, ID),  # the apostrophe that forces text in Excel
        (LEGACY, make_id("310105" + "19" + LEGACY[6:])),
    ],
)
def test_id18_accepts(value, expected):
    assert parse.parse_id18(value, today=TODAY) == (expected, None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (WRONG, R_ID_CHECK),
        ("3.10105E+17", R_EXCEL_DIGITS),
        ("3.10105198E17", R_EXCEL_DIGITS),
        ("310105198001010000.0", R_EXCEL_DIGITS),
        (ID[:17], R_ID_LENGTH.format(17)),
        (ID + "1", R_ID_LENGTH.format(19)),
        (ID[:16] + "A" + ID[17], R_ID_CHARS),
        (ID[:17] + "Y", R_ID_CHARS),
        ("31010580010112A", R_ID_CHARS),
        (make_id("31010519800230123"), R_ID_BIRTH),  # 30 February
        (make_id("31010518991231123"), R_ID_BIRTH),  # before 1900
        (make_id("31010520990101123"), R_ID_FUTURE),
        ("310105801301123", R_ID_BIRTH),  # legacy, month 13
    ],
)
def test_id18_rejects(value, reason):
    assert parse.parse_id18(value, today=TODAY) == (None, reason)


def test_id18_region_is_not_a_rule():
    odd_region = make_id("99999919800101123")
    assert parse.parse_id18(odd_region, today=TODAY) == (odd_region, None)


@pytest.mark.parametrize(
    ("value", "numeric", "reason"),
    [
        (ID, True, R_EXCEL_DIGITS),  # an 18-digit number cell has lost digits
        (LEGACY, True, None),  # 15 digits survive as a number
        (ID, False, None),
    ],
)
def test_id18_number_cells(value, numeric, reason):
    assert parse.parse_id18(value, numeric=numeric, today=TODAY)[1] == reason


@pytest.mark.parametrize(
    "word",
    [
        "id18",
        "payee",
        "account",
        "date",
        "month",
        "money",
        "text",
        "enum",
        "phone",
        "address",
        "int",
        "items",
    ],
)
@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000"])
def test_blank_is_null_or_required(word, blank):
    fn = parse.SCALAR_PARSERS[word]
    kw = {"allowed": ITEMS} if word in ("enum", "items") else {}
    assert fn(blank, **kw) == (None, None)
    assert fn(blank, required=True, **kw) == (None, R_REQUIRED)


@given(body=st.from_regex(r"[0-9]{17}", fullmatch=True))
def test_check_digit_agrees_with_stdnum(body):
    assert parse.id18_check_digit(body) == ric.calc_check_digit(body + "0")


birth_dates = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)


@st.composite
def valid_ids(draw, born=birth_dates):
    region = draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return make_id(f"{region}{draw(born):%Y%m%d}{seq}")


@given(id_number=valid_ids(), style=st.sampled_from(["plain", "lower", "spaces", "fullwidth"]))
def test_id18_round_trip(id_number, style):
    written = {
        "plain": id_number,
        "lower": id_number.lower(),
        "spaces": f" {id_number} ",
        "fullwidth": id_number.translate(FW),
    }[style]
    assert parse.parse_id18(written, today=TODAY) == (id_number, None)
    assert ric.calc_check_digit(id_number) == id_number[-1]


@given(id_number=valid_ids(born=st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31))))
def test_legacy_id_upgrades(id_number):
    legacy = id_number[:6] + id_number[8:17]
    assert parse.parse_id18(legacy, today=TODAY) == (id_number, None)


@given(id_number=valid_ids(), last=st.sampled_from("0123456789X"))
def test_id18_check_digit_rule_matches_stdnum(id_number, last):
    candidate = id_number[:17] + last
    value, reason = parse.parse_id18(candidate, today=TODAY)
    assert (reason is None) == (ric.calc_check_digit(candidate) == last)
    assert (reason == R_ID_CHECK) == (ric.calc_check_digit(candidate) != last)


# --- payee --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (ID, (ID, None)),
        (ID_X.lower(), (ID_X, None)),
        (ORG, (ORG, None)),
        (ORG.lower(), (ORG, None)),
        (f" {ORG} ", (ORG, None)),
        (WRONG, (None, R_ID_CHECK)),
        (ORG[:-1] + ("0" if ORG[-1] != "0" else "1"), (None, R_PAYEE)),
        ("3.10105E+17", (None, R_EXCEL_DIGITS)),
        ("某某公司", (None, R_PAYEE)),
    ],
)
def test_payee(value, expected):
    assert parse.parse_payee(value, today=TODAY) == expected


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("1550", 155000),
        ("1550.00", 155000),
        ("1550.5", 155050),
        ("1,550.00", 155000),
        ("¥1,550.00", 155000),
        ("￥1550", 155000),
        ("１５５０．５０", 155050),
        ("  1550 ", 155000),
        ("0.01", 1),
        ("0.00", 0),
        ("1,234,567.89", 123456789),
        ("0", 0),
        ("1550元", 155000),
    ],
)
def test_money_accepts(value, fen):
    assert parse.parse_money(value) == (fen, None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1550.001", R_MONEY_DECIMALS),
        ("12a", R_MONEY_FORMAT),
        ("abc", R_MONEY_FORMAT),
        ("1,55.00", R_MONEY_THOUSANDS),
        ("15,50", R_MONEY_THOUSANDS),
        ("1550,", R_MONEY_THOUSANDS),
        ("1550.", R_MONEY_FORMAT),
        (".5", R_MONEY_FORMAT),
        ("--5", R_MONEY_FORMAT),
        ("-¥-5", R_MONEY_FORMAT),
        ("1.55E+03", R_MONEY_FORMAT),
        ("1 550", R_MONEY_FORMAT),
        ("1" * 15, R_MONEY_RANGE),
    ],
)
def test_money_rejects(value, reason):
    assert parse.parse_money(value) == (None, reason)


# A returned payment is a 退票 row, never a negative amount (contract section 1).
@pytest.mark.parametrize(
    "value",
    [
        "-100",
        "-1550.00",
        "-1,550.00",
        "¥-1,550.00",
        "-¥12.30",
        "－１５５０",
        " -0.01 ",
        "-5元",
        "-0",
        "-0.00",  # a signed zero is no amount a system writes
        "-1,55.00",
        "-1550.001",  # the sign is the first thing wrong
    ],
)
def test_money_rejects_negative_amounts(value):
    assert parse.parse_money(value) == (None, R_MONEY_NEGATIVE)
    assert parse.parse_money(value, numeric=True) == (None, R_MONEY_NEGATIVE)


def test_money_column_rejects_negative_amounts_like_the_scalar_form():
    raw = pl.Series("amount", ["1550.00", "-1550.00", "0", "-0", "¥-12.30", "12.30", None])
    values, reasons = parse.money_column(raw, required=True)
    assert values.to_list() == [155000, None, 0, None, None, 1230, None]
    assert reasons.to_list() == [
        None,
        R_MONEY_NEGATIVE,
        None,
        R_MONEY_NEGATIVE,
        R_MONEY_NEGATIVE,
        None,
        R_REQUIRED,
    ]


@pytest.mark.parametrize(
    ("value", "numeric", "expected"),
    [
        ("1550.4999999999998", True, (155050, None)),  # a binary artefact of a number cell
        ("0.30000000000000004", True, (30, None)),
        ("1550.4999999999998", False, (None, R_MONEY_DECIMALS)),
        ("1550.005", True, (None, R_MONEY_DECIMALS)),
    ],
)
def test_money_number_cells(value, numeric, expected):
    assert parse.parse_money(value, numeric=numeric) == expected


def _written_money(fen: int, style: str) -> str:
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    text = f"{yuan}.{cents:02d}" if cents or style == "plain" else str(yuan)
    grouped = f"{yuan:,}" + (f".{cents:02d}" if cents else "")
    return {
        "plain": sign + text,
        "grouped": sign + grouped,
        "yen": sign + "¥" + grouped,
        "fullwidth": (sign + text).translate(FW).replace("-", "－"),
        "spaced": f"  {sign}￥{text} ",
    }[style]


MONEY_STYLES = st.sampled_from(["plain", "grouped", "yen", "fullwidth", "spaced"])


@given(fen=st.integers(min_value=0, max_value=10**13), style=MONEY_STYLES)
def test_money_round_trip(fen, style):
    assert parse.parse_money(_written_money(fen, style)) == (fen, None)


@given(fen=st.integers(min_value=-(10**13), max_value=-1), style=MONEY_STYLES)
def test_negative_money_is_rejected_in_every_style(fen, style):
    assert parse.parse_money(_written_money(fen, style)) == (None, R_MONEY_NEGATIVE)


# --- date ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-05",
        "2026/3/5",
        "20260305",
        "2026年3月5日",
        "2026-3-5",
        "2026.3.5",
        "2026-03-05 00:00:00",
        "2026-03-05T00:00:00",
        "2026-03-05 00:00:00.000000",
        "2026-03-05 14:30:00",
        " 2026/03/05 ",
        "２０２６年３月５日",
    ],
)
def test_date_accepts(value):
    assert parse.parse_date(value) == (date(2026, 3, 5), None)


@pytest.mark.parametrize(
    ("value", "numeric", "reason"),
    [
        ("2026-02-30", False, R_DATE_INVALID),
        ("20260230", False, R_DATE_INVALID),
        ("2026-13-01", False, R_DATE_INVALID),
        ("46086", False, R_DATE_FORMAT),  # a serial number written as text
        ("60", True, R_DATE_SERIAL_60),
        ("0", True, R_DATE_RANGE),
        ("1800-01-01", False, R_DATE_RANGE),
        ("2026-03-05 25:00:00", False, R_DATE_FORMAT),
        ("2026-03/05", False, R_DATE_FORMAT),
        ("明天", False, R_DATE_FORMAT),
        ("3/5/2026", False, R_DATE_FORMAT),
    ],
)
def test_date_rejects(value, numeric, reason):
    assert parse.parse_date(value, numeric=numeric) == (None, reason)


@pytest.mark.parametrize(
    ("serial", "expected"),
    [
        ("46086", date(2026, 3, 5)),
        ("46086.5", date(2026, 3, 5)),
        ("1", date(1900, 1, 1)),
        ("59", date(1900, 2, 28)),
        ("61", date(1900, 3, 1)),
        ("20260305", date(2026, 3, 5)),
    ],
)
def test_date_serial_numbers(serial, expected):
    assert parse.parse_date(serial, numeric=True) == (expected, None)


def _excel_serial(d: date) -> int:
    return (d - date(1899, 12, 30)).days


@given(
    d=st.dates(min_value=date(1900, 3, 1), max_value=date(2100, 12, 31)),
    style=st.sampled_from(["iso", "slash", "compact", "zh", "dash", "datetime", "serial"]),
)
def test_date_round_trip(d, style):
    written = {
        "iso": d.isoformat(),
        "slash": f"{d.year}/{d.month}/{d.day}",
        "compact": f"{d:%Y%m%d}",
        "zh": f"{d.year}年{d.month}月{d.day}日",
        "dash": f"{d.year}-{d.month}-{d.day}",
        "datetime": f"{d.isoformat()} 00:00:00",
        "serial": str(_excel_serial(d)),
    }[style]
    assert parse.parse_date(written, numeric=style == "serial") == (d, None)


# --- month --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "numeric"),
    [
        ("2026-03", False),
        ("2026/03", False),
        ("2026/3", False),
        ("202603", False),
        ("2026年3月", False),
        ("2026-03-01", False),
        ("2026-03-01 00:00:00", False),
        ("2026.3", False),
        ("202603", True),
        (str(_excel_serial(date(2026, 3, 1))), True),
    ],
)
def test_month_accepts(value, numeric):
    assert parse.parse_month(value, numeric=numeric) == ("2026-03", None)


@pytest.mark.parametrize(
    ("value", "numeric", "reason"),
    [
        ("2026-13", False, R_MONTH_INVALID),
        ("202600", False, R_MONTH_INVALID),
        ("2026-03-05", False, R_MONTH_NOT_FIRST),
        ("2026-02-30", False, R_DATE_INVALID),
        ("2026.1", True, R_MONTH_NUMERIC),
        ("三月", False, R_MONTH_FORMAT),
        ("46082", False, R_MONTH_FORMAT),
        ("1899-12", False, R_DATE_RANGE),
    ],
)
def test_month_rejects(value, numeric, reason):
    assert parse.parse_month(value, numeric=numeric) == (None, reason)


@given(
    year=st.integers(1900, 2100),
    month=st.integers(1, 12),
    style=st.sampled_from(["iso", "slash", "short", "compact", "zh", "first"]),
)
def test_month_round_trip(year, month, style):
    written = {
        "iso": f"{year}-{month:02d}",
        "slash": f"{year}/{month:02d}",
        "short": f"{year}/{month}",
        "compact": f"{year}{month:02d}",
        "zh": f"{year}年{month}月",
        "first": f"{year}-{month:02d}-01",
    }[style]
    assert parse.parse_month(written) == (f"{year}-{month:02d}", None)


# --- phone --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-13812345678", "13812345678"),
        ("86-13812345678", "13812345678"),
        ("86 13812345678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("021-6234 5678", "02162345678"),
        ("(021)62345678", "02162345678"),
        ("（021）6234-5678", "02162345678"),
        ("+86 21 6234 5678", "02162345678"),
        ("62345678", "62345678"),
    ],
)
def test_phone_accepts(value, expected):
    assert parse.parse_phone(value) == (expected, None)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("123456", R_PHONE_SHORT),
        ("1381234567890", R_PHONE_LONG),
        ("138abc45678", R_PHONE_CHARS),
        ("无", R_PHONE_CHARS),
        ("---", R_PHONE_CHARS),
        ("13812345678/13912345678", R_PHONE_CHARS),
    ],
)
def test_phone_rejects(value, reason):
    assert parse.parse_phone(value) == (None, reason)


@st.composite
def phones(draw):
    if draw(st.booleans()):
        number = draw(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
        parts = [number[:3], number[3:7], number[7:]]
        prefix = draw(st.sampled_from(["", "+86 ", "+86", "0086-", "0086", "86-", "86 "]))
        written = prefix + draw(st.sampled_from([" ", "-", ""])).join(parts)
        return number, written
    area = draw(st.from_regex(r"010|02[0-9]|0[3-9][0-9]{2}", fullmatch=True))
    local = draw(st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True))
    style = draw(st.sampled_from(["dash", "parens", "space", "intl"]))
    written = {
        "dash": f"{area}-{local}",
        "parens": f"({area}){local}",
        "space": f"{area} {local[:4]} {local[4:]}",
        "intl": f"+86 {area[1:]} {local}",
    }[style]
    return area + local, written


@given(case=phones())
def test_phone_round_trip(case):
    number, written = case
    assert parse.parse_phone(written) == (number, None)


# --- address ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("上海市长宁区仙霞路100号201室", "仙霞路100号201"),
        ("上海长宁区 仙霞路１００号２０１室", "仙霞路100号201"),
        ("长宁区仙霞路100号201", "仙霞路100号201"),
        ("　仙霞路 100 号 201 室 ", "仙霞路100号201"),
        ("上海市浦东新区世纪大道1号", "浦东新区世纪大道1号"),
        ("室", None),
    ],
)
def test_address(value, expected):
    assert parse.parse_address(value) == (expected, None)


def test_address_expr_matches_the_column_form():
    raw = ["上海市长宁区仙霞路100号201室", None, " 长宁区 天山路１号 "]
    frame = pl.DataFrame({"address": raw}).with_columns(norm=parse.address_expr(pl.col("address")))
    assert frame["norm"].to_list() == ["仙霞路100号201", None, "天山路1号"]


core_addresses = st.text(
    alphabet="仙霞路天山号弄栋单元0123456789-", min_size=1, max_size=20
).filter(lambda s: not s.endswith("室"))


@given(
    core=core_addresses,
    prefix=st.sampled_from(["", "上海市", "上海", "长宁区", "上海市长宁区", "上海 长宁区 "]),
    room=st.sampled_from(["", "室"]),
    fullwidth=st.booleans(),
)
def test_address_round_trip(core, prefix, room, fullwidth):
    written = prefix + (core.translate(FW) if fullwidth else core) + room
    assert parse.parse_address(written) == (core, None)


# --- account ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "numeric", "expected"),
    [
        ("6222021234567890123", False, ("6222021234567890123", None)),
        ("6222 0212 3456 7890 123", False, ("6222021234567890123", None)),
        ("6222-0212-3456-7890", False, ("6222021234567890", None)),
        ("1234567890", True, ("1234567890", None)),  # 10 digits survive a number cell
        ("6222021234567889920", True, (None, R_EXCEL_DIGITS)),
        ("6.22202E+18", False, (None, R_EXCEL_DIGITS)),
        ("6222021234567890000.0", False, (None, R_EXCEL_DIGITS)),
        ("123456789", False, (None, R_ACCOUNT_LENGTH.format(9))),
        ("1" * 31, False, (None, R_ACCOUNT_LENGTH.format(31))),
        ("6222a0212345678", False, (None, R_ACCOUNT_CHARS)),
    ],
)
def test_account(value, numeric, expected):
    assert parse.parse_account(value, numeric=numeric) == expected


@given(digits=st.from_regex(r"[0-9]{10,30}", fullmatch=True), sep=st.sampled_from(["", " ", "-"]))
def test_account_round_trip(digits, sep):
    written = sep.join(digits[i : i + 4] for i in range(0, len(digits), 4))
    assert parse.parse_account(written) == (digits, None)


# --- text, enum, int, items ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "value", "kw", "expected"),
    [
        (parse.parse_text, "  王芳 ", {}, ("王芳", None)),
        (parse.parse_text, "2026031000000012345", {}, ("2026031000000012345", None)),
        (parse.parse_text, "2026031000000012288", {"numeric": True}, (None, R_EXCEL_DIGITS)),
        (parse.parse_text, "20260001", {"numeric": True}, ("20260001", None)),
        (parse.parse_enum, " 在册 ", {"allowed": schema.CASE_STATUSES}, ("在册", None)),
        (
            parse.parse_enum,
            "在办",
            {"allowed": schema.CASE_STATUSES},
            (None, "不是允许的取值（允许：申请中、在册、终止、未通过）"),
        ),
        (parse.parse_int, "12", {}, (12, None)),
        (parse.parse_int, "12.0", {}, (12, None)),
        (parse.parse_int, "-3", {}, (-3, None)),
        (parse.parse_int, "１２", {}, (12, None)),
        (parse.parse_int, "12.5", {}, (None, R_INT)),
        (parse.parse_int, "十二", {}, (None, R_INT)),
        (parse.parse_items, "低保金；临时救助金", {"allowed": ITEMS}, ("低保金;临时救助金", None)),
        (parse.parse_items, " 服务类救助 ", {"allowed": ITEMS}, ("服务类救助", None)),
        (
            parse.parse_items,
            "低保金;理发",
            {"allowed": ITEMS},
            (None, "服务项目不在目录中：理发（目录：低保金、临时救助金、服务类救助）"),
        ),
    ],
)
def test_small_words(fn, value, kw, expected):
    assert fn(value, **kw) == expected


def test_catalogue_enums_come_from_the_catalogue():
    catalogue = pl.DataFrame({"assistance_type": ["甲", "乙"], "item": ["甲金", "乙金"]})
    cases = schema.TABLES["cases"]
    providers = schema.TABLES["providers"]
    assert parse.allowed_values(cases.column("assistance_type"), catalogue) == ("甲", "乙")
    assert parse.allowed_values(providers.column("items"), catalogue) == ("甲金", "乙金")
    assert parse.allowed_values(cases.column("status"), catalogue) == schema.CASE_STATUSES


def test_every_type_word_has_both_forms():
    assert set(parse.SCALAR_PARSERS) == set(parse.COLUMN_PARSERS) == set(schema.TYPE_WORDS)


# --- column form == scalar form -----------------------------------------------------------------

# Junk near the accepted forms reaches more branches than arbitrary text alone.
near = st.lists(
    st.sampled_from(
        list("0123456789xX.,-/ +()¥￥元年月日'eE室上海市长宁区１２３")
        + ["\u3000", "\t", "８６", "00", "86", "+86 ", "上海市"]
    ),
    max_size=20,
).map("".join)
# Canonical forms, valid or not, take the column functions' vectorised fast paths.
canonical = st.one_of(
    st.dates(min_value=date(1800, 1, 1), max_value=date(2200, 12, 31)).map(date.isoformat),
    st.from_regex(r"[0-9]{4}-[0-9]{2}(-[0-9]{2})?", fullmatch=True),
    st.from_regex(r"-?[0-9]{1,16}(\.[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"(0086|86)?[0-9]{5,13}", fullmatch=True),
    st.tuples(valid_ids(), st.sampled_from("0123456789X")).map(lambda t: t[0][:17] + t[1]),
    st.from_regex(r"[0-9]{6}(18|19|20|21)[0-9]{9}[0-9X]", fullmatch=True),
)
cells = st.one_of(
    st.none(),
    st.text(max_size=24),
    near,
    valid_ids(),
    canonical,
    st.sampled_from(
        [
            ID,
            ID_X.lower(),
            LEGACY,
            ORG,
            ORG.lower(),
            WRONG,
            "46086",
            "60",
            "2026-03-01",
            "1,550.00",
            "+86 21 6234 5678",
            "低保金；理发",
            "在册",
        ]
    ),
)
column_cases = st.lists(st.tuples(cells, st.booleans()), max_size=12)


@pytest.mark.parametrize("word", schema.TYPE_WORDS)
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=column_cases, required=st.booleans())
def test_column_equals_scalar(word, required, case):
    kw = {"required": required}
    if word in ("enum", "items"):
        kw["allowed"] = ITEMS + ("在册",)
    if word in ("id18", "payee"):
        kw["today"] = TODAY
    raw = pl.Series("c", [v for v, _ in case], dtype=pl.String)
    numeric = pl.Series([n for _, n in case], dtype=pl.Boolean)
    values, reasons = parse.COLUMN_PARSERS[word](raw, numeric=numeric, **kw)
    expected = [parse.SCALAR_PARSERS[word](v, numeric=n, **kw) for v, n in case]
    assert list(zip(values.to_list(), reasons.to_list(), strict=True)) == expected
    assert values.name == reasons.name == "c"


@pytest.mark.parametrize("word", schema.TYPE_WORDS)
@settings(max_examples=50, deadline=None)
@given(value=st.one_of(st.none(), st.text(), near), numeric=st.booleans())
def test_junk_never_raises(word, value, numeric):
    kw = {"allowed": ITEMS} if word in ("enum", "items") else {}
    result, reason = parse.SCALAR_PARSERS[word](value, numeric=numeric, **kw)
    assert (result is None) or (reason is None)
    assert reason is None or isinstance(reason, str)


def test_column_keeps_order_and_length_with_repeats():
    raw = pl.Series("id", [ID, None, WRONG, ID, " ", ID_X.lower()] * 3)
    values, reasons = parse.id18_column(raw, today=TODAY, required=True)
    assert values.to_list() == [ID, None, None, ID, None, ID_X] * 3
    assert reasons.to_list() == [None, R_REQUIRED, R_ID_CHECK, None, R_REQUIRED, None] * 3


def test_id18_uses_today_for_future_births():
    born_tomorrow = make_id(f"310105{TODAY + timedelta(days=1):%Y%m%d}123")
    assert parse.parse_id18(born_tomorrow, today=TODAY) == (None, R_ID_FUTURE)
    assert parse.parse_id18(born_tomorrow, today=TODAY + timedelta(days=1))[1] is None
