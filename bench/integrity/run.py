"""Integrity checks at city scale: Polars (checks.integrity) against the same rules in DuckDB SQL.

    .venv/bin/python bench/integrity/run.py --persons 10000,100000,1000000

For each size the demo generator builds a district (base plus planted defects) of about that many
persons, with staff, relations, accounts and payments in proportion; the bench adds one custodian
of 400 households' cards and a care home address shared by 300 people (a big cluster and a hub,
which the generator does not make), and writes the tables as Parquet.
Each engine then runs in fresh processes, taking turns (``--repeat`` runs each): a process loads
the tables and runs the nine integrity checks once; the best time and the highest peak RSS (its
own memory map: loading plus checking) are kept. Both engines must find the same keys for every
check, or the run stops.

The Polars process also builds the link graph and times what the 关系图谱 page does to draw a
cluster (rank the clusters, build the view, lay it out, build the figure and serialise it), for
the largest clusters, the clusters with the most findings and a random sample.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

PERSONS_PER_HOUSEHOLD = 2.29  # what the generator's household templates average
TABLES = (
    "staff",
    "persons",
    "cases",
    "accounts",
    "ledger",
    "relations",
    "relative_filings",
    "custody_filings",
)
KEYS = {
    "relative_not_filed": ("staff_id", "id_number"),
    "handled_relative_case": ("staff_id", "case_id"),
    "handled_linked_case": ("staff_id", "case_id"),
    "staff_contact_overlap": ("staff_id", "id_number"),
    "shared_account": ("account_no",),
    "payee_not_household": ("account_no",),
    "staff_linked_account": ("account_no",),
    "custody_not_filed": ("account_no",),
    "custodian_concentration": ("id_number",),
}


def peak_mb() -> float:
    """High-water RSS of this process's own memory map. (ru_maxrss would carry the parent's
    peak across fork and exec, and the parent holds the generated district.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def digest(rows: list[tuple]) -> str:
    return hashlib.sha1(repr(sorted(rows)).encode()).hexdigest()[:12]


# --- building a district ---------------------------------------------------------------------


