"""Triage of findings: the states a lead goes through and the moves between them.

A finding starts as 待核实 (a new lead). Verified offline (线上预警、线下核查), it is found 属实 or
不属实; a true finding is disposed of in the way that suits its family (整改 and 追回 for money,
纳入救助 / 终止救助 / 对接服务 for a dynamic lead, 移送纪检 for favouritism, 容错免责 for an honest
mistake), and a rectified one is checked again later (回头看). The table :data:`MOVES` is the
whole workflow: which move leads from which states to which, who may make it (a permission) and
what it needs. :func:`plan_move` checks a move against it and says what changes; the storage
layer applies the plan with optimistic versioning and writes the history in one transaction.

Runs move findings too (:func:`after_seen`), but never change a person's decision: a run only
records that it saw a closed finding again, except that a rectified finding found again has
recurred (回头看复发), a new rectification cycle of the same finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# state code -> Chinese label; codes are stored, labels are shown
STATES: dict[str, str] = {
    "new": "待核实",
    "verifying": "核实中",
    "confirmed": "属实",
    "unfounded": "不属实",
    "rectifying": "整改",
    "recovering": "追回",
    "recovered": "已追回",
    "included": "纳入救助",
    "terminated": "终止救助",
    "referred_service": "对接服务",
    "referred_discipline": "移送纪检",
    "excused": "容错免责",
    "rectified": "已整改",
    "recheck_passed": "回头看通过",
    "recurred": "回头看复发",
}
STATE_CODES = {label: code for code, label in STATES.items()}
# A closed finding needs no further work unless it is reopened; 已整改 waits for 回头看.
CLOSED = frozenset(
    {
        "unfounded",
        "recovered",
        "included",
        "terminated",
        "referred_service",
        "referred_discipline",
        "excused",
        "recheck_passed",
    }
)
# The states a person decided a finding is no (longer a) problem: a run seeing it again leaves
# the decision alone and only marks it seen again.
DECIDED = CLOSED
OPEN = frozenset(STATES) - CLOSED

ALL_FAMILIES = ("funds", "integrity", "dynamic", "process", "file_audit")


@dataclass(frozen=True)
class Move:
    name: str
    label: str  # the button a person presses
    sources: frozenset[str]
    target: str | None  # None: the state stays (a record on the way)
    permission: str  # triage | decide | close | reopen | recover
    needs: frozenset[str] = frozenset()  # reason, assignee, due_date, amount, paid_on, expires_on
    families: tuple[str, ...] = ALL_FAMILIES


def _m(name, label, sources, target, permission, needs=(), families=ALL_FAMILIES) -> Move:
    needs = set(needs)
    if target in CLOSED:
        needs.add("reason")  # closing a lead always says why
    return Move(
        name, label, frozenset(sources), target, permission, frozenset(needs), tuple(families)
    )


MOVES: dict[str, Move] = {
    m.name: m
    for m in (
        _m("assign", "分派核实", {"new", "verifying"}, "verifying", "triage", ("assignee",)),
        _m("extend", "延期", {"verifying", "rectifying"}, None, "triage", ("reason", "due_date")),
        _m("confirm", "核实属实", {"verifying"}, "confirmed", "decide"),
        _m("dismiss", "核实不属实", {"new", "verifying"}, "unfounded", "close", ("reason",)),
        _m("rectify", "责令整改", {"confirmed", "recurred"}, "rectifying", "decide"),
        _m(
            "recover",
            "追回资金",
            {"confirmed"},
            "recovering",
            "decide",
            families=("funds", "integrity", "dynamic"),
        ),
        _m("record_recovery", "登记追回款", {"recovering"}, None, "recover", ("amount", "paid_on")),
        _m("finish_recovery", "追回完毕", {"recovering"}, "recovered", "close"),
        _m("include", "纳入救助", {"confirmed"}, "included", "close", families=("dynamic",)),
        _m("terminate", "终止救助", {"confirmed"}, "terminated", "close", families=("dynamic",)),
        _m(
            "refer_service",
            "对接服务",
            {"confirmed"},
            "referred_service",
            "close",
            families=("dynamic",),
        ),
        _m(
            "refer_discipline",
            "移送纪检",
            {"confirmed"},
            "referred_discipline",
            "close",
            families=("integrity", "funds"),
        ),
        _m("excuse", "容错免责", {"confirmed"}, "excused", "close", ("reason", "expires_on")),
        _m("rectified", "整改完成", {"rectifying"}, "rectified", "triage"),
        _m("recheck_pass", "回头看通过", {"rectified"}, "recheck_passed", "close"),
        _m("recheck_fail", "回头看复发", {"rectified"}, "recurred", "decide", ("reason",)),
        _m("reopen", "重新打开", CLOSED, "new", "reopen", ("reason",)),
    )
}

# Moves only a run makes (no person presses them)
RUN_MOVES = {"recur": "运行复发"}


class MoveError(ValueError):
    """A move the workflow does not allow, or one missing what it needs (Chinese message)."""


@dataclass(frozen=True)
class MoveInput:
    """What a person gives with a move."""

    reason: str | None = None
    note: str | None = None
    assignee: str | None = None  # a named person
    assignee_street: str | None = None  # or a street office
    due_date: date | None = None
    amount_fen: int | None = None
    paid_on: date | None = None
    expires_on: date | None = None
    attachments: tuple[str, ...] = ()  # sha256 of files kept in the workspace


@dataclass(frozen=True)
class Plan:
    """What a move changes: the new state and the finding's fields to set."""

    move: str
    from_state: str
    to_state: str
    changes: dict = field(default_factory=dict)
    recovery: tuple[date, int] | None = None  # (paid_on, amount_fen) to add


