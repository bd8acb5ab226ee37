"""The eleven funds checks (contract section 5, as notes/semantics.md reads it) in DuckDB SQL.

The typed frames the reader produced are registered as Arrow tables (no copy). Each check returns
its finding rows: the contract's key columns, the context columns (street, month, case_id, item,
account_no where the Polars check has them), ``amount_fen`` (money at risk) and the figures behind
the finding as plain columns. The Chinese sentence, the evidence JSON and the finding id are
presentation the Polars engine adds and this peer leaves out.

Shared intermediate results are materialised once per run, on first use, as the Polars checks
memoise them (``Drop.memo``): the paid rows with their scope, and the duplicate payments.
"""

from __future__ import annotations

import time

import duckdb
import polars as pl
import pyarrow as pa

from analytics.reference import Settings

SERVICE = "服务类救助"
SMALL = "小金额救助金"
BACK_PAY = "补发"
TABLES = ("ledger", "entitlements", "cases", "accounts", "providers", "events")

SHARED = {
    "scoped": f"""
        CREATE OR REPLACE TEMP TABLE scoped AS
        WITH provider AS (
            SELECT DISTINCT uscc FROM providers
            WHERE list_contains(string_split(items, ';'), '{SERVICE}'))
        SELECT l.*, c.fund_code AS catalogue_fund_code,
               CASE WHEN c.fund_code IS NULL THEN '救助项目不在目录内'
                    WHEN l.fund_code <> c.fund_code
                        THEN '资金科目应为' || c.fund_code || '，实为' || l.fund_code
                    WHEN l.item = '{SERVICE}' AND p.uscc IS NULL
                        THEN '收款方不是登记的服务类救助机构'
               END AS scope_reason
        FROM ledger l
        LEFT JOIN catalogue c ON c.item = l.item
        LEFT JOIN provider p ON p.uscc = l.payee_id
        WHERE l.status = '成功';
        CREATE OR REPLACE TEMP VIEW paid AS SELECT * EXCLUDE (catalogue_fund_code, scope_reason)
        FROM scoped WHERE scope_reason IS NULL;
    """,
    "dups": """
        CREATE OR REPLACE TEMP TABLE dups AS
        WITH p AS (SELECT * FROM paid WHERE case_id IS NOT NULL),
        multi AS (SELECT case_id, month, item, amount, count(*) AS n FROM p
                  GROUP BY ALL HAVING count(*) > 1),
        e AS (SELECT case_id, month, item, amount, count(*) AS e FROM entitlements GROUP BY ALL),
        cand AS (SELECT m.case_id, m.month, m.item, m.amount, e.e,
                        greatest(coalesce(e.e, 0), 1) AS allowed
                 FROM multi m LEFT JOIN e USING (case_id, month, item, amount)
                 WHERE m.n > greatest(coalesce(e.e, 0), 1)),
        ranked AS (SELECT p.*, cand.e, cand.allowed,
                          row_number() OVER (PARTITION BY p.case_id, p.month, p.item, p.amount
                                             ORDER BY p.pay_date, p.txn_id) - 1 AS rnk
                   FROM p JOIN cand USING (case_id, month, item, amount))
        SELECT * FROM ranked WHERE rnk >= allowed;
    """,
}

