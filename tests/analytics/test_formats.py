"""One way to write each kind of figure (analytics/formats.py), on pages and in Excel."""

from __future__ import annotations

import io

import openpyxl
import polars as pl
import pytest

from analytics import export, formats


@pytest.mark.parametrize(
    "fn, value, text",
    [
        (formats.money, 804530, "804,530.00"),
        (formats.money, 4472290.5, "4,472,290.50"),
        (formats.money_fen, 80453000, "804,530.00"),
        (formats.money_fen, -155, "-1.55"),
        (formats.count, 124.0, "124"),
        (formats.count, 404190, "404,190"),
        (formats.score, 89, "89.0"),
        (formats.score, 89.94, "89.9"),
        (formats.rate, 1.0, "100.0%"),
        (formats.rate, 0.0, "0.0%"),
        (formats.per_thousand, 0.0, "0.0"),
    ],
)
def test_each_kind_is_written_one_way(fn, value, text):
    assert fn(value) == text


@pytest.mark.parametrize(
    "fn",
    [
        formats.money,
        formats.money_fen,
        formats.count,
        formats.score,
        formats.rate,
        formats.per_thousand,
    ],
)
def test_nothing_is_a_dash_never_none(fn):
    assert fn(None) == "—"


@pytest.mark.parametrize(
    "header, kind",
    [
        ("涉及金额（元）", formats.MONEY),
        ("实发金额(元)", formats.MONEY),
        ("合规率（%）", formats.RATE),
        ("综合得分（分）", formats.SCORE),
        ("资金线索率（每千笔）", formats.PER_THOUSAND),
        ("线索（条）", formats.COUNT),
        ("线索数", formats.COUNT),
        ("户数", formats.COUNT),
        ("街镇", None),
        ("身份证号", None),
        ("救助编号", None),
    ],
)
def test_a_column_says_its_kind_by_its_unit(header, kind):
    assert formats.kind_of(header) == kind


def test_excel_money_counts_scores_and_rates_carry_number_formats():
    frame = pl.DataFrame(
        {
            "街镇": ["华阳路街道"],
            "涉及金额（元）": [804530.0],
            "线索数": [1376],
            "综合得分（分）": [89.0],
            "合规率（%）": [100.0],
            "其他": [1.25],
        }
    )
    book = openpyxl.load_workbook(io.BytesIO(export.excel_bytes({"表": frame})))
    sheet = book["表"]
    header = [c.value for c in sheet[1]]
    row = {h: c for h, c in zip(header, sheet[2], strict=True)}
    assert (
        row["涉及金额（元）"].value == 804530 and row["涉及金额（元）"].number_format == "#,##0.00"
    )
    assert row["线索数"].number_format == "#,##0"
    assert row["综合得分（分）"].number_format == "0.0"
    assert row["合规率（%）"].number_format == '0.0"%"'
    assert row["其他"].number_format == "#,##0.00"
    assert row["街镇"].data_type == "s"


def test_grid_formats_cover_numeric_columns_with_a_unit_only():
    frame = pl.DataFrame({"涉及金额（元）": [1.5], "线索数": [3], "街镇": ["x"], "值": [1.0]})
    assert formats.grid_formats(frame) == {"涉及金额（元）": "%,.2f", "线索数": "%,d"}


def test_money_axis_ticks_are_in_wan():
    ticks, labels = formats.axis_wan([0, 4_472_290])
    assert ticks[0] == 0 and ticks[-1] >= 4_472_290
    assert labels[0] == "0" and all(label.endswith("万") for label in labels[1:])


def test_a_money_axis_has_one_unit():
    ticks, labels = formats.axis_wan([0, 15_000])
    assert labels == ["0", "0.5万", "1.0万", "1.5万"]
    assert formats.axis_wan([0, 900])[1][-1] == "1,000"


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        (0, "0.00"),
        (5, "0.05"),
        (155000, "1,550.00"),
        (123456789012, "1,234,567,890.12"),
        (-20000, "-200.00"),
    ],
)
def test_money_in_fen_is_written_exactly(fen, text):
    assert formats.money_fen(fen) == text


def test_a_value_is_written_as_its_kind_says():
    assert formats.text(formats.MONEY, 804530) == "804,530.00"
    assert formats.text(formats.COUNT, 124.0) == "124"
    assert formats.text(formats.RATE, 100.0) == "100.0%"  # a rate column holds percent values
    assert formats.text(None, "华阳路街道") == "华阳路街道"
    assert formats.text(formats.SCORE, None) == "—"
