"""The house rules fail the build when broken: a layer crossed, a lint error, a type error.

`make lint` (run first by `make test` and so by CI) runs lint-imports with the contracts in
pyproject.toml, ruff check, ruff format --check and mypy. Each test here breaks a copy of the
tree in one way and shows that the tool refuses it, and that the same copy unbroken passes.
The whole-tree ruff and mypy runs are `make lint`'s; only lint-imports, which takes a fraction
of a second, is also run here on the tree itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("analytics", "checks", "dashboard")
# The tools are installed beside the interpreter that runs the tests (`make setup`).
BIN = Path(sys.executable).parent

LAYERS = "Layers: pages, command line, services, runs, storage, rules, core"
STREAMLIT = "Only the pages import streamlit"
SQLALCHEMY = "Only analytics.store imports SQLAlchemy and Alembic"
SPARK = "No rule imports Spark"
GENERATOR = "The demo generator imports no rule"


def run(tool: str, *args: str, cwd: Path) -> tuple[int, str]:
    """Exit status and output (stdout and stderr) of one of the house tools."""
    exe = BIN / tool
    assert exe.exists(), f"{exe} is missing: `make setup` installs the house tools"
    # A wide console, so that lint-imports prints a contract's name on one line.
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [str(exe), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    return done.returncode, done.stdout + done.stderr


def copy_tree(dest: Path) -> Path:
    """The three packages and pyproject.toml, copied to ``dest``."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def add_line(path: Path, line: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(f"\n{line}\n")


def broken(output: str) -> set[str]:
    """The contracts lint-imports reports broken."""
    return set(re.findall(r"^(.+?) BROKEN\b", output, flags=re.MULTILINE))


def lint_imports(cwd: Path) -> tuple[int, str]:
    return run("lint-imports", "--no-cache", cwd=cwd)


# --- the layers -----------------------------------------------------------------------------


def test_the_tree_keeps_every_contract() -> None:
    code, out = lint_imports(ROOT)
    assert code == 0, out
    assert not broken(out)


def test_an_unbroken_copy_keeps_every_contract(tmp_path: Path) -> None:
    code, out = lint_imports(copy_tree(tmp_path))
    assert code == 0, out


# Each: the file of the copy that gains a line, the line, the contract it breaks, and the import
# the report must name.
BREAKS = [
    pytest.param(
        "checks/common.py",
        "from analytics.store import Store",
        LAYERS,
        "checks.common -> analytics.store",
        id="a rule imports storage",
    ),
    pytest.param(
        "checks/common.py",
        "from analytics.views import funds",
        LAYERS,
        "checks.common -> analytics.views.funds",
        id="a rule imports a page service",
    ),
    pytest.param(
        "analytics/schema.py",
        "from checks import registry",
        LAYERS,
        "analytics.schema -> checks.registry",
        id="the core imports a rule",
    ),
    pytest.param(
        "analytics/reader.py",
        "from analytics import tracking",
        LAYERS,
        "analytics.reader -> analytics.tracking",
        id="the core imports storage",
    ),
    pytest.param(
        "analytics/pipeline.py",
        "from analytics.store import findings",
        LAYERS,
        "analytics.pipeline -> analytics.store.findings",
        id="the engine imports storage",
    ),
    pytest.param(
        "analytics/views/rules.py",
        "from dashboard import ui",
        LAYERS,
        "analytics.views.rules -> dashboard.ui",
        id="a page service imports a page",
    ),
    pytest.param(
        "checks/common.py",
        "import streamlit",
        STREAMLIT,
        "checks.common -> streamlit",
        id="a rule imports streamlit",
    ),
    pytest.param(
        "analytics/views/rules.py",
        "import streamlit as st",
        STREAMLIT,
        "analytics.views.rules -> streamlit",
        id="a page service imports streamlit",
    ),
    pytest.param(
        "analytics/report.py",
        "from sqlalchemy import select",
        SQLALCHEMY,
        "analytics.report -> sqlalchemy",
        id="a report imports sqlalchemy",
    ),
    pytest.param(
        "analytics/tracking.py",
        "from alembic import command",
        SQLALCHEMY,
        "analytics.tracking -> alembic",
        id="the run log imports alembic",
    ),
    pytest.param(
        "checks/funds.py",
        "import pyspark",
        SPARK,
        "checks.funds -> pyspark",
        id="a rule imports pyspark",
    ),
    pytest.param(
        "analytics/masking.py",
        "from pyspark.sql import functions",
        SPARK,
        "analytics.masking -> pyspark",
        id="a rule reaches pyspark through the core",
    ),
    pytest.param(
        "analytics/generate/core.py",
        "from checks import registry",
        GENERATOR,
        "analytics.generate.core -> checks.registry",
        id="the generator imports a rule",
    ),
]


