"""线索清单's triage: each finding of a run beside its workflow state, the filters on that state,
the moves a person may make on one finding or on many, and one finding's history, its
occurrences run by run and the money recovered for it.

The workflow (states, allowed moves, what each needs) is analytics.workflow.triage and the
database is analytics.store; this module turns them into frames with Chinese headers and plain
values for the page, and checks what the page cannot: who is acting, whether the finding is in
the workspace at all, whether it changed since the page drew it. Nothing here imports Streamlit.

A run made outside the workspace (``aidwatch check`` into a folder of its own) has findings the
database never took in: they show as 未登记 and no move is offered on them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import polars as pl

from analytics import access, formats, reference
from analytics.access import Viewer
from analytics.calendar import CalendarError, WorkdayCalendar
from analytics.store import Workspace
from analytics.store import findings as stored
from analytics.store.attachments import MAX_BYTES, add_attachment
from analytics.store.findings import ConcurrentEditError
from analytics.views.funds import yuan_expr
from analytics.workflow.triage import (
    CLOSED,
    MOVES,
    RUN_MOVES,
    STATES,
    Move,
    MoveError,
    MoveInput,
    allowed_moves,
    plan_move,
    state_label,
)

log = logging.getLogger(__name__)

# A finding of the run that the workspace's database does not hold.
UNREGISTERED = "unregistered"
UNREGISTERED_LABEL = "未登记"
UNASSIGNED = "（未分派）"
DUE_CHOICES = {"all": "全部", "overdue": "已逾期", "week": "7日内到期", "month": "30日内到期"}
_SOON_DAYS = {"week": 7, "month": 30}
SEEN_CLOSED = "关闭后再次发现"
GONE = "不再发现"
EVENT_LABELS = {
    "new": "首次发现",
    "seen": "再次发现",
    "recurred": "回头看复发",
    "gone": GONE,
    "seen_closed": SEEN_CLOSED,
}
MOVE_LABELS = {"found": "发现线索", **RUN_MOVES, **{m.name: m.label for m in MOVES.values()}}
ATTACHMENT_MAX_MB = MAX_BYTES // (1024 * 1024)
# One amount is one finding's: recording a payment is never a bulk move.
BULK_EXCLUDED = frozenset({"record_recovery"})

NO_ACTOR = "没有操作人（请先登录），不能执行操作"
NOT_REGISTERED = "这条线索未登记到工作区（检查未在工作区中运行），不能在此处理"
STALE = "这条线索刚被他人修改过，本次操作未执行"
DUE_UNKNOWN = "工作日历未收录所需年份，无法按工作日自动计算期限，请填写期限"
STATES_UNAVAILABLE = (
    "无法打开工作区数据库，线索的核查状态暂不可用，本页只能查看线索。"
    "请管理员检查工作区和数据库设置（AIDWATCH_WORKSPACE、AIDWATCH_DATABASE_URL）。"
)

_STATE_COLUMNS = (
    "state",
    "version",
    "present",
    "seen_while_closed",
    "assignee",
    "assignee_street",
    "due_date",
    "expires_on",
    "cycle",
    "gone_run",
)


# --- the run's findings with their state --------------------------------------------------------


def empty_states() -> pl.DataFrame:
    return pl.DataFrame(schema=stored.FINDING_STATE_SCHEMA)


def read_states(
    open_workspace: Callable[[], Workspace],
    states_of: Callable[[Workspace], pl.DataFrame] | None = None,
) -> tuple[Workspace | None, pl.DataFrame, str | None]:
    """(the workspace, every stored finding's state, None), or (None, no states, why in
    Chinese) when its database cannot be opened: the list is then shown without states.
    ``states_of``: how to read them (the page passes a cached reader)."""
    try:
        ws = open_workspace()
        return ws, (states_of or (lambda w: stored.states_frame(w.store)))(ws), None
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database reads the same
        # The kind only: a driver's message may carry the database address.
        log.warning("workflow states unavailable: %s", type(exc).__name__)
        return None, empty_states(), STATES_UNAVAILABLE


def with_recorded(findings: pl.DataFrame, recorded: pl.DataFrame | None) -> pl.DataFrame:
    """The run's findings followed by those people recorded in the workspace (档案核查
    failures, analytics.store.file_audit.recorded_findings) that the run does not hold."""
    if recorded is None or recorded.height == 0:
        return findings
    extra = recorded.filter(
        ~pl.col("finding_id").is_in(findings.get_column("finding_id").implode())
    )
    return pl.concat(
        [findings, extra.select(findings.columns).cast(findings.schema)], how="vertical"
    )


def with_states(findings: pl.DataFrame, states: pl.DataFrame, *, today: date) -> pl.DataFrame:
    """The run's findings (as views.findings.visible_findings gives them), in their order, with
    their workflow state: ``registered``, ``state`` (UNREGISTERED when not in the database),
    ``state_label``, ``version``, ``assignee``, ``assignee_street``, ``assignee_text``,
    ``due_date``, ``overdue`` (an open finding past its due date), ``presence`` (关闭后再次发现
    / 不再发现, else null), ``expires_on``, ``cycle``, ``gone_run``."""
    joined = findings.join(
        states.select("finding_id", *_STATE_COLUMNS),
        on="finding_id",
        how="left",
        validate="m:1",
        maintain_order="left",
    )
    registered = pl.col("version").is_not_null()
    state = pl.when(registered).then(pl.col("state")).otherwise(pl.lit(UNREGISTERED))
    return joined.with_columns(
        registered=registered,
        state=state,
        state_label=state.replace_strict(
            {**STATES, UNREGISTERED: UNREGISTERED_LABEL}, default=state, return_dtype=pl.String
        ),
        assignee_text=pl.concat_str(
            ["assignee_street", "assignee"], separator=" · ", ignore_nulls=True
        ).replace("", None),
        overdue=(
            registered & (pl.col("due_date") < today) & ~pl.col("state").is_in(sorted(CLOSED))
        ).fill_null(False),
        presence=pl.when(pl.col("seen_while_closed").fill_null(False))
        .then(pl.lit(SEEN_CLOSED))
        .when(registered & ~pl.col("present").fill_null(True))
        .then(pl.lit(GONE))
        .otherwise(pl.lit(None, dtype=pl.String)),
    )


@dataclass(frozen=True)
class TriageOptions:
    states: list[str]  # state codes present, workflow order, UNREGISTERED last
    assignees: list[str]  # street offices, then named people, then UNASSIGNED when any is


def triage_options(findings: pl.DataFrame) -> TriageOptions:
    """The choices of the state and assignee filters: only values that occur."""
    present = set(findings.get_column("state").to_list())
    states = [s for s in (*STATES, UNREGISTERED) if s in present]
    streets = sorted(set(findings.get_column("assignee_street").drop_nulls().to_list()))
    people = sorted(set(findings.get_column("assignee").drop_nulls().to_list()) - set(streets))
    unassigned = findings.filter(pl.col("registered") & pl.col("assignee_text").is_null()).height
    return TriageOptions(
        states=states, assignees=[*streets, *people, *([UNASSIGNED] if unassigned else [])]
    )


def state_choice_label(code: str) -> str:
    return UNREGISTERED_LABEL if code == UNREGISTERED else state_label(code)


def filter_triage(
    findings: pl.DataFrame,
    *,
    states: Sequence[str] | None = None,
    assignees: Sequence[str] | None = None,
    due: str = "all",
    today: date,
) -> pl.DataFrame:
    """Rows in the chosen states, assigned to any of the chosen streets or people (UNASSIGNED:
    to none), with the chosen due date: DUE_CHOICES' keys (all, overdue, due within 7 or 30
    days and not yet overdue). An empty choice keeps everything."""
    if states:
        findings = findings.filter(pl.col("state").is_in(list(states)))
    if assignees:
        chosen = [a for a in assignees if a != UNASSIGNED]
        keep = (
            pl.col("assignee").is_in(chosen) | pl.col("assignee_street").is_in(chosen)
        ).fill_null(False)
        if UNASSIGNED in assignees:
            keep = keep | (pl.col("registered") & pl.col("assignee_text").is_null())
        findings = findings.filter(keep)
    if due == "overdue":
        findings = findings.filter(pl.col("overdue"))
    elif due in _SOON_DAYS:
        findings = findings.filter(
            ~pl.col("overdue")
            & ~pl.col("state").is_in(sorted(CLOSED))
            & pl.col("due_date")
            .is_between(today, today + timedelta(days=_SOON_DAYS[due]))
            .fill_null(False)
        )
    return findings


def status_text(finding: Mapping) -> str:
    """One opened finding's state as a line of plain text (escape it for Markdown)."""
    if not finding.get("registered"):
        return UNREGISTERED_LABEL
    parts = [state_label(finding["state"])]
    if finding.get("assignee_text"):
        parts.append(f"承办：{finding['assignee_text']}")
    if finding.get("due_date"):
        parts.append(
            f"期限：{finding['due_date'].isoformat()}"
            + ("（已逾期）" if finding.get("overdue") else "")
        )
    if finding.get("state") == "excused" and finding.get("expires_on"):
        parts.append(f"免责到期：{finding['expires_on'].isoformat()}")
    if (finding.get("cycle") or 1) > 1:
        parts.append(f"第 {finding['cycle']} 轮整改")
    if finding.get("presence"):
        parts.append(finding["presence"])
    return " · ".join(parts)


