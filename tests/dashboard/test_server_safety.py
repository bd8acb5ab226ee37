"""What runs inside the dashboard's server process must not call Python from Polars' workers.

A Python function run by Polars (``map_elements``, ``map_batches``, ``map_groups``) makes the
workers wait for the interpreter lock; a page drawing a table in another session's thread holds
that lock while it waits for the same workers, and the server hangs (seen with a check run in a
thread of the server). The checks, which do call Python from Polars, run in a process of their
own (analytics.runs); the page code and the services it calls must not.
"""

from __future__ import annotations

import re

from analytics.reference import PROJECT_ROOT

CALLBACK = re.compile(r"\.(map_elements|map_batches|map_groups)\(|pl\.map_batches\(")
SERVER_SIDE = ("dashboard", "analytics/views", "analytics/charts")
SERVER_MODULES = (
    "analytics/linkgraph.py",
    "analytics/kinship.py",
    "analytics/reader.py",
    "analytics/results.py",
    "analytics/masking.py",
    "analytics/report.py",
    "analytics/export.py",
)


def test_no_polars_callback_in_code_the_server_runs():
    files = [p for folder in SERVER_SIDE for p in (PROJECT_ROOT / folder).rglob("*.py")]
    files += [PROJECT_ROOT / m for m in SERVER_MODULES]
    assert len(files) > 20
    hits = [
        (str(p.relative_to(PROJECT_ROOT)), n + 1)
        for p in files
        for n, line in enumerate(p.read_text(encoding="utf-8").splitlines())
        if CALLBACK.search(line)
    ]
    assert hits == []
