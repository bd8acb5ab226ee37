import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import schema
from analytics.masking import (
    SENSITIVE_COLUMNS,
    mask_account,
    mask_account_expr,
    mask_by_column,
    mask_id,
    mask_id_expr,
    mask_phone,
    mask_phone_expr,
    mask_rejects,
)


@pytest.mark.parametrize(
    ("masker", "value", "expected"),
    [
        (mask_id, "31010519900101123X", "310105********123X"),
        (mask_id, " 310105900101123 ", "310105*****1123"),  # legacy 15 digits
        (mask_id, "3.10105E+17", "3.1010*E+17"),  # what Excel leaves of an ID
        (mask_account, "6222021234561929", "6222 **** **** 1929"),
        (mask_account, "6222-0212-3456-1929-123", "6222 **** **** *** 9123"),
        (mask_phone, "13812345678", "138****5678"),
        (mask_phone, "138 1234-5678", "138****5678"),
        (mask_id, "1234", "****"),
        (mask_phone, "", ""),
        (mask_account, None, None),
    ],
)
def test_examples(masker, value, expected):
    assert masker(value) == expected


digits = st.text(alphabet="0123456789", min_size=0, max_size=40)
raw = st.text(alphabet=st.sampled_from("0123456789Xx -+.E\u3000\t"), max_size=40)
KEEP = {mask_id: (6, 4), mask_account: (4, 4), mask_phone: (3, 4)}


@settings(max_examples=300)
@given(value=digits, masker=st.sampled_from(list(KEEP)))
def test_hidden_digits_never_shown_and_length_kept(value, masker):
    head, tail = KEEP[masker]
    out = masker(value).replace(" ", "")
    assert len(out) == len(value)
    if len(value) <= head + tail:
        assert set(out) <= {"*"}
    else:
        assert out == value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


@settings(max_examples=200)
@given(value=digits.filter(lambda v: len(v) > 8))
def test_account_stars_come_in_groups_of_four(value):
    groups = mask_account(value).split(" ")
    stars = groups[1:-1]
    assert groups[0] == value[:4] and groups[-1] == value[-4:]
    assert all(len(g) == 4 for g in stars[:-1]) and 1 <= len(stars[-1]) <= 4
    assert set("".join(stars)) == {"*"}


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.one_of(st.none(), raw), max_size=20))
def test_expressions_equal_the_python_maskers(values):
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    out = frame.select(
        id=mask_id_expr("v"), account=mask_account_expr(pl.col("v")), phone=mask_phone_expr("v")
    )
    assert out["id"].to_list() == [mask_id(v) for v in values]
    assert out["account"].to_list() == [mask_account(v) for v in values]
    assert out["phone"].to_list() == [mask_phone(v) for v in values]


def test_sensitive_columns_cover_every_id_account_and_phone_header():
    for table in schema.TABLES.values():
        for column in table.columns:
            sensitive = column.type in ("id18", "payee", "account", "phone")
            for header in column.headers:
                assert (header in SENSITIVE_COLUMNS) == sensitive, (table.name, header)


def test_mask_rejects_masks_by_column_and_leaves_other_values():
    rejects = pl.DataFrame(
        {
            "file": ["persons.csv"] * 6,
            "row": [2, 3, 4, 5, 6, 7],
            "column": ["身份证号", "account_no", "phone", "case_id", None, "amount"],
            "value": [
                "31010519900101123X",
                "6222021234561929",
                "13812345678",
                "C2026000123",
                "310105199001011234",
                "1,5x0",
            ],
            "reason": ["校验位错误"] * 6,
        },
        schema=schema.REJECTS_SCHEMA,
    )
    out = mask_rejects(rejects)
    assert out["value"].to_list() == [
        "310105********123X",
        "6222 **** **** 1929",
        "138****5678",
        "C2026000123",
        "310105********1234",
        "1,5x0",
    ]
    assert out.drop("value").equals(rejects.drop("value"))


def test_mask_by_column_keeps_nulls():
    frame = pl.DataFrame(
        {"c": ["身份证号", None], "v": [None, None]}, schema={"c": pl.String, "v": pl.String}
    )
    assert frame.select(mask_by_column("v", "c")).to_series().to_list() == [None, None]


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        # headers the reader accepts in any case or width are the same columns here
        ("Account_No", "6222021234561929", "6222 **** **** 1929"),
        ("PHONE", "13812345678", "138****5678"),
        ("ＩＤ_ＮＵＭＢＥＲ", "31010519900101123X", "310105********123X"),
        (" 身份证号 ", "31010519900101123X", "310105********123X"),
        # an ID number or account typed into a column that holds neither is masked all the same
        ("amount", "310105199001011234", "310****1234"),
        ("金额", "卡号6222021234561929有误", "卡号622****1929有误"),
        ("name", "李明 13812345678", "李明 138****5678"),
        # dates and amounts are no identifiers
        ("pay_date", "20261305", "20261305"),
        ("txn_id", "T202603000001234", "T202603000001234"),  # record numbers are no identifiers
        ("amount", "1234567.89", "1234567.89"),
    ],
)
def test_mask_rejects_follows_the_reader_and_masks_identifiers_anywhere(column, value, expected):
    rejects = pl.DataFrame(
        {"file": ["f.csv"], "row": [2], "column": [column], "value": [value], "reason": ["x"]},
        schema=schema.REJECTS_SCHEMA,
    )
    assert mask_rejects(rejects)["value"].to_list() == [expected]


BAD_ID = "31010519900101123" + "0"  # the check digit is X


def test_case_variant_headers_are_masked_as_the_reader_reads_them(tmp_path):
    from analytics.reader import read_table_file

    path = tmp_path / "persons.csv"
    path.write_text(
        f"ID_Number,Name,Household_ID,Street,Phone\n{BAD_ID},李明,H1,华阳路街道,1381234567X\n",
        encoding="utf-8",
    )
    _, rejects, _ = read_table_file(path, "persons")
    shown = mask_rejects(rejects)["value"].to_list()
    assert rejects.height == 2
    assert BAD_ID not in shown and "1381234567X" not in shown
