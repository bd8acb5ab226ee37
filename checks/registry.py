"""The check registry: a check is one decorated function named for its defect.

A check takes a :class:`analytics.model.Drop` and returns a LazyFrame of the offending rows only:
its key columns (contract section 5), any further finding columns it knows (street, month, ...),
``amount_fen`` (money at risk in fen, may be null), ``summary`` (one Chinese sentence) and
``evidence`` (a struct naming the rows and values behind the finding). The engine adds the rest.
A check never prints, never reads files and never raises on bad data.

A check that judges only part of its rows tells the run which part it left out: ``partial`` names,
per optional table it reads for part of its rule, what is left unjudged when that table is missing;
``note`` computes such a sentence from the drop (for a gap that only the data shows). Both end up
in the ``note`` column of the run's per-check summary.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from analytics.model import Drop
from analytics.schema import FINDING_KEY_COLUMNS, SEVERITIES, TABLES

FAMILIES = {
    "funds": "资金比对",
    "integrity": "廉洁风险",
    "dynamic": "动态管理",
    "process": "审批流程",
}

# Findings people record rather than a check computes over a drop: they enter the follow-up loop
# like any other, but no check run makes them or judges them gone.
RECORDED_FAMILIES = {
    "file_audit": "档案核查",
}
# Every family a finding may have, in the order the pages list them.
FINDING_FAMILIES = {**FAMILIES, **RECORDED_FAMILIES}


@dataclass(frozen=True)
class RecordedKind:
    """A kind of finding people record (analytics.store.file_audit), with its published rule."""

    check_id: str
    title: str
    family: str
    severity: str
    description: str


RECORDED: dict[str, RecordedKind] = {
    k.check_id: k
    for k in (
        RecordedKind(
            "file_audit_failure",
            "档案核查不符合",
            "file_audit",
            "中",
            "每月档案材料集中核查中，抽查案件的档案对照核查清单（data/checklist.toml）某一项被核查组"
            "认定为“不符合”：每个案件的每个不符合项为一条线索，附核查项、核查人和问题说明，核查结束"
            "签发时转入整改，由案件所属街镇在整改期限内整改；同一案件同一项在以后的核查中再次不符合"
            "的，视为整改后复发，认定为“符合”的，原线索标记为不再发现。",
        ),
    )
}

CheckFn = Callable[[Drop], pl.LazyFrame]
NoteFn = Callable[[Drop], "str | None"]


@dataclass(frozen=True)
class CheckSpec:
    check_id: str
    title: str  # the contract's Chinese name
    family: str
    severity: str
    keys: tuple[str, ...]
    needs: tuple[str, ...]
    description: str  # the docstring's first paragraph: the rule as a supervisor reads it
    fn: CheckFn
    # (optional table, Chinese sentence): the part of the rule left out without that table
    partial: tuple[tuple[str, str], ...] = ()
    note_fn: NoteFn | None = None  # a data-dependent sentence on what was left unjudged
    # Bumped whenever the finding id's recipe changes meaning without its keys changing (a key
    # normalised differently): stored history is then not matched to new ids by mistake.
    id_version: int = 1

    @property
    def recipe(self) -> str:
        """How this check's finding ids are made: version and key columns. The workspace keeps
        it, so that a change of keys cannot silently orphan the findings made before."""
        return f"{self.id_version}:{','.join(sorted(self.keys))}"

    def missing(self, drop: Drop) -> list[str]:
        return [t for t in self.needs if t not in drop.tables]

    def skip_reason(self, drop: Drop) -> str | None:
        missing = self.missing(drop)
        if not missing:
            return None
        names = "、".join(f"{TABLES[t].zh}（{t}）" for t in missing)
        return f"缺少{names}，本项未检查"

    def partial_reason(self, drop: Drop) -> str | None:
        """What a check that ran left unjudged, in Chinese; None when it judged every row.

        Call it after the check itself: a ``note`` may reuse the frames the check memoised."""
        notes = [text for table, text in self.partial if table not in drop.tables]
        if self.note_fn is not None:
            extra = self.note_fn(drop)
            if extra:
                notes.append(extra)
        return "；".join(notes) or None


REGISTRY: dict[str, CheckSpec] = {}


def check(
    *,
    title: str,
    family: str,
    severity: str,
    keys: tuple[str, ...],
    needs: tuple[str, ...],
    partial: dict[str, str] | None = None,
    note: NoteFn | None = None,
    id_version: int = 1,
) -> Callable[[CheckFn], CheckFn]:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    unknown = [k for k in keys if k not in FINDING_KEY_COLUMNS]
    if unknown:
        raise ValueError(f"keys {unknown} are not finding columns")
    unknown = [t for t in needs if t not in TABLES]
    if unknown:
        raise ValueError(f"needs {unknown} are not contract tables")
    partial = dict(partial or {})
    unknown = [t for t in partial if t not in TABLES or TABLES[t].required or t in needs]
    if unknown:
        raise ValueError(f"partial {unknown} are not optional tables outside needs")

    def register(fn: CheckFn) -> CheckFn:
        check_id = fn.__name__
        if check_id in REGISTRY:
            raise ValueError(f"check {check_id!r} is registered twice")
        doc = inspect.getdoc(fn)
        if not doc:
            raise ValueError(f"check {check_id!r} has no docstring")
        # The first paragraph is the published rule; further paragraphs are notes for whoever
        # maintains the check, never shown to users.
        REGISTRY[check_id] = CheckSpec(
            check_id,
            title,
            family,
            severity,
            tuple(keys),
            tuple(needs),
            doc.split("\n\n")[0].strip(),
            fn,
            tuple(partial.items()),
            note,
            id_version,
        )
        return fn

    return register


def load_all() -> dict[str, CheckSpec]:
    """Import every family module so that their decorators run."""
    import importlib
    import pkgutil

    import checks

    for mod in pkgutil.iter_modules(checks.__path__):
        if mod.name in FAMILIES:
            importlib.import_module(f"checks.{mod.name}")
    return REGISTRY


def ordered() -> list[CheckSpec]:
    load_all()
    family_rank = {f: i for i, f in enumerate(FAMILIES)}
    order = {cid: i for i, cid in enumerate(REGISTRY)}
    return sorted(REGISTRY.values(), key=lambda s: (family_rank[s.family], order[s.check_id]))


def titles() -> dict[str, str]:
    """check id -> title of every kind of finding: the checks in registry order, then the kinds
    people record."""
    return {
        **{s.check_id: s.title for s in ordered()},
        **{k.check_id: k.title for k in RECORDED.values()},
    }


def kinds() -> list[tuple[str, str, str]]:
    """(check id, title, family) of every kind of finding, in the order the pages list them."""
    return [(s.check_id, s.title, s.family) for s in ordered()] + [
        (k.check_id, k.title, k.family) for k in RECORDED.values()
    ]


def select(only: list[str] | None) -> list[CheckSpec]:
    """Checks named by family or check id; all when ``only`` is empty."""
    specs = ordered()
    if not only:
        return specs
    wanted = set(only)
    unknown = wanted - set(FAMILIES) - {s.check_id for s in specs}
    if unknown:
        raise ValueError(
            "未知的检查项或类别："
            + "、".join(sorted(unknown))
            + "。可用类别："
            + "、".join(FAMILIES)
        )
    return [s for s in specs if s.family in wanted or s.check_id in wanted]