# --- moves ---------------------------------------------------------------------------------------


class Deadlines:
    """The default deadlines of the settings' [workflow] section, in working days on the
    official calendar; a year the calendar does not hold gives no default (the form asks)."""

    def __init__(
        self,
        verify_days: int,
        rectify_days: int,
        exception_max_days: int,
        calendar: WorkdayCalendar | None,
    ):
        self.verify_days = verify_days
        self.rectify_days = rectify_days
        self.exception_max_days = exception_max_days
        self.calendar = calendar

    @classmethod
    def load(cls) -> Deadlines:
        workflow = reference.load_settings().workflow
        try:
            calendar = WorkdayCalendar.load()
        except CalendarError:
            calendar = None
        return cls(
            workflow.verify_working_days,
            workflow.rectify_working_days,
            workflow.exception_max_days,
            calendar,
        )

    def default_due(self, move: str, state: str | None, today: date) -> date | None:
        """The deadline a move sets unless the person gives one: verification for an
        assignment (or an extension while verifying), rectification for an order to rectify
        (or an extension while rectifying); None when the calendar cannot count it."""
        if move == "assign" or (move == "extend" and state == "verifying"):
            days = self.verify_days
        elif move == "rectify" or (move == "extend" and state == "rectifying"):
            days = self.rectify_days
        else:
            return None
        if self.calendar is None:
            return None
        try:
            return self.calendar.add_workdays(today, days)
        except CalendarError:
            return None


