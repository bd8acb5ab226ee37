"""The funds benchmark compares like with like: on a small district, the DuckDB and pandas peers
find exactly what the project's Polars checks find (same keys, same money at risk), check by
check, on the benchmark's synthetic district and on the project generator's district."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import polars as pl
import pytest

from analytics.model import ReadResult
from analytics.pipeline import make_drop
from analytics.reader import read_drop
from analytics.schema import REJECTS_SCHEMA
from checks.registry import select

BENCH = Path(__file__).resolve().parents[2] / "bench" / "funds"
SPECS = {spec.check_id: spec for spec in select(["funds"])}


def _load(name: str):
    """bench/ is a folder of scripts, not an installed package: load its modules by path."""
    key = f"bench_funds_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


data = _load("data")
peers_duckdb = _load("peers_duckdb")
peers_pandas = _load("peers_pandas")


def _synthetic(tmp: Path):
    tables = data.build_tables(1500, seed=3)
    return ReadResult(
        tables=tables,
        rejects=pl.DataFrame(schema=REJECTS_SCHEMA),
        files=[],
        ignored=[],
        missing_optional=[],
    )


def _generated(tmp: Path):
    from analytics.generate import generate

    generate(tmp / "drop", households=1500, seed=5, fmt="parquet")
    return read_drop(tmp / "drop")


def _found(frame: pl.DataFrame, keys: tuple[str, ...]) -> set[tuple]:
    return set(frame.select(*keys, "amount_fen").iter_rows())


@pytest.fixture(scope="module", params=[_synthetic, _generated], ids=["synthetic", "generator"])
def district(request, tmp_path_factory):
    """(name, read result) of each district."""
    return request.param.__name__.strip("_"), request.param(tmp_path_factory.mktemp("funds"))


@pytest.fixture(scope="module")
def found(district):
    """check_id -> {engine: set of (key columns..., amount_fen)}."""
    _, read = district
    drop = make_drop(read)
    con = peers_duckdb.connect(read.tables, drop.catalogue, threads=2)
    duck = peers_duckdb.run_funds(con, drop.settings)
    pand = peers_pandas.run_funds(peers_pandas.frames(read.tables, drop.catalogue), drop.settings)
    return {
        check_id: {
            "polars": _found(spec.fn(drop).collect(), spec.keys),
            "duckdb": _found(pl.from_arrow(duck[check_id]), spec.keys),
            "pandas": _found(pl.from_pandas(pand[check_id]), spec.keys),
        }
        for check_id, spec in SPECS.items()
    }


def test_peers_cover_every_funds_check():
    assert set(peers_duckdb.CHECKS) == set(SPECS)
    assert set(peers_pandas.CHECK_IDS) == set(SPECS)


@pytest.mark.parametrize("check_id", list(SPECS))
@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_peer_finds_what_polars_finds(found, check_id, engine):
    polars_found = found[check_id]["polars"]
    assert polars_found, f"{check_id} found nothing: the district plants no such defect"
    assert found[check_id][engine] == polars_found


def test_synthetic_drop_reads_back_unchanged(tmp_path):
    tables = data.build_tables(300, seed=2)
    read = read_drop(data.write_drop(tables, tmp_path / "drop"))
    assert read.rejects.height == 0
    assert set(read.tables) == set(tables)
    for name, frame in tables.items():
        assert read.tables[name].select(frame.columns).equals(frame), name


def _after_termination(tables: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Successful case payments in a month after their case's termination, with what the
    business system holds for their case, month and item: ``back_only`` (every row 补发; null
    without any row) and ``amounts``."""
    key = ["case_id", "month", "item"]
    terminated = tables["cases"].filter(pl.col("termination_date").is_not_null())
    ent = (
        tables["entitlements"]
        .group_by(key)
        .agg((pl.col("kind") == "补发").all().alias("back_only"), pl.col("amount").alias("amounts"))
    )
    return (
        tables["ledger"]
        .filter(pl.col("status") == "成功", pl.col("case_id").is_not_null())
        .join(terminated.select("case_id", "termination_date"), on="case_id")
        .filter(pl.col("month") > pl.col("termination_date").dt.strftime("%Y-%m"))
        .join(ent, on=key, how="left")
    )


def test_districts_hold_back_pay_after_termination(district, found):
    """Both districts pay terminated cases after the termination as back pay held as 补发 only
    with the paid amount, which is no finding; the benchmark's own district also pays after the
    termination against back pay of another amount, a regular row and no row at all, which are
    findings. The peers are held to the exemption, not only to the termination date."""
    name, read = district
    rows = _after_termination(read.tables)
    exempt = pl.col("back_only").fill_null(False) & pl.col("amounts").list.contains(
        pl.col("amount")
    )
    fired = {txn for txn, _ in found["paid_after_termination"]["polars"]}
    back_pay = set(rows.filter(exempt)["txn_id"])
    assert back_pay and not back_pay & fired
    if name == "synthetic":
        kinds = {
            "no entitlement": pl.col("back_only").is_null(),
            "regular row": ~pl.col("back_only"),
            "back pay of another amount": pl.col("back_only") & ~exempt,
        }
        for kind, rule in kinds.items():
            assert set(rows.filter(rule)["txn_id"]) & fired, kind
