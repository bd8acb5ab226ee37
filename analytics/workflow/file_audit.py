"""档案核查: the monthly file-audit session as plain functions over frames.

A session draws a sample of case files from a snapshot, checks each against the checklist kept
in ``data/checklist.toml`` (each item 符合 / 不符合 / 不适用 with a note) and signs off a report;
its failures become findings of the follow-up loop (analytics.store.file_audit).

The draw is reproducible and explainable. The sample is stratified by street office: each
street gets ``per_street`` cases or a ``share`` of its cases (the larger, when both are set), at
least ``min_per_street`` (or all it has). Within a street, cases are drawn without replacement
with probability weighted toward risk (Efraimidis and Spirakis: the cases with the largest
``u ** (1 / weight)`` are drawn), where a case's ``u`` is a hash of the seed and its case number,
so the same seed and parameters draw the same cases from the same snapshot whatever the order of
its rows. The weight is 1 plus the weights of the facts the case has: a lead still open, a
decision in the month audited, a special circumstance recorded, a new handler. These are facts
about how the case was handled, never about who the family are. Cases a supervisor names are
always included, on top of the draw.
"""

from __future__ import annotations

import calendar
import hashlib
import math
import tomllib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import polars as pl
from polars._typing import PolarsDataType

CHECK_ID = "file_audit_failure"
FAMILY = "file_audit"
SEVERITY = "中"
RECIPE_KEYS = ("case_id", "item")

RESULTS: dict[str, str] = {"pass": "符合", "fail": "不符合", "na": "不适用"}
RESULT_CODES = {label: code for code, label in RESULTS.items()}

# risk factor code -> why a case was drawn, as the page and the report say it
REASONS: dict[str, str] = {
    "open_findings": "有未办结的线索",
    "decided_in_month": "本月审批",
    "special_circumstance": "有特殊情形",
    "new_handler": "新经办人经办",
}
MANUAL = "manual"
MANUAL_LABEL = "督查人员指定"
RANDOM_LABEL = "随机抽取"


class FileAuditError(ValueError):
    """A session, a sample or an answer that cannot be made as asked (Chinese message)."""


# --- the checklist ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    code: str
    label: str
    guide: str = ""


def load_checklist(path: Path) -> tuple[ChecklistItem, ...]:
    """The checklist an administrator keeps; a clear Chinese error names what is wrong."""
    name = path.name
    try:
        with open(path, "rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        raise FileAuditError(f"找不到档案核查清单 {name}") from None
    except tomllib.TOMLDecodeError as exc:
        raise FileAuditError(f"档案核查清单 {name} 格式有误（{exc}）") from None
    items = raw.get("item")
    if not isinstance(items, list) or not items:
        raise FileAuditError(f"档案核查清单 {name} 中没有核查项（每项以 [[item]] 开头）")
    out: list[ChecklistItem] = []
    seen: set[str] = set()
    for n, item in enumerate(items, start=1):
        code = str(item.get("code") or "").strip() if isinstance(item, dict) else ""
        label = str(item.get("label") or "").strip() if isinstance(item, dict) else ""
        if not code or not label:
            raise FileAuditError(f"档案核查清单 {name} 第 {n} 项缺少 code 或 label")
        if len(code) > 60 or len(label) > 100:
            raise FileAuditError(f"档案核查清单 {name} 第 {n} 项的 code 或 label 过长")
        if code in seen:
            raise FileAuditError(f"档案核查清单 {name} 中 code “{code}” 出现了两次")
        seen.add(code)
        out.append(ChecklistItem(code, label, str(item.get("guide") or "").strip()))
    return tuple(out)


def checklist_from(stored: Iterable[Mapping]) -> tuple[ChecklistItem, ...]:
    return tuple(ChecklistItem(i["code"], i["label"], i.get("guide") or "") for i in stored)


# --- the sample ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleParams:
    """Everything the draw depends on besides the snapshot; stored with the session."""

    month: str  # YYYY-MM audited
    seed: int
    per_street: int = 5
    share: float = 0.0
    min_per_street: int = 2
    new_handler_months: int = 6
    statuses: tuple[str, ...] = ("在册",)
    risk_weights: dict[str, float] = field(default_factory=dict)
    manual: tuple[str, ...] = ()  # case ids a supervisor adds
    streets: tuple[str, ...] = ()  # only these streets; empty: every street

    def to_dict(self) -> dict:
        out = asdict(self)
        out["statuses"], out["manual"], out["streets"] = (
            list(self.statuses),
            list(self.manual),
            list(self.streets),
        )
        return out

    @classmethod
    def from_dict(cls, raw: Mapping) -> SampleParams:
        return cls(
            month=raw["month"],
            seed=int(raw["seed"]),
            per_street=int(raw.get("per_street", 0)),
            share=float(raw.get("share", 0.0)),
            min_per_street=int(raw.get("min_per_street", 0)),
            new_handler_months=int(raw.get("new_handler_months", 6)),
            statuses=tuple(raw.get("statuses", ())),
            risk_weights={k: float(v) for k, v in (raw.get("risk_weights") or {}).items()},
            manual=tuple(raw.get("manual", ())),
            streets=tuple(raw.get("streets", ())),
        )

    def validate(self) -> None:
        try:
            year, month = (int(x) for x in self.month.split("-"))
            date(year, month, 1)
        except (ValueError, TypeError):
            raise FileAuditError(f"核查月份“{self.month}”应为 YYYY-MM") from None
        if self.per_street < 0 or self.min_per_street < 0:
            raise FileAuditError("每个街镇抽取的案件数不能为负数")
        if not 0 <= self.share <= 1:
            raise FileAuditError("抽取比例应在 0 到 1 之间")
        if (
            self.per_street == 0
            and self.share == 0
            and self.min_per_street == 0
            and not self.manual
        ):
            raise FileAuditError("请设置每个街镇抽取的案件数或比例，或指定案件")
        unknown = sorted(set(self.risk_weights) - set(REASONS))
        if unknown:
            raise FileAuditError("未知的风险因素：" + "、".join(unknown))
        if any(w < 0 for w in self.risk_weights.values()):
            raise FileAuditError("风险权重不能为负数")


def month_bounds(month: str) -> tuple[date, date]:
    year, mon = (int(x) for x in month.split("-"))
    return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])