NEEDS_LABELS = {
    "reason": "理由",
    "assignee": "核实人或街镇",
    "due_date": "期限",
    "amount": "金额",
    "paid_on": "到账日期",
    "expires_on": "到期日",
}


def allowed_moves(state: str, family: str) -> list[Move]:
    """The moves a person may make from ``state`` on a finding of ``family``, in table order."""
    return [m for m in MOVES.values() if state in m.sources and family in m.families]


def plan_move(
    state: str,
    family: str,
    move: str,
    given: MoveInput,
    *,
    today: date,
    default_due: date | None = None,
    max_exception_days: int | None = None,
) -> Plan:
    """Check ``move`` from ``state`` against the table and what it needs; the plan it makes.

    ``default_due``: the deadline the settings give (working days from today), used when the
    person gives none for an assignment or a rectification. ``max_exception_days``: how far
    ahead an exception may expire."""
    spec = MOVES.get(move)
    if spec is None:
        raise MoveError(f"没有“{move}”这一操作")
    if state not in spec.sources:
        raise MoveError(f"状态为“{STATES.get(state, state)}”的线索不能执行“{spec.label}”")
    if family not in spec.families:
        raise MoveError(f"“{spec.label}”不适用于这类线索")
    missing = []
    for need in sorted(spec.needs):
        if need == "reason" and not (given.reason or "").strip():
            missing.append(need)
        elif need == "assignee" and not (
            (given.assignee or "").strip() or (given.assignee_street or "").strip()
        ):
            missing.append(need)
        elif need == "due_date" and given.due_date is None:
            missing.append(need)
        elif need == "amount" and not given.amount_fen:
            missing.append(need)
        elif need == "paid_on" and given.paid_on is None:
            missing.append(need)
        elif need == "expires_on" and given.expires_on is None:
            missing.append(need)
    if missing:
        raise MoveError(f"“{spec.label}”需要填写：" + "、".join(NEEDS_LABELS[n] for n in missing))
    changes: dict = {}
    if move in ("assign", "rectify"):
        due = given.due_date or default_due
        if due is None:
            raise MoveError(f"“{spec.label}”需要填写期限（工作日历未收录所需年份，无法自动计算）")
        if due < today:
            raise MoveError("期限不能早于今天")
        changes["due_date"] = due
    if move == "assign":
        changes["assignee"] = (given.assignee or "").strip() or None
        changes["assignee_street"] = (given.assignee_street or "").strip() or None
    # below, what the move needs (spec.needs) is given: checked above
    if move == "extend":
        assert given.due_date is not None
        if given.due_date < today:
            raise MoveError("新的期限不能早于今天")
        changes["due_date"] = given.due_date
    if move == "excuse":
        expires_on = given.expires_on
        assert expires_on is not None
        if expires_on <= today:
            raise MoveError("容错免责的到期日应晚于今天")
        if max_exception_days is not None and (expires_on - today).days > max_exception_days:
            raise MoveError(f"容错免责的有效期最长 {max_exception_days} 天")
        changes["expires_on"] = expires_on
    recovery = None
    if move == "record_recovery":
        if given.amount_fen is None or given.amount_fen <= 0:
            raise MoveError("追回金额应大于零")
        assert given.paid_on is not None
        if given.paid_on > today:
            raise MoveError("到账日期不能晚于今天")
        recovery = (given.paid_on, given.amount_fen)
    if move == "rectify" and state == "recurred":
        changes["cycle_bump"] = True
    if spec.target in CLOSED or spec.target == "rectified":
        changes.setdefault("due_date", None)
    if move == "reopen":
        changes.update(expires_on=None, seen_while_closed=False)
    target = spec.target or state
    return Plan(move=move, from_state=state, to_state=target, changes=changes, recovery=recovery)


def after_seen(state: str) -> tuple[str, str]:
    """What a run that finds this finding again does: (new state, occurrence event).

    A decision stands (不属实, 容错免责, 移送纪检 ... are left as decided, and the finding is
    only marked seen again); a finding rectified, or past its 回头看, that is found again has
    recurred; anything still being worked on is simply seen."""
    if state in ("rectified", "recheck_passed"):
        return "recurred", "recurred"
    if state in DECIDED:
        return state, "seen_closed"
    return state, "seen"


def state_label(code: str) -> str:
    return STATES.get(code, code)
