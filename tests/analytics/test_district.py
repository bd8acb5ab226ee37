"""The district is data (data/district.toml): loaded and checked, and everything that names the
district or a street office reads it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from analytics import district, schema

ROOT = Path(__file__).resolve().parents[2]

CHANGNING = (
    "华阳路街道",
    "江苏路街道",
    "新华路街道",
    "周家桥街道",
    "天山路街道",
    "仙霞新村街道",
    "虹桥街道",
    "程家桥街道",
    "北新泾街道",
    "新泾镇",
)

OTHER = textwrap.dedent("""
    [district]
    name = "示例区"
    city = "示例市"
    issuer = "示例区民政局"
    office = "区民政局"
    joint_office = "示例区社会救助联席会议办公室"
    basis = "《示例市社会救助办法》"

    [[streets]]
    name = "东风街道"
    short = "东风"

    [[streets]]
    name = "西湖街道"
    short = "西湖"

    [[streets]]
    name = "南山镇"
""")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "district.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_is_changning_and_the_schema_reads_it():
    d = district.load()
    assert d.name == "长宁区" and d.issuer == "长宁区民政局" and d.office == "区民政局"
    assert d.street_names == CHANGNING
    assert schema.STREETS == CHANGNING and schema.DISTRICT_OFFICE == "区民政局"
    assert d.short("仙霞新村街道") == "仙霞" and d.short("区民政局") == "区民政局"
    # every street column's rule is the district's list
    rules = {
        (t, c.name): c.values
        for t, table in schema.TABLES.items()
        for c in table.columns
        if c.name == "street"
    }
    assert rules and all(set(CHANGNING) <= set(values) for values in rules.values())


def test_another_district_loads_with_short_names_defaulting_to_the_name(tmp_path):
    d = district.load(write(tmp_path, OTHER))
    assert d.street_names == ("东风街道", "西湖街道", "南山镇")
    assert d.short("南山镇") == "南山镇" and d.short("东风街道") == "东风"
    assert d.address_prefix == "(?:示例市?示例区|示例区|示例市?)?"


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda t: t.replace('name = "西湖街道"', 'name = "东风街道"'),
            ["第 2 个街镇", "东风街道", "重复"],
        ),
        (lambda t: t.replace('short = "西湖"', 'short = "东风"'), ["第 2 个街镇", "简称", "重复"]),
        (lambda t: t.replace('office = "区民政局"', 'office = "南山镇"'), ["区级单位", "南山镇"]),
        (lambda t: t.replace('issuer = "示例区民政局"', 'issuer = ""'), ["[district]", "issuer"]),
        (lambda t: t.replace('name = "南山镇"', 'name = " "'), ["第 3 个街镇", "name"]),
        (lambda t: t.split("[[streets]]")[0], ["没有列出任何街镇"]),
        (lambda t: t.replace("[district]", "[area]"), ["缺少 [district]"]),
        (lambda t: t.replace('name = "示例区"', 'name = "示例区'), ["格式有误"]),
    ],
)
def test_a_wrong_file_is_refused_naming_the_entry(tmp_path, change, words):
    path = write(tmp_path, change(OTHER))
    with pytest.raises(district.DistrictError) as caught:
        district.load(path)
    message = str(caught.value)
    assert "district.toml" in message
    for word in words:
        assert word in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(district.DistrictError, match="找不到区划设置文件"):
        district.load(tmp_path / "nope.toml")


def test_another_district_end_to_end(tmp_path):
    """Under another district's file, and no code change: the generator writes its street
    offices, the reader accepts them and rejects Changning's under the street rule, the checks
    run, and the reports carry its name and issuer."""
    path = write(tmp_path, OTHER)
    script = textwrap.dedent(f"""
        import polars as pl
        from analytics import schema, parse
        from analytics.generate import generate
        from analytics.reader import read_drop
        from analytics.pipeline import run_read
        from analytics import report
        from analytics.views import dishonesty
        drop = {str(tmp_path / "drop")!r}
        generate(drop, households=2000, seed=3)
        persons = pl.read_csv(drop + "/persons.csv", infer_schema=False)
        assert set(persons["street"].unique()) <= set(schema.STREETS), persons["street"].unique()
        read = read_drop(drop)
        assert read.rejects.filter(pl.col("column").str.contains("街镇|所属单位")).height == 0
        out = run_read(read)
        assert set(out.findings["street"].drop_nulls().unique()) <= {{*schema.STREETS, "区民政局"}}
        assert set(out.indicators["street"].unique()) == {{"全区", *schema.STREETS}}
        assert report.DISTRICT_NAME == "示例区" and report.ISSUER == "示例区民政局"
        assert dishonesty.PUBLISHER == "示例区社会救助联席会议办公室"
        assert "《示例市社会救助办法》" in dishonesty.PUBLICATION_NOTE
        assert (
            parse.parse_address("示例市示例区东风路1号101室")[0]
            == parse.parse_address("东风路1号101")[0]
        )
        # A drop naming a Changning street office is refused by the street rule
        p = persons.with_columns(pl.lit("华阳路街道").alias("street"))
        p.write_csv(drop + "/persons.csv")
        bad = read_drop(drop).rejects
        assert bad.filter(pl.col("value") == "华阳路街道").height > 0, bad
        print("OK")
    """)
    env = {**os.environ, "AIDWATCH_DISTRICT_FILE": str(path)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("OK")


def test_the_file_is_read_from_the_reference_data_folder(tmp_path, monkeypatch):
    write(tmp_path, OTHER)
    monkeypatch.delenv(district.ENV, raising=False)
    monkeypatch.setenv("AIDWATCH_DATA_DIR", str(tmp_path))
    assert district.default_path() == tmp_path / "district.toml"
    assert district.load().name == "示例区"
    other = tmp_path / "elsewhere.toml"
    other.write_text(OTHER.replace("示例区", "另一区"), encoding="utf-8")
    monkeypatch.setenv(district.ENV, str(other))
    assert district.load().name == "另一区"


def test_a_run_records_the_district_with_its_reference_data():
    from analytics import tracking

    bundle = tracking.reference_bundle()
    assert "district.toml" in bundle and "长宁区民政局" in bundle["district.toml"]