def _months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (the month's last day if shorter)."""
    year, mon = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, mon + 1, min(day.day, calendar.monthrange(year, mon + 1)[1]))


def draw_key(seed: int, case_id: str) -> float:
    """The case's uniform number in (0, 1): a hash of the seed and the case number."""
    digest = hashlib.sha256(f"{seed}|{case_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2**64


SAMPLE_SCHEMA: dict[str, PolarsDataType] = {
    "position": pl.Int64,
    "case_id": pl.String,
    "street": pl.String,
    "household_id": pl.String,
    "assistance_type": pl.String,
    "handler_id": pl.String,
    "manual": pl.Boolean,
    "reasons": pl.List(pl.String),
    "weight": pl.Float64,
    "draw_key": pl.Float64,
}


def risk_facts(
    cases: pl.DataFrame, open_case_ids: Collection[str], params: SampleParams
) -> pl.DataFrame:
    """Every case of the snapshot with its risk factor flags (one Boolean column per reason)."""
    first, last = month_bounds(params.month)
    new_since = _months_before(last, params.new_handler_months)
    handler_start = (
        cases.filter(pl.col("handler_id").is_not_null())
        .group_by("handler_id")
        .agg(pl.col("accepted_date").min().alias("_first"))
    )
    return (
        cases.join(handler_start, on="handler_id", how="left")
        .with_columns(
            pl.col("case_id").is_in(list(open_case_ids)).alias("open_findings"),
            pl.col("decided_date")
            .is_between(first, last)
            .fill_null(False)
            .alias("decided_in_month"),
            pl.col("special_circumstance").is_not_null().alias("special_circumstance"),
            (pl.col("_first") > new_since).fill_null(False).alias("new_handler"),
        )
        .drop("_first")
    )


def population(cases: pl.DataFrame, params: SampleParams) -> pl.DataFrame:
    """The cases a session draws from: the statuses asked for, and those decided in the month."""
    first, last = month_bounds(params.month)
    pool = cases.filter(
        pl.col("status").is_in(list(params.statuses))
        | pl.col("decided_date").is_between(first, last).fill_null(False)
    )
    if params.streets:
        pool = pool.filter(pl.col("street").is_in(list(params.streets)))
    return pool


def quota(size: int, params: SampleParams) -> int:
    """How many cases a street of ``size`` cases gets in the draw."""
    wanted = max(params.per_street, math.ceil(params.share * size - 1e-9))
    return min(max(wanted, params.min_per_street), size)


def draw_sample(
    cases: pl.DataFrame, open_case_ids: Collection[str], params: SampleParams
) -> pl.DataFrame:
    """The sample (SAMPLE_SCHEMA), streets in the contract's order, cases by draw within each,
    the hand-picked first. ``cases``: the snapshot's cases table."""
    from analytics.schema import STREETS

    params.validate()
    facts = risk_facts(cases, open_case_ids, params)
    known = set(facts.get_column("case_id").to_list())
    missing = [c for c in params.manual if c not in known]
    if missing:
        raise FileAuditError(
            "指定的案件不在所选数据快照中："
            + "、".join(missing[:10])
            + (f" 等 {len(missing)} 件" if len(missing) > 10 else "")
        )
    weights = params.risk_weights
    weight = pl.lit(1.0)
    for code in REASONS:
        weight = weight + pl.when(pl.col(code)).then(weights.get(code, 0.0)).otherwise(0.0)
    facts = facts.with_columns(
        weight.alias("weight"),
        pl.concat_list([pl.when(pl.col(code)).then(pl.lit(code)) for code in REASONS])
        .list.drop_nulls()
        .alias("reasons"),
        pl.col("case_id")
        .map_elements(lambda c: draw_key(params.seed, c), return_dtype=pl.Float64)
        .alias("draw_key"),
    )
    manual = set(params.manual)
    picked = facts.filter(pl.col("case_id").is_in(list(manual))).with_columns(
        pl.lit(True).alias("manual")
    )
    pool = population(facts, params).filter(~pl.col("case_id").is_in(list(manual)))
    pool = pool.with_columns(
        (pl.col("draw_key").log() / pl.col("weight")).alias("_rank")
    )  # log(u ** (1/w))
    drawn = []
    for _street, group in pool.group_by("street", maintain_order=True):
        size = group.height
        n = quota(size, params)
        drawn.append(group.sort(["_rank", "case_id"], descending=[True, False]).head(n))
    chosen = (
        (pl.concat(drawn) if drawn else pool.head(0))
        .drop("_rank")
        .with_columns(pl.lit(False).alias("manual"))
    )
    order = {s: i for i, s in enumerate(STREETS)}
    sample = pl.concat([picked, chosen], how="diagonal_relaxed")
    sample = (
        sample.with_columns(
            pl.col("street")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_street"),
            (-pl.col("draw_key").log() / pl.col("weight")).alias("_rank"),
        )
        .sort(["_street", "manual", "_rank", "case_id"], descending=[False, True, False, False])
        .with_columns(pl.int_range(1, pl.len() + 1).alias("position"))
    )
    return sample.select({c: pl.col(c).cast(t) for c, t in SAMPLE_SCHEMA.items()}.values())


def reasons_text(reasons: Iterable[str] | None, manual: bool) -> str:
    """Why a case was drawn, in Chinese."""
    parts = [MANUAL_LABEL] if manual else []
    named = [REASONS.get(r, r) for r in (reasons or [])]
    if not manual:
        parts.append(
            f"{RANDOM_LABEL}（风险加权：{'、'.join(named)}）"
            if named
            else f"{RANDOM_LABEL}（无风险因素，基础权重）"
        )
    elif named:
        parts.append("风险因素：" + "、".join(named))
    return "；".join(parts)


def params_text(params: SampleParams) -> list[str]:
    """How the sample was drawn, as sentences for the page and the report."""
    lines = [
        f"核查月份：{params.month}；随机种子：{params.seed}（同一数据快照、同一种子和参数，"
        "再次抽取得到相同的案件）"
    ]
    size = []
    if params.per_street:
        size.append(f"每个街镇 {params.per_street} 件")
    if params.share:
        size.append(f"各街镇案件数的 {params.share * 100:g}%（向上取整）")
    rule = "，取两者中较大者" if len(size) == 2 else ""
    lines.append(
        "抽取数量："
        + ("、".join(size) or "不随机抽取")
        + rule
        + f"；每个街镇至少 {params.min_per_street} 件（案件不足的全部抽取）"
    )
    lines.append(
        "抽取范围：状态为"
        + "、".join(params.statuses or ("（无）",))
        + f"的案件，以及 {params.month} 审批的案件"
        + (f"；限于 {'、'.join(params.streets)}" if params.streets else "")
    )
    weights = "；".join(
        f"{label} +{params.risk_weights.get(code, 0):g}" for code, label in REASONS.items()
    )
    lines.append(
        "风险加权：每件基础权重 1，" + weights + "；权重越大，被抽中的可能越大"
        f"（新经办人指首件受理在核查月末前 {params.new_handler_months} 个月内的经办人）"
    )
    if params.manual:
        lines.append(f"督查人员指定案件 {len(params.manual)} 件，另加于随机抽取之外")
    return lines


# --- answers and the report's figures ----------------------------------------------------------

ANSWER_SCHEMA: dict[str, PolarsDataType] = {
    "case_id": pl.String,
    "item": pl.String,
    "result": pl.String,
    "note": pl.String,
    "by": pl.String,
    "at": pl.Datetime("us"),
    "version": pl.Int64,
}


def case_status(
    sample: pl.DataFrame, answers: pl.DataFrame, checklist: tuple[ChecklistItem, ...]
) -> pl.DataFrame:
    """Per case of the sample: items answered, failed, passed, not applicable; done (every item
    answered) and passed (done with no 不符合)."""
    codes = [i.code for i in checklist]
    counted = (
        answers.filter(pl.col("item").is_in(codes))
        .group_by("case_id")
        .agg(
            pl.len().alias("answered"),
            (pl.col("result") == "fail").sum().alias("failed"),
            (pl.col("result") == "pass").sum().alias("passed_items"),
            (pl.col("result") == "na").sum().alias("na_items"),
        )
    )
    return (
        sample.join(counted, on="case_id", how="left")
        .with_columns(
            pl.col("answered", "failed", "passed_items", "na_items").fill_null(0).cast(pl.Int64)
        )
        .with_columns((pl.col("answered") == len(codes)).alias("done"))
        .with_columns((pl.col("done") & (pl.col("failed") == 0)).alias("passed"))
    )


def rate(num: int, den: int) -> float | None:
    return num / den if den else None


def by_street(
    sample: pl.DataFrame, answers: pl.DataFrame, checklist: tuple[ChecklistItem, ...]
) -> pl.DataFrame:
    """street, cases, done, passed, failed_cases, items_pass, items_fail, items_na,
    case_pass_rate (passed / done), item_pass_rate (符合 / (符合 + 不符合))."""
    status = case_status(sample, answers, checklist)
    return (
        status.group_by("street", maintain_order=True)
        .agg(
            pl.len().alias("cases"),
            pl.col("done").sum().alias("done"),
            pl.col("passed").sum().alias("passed"),
            (pl.col("failed") > 0).sum().alias("failed_cases"),
            pl.col("passed_items").sum().alias("items_pass"),
            pl.col("failed").sum().alias("items_fail"),
            pl.col("na_items").sum().alias("items_na"),
        )
        .with_columns(
            pl.col(
                "cases", "done", "passed", "failed_cases", "items_pass", "items_fail", "items_na"
            ).cast(pl.Int64)
        )
        .with_columns(
            pl.when(pl.col("done") > 0)
            .then(pl.col("passed") / pl.col("done"))
            .alias("case_pass_rate"),
            pl.when((pl.col("items_pass") + pl.col("items_fail")) > 0)
            .then(pl.col("items_pass") / (pl.col("items_pass") + pl.col("items_fail")))
            .alias("item_pass_rate"),
        )
    )


def by_item(answers: pl.DataFrame, checklist: tuple[ChecklistItem, ...]) -> pl.DataFrame:
    """code, label, pass, fail, na, pass_rate (符合 / (符合 + 不符合)), in checklist order."""
    items = pl.DataFrame(
        {"code": [i.code for i in checklist], "label": [i.label for i in checklist]}
    )
    counted = answers.group_by("item").agg(
        *[(pl.col("result") == code).sum().cast(pl.Int64).alias(code) for code in RESULTS]
    )
    return (
        items.join(counted, left_on="code", right_on="item", how="left", maintain_order="left")
        .with_columns(pl.col(*RESULTS).fill_null(0))
        .with_columns(
            pl.when((pl.col("pass") + pl.col("fail")) > 0)
            .then(pl.col("pass") / (pl.col("pass") + pl.col("fail")))
            .alias("pass_rate")
        )
    )


def failures(
    sample: pl.DataFrame, answers: pl.DataFrame, checklist: tuple[ChecklistItem, ...]
) -> pl.DataFrame:
    """Every 不符合 answer with its case's street, the item's label and the note, in sample
    and checklist order."""
    order = {i.code: n for n, i in enumerate(checklist)}
    labels = {i.code: i.label for i in checklist}
    return (
        answers.filter(pl.col("result") == "fail")
        .join(
            sample.select("position", "case_id", "street", "handler_id"), on="case_id", how="inner"
        )
        .with_columns(
            pl.col("item").replace_strict(labels, default=pl.col("item")).alias("label"),
            pl.col("item")
            .replace_strict(order, default=len(order), return_dtype=pl.Int64)
            .alias("_order"),
        )
        .sort("position", "_order")
        .drop("_order")
    )


def failure_summary(title: str, case_id: str, label: str, note: str | None) -> str:
    text = f"{title}：案件 {case_id} 的档案“{label}”不符合"
    return text + (f"（{note.strip()}）" if note and note.strip() else "")


def pass_rate_facts(sessions: pl.DataFrame, statuses: pl.DataFrame) -> pl.DataFrame:
    """The closed sessions' cases as indicator facts: street, month (the month audited),
    num (the case passed), den (1 per case done). ``sessions``: id, month, state;
    ``statuses``: session_id with case_status columns."""
    closed = sessions.filter(pl.col("state") == "closed").select(
        pl.col("id").alias("session_id"), "month"
    )
    return (
        statuses.filter(pl.col("done"))
        .join(closed, on="session_id", how="inner")
        .select(
            "street",
            "month",
            pl.col("passed").cast(pl.Int64).alias("audit_passed"),
            pl.lit(1, pl.Int64).alias("audit_cases"),
        )
    )