# check_id -> (shared results it needs, query)
CHECKS: dict[str, tuple[tuple[str, ...], str]] = {
    "out_of_scope_spending": (
        ("scoped",),
        """
        SELECT txn_id, street, month, case_id, item, account_no, amount AS amount_fen,
               scope_reason, catalogue_fund_code
        FROM scoped WHERE scope_reason IS NOT NULL
    """,
    ),
    "paid_without_entitlement": (
        ("scoped",),
        f"""
        SELECT txn_id, street, month, case_id, item, account_no, amount AS amount_fen,
               'no_entitlement' AS reason
        FROM paid p
        WHERE case_id IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM entitlements e
            WHERE e.case_id = p.case_id AND e.month = p.month AND e.item = p.item)
        UNION ALL
        SELECT txn_id, street, month, case_id, item, account_no, amount, 'no_case'
        FROM paid WHERE case_id IS NULL AND item <> '{SERVICE}'
    """,
    ),
    "duplicate_payment": (
        ("scoped", "dups"),
        """
        WITH g AS (SELECT p.case_id, p.month, p.item, p.amount, count(*) AS paid_rows
                   FROM paid p SEMI JOIN (SELECT DISTINCT case_id, month, item, amount FROM dups) d
                   ON p.case_id = d.case_id AND p.month = d.month AND p.item = d.item
                      AND p.amount = d.amount
                   GROUP BY ALL)
        SELECT d.txn_id, d.street, d.month, d.case_id, d.item, d.account_no,
               d.amount AS amount_fen, coalesce(d.e, 0) AS entitlement_rows, g.paid_rows
        FROM dups d JOIN g USING (case_id, month, item, amount)
    """,
    ),
    "amount_mismatch": (
        ("scoped", "dups"),
        """
        WITH ent AS (SELECT case_id, month, item, sum(amount) AS entitled_fen
                     FROM entitlements GROUP BY ALL),
        p AS (SELECT case_id, month, item, sum(amount) AS paid_fen
              FROM paid ANTI JOIN dups USING (txn_id)
              WHERE case_id IS NOT NULL GROUP BY ALL)
        SELECT ent.case_id, ent.month, ent.item, c.street, c.applicant_id_number AS id_number,
               abs(p.paid_fen - ent.entitled_fen) AS amount_fen, ent.entitled_fen, p.paid_fen
        FROM ent JOIN p ON ent.case_id = p.case_id AND ent.month = p.month AND ent.item = p.item
        LEFT JOIN cases c ON c.case_id = ent.case_id
        WHERE ent.entitled_fen <> p.paid_fen
    """,
    ),
    "entitled_not_paid": (
        ("scoped",),
        """
        WITH ent AS (SELECT case_id, month, item, sum(amount) AS entitled_fen
                     FROM entitlements GROUP BY ALL),
        returned AS (SELECT case_id, month, item, count(*) AS returned_rows
                     FROM ledger WHERE status = '退票' GROUP BY ALL)
        SELECT ent.case_id, ent.month, ent.item, c.street, c.applicant_id_number AS id_number,
               ent.entitled_fen AS amount_fen, coalesce(r.returned_rows, 0) AS returned_rows
        FROM ent
        LEFT JOIN returned r
            ON r.case_id = ent.case_id AND r.month = ent.month AND r.item = ent.item
        LEFT JOIN cases c ON c.case_id = ent.case_id
        WHERE NOT EXISTS (SELECT 1 FROM paid p WHERE p.case_id = ent.case_id
                          AND p.month = ent.month AND p.item = ent.item)
    """,
    ),
    # A payment after the termination month is no finding when every entitlement row of its
    # case, month and item is back pay (补发) and one of them has the payment's amount.
    "paid_after_termination": (
        ("scoped",),
        f"""
        WITH r AS (SELECT p.txn_id, p.street, p.month, p.case_id, p.item, p.account_no,
                          p.amount, c.termination_date
                   FROM paid p JOIN cases c ON c.case_id = p.case_id
                   WHERE c.termination_date IS NOT NULL
                     AND p.month > strftime(c.termination_date, '%Y-%m')),
        k AS (SELECT e.case_id, e.month, e.item, bool_and(e.kind = '{BACK_PAY}') AS back_only
              FROM entitlements e
              SEMI JOIN r ON r.case_id = e.case_id AND r.month = e.month AND r.item = e.item
              GROUP BY ALL)
        SELECT r.txn_id, r.street, r.month, r.case_id, r.item, r.account_no,
               r.amount AS amount_fen, r.termination_date, k.back_only
        FROM r LEFT JOIN k ON k.case_id = r.case_id AND k.month = r.month AND k.item = r.item
        WHERE NOT (coalesce(k.back_only, false) AND EXISTS (
            SELECT 1 FROM entitlements e
            WHERE e.case_id = r.case_id AND e.month = r.month AND e.item = r.item
              AND e.amount = r.amount))
    """,
    ),
    "paid_after_death": (
        ("scoped",),
        """
        WITH deaths AS (SELECT id_number, min(event_date) AS death_date FROM events
                        WHERE event_type = '死亡' GROUP BY id_number)
        SELECT p.txn_id, p.street, p.month, p.case_id, p.item, p.account_no,
               c.applicant_id_number AS id_number, p.amount AS amount_fen, d.death_date
        FROM paid p JOIN cases c ON c.case_id = p.case_id
        JOIN deaths d ON d.id_number = c.applicant_id_number
        WHERE p.month > strftime(d.death_date, '%Y-%m')
    """,
    ),
    "payee_not_registered": (
        ("scoped",),
        """
        SELECT p.txn_id, p.street, p.month, p.case_id, p.item, p.account_no,
               p.amount AS amount_fen, a.account_no AS registered_account
        FROM paid p LEFT JOIN accounts a ON a.case_id = p.case_id
        WHERE p.case_id IS NOT NULL
          AND (a.account_no IS NULL OR a.account_no <> p.account_no)
    """,
    ),
    "late_disbursement": (
        ("scoped",),
        """
        WITH d AS (SELECT *, make_date(CAST(month[1:4] AS INTEGER), CAST(month[6:7] AS INTEGER),
                                       $due_day) AS due_date FROM paid)
        SELECT txn_id, street, month, case_id, item, account_no, amount AS amount_fen,
               due_date, date_diff('day', due_date, pay_date) AS days_late
        FROM d WHERE pay_date > due_date
    """,
    ),
    "small_rescue_over_cap": (
        ("scoped",),
        f"""
        SELECT payee_id AS id_number, month,
               first(street ORDER BY pay_date, txn_id) AS street,
               first(case_id ORDER BY pay_date, txn_id) AS case_id,
               '{SMALL}' AS item, sum(amount) - $cap AS amount_fen, sum(amount) AS total_fen
        FROM paid WHERE item = '{SMALL}'
        GROUP BY payee_id, month HAVING sum(amount) > $cap
    """,
    ),
    "control_total_mismatch": (
        ("scoped",),
        f"""
        WITH ent AS (SELECT c.street, e.month, e.item, sum(e.amount) AS entitled_fen,
                            count(*) AS entitled_rows
                     FROM entitlements e LEFT JOIN cases c ON c.case_id = e.case_id
                     WHERE e.item <> '{SERVICE}' GROUP BY ALL),
        p AS (SELECT street, month, item, sum(amount) AS paid_fen, count(*) AS paid_rows
              FROM paid WHERE item <> '{SERVICE}' GROUP BY ALL),
        j AS (SELECT street, month, item, coalesce(entitled_fen, 0) AS entitled_fen,
                     coalesce(paid_fen, 0) AS paid_fen, coalesce(entitled_rows, 0) AS entitled_rows,
                     coalesce(paid_rows, 0) AS paid_rows
              FROM ent FULL JOIN p USING (street, month, item))
        SELECT street, month, item, abs(paid_fen - entitled_fen) AS amount_fen,
               entitled_fen, paid_fen, entitled_rows, paid_rows
        FROM j WHERE entitled_fen <> paid_fen
    """,
    ),
}