def assignable_streets(viewer: Viewer | None = None) -> list[str]:
    """The street offices a finding may be assigned to by this viewer: every one for a
    district role, a street user's own only."""
    from analytics.schema import STREETS

    return [s for s in STREETS if viewer is None or access.may_see_street(viewer, s)]


def moves_for(finding: Mapping, viewer: Viewer | None = None) -> list[Move]:
    """The moves a person may make on this finding now (none when it is not registered); with
    a viewer, only those their role may make on a finding of their street."""
    if not finding.get("registered"):
        return []
    moves = allowed_moves(finding["state"], finding["family"])
    if viewer is None:
        return moves
    if not access.may_see_street(viewer, finding.get("street")):
        return []
    return [m for m in moves if access.may(viewer, m.permission)]


@dataclass(frozen=True)
class FormSpec:
    """What a move's form asks for: fields in order and which of them must be filled."""

    fields: tuple[str, ...]  # assignee, due_date, amount, paid_on, expires_on, reason, note
    required: frozenset[str]


def form_spec(move: str) -> FormSpec:
    spec = MOVES[move]
    fields = []
    if "assignee" in spec.needs:
        fields.append("assignee")
    if move in ("assign", "rectify", "extend"):
        fields.append("due_date")
    fields.extend(
        need for need in ("amount", "paid_on", "expires_on", "reason") if need in spec.needs
    )
    fields.append("note")
    required = set(spec.needs) | ({"due_date"} if move == "extend" else set())
    return FormSpec(tuple(fields), frozenset(required))