def build(persons: int, seed: int, folder: Path) -> dict:
    from analytics.generate import build_base, plant_all
    from analytics.generate.base import BaseParams, new_context

    params = BaseParams(households=max(50, round(persons / PERSONS_PER_HOUSEHOLD)), seed=seed)
    started = time.perf_counter()
    ctx = new_context(params)
    build_base(params, ctx)
    plant_all(ctx)
    stress(ctx.tables, seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        ctx.tables[name].write_parquet(folder / f"{name}.parquet")
    meta = {
        "as_of": ctx.as_of.isoformat(),
        "rows": {name: ctx.tables[name].height for name in TABLES},
        "seconds": round(time.perf_counter() - started, 1),
    }
    (folder / "meta.json").write_text(json.dumps(meta))
    return meta


def stress(tables: dict, seed: int, kept: int = 400, residents: int = 300) -> None:
    """What the generator does not make and a city has: one person keeping the cards of
    ``kept`` households (a cluster of thousands of nodes) and a care home whose address
    ``residents`` people share (a hub). Both engines see the same tables."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    accounts = tables["accounts"]
    rows = np.sort(rng.choice(accounts.height, min(kept, accounts.height), replace=False))
    keeper = pl.Series(np.zeros(accounts.height, dtype=bool)).scatter(rows, True)
    tables["accounts"] = accounts.with_columns(
        pl.when(keeper)
        .then(pl.lit("310105196003070019"))
        .otherwise(pl.col("custodian_id_number"))
        .alias("custodian_id_number")
    )
    persons = tables["persons"]
    rows = np.sort(rng.choice(persons.height, min(residents, persons.height), replace=False))
    home = pl.Series(np.zeros(persons.height, dtype=bool)).scatter(rows, True)
    tables["persons"] = persons.with_columns(
        pl.when(home)
        .then(pl.lit("上海市长宁区仙霞路999号"))
        .otherwise(pl.col("address"))
        .alias("address"),
        pl.when(home)
        .then(pl.lit("仙霞路999号"))
        .otherwise(pl.col("address_norm"))
        .alias("address_norm"),
    )


# --- engines (each runs in its own process) ------------------------------------------------------


def run_polars(folder: Path, repeat: int, draw: int) -> dict:
    import polars as pl

    from analytics.model import Drop
    from analytics.reference import load_catalogue, load_settings
    from checks.engine import run_checks
    from checks.registry import load_all

    load_all()  # importing the rule modules is not checking
    meta = json.loads((folder / "meta.json").read_text())
    frames = {name: pl.read_parquet(folder / f"{name}.parquet") for name in TABLES}
    loaded = peak_mb()

    def fresh() -> Drop:
        return Drop(
            tables={k: v.lazy() for k, v in frames.items()},
            settings=load_settings(),
            catalogue=load_catalogue(),
            as_of=date.fromisoformat(meta["as_of"]),
        )

    times = []
    for _ in range(repeat):
        drop = fresh()
        started = time.perf_counter()
        result = run_checks(drop, only=["integrity"])
        times.append(time.perf_counter() - started)
    findings = result.findings
    out = {
        "seconds": min(times),
        "loaded_mb": loaded,
        "peak_mb": peak_mb(),
        "keys": {
            cid: digest(findings.filter(pl.col("check_id") == cid).select(cols).rows())
            for cid, cols in KEYS.items()
        },
        "counts": {cid: findings.filter(pl.col("check_id") == cid).height for cid in KEYS},
    }
    if draw:
        out.update(time_page(fresh(), findings, draw))
    return out


def time_page(drop, findings, draw: int) -> dict:
    """Build the graph once (cached by the dashboard), then time the page's work per cluster."""
    import numpy as np

    from analytics.charts.graph import network_figure
    from analytics.linkgraph import build_link_graph
    from analytics.views import graph as views

    started = time.perf_counter()
    graph = build_link_graph(drop)
    built = time.perf_counter() - started
    ranked = views.rank_clusters(graph, findings)
    by_findings = ranked.sort("findings", descending=True)["cluster"].unique(maintain_order=True)
    by_size = ranked.sort("size", descending=True)["cluster"].unique(maintain_order=True)
    every = ranked["cluster"].unique().sort()
    rng = np.random.default_rng(0)
    sample = (
        every.gather(rng.choice(every.len(), min(draw, every.len()), replace=False))
        if every.len()
        else every
    )
    chosen = list(dict.fromkeys([*by_size.head(draw), *by_findings.head(draw), *sample]))
    worst, worst_nodes = 0.0, 0
    streets = dict(ranked.select("cluster", "street").iter_rows())
    for cluster in chosen:
        started = time.perf_counter()
        # what one run of the page does: rank (all streets, then the chosen street), build the
        # view, lay it out, draw it and serialise the figure for the browser
        views.rank_clusters(graph, findings)
        views.rank_clusters(graph, findings, streets[cluster].split("、")[0])
        view = views.cluster_view(graph, findings, cluster)
        network_figure(view).to_json()
        took = time.perf_counter() - started
        if took > worst:
            worst, worst_nodes = took, view.nodes.height
    largest = int(ranked["size"].max() or 0) if ranked.height else 0
    return {
        "graph_nodes": graph.size,
        "graph_edges": graph.edges.height,
        "graph_seconds": built,
        "clusters": ranked.height,
        "drawn": len(chosen),
        "draw_max_seconds": worst,
        "draw_max_nodes": worst_nodes,
        "largest_cluster": largest,
        "peak_mb_graph": peak_mb(),
        "hubs": graph.hubs.height,
    }


SQL = """
CREATE OR REPLACE TEMP TABLE staff_ids AS SELECT DISTINCT id_number FROM staff;
CREATE OR REPLACE TEMP TABLE parent AS
  SELECT DISTINCT id_number_a AS parent, id_number_b AS child FROM relations
  WHERE relation = '父母' AND id_number_a <> id_number_b;
CREATE OR REPLACE TEMP TABLE spouse AS
  SELECT id_number_a AS a, id_number_b AS b FROM relations
  WHERE relation = '配偶' AND id_number_a <> id_number_b
  UNION SELECT id_number_b, id_number_a FROM relations
  WHERE relation = '配偶' AND id_number_a <> id_number_b;
-- close relatives of staff: direct edges and the self-joins through a parent or a child
CREATE OR REPLACE TEMP TABLE kin AS
  WITH k AS (
    SELECT a AS id_a, b AS id_b, 0 AS r, NULL AS via FROM spouse
      WHERE a IN (SELECT * FROM staff_ids)
    UNION ALL SELECT child, parent, 1, NULL FROM parent WHERE child IN (SELECT * FROM staff_ids)
    UNION ALL SELECT parent, child, 2, NULL FROM parent WHERE parent IN (SELECT * FROM staff_ids)
    UNION ALL SELECT p.child, q.child, 3, p.parent
      FROM parent p JOIN parent q ON p.parent = q.parent
      WHERE p.child IN (SELECT * FROM staff_ids) AND p.child <> q.child
    UNION ALL SELECT p.child, q.parent, 4, p.parent
      FROM parent p JOIN parent q ON q.child = p.parent
      WHERE p.child IN (SELECT * FROM staff_ids)
    UNION ALL SELECT p.parent, q.child, 5, p.child FROM parent p JOIN parent q ON q.parent = p.child
      WHERE p.parent IN (SELECT * FROM staff_ids))
  SELECT id_a, id_b, min(r) AS r FROM k WHERE id_a <> id_b GROUP BY id_a, id_b;
CREATE OR REPLACE TEMP TABLE active AS
  SELECT household_id, min(case_id) AS active_case FROM cases WHERE status = '在册'
  GROUP BY household_id;
CREATE OR REPLACE TEMP TABLE paid_case AS
  SELECT case_id, sum(amount) AS paid FROM ledger WHERE status = '成功' AND case_id IS NOT NULL
  GROUP BY case_id;
CREATE OR REPLACE TEMP TABLE paid_account AS
  SELECT account_no, sum(amount) AS paid FROM ledger WHERE status = '成功' GROUP BY account_no;
CREATE OR REPLACE TEMP TABLE roles AS
  SELECT case_id, handler_id AS staff_id FROM cases WHERE handler_id IS NOT NULL
  UNION SELECT case_id, reviewer_id FROM cases WHERE reviewer_id IS NOT NULL
  UNION SELECT case_id, approver_id FROM cases WHERE approver_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE related AS
  WITH linked AS (SELECT staff_id, id_number AS rid FROM staff
                  UNION SELECT s.staff_id, k.id_b FROM staff s JOIN kin k ON k.id_a = s.id_number)
  SELECT DISTINCT l.staff_id, c.case_id, c.street FROM linked l
  JOIN persons p ON p.id_number = l.rid JOIN cases c ON c.household_id = p.household_id;
CREATE OR REPLACE TEMP TABLE ties AS
  SELECT account_no, case_id FROM accounts
  UNION SELECT account_no, case_id FROM ledger WHERE status = '成功' AND case_id IS NOT NULL;
CREATE OR REPLACE TEMP TABLE valid_custody AS
  SELECT * FROM custody_filings
  WHERE filed_date <= $as_of AND (valid_to IS NULL OR valid_to >= $as_of);

CREATE OR REPLACE TEMP TABLE r_relative_not_filed AS
  SELECT s.staff_id, p.id_number, any_value(p.street) AS street, any_value(pc.paid) AS amount
  FROM staff s JOIN kin k ON k.id_a = s.id_number
  JOIN persons p ON p.id_number = k.id_b JOIN active a ON a.household_id = p.household_id
  LEFT JOIN (SELECT c.household_id, sum(paid) AS paid FROM paid_case JOIN cases c USING (case_id)
             GROUP BY 1) pc ON pc.household_id = p.household_id
  WHERE NOT EXISTS (SELECT 1 FROM relative_filings f
                    WHERE f.staff_id = s.staff_id AND f.relative_id_number = p.id_number)
  GROUP BY s.staff_id, p.id_number;
CREATE OR REPLACE TEMP TABLE r_handled_relative_case AS
  SELECT r.staff_id, r.case_id, any_value(r.street) AS street, any_value(pc.paid) AS amount
  FROM related r JOIN roles USING (staff_id, case_id) LEFT JOIN paid_case pc USING (case_id)
  GROUP BY r.staff_id, r.case_id;
CREATE OR REPLACE TEMP TABLE r_handled_linked_case AS
  WITH contact AS (
    SELECT s.staff_id, c.case_id FROM staff s JOIN persons p ON p.phone = s.phone
      JOIN cases c ON c.household_id = p.household_id
    UNION SELECT s.staff_id, c.case_id FROM staff s
      JOIN persons p ON p.address_norm = s.address_norm
      JOIN cases c ON c.household_id = p.household_id
    UNION SELECT s.staff_id, a.case_id FROM staff s
      JOIN accounts a ON a.holder_id_number = s.id_number
      JOIN cases c ON c.case_id = a.case_id
    UNION SELECT s.staff_id, a.case_id FROM staff s
      JOIN accounts a ON a.custodian_id_number = s.id_number
      JOIN cases c ON c.case_id = a.case_id)
  SELECT x.staff_id, x.case_id, c.street, pc.paid AS amount FROM contact x
  JOIN roles USING (staff_id, case_id) JOIN cases c USING (case_id)
  LEFT JOIN paid_case pc USING (case_id)
  WHERE NOT EXISTS (SELECT 1 FROM related r
                    WHERE r.staff_id = x.staff_id AND r.case_id = x.case_id);
CREATE OR REPLACE TEMP TABLE r_staff_contact_overlap AS
  WITH m AS (
    SELECT s.staff_id, s.id_number AS sid, p.id_number, p.street, p.household_id FROM staff s
      JOIN persons p ON p.phone = s.phone
    UNION SELECT s.staff_id, s.id_number, p.id_number, p.street, p.household_id FROM staff s
      JOIN persons p ON p.address_norm = s.address_norm)
  SELECT m.staff_id, m.id_number, any_value(m.street) AS street FROM m
  JOIN active a ON a.household_id = m.household_id
  WHERE m.id_number <> m.sid
    AND NOT EXISTS (SELECT 1 FROM kin k WHERE k.id_a = m.sid AND k.id_b = m.id_number)
    AND NOT EXISTS (SELECT 1 FROM relative_filings f
                    WHERE f.staff_id = m.staff_id AND f.relative_id_number = m.id_number)
  GROUP BY m.staff_id, m.id_number;
CREATE OR REPLACE TEMP TABLE r_shared_account AS
  SELECT t.account_no, min(c.street) AS street, any_value(pa.paid) AS amount
  FROM ties t JOIN cases c USING (case_id) LEFT JOIN paid_account pa USING (account_no)
  GROUP BY t.account_no HAVING count(DISTINCT c.household_id) >= 2;
CREATE OR REPLACE TEMP TABLE r_payee_not_household AS
  SELECT a.account_no, min(c.street) AS street, any_value(pa.paid) AS amount
  FROM accounts a JOIN cases c USING (case_id) LEFT JOIN paid_account pa USING (account_no)
  WHERE NOT EXISTS (SELECT 1 FROM persons p
                    WHERE p.id_number = a.holder_id_number AND p.household_id = c.household_id)
    AND a.account_no NOT IN (SELECT account_no FROM valid_custody)
  GROUP BY a.account_no;
CREATE OR REPLACE TEMP TABLE r_staff_linked_account AS
  WITH named AS (
    SELECT a.account_no, c.household_id, a.holder_id_number AS pid
      FROM accounts a LEFT JOIN cases c USING (case_id)
    UNION ALL SELECT a.account_no, c.household_id, a.custodian_id_number
      FROM accounts a LEFT JOIN cases c USING (case_id)
      WHERE a.custodian_id_number IS NOT NULL),
  hit AS (
    SELECT t.account_no FROM ties t JOIN staff s ON s.salary_account = t.account_no
    UNION SELECT n.account_no FROM named n JOIN staff s ON s.id_number = n.pid
    UNION SELECT n.account_no FROM named n JOIN kin k ON k.id_b = n.pid
      WHERE NOT EXISTS (SELECT 1 FROM persons p
                        WHERE p.id_number = n.pid
                          AND p.household_id = n.household_id))
  SELECT h.account_no, pa.paid AS amount FROM hit h LEFT JOIN paid_account pa USING (account_no);
CREATE OR REPLACE TEMP TABLE r_custody_not_filed AS
  SELECT a.account_no, min(c.street) AS street, any_value(pa.paid) AS amount
  FROM accounts a LEFT JOIN cases c USING (case_id) LEFT JOIN paid_account pa USING (account_no)
  WHERE a.custodian_id_number IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM valid_custody f WHERE f.account_no = a.account_no
                    AND f.custodian_id_number = a.custodian_id_number)
  GROUP BY a.account_no;
CREATE OR REPLACE TEMP TABLE r_custodian_concentration AS
  SELECT a.custodian_id_number AS id_number, count(DISTINCT c.household_id) AS households
  FROM accounts a JOIN cases c USING (case_id) WHERE a.custodian_id_number IS NOT NULL
  GROUP BY 1 HAVING count(DISTINCT c.household_id) >= $threshold;
"""


def run_duckdb(folder: Path, repeat: int) -> dict:
    import duckdb

    from analytics.reference import load_settings

    meta = json.loads((folder / "meta.json").read_text())
    con = duckdb.connect()
    for name in TABLES:
        con.execute(
            f"CREATE TABLE {name} AS SELECT * FROM read_parquet(?)",
            [str(folder / f"{name}.parquet")],
        )
    loaded = peak_mb()
    params = {
        "as_of": date.fromisoformat(meta["as_of"]),
        "threshold": load_settings().custodian_concentration_households,
    }
    statements = [s.strip() for s in SQL.split(";") if s.strip()]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for statement in statements:
            used = {k: v for k, v in params.items() if f"${k}" in statement}
            con.execute(statement, used or None)
        results = {
            cid: con.execute(f"SELECT {', '.join(cols)} FROM r_{cid}").fetchall()
            for cid, cols in KEYS.items()
        }
        times.append(time.perf_counter() - started)
    return {
        "seconds": min(times),
        "loaded_mb": loaded,
        "peak_mb": peak_mb(),
        "keys": {cid: digest(rows) for cid, rows in results.items()},
        "counts": {cid: len(rows) for cid, rows in results.items()},
    }


# --- driver ------------------------------------------------------------------------------------


def engine(name: str, folder: Path, repeat: int, draw: int) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--engine",
            name,
            "--data",
            str(folder),
            "--repeat",
            str(repeat),
            "--draw",
            str(draw),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", default="10000,100000,1000000")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--draw",
        type=int,
        default=10,
        help="clusters per kind (largest, most findings, random) to draw",
    )
    parser.add_argument("--engine", choices=("polars", "duckdb"))
    parser.add_argument("--data", type=Path)
    parser.add_argument(
        "--keep", type=Path, help="keep the generated districts in this folder and reuse them"
    )
    args = parser.parse_args()
    if args.engine:
        result = (
            run_polars(args.data, args.repeat, args.draw)
            if args.engine == "polars"
            else run_duckdb(args.data, args.repeat)
        )
        print(json.dumps(result))
        return

    rows = []
    with tempfile.TemporaryDirectory(prefix="aidwatch-bench-") as tmp:
        for persons in (int(p) for p in args.persons.split(",")):
            folder = (args.keep or Path(tmp)) / f"{persons}-{args.seed}"
            if (folder / "meta.json").exists():
                meta = json.loads((folder / "meta.json").read_text())
            else:
                meta = build(persons, args.seed, folder)
            # Engines alternate, one fresh process per run, so that a busy machine slows both
            # alike; the best time and the highest peak of each are kept.
            runs = [
                (
                    engine("polars", folder, 1, args.draw if i == 0 else 0),
                    engine("duckdb", folder, 1, 0),
                )
                for i in range(args.repeat)
            ]
            pol, duck = best([r[0] for r in runs]), best([r[1] for r in runs])
            differ = [cid for cid in KEYS if pol["keys"][cid] != duck["keys"][cid]]
            if differ:
                sys.exit(
                    f"engines disagree at {persons} persons on: {', '.join(differ)} "
                    f"(polars {[pol['counts'][c] for c in differ]}, "
                    f"duckdb {[duck['counts'][c] for c in differ]})"
                )
            rows.append((meta, pol, duck))
            print(
                f"# {meta['rows']['persons']:,} persons built in {meta['seconds']} s; "
                f"findings {sum(pol['counts'].values()):,} "
                f"({', '.join(f'{k} {v}' for k, v in pol['counts'].items())})",
                file=sys.stderr,
                flush=True,
            )
    print_table(rows)


