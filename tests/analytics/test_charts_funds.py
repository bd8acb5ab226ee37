"""The 资金比对 figures, inspected as data: no browser."""

from __future__ import annotations

import json

import plotly.graph_objects as go
import polars as pl
import pytest

from analytics.charts import funds as charts

BY_CHECK = pl.DataFrame(
    {
        "check_id": ["duplicate_payment", "amount_mismatch", "paid_after_death"],
        "title": ["重复拨付", "金额不符", "身故后仍拨付"],
        "severity": ["高", "中", "高"],
        "findings": [2, 1, 0],
        "amount_fen": [310000, 20050, 0],
    }
)
BY_STREET = pl.DataFrame(
    {
        "street": ["江苏路街道", "华阳路街道"],
        "findings": [8, 2],
        "amount_fen": [680000, 310001],
    }
)
COUNTS = pl.DataFrame(
    {"street": ["江苏路街道", "华阳路街道"], "重复拨付": [0, 2], "金额不符": [1, 0]}
)
MONEY = pl.DataFrame(
    {"street": ["江苏路街道", "华阳路街道"], "重复拨付": [0, 310000], "金额不符": [20050, 0]}
)


@pytest.mark.parametrize(
    ("build", "frame", "labels", "counts", "yuan", "axis"),
    [
        (
            charts.check_bars,
            BY_CHECK,
            ["重复拨付", "金额不符", "身故后仍拨付"],
            [2, 1, 0],
            [3100.0, 200.5, 0.0],
            "检查项",
        ),
        (
            charts.street_bars,
            BY_STREET,
            ["江苏路街道", "华阳路街道"],
            [8, 2],
            [6800.0, 3100.01],
            "街镇",
        ),
    ],
)
def test_bars_show_count_and_money_per_category(build, frame, labels, counts, yuan, axis):
    fig = build(frame)

    assert isinstance(fig, go.Figure)
    count, money = fig.data
    assert (count.type, money.type) == ("bar", "bar")
    assert (count.name, money.name) == ("发现数", "涉及金额（元）")
    assert count.orientation == money.orientation == "h"
    assert list(count.y) == list(money.y) == labels
    assert list(count.x) == counts
    assert list(money.x) == pytest.approx(yuan)
    assert count.xaxis != money.xaxis  # two panels side by side
    assert fig.layout.yaxis.title.text == axis
    assert fig.layout.yaxis.autorange == "reversed"  # first row on top, as in the table
    assert "发现数" in fig.layout.title.text and "涉及金额" in fig.layout.title.text


@pytest.mark.parametrize("build", [charts.check_bars, charts.street_bars])
def test_bars_of_nothing_say_so(build):
    fig = build(BY_CHECK.head(0) if build is charts.check_bars else BY_STREET.head(0))
    assert fig.data == ()
    assert fig.layout.annotations[0].text == charts.EMPTY


def test_heatmap_is_street_by_check_with_money_in_the_hover():
    fig = charts.street_check_heatmap(COUNTS, MONEY)

    (heat,) = fig.data
    assert heat.type == "heatmap"
    assert list(heat.y) == ["江苏路街道", "华阳路街道"]
    assert list(heat.x) == ["重复拨付", "金额不符"]
    assert [list(r) for r in heat.z] == [[0, 1], [2, 0]]
    assert [list(r) for r in heat.customdata] == [[0.0, 200.5], [3100.0, 0.0]]
    assert "涉及金额" in heat.hovertemplate and "街镇" in heat.hovertemplate
    assert [list(r) for r in heat.text] == [["", "1"], ["2", ""]]  # zeros left blank
    assert "街镇" in fig.layout.title.text and "检查项" in fig.layout.title.text


def test_heatmap_without_money_leaves_it_out_of_the_hover():
    (heat,) = charts.street_check_heatmap(COUNTS).data
    assert heat.customdata is None
    assert "涉及金额" not in heat.hovertemplate


@pytest.mark.parametrize("counts", [COUNTS.head(0), COUNTS.select("street")])
def test_heatmap_of_nothing_says_so(counts):
    fig = charts.street_check_heatmap(counts)
    assert fig.data == ()
    assert fig.layout.annotations[0].text == charts.EMPTY


@pytest.mark.parametrize(
    "fig",
    [
        charts.check_bars(BY_CHECK),
        charts.street_bars(BY_STREET),
        charts.street_check_heatmap(COUNTS, MONEY),
        charts.street_check_heatmap(COUNTS.head(0)),
    ],
)
def test_figures_serialise_with_their_chinese_labels(fig):
    title = json.loads(fig.to_json())["layout"]["title"]["text"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in title)