def connect(
    tables: dict[str, pl.DataFrame], catalogue: pl.DataFrame, threads: int = 2
) -> duckdb.DuckDBPyConnection:
    """An in-memory database with the typed frames registered as Arrow tables."""
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    for name in TABLES:
        con.register(name, tables[name].to_arrow())
    con.register("catalogue", catalogue.select("item", "fund_code").to_arrow())
    return con


def run_funds(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    seconds: dict[str, float] | None = None,
    cpu: dict[str, float] | None = None,
) -> dict[str, pa.Table]:
    """Every funds check, materialised. ``seconds`` and ``cpu`` receive each check's wall and
    CPU time (a shared result counts in the first check that needs it, as with the Polars
    memo)."""
    params = {"due_day": settings.payment_due_day, "cap": settings.small_amount_cap_fen}
    built: set[str] = set()
    out: dict[str, pa.Table] = {}
    for check_id, (needs, query) in CHECKS.items():
        started, cpu_started = time.perf_counter(), time.process_time()
        for name in needs:
            if name not in built:
                con.execute(SHARED[name])
                built.add(name)
        used = {k: v for k, v in params.items() if f"${k}" in query}
        out[check_id] = con.sql(query, params=used or None).to_arrow_table()
        if seconds is not None:
            seconds[check_id] = time.perf_counter() - started
        if cpu is not None:
            cpu[check_id] = time.process_time() - cpu_started
    return out
