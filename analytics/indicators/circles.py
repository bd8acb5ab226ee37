"""The four circles of the low-income population: the rules of data/circles.toml, and the circle
of every household known to the district."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from analytics import reference
from analytics.model import Drop
from analytics.schema import STREETS


class CircleRulesError(ValueError):
    """data/circles.toml cannot be used; the message says what to fix, in Chinese."""


RULE_KEYS = {"status", "assistance_type", "within_window"}
WINDOW_FIELDS = ("decided_date", "termination_date", "active")


@dataclass(frozen=True)
class Circle:
    number: int
    name: str
    label: str
    description: str
    rules: tuple[dict, ...]  # each: status, assistance_type (tuples or None), within_window
    rest: bool


def load_circles(path: Path | None = None) -> tuple[int, tuple[Circle, ...]]:
    """(window_years, circles) from data/circles.toml, validated.

    A rule may look only at a household's cases (status, assistance type, a date inside the
    window); any other key, such as hukou, gender, age or disability, is refused."""
    path = path or reference.data_dir() / "circles.toml"
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    where = f"圈层规则文件 {path.name}"
    window = raw.get("window_years")
    if not isinstance(window, int) or window < 1:
        raise CircleRulesError(f"{where}：window_years 应为正整数（年）。")
    circles = []
    for i, c in enumerate(raw.get("circle", []), start=1):
        rest = bool(c.get("rest", False))
        rules = []
        for rule in c.get("rule", []):
            unknown = set(rule) - RULE_KEYS
            if unknown:
                raise CircleRulesError(
                    f"{where}：第{i}个圈层的规则含不允许的字段 {'、'.join(sorted(unknown))}；"
                    f"规则只能使用 {'、'.join(sorted(RULE_KEYS))}"
                    "（不得使用户籍、性别、年龄或残疾等个人属性）。"
                )
            if rule.get("within_window") not in (None, *WINDOW_FIELDS):
                raise CircleRulesError(
                    f"{where}：第{i}个圈层的 within_window 只能是 {'、'.join(WINDOW_FIELDS)}。"
                )
            rules.append(
                {
                    "status": tuple(rule["status"]) if "status" in rule else None,
                    "assistance_type": (
                        tuple(rule["assistance_type"]) if "assistance_type" in rule else None
                    ),
                    "within_window": rule.get("within_window"),
                }
            )
        if rest == bool(rules):
            raise CircleRulesError(
                f"{where}：第{i}个圈层应当或写规则（[[circle.rule]]），或写 "
                "rest = true，二者只取其一。"
            )
        circles.append(
            Circle(
                int(c["number"]),
                c["name"],
                c.get("label", ""),
                c.get("description", ""),
                tuple(rules),
                rest,
            )
        )
    if (
        [c.number for c in circles] != [1, 2, 3, 4]
        or not circles[-1].rest
        or any(c.rest for c in circles[:-1])
    ):
        raise CircleRulesError(
            f"{where}：应依次列出第1至第4圈层，且只有最后一个圈层写 rest = true。"
        )
    return window, tuple(circles)


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _rule_expr(rule: dict, start: date, as_of: date) -> pl.Expr:
    cond = pl.lit(True)
    if rule["status"] is not None:
        cond &= pl.col("status").is_in(list(rule["status"]))
    if rule["assistance_type"] is not None:
        cond &= pl.col("assistance_type").is_in(list(rule["assistance_type"]))
    field = rule["within_window"]
    if field == "active":
        cond &= (pl.col("decided_date") <= as_of) & (
            pl.col("termination_date").is_null() | (pl.col("termination_date") > start)
        )
    elif field is not None:
        cond &= (pl.col(field) > start) & (pl.col(field) <= as_of)
    return cond.fill_null(False)


def household_circles(drop: Drop, path: Path | None = None) -> pl.DataFrame:
    """household_id, street, circle (1–4) of every household known to the district.

    Known: in persons or in cases. Street: the street of residence of its members (the first in
    the list of streets when they differ), else the street of its latest case."""
    window, circles = load_circles(path)
    start = _years_before(drop.as_of, window)
    cases = drop["cases"]
    circle_of_case = pl.lit(None, dtype=pl.Int32)
    for c in reversed(circles[:-1]):
        hit = pl.lit(False)
        for rule in c.rules:
            hit |= _rule_expr(rule, start, drop.as_of)
        circle_of_case = (
            pl.when(hit).then(pl.lit(c.number, dtype=pl.Int32)).otherwise(circle_of_case)
        )
    rest = circles[-1].number
    street_rank = {s: i for i, s in enumerate(STREETS)}
    residence = (
        drop["persons"]
        .with_columns(
            pl.col("street")
            .replace_strict(street_rank, default=len(STREETS), return_dtype=pl.Int32)
            .alias("_r")
        )
        .sort("household_id", "_r")
        .group_by("household_id")
        .agg(pl.col("street").first())
    )
    latest = (
        cases.sort("household_id", "accepted_date", "case_id")
        .group_by("household_id")
        .agg(pl.col("street").last().alias("case_street"))
    )
    by_case = (
        cases.with_columns(circle_of_case.alias("circle"))
        .group_by("household_id")
        .agg(pl.col("circle").min())
    )
    known = pl.concat(
        [drop["persons"].select("household_id"), cases.select("household_id")]
    ).unique()
    return (
        known.join(residence, on="household_id", how="left", validate="1:1")
        .join(latest, on="household_id", how="left", validate="1:1")
        .join(by_case, on="household_id", how="left", validate="1:1")
        .select(
            "household_id",
            pl.coalesce("street", "case_street").alias("street"),
            pl.col("circle").fill_null(rest).cast(pl.Int32),
        )
        .sort("household_id")
        .collect()
    )