def bulk_form_spec(move: str) -> FormSpec:
    """A bulk move's form: the single move's, always with one reason for all (required where
    the move needs one), as a file-audit session records why it closed what it closed."""
    spec = form_spec(move)
    if "reason" in spec.fields:
        return spec
    return FormSpec((*(f for f in spec.fields if f != "note"), "reason", "note"), spec.required)


def yuan_to_fen(yuan: float | str | None) -> int | None:
    """Yuan as a person types it (1550.5) -> integer fen (155050), rounded half up."""
    if yuan is None or yuan == "":
        return None
    try:
        return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        raise MoveError("金额格式不正确") from None


def move_input(
    *,
    reason: str | None = None,
    note: str | None = None,
    assignee: str | None = None,
    assignee_street: str | None = None,
    due_date: date | None = None,
    amount_yuan: float | None = None,
    paid_on: date | None = None,
    expires_on: date | None = None,
) -> MoveInput:
    """What a form gave, blanks as None and money in fen."""

    def text(value: str | None) -> str | None:
        return (value or "").strip() or None

    return MoveInput(
        reason=text(reason),
        note=text(note),
        assignee=text(assignee),
        assignee_street=text(assignee_street),
        due_date=due_date,
        amount_fen=yuan_to_fen(amount_yuan),
        paid_on=paid_on,
        expires_on=expires_on,
    )


def make_move(
    ws: Workspace,
    finding: Mapping,
    move: str,
    given: MoveInput,
    files: Sequence[tuple[str, bytes]] = (),
    *,
    by: str,
    expected_version: int,
    today: date,
    deadlines: Deadlines,
    viewer: Viewer | None = None,
) -> int:
    """One move on one finding, by ``by``, against the version the page drew; its new version.

    Raises MoveError (Chinese) for no one acting, a finding not in the workspace or a move
    the workflow refuses; ConcurrentEditError when the finding changed since the page drew it
    (nothing is written); DropError for an attachment that cannot be kept. ``finding``: the
    row as :func:`with_states` gives it, read now. Attachments are kept only once the move
    is known to be allowed."""
    by = (by or "").strip()
    if not by:
        raise MoveError(NO_ACTOR)
    if viewer is not None and move in MOVES:
        try:
            access.require_row(viewer, MOVES[move].permission, finding.get("street"))
        except access.AccessError as exc:
            raise MoveError(str(exc)) from None
    if not finding.get("registered"):
        raise MoveError(NOT_REGISTERED)
    if finding["version"] != expected_version:
        raise ConcurrentEditError(STALE)
    default_due = deadlines.default_due(move, finding["state"], today)
    plan_move(
        finding["state"],
        finding["family"],
        move,
        given,
        today=today,
        default_due=default_due,
        max_exception_days=deadlines.exception_max_days,
    )
    shas = tuple(add_attachment(ws, name, content, by=by) for name, content in files)
    return stored.apply_move(
        ws.store,
        finding["finding_id"],
        move,
        replace(given, attachments=given.attachments + shas),
        by=by,
        expected_version=expected_version,
        today=today,
        default_due=default_due,
        max_exception_days=deadlines.exception_max_days,
    )


