"""The synthetic demo district: a clean base, planted defects with their truth, written as a
data drop.

``generate`` builds the base (``base.build_base``), lets each planter change it and record the
findings its change must cause, derives the control-total truth from the planters' bookkeeping
and writes the tables with ``truth.csv`` and ``lookalikes.csv`` beside them.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from analytics.generate.base import BaseParams, build_base, new_context
from analytics.generate.core import PlantContext
from analytics.generate.plant_funds import plant_funds
from analytics.generate.write import FORMATS, check_destination, write_drop

__all__ = [
    "FORMATS",
    "MIN_HOUSEHOLDS",
    "BaseParams",
    "GenerateSummary",
    "build_base",
    "build_district",
    "generate",
    "plant_all",
]

Progress = Callable[[str, float], None]

#: The fewest households ``generate`` accepts: below it some seeds leave a planter without
#: the households or staff its defects need (checked over seeds 1 to 12 at 6 months).
MIN_HOUSEHOLDS = 300

# Planters besides the funds one, run in this order when their module is present.
OPTIONAL_PLANTERS = (
    ("analytics.generate.plant_integrity", "plant_integrity", "植入关联与账户问题"),
    ("analytics.generate.plant_dynamic", "plant_dynamic", "植入动态管理与审批问题"),
)


@dataclass(frozen=True)
class GenerateSummary:
    out: Path
    fmt: str
    households: int
    seed: int
    as_of: date
    rows: dict[str, int]  # rows written per contract table
    truth: int  # findings the drop must produce (rows of truth.csv)
    lookalikes: int  # recorded look-alikes (rows of lookalikes.csv)
    files: tuple[str, ...]


def plant_all(ctx: PlantContext, progress: Progress | None = None) -> None:
    """Every planter in order, then the control-total truth from their bookkeeping."""
    steps: list[tuple[str, Callable[[PlantContext], None]]] = [("植入资金问题", plant_funds)]
    for module, func, label in OPTIONAL_PLANTERS:
        if importlib.util.find_spec(module) is not None:
            steps.append((label, getattr(importlib.import_module(module), func)))
    for i, (label, fn) in enumerate(steps):
        if progress:
            progress(label, i / len(steps))
        fn(ctx)
    ctx.control_total_truth()


def build_district(params: BaseParams, progress: Progress | None = None) -> PlantContext:
    """The base with every planted defect and the control-total truth: what ``generate``
    writes."""
    ctx = new_context(params)
    if progress:
        progress("生成基础数据：家庭、人员、工作人员、案件与发放", 0.0)
    build_base(params, ctx)
    if progress:
        progress("基础数据已生成", 0.6)
    plant_all(
        ctx,
        None if progress is None else (lambda message, share: progress(message, 0.6 + 0.4 * share)),
    )
    return ctx


def generate(
    out: Path,
    *,
    households: int = 3000,
    seed: int = 7,
    fmt: str = "csv",
    months: int = 6,
    end_month: str = "2026-10",
    progress: Progress | None = None,
) -> GenerateSummary:
    """Write a demo drop of ``households`` aided households into ``out``."""
    if fmt not in FORMATS:
        raise ValueError(f"不支持的导出格式“{fmt}”，可选：{'、'.join(FORMATS)}")

    def stage(lo: float, hi: float) -> Progress | None:
        if progress is None:
            return None
        return lambda message, share: progress(message, lo + (hi - lo) * share)

    out = Path(out)
    check_destination(out)  # before minutes of work, not after
    if households < MIN_HOUSEHOLDS:
        raise ValueError(
            f"演示辖区至少需要 {MIN_HOUSEHOLDS} 户救助家庭（各类植入的问题需要足够的家庭"
            f"和工作人员），收到 {households} 户"
        )
    params = BaseParams(households=households, seed=seed, months=months, end_month=end_month)
    ctx = build_district(params, stage(0.0, 0.6))
    truth = ctx.truth_frame()
    lookalikes = ctx.lookalike_frame()
    files = write_drop(
        ctx.tables,
        out,
        fmt=fmt,
        seed=seed,
        export_month=ctx.months[-1],
        truth=truth,
        lookalikes=lookalikes,
        progress=stage(0.6, 1.0),
    )
    if progress:
        progress("演示数据已生成", 1.0)
    return GenerateSummary(
        out=out,
        fmt=fmt,
        households=households,
        seed=seed,
        as_of=ctx.as_of,
        rows={name: frame.height for name, frame in ctx.tables.items()},
        truth=truth.height,
        lookalikes=lookalikes.height,
        files=tuple(files),
    )
