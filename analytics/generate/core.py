"""Shared state of the demo-district generator: the tables being built, what each planted
change breaks (the truth), look-alikes that must not fire, and the funds bookkeeping that the
control-total truth is derived from.

The truth comes from the planting itself: a planter that changes the data records which findings
its change must cause. It never asks the check code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl

from analytics.calendar import WorkdayCalendar
from analytics.reference import Settings

TRUTH_COLUMNS = (
    "check_id",
    "street",
    "month",
    "case_id",
    "txn_id",
    "id_number",
    "account_no",
    "staff_id",
    "item",
    "note",
)


@dataclass
class PlantContext:
    tables: dict[str, pl.DataFrame]  # typed frames, analytics.schema.polars_schema
    rng: np.random.Generator
    settings: Settings
    catalogue: pl.DataFrame
    calendar: WorkdayCalendar
    months: list[str]  # 'YYYY-MM', the batches written, ascending
    as_of: date
    truth: list[dict] = field(default_factory=list)
    lookalikes: list[dict] = field(default_factory=list)
    # (street, month, item) -> [entitled delta fen, paid delta fen] caused by planted changes
    book: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    claimed_households: set[str] = field(default_factory=set)
    claimed_staff: set[str] = field(default_factory=set)
    _serial: int = 0

    def fire(self, check_id: str, note: str, **keys: str) -> None:
        """Record a finding the planted change must cause (keys: the check's key columns)."""
        self.truth.append({"check_id": check_id, "note": note, **keys})

    def lookalike(self, check_id: str, note: str, **keys: str) -> None:
        """Record a legitimate case that resembles check_id's defect and must NOT fire."""
        self.lookalikes.append({"check_id": check_id, "note": note, **keys})

    def book_funds(
        self, street: str, month: str, item: str, *, entitled: int = 0, paid: int = 0
    ) -> None:
        """Book a planted change to the entitled or in-scope paid total (fen). Item 服务类救助 and
        out-of-scope rows are not booked (control totals leave them out)."""
        cell = self.book.setdefault((street, month, item), [0, 0])
        cell[0] += entitled
        cell[1] += paid

    def serial(self, prefix: str) -> str:
        """A fresh identifier that no base row uses."""
        self._serial += 1
        return f"{prefix}{self._serial:07d}"

    def control_total_truth(self) -> None:
        for (street, month, item), (ent, paid) in sorted(self.book.items()):
            if ent != paid:
                self.fire(
                    "control_total_mismatch",
                    "bookkeeping of planted changes",
                    street=street,
                    month=month,
                    item=item,
                )

    def truth_frame(self) -> pl.DataFrame:
        return _frame(self.truth)

    def lookalike_frame(self) -> pl.DataFrame:
        return _frame(self.lookalikes)


def _frame(rows: list[dict]) -> pl.DataFrame:
    full = [{c: r.get(c) for c in TRUTH_COLUMNS} for r in rows]
    return (
        pl.DataFrame(full, schema={c: pl.String for c in TRUTH_COLUMNS})
        .unique(maintain_order=True)
        .sort(list(TRUTH_COLUMNS), nulls_last=True)
    )