def done_text(move: str, from_state: str) -> str:
    """What a move just did, as a sentence: the move and the state it led from and to."""
    target = MOVES[move].target or from_state
    return f"已执行“{MOVE_LABELS[move]}”：{state_label(from_state)} → {state_label(target)}。"


def latest_text(ws: Workspace, finding_id: str) -> str:
    """The finding's state now and the move that made it, as a sentence."""
    states = stored.states_frame(ws.store).filter(pl.col("finding_id") == finding_id)
    if states.height == 0:
        return "最新状态：" + UNREGISTERED_LABEL
    text = f"最新状态：{state_label(states['state'][0])}"
    history = stored.history_frame(ws.store, finding_id)
    if history.height:
        last = history.row(history.height - 1, named=True)
        text += (
            f"（{last['by']} 于 {_local(last['at'])} "
            f"{MOVE_LABELS.get(last['move'], last['move'])}）"
        )
    return text


# --- bulk ----------------------------------------------------------------------------------------


def bulk_moves(selected: pl.DataFrame, viewer: Viewer | None = None) -> list[Move]:
    """The moves allowed on at least one of the selected findings, table order (recording a
    payment left out: an amount is one finding's); with a viewer, those their role may make."""
    pairs = set(selected.filter(pl.col("registered")).select("state", "family").iter_rows())
    names = {m.name for state, family in pairs for m in allowed_moves(state, family)}
    return [
        m
        for m in MOVES.values()
        if m.name in names
        and m.name not in BULK_EXCLUDED
        and (viewer is None or access.may(viewer, m.permission))
    ]


@dataclass(frozen=True)
class BulkOutcome:
    done: list[str]
    refused: dict[str, str]  # finding id -> why, in Chinese


def bulk_move(
    ws: Workspace,
    versions: Mapping[str, int | None],
    move: str,
    given: MoveInput,
    *,
    by: str,
    today: date,
    deadlines: Deadlines,
    viewer: Viewer | None = None,
    streets: Mapping[str, str | None] | None = None,
) -> BulkOutcome:
    """One move with one reason on many findings, each at the version the page drew (None:
    not in the workspace), each through the same rules as a single move and in its own
    transaction: the ones it suits are done, the others refused with their reason."""
    by = (by or "").strip()
    if not by:
        raise MoveError(NO_ACTOR)
    if move in BULK_EXCLUDED or move not in MOVES:
        raise MoveError(f"“{MOVE_LABELS.get(move, move)}”不能批量执行")
    asked, refused = list(versions), {}
    if viewer is not None:  # ``streets``: each finding's street, as the page drew it
        if not access.may(viewer, MOVES[move].permission):
            raise MoveError("当前账号无权执行此操作")
        refused = {
            fid: "当前账号无权处理其他街镇的记录"
            for fid in versions
            if not access.may_see_street(viewer, (streets or {}).get(fid))
        }
        versions = {fid: v for fid, v in versions.items() if fid not in refused}
    refused.update({fid: NOT_REGISTERED for fid, version in versions.items() if version is None})
    registered = {fid: version for fid, version in versions.items() if version is not None}
    done, others = stored.apply_bulk(
        ws.store,
        registered,
        move,
        given,
        by=by,
        today=today,
        default_due=deadlines.default_due(move, None, today),
        max_exception_days=deadlines.exception_max_days,
    )
    refused.update(others)
    return BulkOutcome(done=done, refused={fid: refused[fid] for fid in asked if fid in refused})