def best(results: list[dict]) -> dict:
    out = dict(results[0])
    out["seconds"] = min(r["seconds"] for r in results)
    out["peak_mb"] = max(r["peak_mb"] for r in results)
    return out


def print_table(rows) -> None:
    head = (
        "persons",
        "staff",
        "relations",
        "ledger",
        "findings",
        "polars s",
        "duckdb s",
        "ratio",
        "polars MB",
        "duckdb MB",
        "graph s",
        "draw max s",
    )
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for meta, pol, duck in rows:
        r = meta["rows"]
        print(
            "| "
            + " | ".join(
                [
                    f"{r['persons']:,}",
                    f"{r['staff']:,}",
                    f"{r['relations']:,}",
                    f"{r['ledger']:,}",
                    f"{sum(pol['counts'].values()):,}",
                    f"{pol['seconds']:.2f}",
                    f"{duck['seconds']:.2f}",
                    f"{pol['seconds'] / duck['seconds']:.2f}",
                    f"{pol['peak_mb']:,.0f}",
                    f"{duck['peak_mb']:,.0f}",
                    f"{pol.get('graph_seconds', 0):.1f}",
                    f"{pol.get('draw_max_seconds', 0):.2f}",
                ]
            )
            + " |"
        )
    print()
    for meta, pol, _ in rows:
        if "graph_nodes" in pol:
            print(
                f"- {meta['rows']['persons']:,} persons: link graph {pol['graph_nodes']:,} "
                f"nodes, {pol['graph_edges']:,} edges, {pol['hubs']} hubs, built in "
                f"{pol['graph_seconds']:.1f} s; {pol['clusters']:,} clusters with findings "
                f"(largest {pol['largest_cluster']:,} nodes); slowest of {pol['drawn']} "
                f"cluster draws {pol['draw_max_seconds']:.2f} s ({pol['draw_max_nodes']} "
                f"nodes shown); peak with graph {pol['peak_mb_graph']:,.0f} MB"
            )


if __name__ == "__main__":
    os.environ.setdefault("POLARS_MAX_THREADS", str(os.cpu_count() or 1))
    main()
