"""The last step of the base: the contract tables from the builder's arrays, each conformed to
its contract schema; and the contract helpers the planters and the writer share (``conform``,
the natural row order ``SORT_KEYS``).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from analytics import schema
from analytics.generate.base.dates import NAT, masked_text, month_text
from analytics.generate.base.plan import MAIN_TYPES, SERVICE_ITEM, STATUSES, STREETS
from analytics.generate.base.state import BuilderState
from analytics.parse import address_column


class TableSteps(BuilderState):
    """The last step, ``finish``: ``ctx.tables`` from the arrays of the earlier steps."""

    def finish(self) -> None:
        c = self.c
        t: dict[str, pl.DataFrame] = {}
        t["staff"] = self.tables_staff
        order = np.lexsort((self.p_role, self.p_hh))
        t["persons"] = (
            pl.DataFrame(
                {
                    "id_number": self.p_id,
                    "name": self.p_name,
                    "household_id": self.hh_id.gather(self.p_hh),
                    "street": pl.Series(
                        np.array(STREETS)[self.hh_street[self.p_hh]], dtype=pl.String
                    ),
                    "committee": self.hh_committee.gather(self.p_hh),
                    "address": self.hh_address.gather(self.p_hh),
                    "phone": self.p_phone,
                    "hukou": pl.Series(
                        np.where(self.hh_local[self.p_hh], "本市", "非本市"), dtype=pl.String
                    ),
                    "_hh": self.hh_id.gather(self.p_hh),
                    "_order": np.argsort(order),
                }
            )
            .sort(["_hh", "_order"])
            .drop("_hh", "_order")
        )
        types = np.array(MAIN_TYPES)
        amount = pl.Series(np.where(c.amount >= 0, c.amount, 0))
        t["cases"] = pl.DataFrame(
            {
                "case_id": c.case_id,
                "household_id": self.hh_id.gather(c.hh),
                "applicant_id_number": self.p_id.gather(c.applicant),
                "street": pl.Series(np.array(STREETS)[c.street], dtype=pl.String),
                "assistance_type": pl.Series(types[c.kind], dtype=pl.String),
                "status": pl.Series(np.array(STATUSES)[c.status], dtype=pl.String),
                "accepted_date": pl.Series(c.accepted, dtype=pl.Date),
                "decided_date": pl.Series(c.decided, dtype=pl.Date),
                "special_circumstance": c.special_text,
                "monthly_amount": pl.select(
                    pl.when(pl.Series(c.amount >= 0)).then(amount)
                ).to_series(),
                "start_month": pl.select(
                    pl.when(pl.Series(c.start >= 0)).then(month_text(c.start))
                ).to_series(),
                "termination_date": pl.Series(c.term, dtype=pl.Date),
                "difficulty": masked_text(
                    np.array(schema.DIFFICULTIES)[np.maximum(c.difficulty, 0)],
                    c.difficulty >= 0,
                ),
                "handler_id": self.staff_id.gather(c.handler),
                "reviewer_id": self._staff_or_null(c.reviewer),
                "approver_id": self._staff_or_null(c.approver),
            }
        ).sort("case_id")
        t["accounts"] = pl.DataFrame(
            {
                "case_id": c.case_id,
                "account_no": self.hh_account.gather(c.hh),
                "bank": self.hh_bank.gather(c.hh),
                "holder_id_number": self._person_or_outsider(self.holder, "id"),
                "holder_name": self._person_or_outsider(self.holder, "name"),
                "custodian_id_number": self._person_or_outsider(self.custodian, "id"),
                "custodian_name": self._person_or_outsider(self.custodian, "name"),
            }
        ).sort("case_id")
        e_case = self.e_case
        t["entitlements"] = pl.DataFrame(
            {
                "month": month_text(self.e_ym),
                "case_id": c.case_id.gather(e_case),
                "id_number": self.p_id.gather(c.applicant[e_case]),
                "item": pl.Series(self.type_item[c.kind[e_case]], dtype=pl.String),
                "kind": pl.Series(np.array(schema.ENTITLEMENT_KINDS)[self.e_kind], dtype=pl.String),
                "amount": self.e_amount,
                "account_no": self.hh_account.gather(c.hh[e_case]),
            }
        ).sort(["month", "case_id", "kind"])
        t["ledger"] = self.ledger_frame.select(schema.TABLES["ledger"].column_names).sort("txn_id")
        t["providers"] = pl.DataFrame(
            {
                "uscc": self.provider_uscc,
                "name": self.provider_name,
                "items": [SERVICE_ITEM] * len(self.provider_uscc),
            }
        ).sort("uscc")
        t["relations"] = pl.DataFrame(
            {
                "id_number_a": self.p_id.gather(self.rel_a),
                "id_number_b": self.p_id.gather(self.rel_b),
                "relation": pl.Series(self.rel_kind, dtype=pl.String),
            }
        )
        t["relative_filings"] = pl.DataFrame(
            self.filings,
            schema={
                "staff_id": pl.String,
                "relative_id_number": pl.String,
                "relative_name": pl.String,
                "relation": pl.String,
                "filed_date": pl.Date,
            },
        )
        cf = self.custody_rows
        t["custody_filings"] = pl.DataFrame(
            {
                "account_no": pl.Series([f["account_no"] for f in cf], dtype=pl.String),
                "custodian_id_number": self._person_or_outsider(
                    np.array([f["custodian"] for f in cf], dtype=np.int64), "id"
                ),
                "filed_date": pl.Series(
                    np.array([f["filed_date"] for f in cf], dtype="datetime64[D]"), dtype=pl.Date
                ),
                "valid_to": pl.Series(
                    np.array(
                        [f["valid_to"] if f["valid_to"] is not None else NAT for f in cf],
                        dtype="datetime64[D]",
                    ),
                    dtype=pl.Date,
                ),
            }
        )
        t["events"] = self.events_frame
        t["visits"] = self.visits_frame
        t["trainings"] = self.trainings_frame
        t["dishonesty"] = self.dishonesty_frame
        self.ctx.tables = {name: conform(name, frame) for name, frame in t.items()}

    def _staff_or_null(self, idx: np.ndarray) -> pl.Series:
        vals = self.staff_id.gather(np.maximum(idx, 0))
        return pl.select(pl.when(pl.Series(idx >= 0)).then(vals)).to_series()

    def _person_or_outsider(self, idx: np.ndarray, what: str) -> pl.Series:
        """Person rows (>= 0), outsiders (-2 - k) or nobody (-1) as ID numbers or names."""
        src = self.p_id if what == "id" else self.p_name
        out = self.outsider_id if what == "id" else self.outsider_name
        idx = np.asarray(idx, dtype=np.int64)
        vals = src.gather(np.maximum(idx, 0))
        o = np.where(idx <= -2, -2 - idx, 0)
        return pl.select(
            pl.when(pl.Series(idx == -1))
            .then(None)
            .when(pl.Series(idx <= -2))
            .then(out.gather(o))
            .otherwise(vals)
        ).to_series()


SORT_KEYS: dict[str, tuple[str, ...]] = {
    "staff": ("staff_id",),
    "persons": ("household_id", "id_number"),
    "cases": ("case_id",),
    "accounts": ("case_id",),
    "entitlements": ("month", "case_id", "kind", "item", "amount"),
    "ledger": ("txn_id",),
    "providers": ("uscc",),
    "relations": ("id_number_a", "id_number_b", "relation"),
    "relative_filings": ("staff_id", "relative_id_number"),
    "custody_filings": ("account_no", "custodian_id_number", "filed_date"),
    "events": ("event_date", "id_number", "event_type"),
    "visits": ("case_id", "visit_date"),
    "trainings": ("street", "date"),
    "dishonesty": ("start_date", "id_number"),
}


def conform(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """The frame in its contract schema (columns, order, types), normalised address twins
    recomputed from the address as the reader computes them."""
    target = schema.polars_schema(name)
    cols: list[pl.Expr] = []
    for col, dtype in target.items():
        if col.endswith("_norm") and col.removesuffix("_norm") in frame.columns:
            continue
        cols.append(
            pl.col(col).cast(dtype)
            if col in frame.columns
            else pl.lit(None, dtype=dtype).alias(col)
        )
    out = frame.select(cols)
    for column in schema.TABLES[name].columns:
        if column.type == "address":
            norm, _ = address_column(out[column.name])
            out = out.with_columns(norm.alias(f"{column.name}_norm"))
    return out.select(list(target))