def refused_table(refused: Mapping[str, str], findings: pl.DataFrame) -> pl.DataFrame:
    """编号, 检查项, 状态, 原因 of the findings a bulk move refused."""
    why = pl.DataFrame(
        {"finding_id": list(refused), "reason": list(refused.values())},
        schema={"finding_id": pl.String, "reason": pl.String},
    )
    return (
        why.join(
            findings.select("finding_id", "title", "state_label").unique(
                subset="finding_id", keep="first"
            ),
            on="finding_id",
            how="left",
            maintain_order="left",
        )
        .select("finding_id", "title", "state_label", "reason")
        .rename({"finding_id": "编号", "title": "检查项", "state_label": "状态", "reason": "原因"})
    )


# --- one finding's record ------------------------------------------------------------------------


def _local(at: datetime | None) -> str:
    """A stored time (naive UTC) in the server's time zone, to the minute."""
    if at is None:
        return "—"
    return at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def history_table(ws: Workspace, finding_id: str) -> pl.DataFrame:
    """The finding's history, oldest first: 时间, 操作人, 操作, 状态变化, 理由, 备注, 期限,
    附件 (how many files), 检查运行 (the run that made a move, for a run's own)."""
    history = stored.history_frame(ws.store, finding_id)
    rows = [
        (
            _local(r["at"]),
            r["by"],
            MOVE_LABELS.get(r["move"], r["move"]),
            f"{state_label(r['from_state']) if r['from_state'] else '—'} → "
            f"{state_label(r['to_state'])}",
            r["reason"],
            r["note"],
            r["due_after"],
            r["attachments"],
            r["run_id"],
        )
        for r in history.iter_rows(named=True)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "时间": pl.String,
            "操作人": pl.String,
            "操作": pl.String,
            "状态变化": pl.String,
            "理由": pl.String,
            "备注": pl.String,
            "期限": pl.Date,
            "附件": pl.Int64,
            "检查运行": pl.Int64,
        },
        orient="row",
    )


def occurrences_table(ws: Workspace, finding_id: str) -> pl.DataFrame:
    """What each check run made of the finding: 检查运行, 检查基准日, 运行时间, 情况,
    涉及金额（元）."""
    occurrences = stored.occurrences_frame(ws.store, finding_id)
    runs = stored.runs_frame(ws.store).select(pl.col("id").alias("run_id"), "as_of", "started_at")
    joined = occurrences.join(runs, on="run_id", how="left", maintain_order="left")
    return pl.DataFrame(
        {
            "检查运行": joined["run_id"],
            "检查基准日": joined["as_of"],
            "运行时间": [_local(at) for at in joined["started_at"].to_list()],
            "情况": joined["event"].replace_strict(
                EVENT_LABELS, default=joined["event"], return_dtype=pl.String
            ),
            "涉及金额（元）": joined.select(yuan_expr(pl.col("amount_fen")))["amount_fen"],
        },
        schema={
            "检查运行": pl.Int64,
            "检查基准日": pl.Date,
            "运行时间": pl.String,
            "情况": pl.String,
            "涉及金额（元）": pl.Decimal(38, 2),
        },
    )


@dataclass(frozen=True)
class Recovered:
    total_fen: int
    payments: pl.DataFrame  # 到账日期, 金额（元）, 登记人

    @property
    def text(self) -> str:
        return f"已追回 {formats.money_fen(self.total_fen)} 元（{self.payments.height} 笔）"


def recovered(ws: Workspace, finding_id: str) -> Recovered:
    """The payments recorded for the finding and what they add up to."""
    paid = stored.recoveries_frame(ws.store).filter(pl.col("finding_id") == finding_id)
    return Recovered(
        total_fen=int(paid["amount_fen"].sum() or 0),
        payments=paid.select(
            pl.col("paid_on").alias("到账日期"),
            yuan_expr(pl.col("amount_fen")).alias("金额（元）"),
            pl.col("by").alias("登记人"),
        ),
    )


def shows_recovery(finding: Mapping, money: Recovered) -> bool:
    """Whether the money recovered belongs on the page: a 追回 finding, or any with payments."""
    return finding.get("state") in ("recovering", "recovered") or money.payments.height > 0