@pytest.mark.parametrize(("path", "line", "contract", "reported"), BREAKS)
def test_a_broken_contract_fails_the_build(
    tmp_path: Path, path: str, line: str, contract: str, reported: str
) -> None:
    tree = copy_tree(tmp_path)
    add_line(tree / path, line)
    code, out = lint_imports(tree)
    assert code != 0, out
    assert contract in broken(out), out
    assert reported in out, out


def test_the_spark_engine_when_it_comes_is_imported_by_no_rule(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    (tree / "analytics" / "spark.py").write_text('"""The Spark engine."""\n', encoding="utf-8")
    _, out = lint_imports(tree)
    assert LAYERS not in broken(out), out  # its place is kept in the layers before it exists
    add_line(tree / "checks" / "engine.py", "from analytics import spark")
    code, out = lint_imports(tree)
    assert code != 0, out
    assert LAYERS in broken(out), out
    assert "checks.engine -> analytics.spark" in out, out


def declared_layers() -> set[str]:
    """The modules named in the layers contract."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["name"] == LAYERS]
    return {
        name.strip().strip("()")
        for layer in contract["layers"]
        for name in re.split(r"[|:]", layer)
    }


def unplaced(modules: set[str], layers: set[str]) -> set[str]:
    """Modules in no layer: neither a layer, inside one, nor a package holding layers."""
    return {
        m
        for m in modules
        if not any(m == x or m.startswith(f"{x}.") or x.startswith(f"{m}.") for x in layers)
    }


def test_every_module_is_in_a_layer() -> None:
    # The layers contract checks only the modules it names: a module left out could import
    # anything. Each new module must be given its layer in pyproject.toml.
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    layers = declared_layers()
    assert not unplaced(set(graph.modules), layers)
    assert unplaced(set(graph.modules) | {"analytics.newcomer"}, layers) == {"analytics.newcomer"}


# --- lint and format ------------------------------------------------------------------------


def copy_one(tmp_path: Path, path: str) -> Path:
    """One file of the tree with pyproject.toml beside its package, as ruff finds its config."""
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / path).parent.mkdir(parents=True)
    shutil.copy2(ROOT / path, tmp_path / path)
    return tmp_path / path


def test_a_lint_error_fails_the_build(tmp_path: Path) -> None:
    source = copy_one(tmp_path, "checks/common.py")
    assert run("ruff", "check", "--no-cache", "checks/common.py", cwd=tmp_path)[0] == 0
    add_line(source, "\ndef _unused() -> None:\n    import os")
    code, out = run("ruff", "check", "--no-cache", "checks/common.py", cwd=tmp_path)
    assert code != 0, out
    assert "F401" in out, out


def test_unformatted_code_fails_the_build(tmp_path: Path) -> None:
    source = copy_one(tmp_path, "checks/common.py")
    check = ("format", "--check", "--no-cache", "checks/common.py")
    assert run("ruff", *check, cwd=tmp_path)[0] == 0
    add_line(source, "\nWIDTHS = {  'narrow':1,'wide' : 2 }")
    code, out = run("ruff", *check, cwd=tmp_path)
    assert code != 0, out
    assert "checks/common.py" in out, out
    assert "1 file would be reformatted" in out, out


# --- types ----------------------------------------------------------------------------------


def test_a_type_error_fails_the_build(tmp_path: Path) -> None:
    # mypy with the project's configuration, on one strict module of the copy (a path given on
    # the command line replaces the configured `files`). Its cache is in the copy, started from
    # the tree's own when `make lint` has left one: mypy trusts a cached module only while its
    # source is unchanged, so only the third-party libraries are spared a cold read, and the
    # second run rechecks just the module broken.
    tree = copy_tree(tmp_path)
    if (ROOT / ".mypy_cache").is_dir():
        shutil.copytree(ROOT / ".mypy_cache", tree / ".mypy_cache")
    mypy = ("--config-file", "pyproject.toml", "--cache-dir", ".mypy_cache", "checks/common.py")
    code, out = run("mypy", *mypy, cwd=tree)
    assert code == 0, out
    source = tree / "checks" / "common.py"
    first = len(source.read_text(encoding="utf-8").splitlines()) + 3
    add_line(
        source,
        '\ndef untyped(frame):\n    return frame\n\n\ndef width() -> int:\n    return "wide"',
    )
    code, out = run("mypy", *mypy, cwd=tree)
    assert code != 0, out
    # Strict for the rules: a function without annotations is an error there.
    assert f"checks/common.py:{first}: error: Function is missing a type annotation" in out, out
    assert "[no-untyped-def]" in out, out
    # Everywhere: a value of the wrong type.
    assert 'Incompatible return value type (got "str", expected "int")  [return-value]' in out, out
