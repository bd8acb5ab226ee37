"""失信名单: the due process of a dishonesty record, as plain functions over values.

A record goes 拟列入 → 已告知 (the person is told the reasons, the basis and their rights) → its
objection window runs for a number of working days → 已公布 for a term, unless an objection is
upheld (异议成立: withdrawn) or the record is annulled (已撤销). A published record ends by itself
when its term is over (已到期), or early by credit repair (已修复: money returned and a credit
commitment signed). An objection raised at any time marks the record 异议中 until it is decided.

Only the moves are stored; what a record *is* today (in its objection window, expired, an
objection overdue) is computed from its dates whenever it is read (:func:`status`), never a
stored status that goes stale when nobody touches the record. Working days are counted on the
official calendar; the periods and terms come from the settings' ``[dishonesty]`` section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# stored states
STATES = {
    "proposed": "拟列入",
    "notified": "已告知",
    "objected": "异议中",
    "withdrawn": "异议成立",
    "published": "已公布",
    "repaired": "已修复",
    "revoked": "已撤销",
}
# what a person sees: the stored state, refined by dates
SHOWN = {**STATES, "window": "异议期", "expired": "已到期"}
ENDED = frozenset({"withdrawn", "repaired", "revoked"})

CONDUCTS = ("虚报", "隐瞒", "欺骗", "其他")
SEVERITIES = {"轻微": "minor", "一般": "general", "严重": "serious"}
NOTIFY_METHODS = ("直接送达", "邮寄送达", "电子送达", "公告送达")


@dataclass(frozen=True)
class Rules:
    """The settings' [dishonesty] section: periods in working days, terms in months."""

    objection_window_working_days: int = 10  # after notification, before publication
    objection_decision_working_days: int = 5  # an objection is decided within
    removal_working_days: int = 3  # a repaired or revoked record leaves publication
    terms_months: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"轻微": (1, 3), "一般": (3, 12), "严重": (12, 36)}
    )


class DueProcessError(ValueError):
    """A move due process does not allow (Chinese message)."""


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: back to where the objection came from
    needs: frozenset[str]


def _m(name: str, label: str, sources: set[str], target: str | None, needs=()) -> Move:
    return Move(name, label, frozenset(sources), target, frozenset(needs))


MOVES: dict[str, Move] = {
    m.name: m
    for m in (
        _m("notify", "告知当事人", {"proposed"}, "notified", ("notified_on", "notify_method")),
        _m("object", "登记异议", {"notified", "published"}, "objected", ("raised_on", "reason")),
        _m("uphold", "异议成立（撤回）", {"objected"}, "withdrawn", ("reason",)),
        _m("reject", "异议不成立", {"objected"}, None, ("reason",)),
        _m(
            "publish",
            "公布",
            {"notified"},
            "published",
            ("decision_no", "decision_date", "term_months"),
        ),
        _m(
            "repair",
            "信用修复",
            {"published"},
            "repaired",
            ("reason", "returned_on", "commitment_on"),
        ),
        _m(
            "revoke",
            "撤销",
            {"proposed", "notified", "objected", "published"},
            "revoked",
            ("reason",),
        ),
    )
}

NEEDS_LABELS = {
    "notified_on": "告知日期",
    "notify_method": "告知方式",
    "raised_on": "异议提出日期",
    "reason": "理由",
    "decision_no": "决定书文号",
    "decision_date": "决定日期",
    "term_months": "公布期限（月）",
    "returned_on": "退还款项日期",
    "commitment_on": "信用承诺签署日期",
}


@dataclass(frozen=True)
class Given:
    """What a person gives with a move."""

    reason: str | None = None
    notified_on: date | None = None
    notify_method: str | None = None
    raised_on: date | None = None
    decision_no: str | None = None
    decision_date: date | None = None
    term_months: int | None = None
    returned_on: date | None = None
    commitment_on: date | None = None


@dataclass(frozen=True)
class Record:
    """What due process reads of a record."""

    state: str
    severity: str  # 轻微 / 一般 / 严重
    notified_on: date | None = None
    objection_from: str | None = None  # the state an objection interrupted
    objection_raised_on: date | None = None
    decision_date: date | None = None
    term_months: int | None = None
    money_obtained_fen: int = 0
    money_recovered_fen: int = 0


def add_months(d: date, months: int) -> date:
    import calendar

    y, m = divmod(d.month - 1 + months, 12)
    year, month = d.year + y, m + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def window_end(record: Record, calendar, rules: Rules) -> date | None:
    """The last day of the objection window (the n-th working day after notification)."""
    if record.notified_on is None:
        return None
    return calendar.add_workdays(record.notified_on, rules.objection_window_working_days)


def term_end(record: Record) -> date | None:
    """The last day of publication: the decision date plus the term, the day before."""
    if record.decision_date is None or not record.term_months:
        return None
    from datetime import timedelta

    return add_months(record.decision_date, record.term_months) - timedelta(days=1)


def objection_due(record: Record, calendar, rules: Rules) -> date | None:
    if record.state != "objected" or record.objection_raised_on is None:
        return None
    return calendar.add_workdays(record.objection_raised_on, rules.objection_decision_working_days)


def status(record: Record, today: date, calendar, rules: Rules) -> str:
    """What the record is today: a SHOWN key. Computed from dates on every read."""
    if record.state == "notified":
        end = window_end(record, calendar, rules)
        return "window" if end is not None and today <= end else "notified"
    if record.state == "published":
        end = term_end(record)
        return "expired" if end is not None and today > end else "published"
    return record.state


def is_listed(record: Record, today: date) -> bool:
    """Whether a member unit's query finds the person listed on ``today``: published and within
    the term, or published and now under an objection (shown as disputed)."""
    if record.state == "published" or (
        record.state == "objected" and record.objection_from == "published"
    ):
        end = term_end(record)
        start = record.decision_date
        return start is not None and end is not None and start <= today <= end
    return False


def plan(
    record: Record, move: str, given: Given, *, today: date, calendar, rules: Rules
) -> tuple[str, dict]:
    """Check a move against due process; (the new state, the record's fields to set). Raises
    DueProcessError with the Chinese reason when it may not be made."""
    spec = MOVES.get(move)
    if spec is None:
        raise DueProcessError(f"没有“{move}”这一操作")
    if record.state not in spec.sources:
        raise DueProcessError(
            f"状态为“{STATES.get(record.state, record.state)}”的记录不能“{spec.label}”"
        )
    missing = [
        n
        for n in sorted(spec.needs)
        if getattr(given, n) in (None, "") or (n == "reason" and not str(given.reason).strip())
    ]
    if missing:
        raise DueProcessError(
            f"“{spec.label}”需要填写：" + "、".join(NEEDS_LABELS[n] for n in missing)
        )
    changes: dict = {}
    for day_field in ("notified_on", "raised_on", "decision_date", "returned_on", "commitment_on"):
        value = getattr(given, day_field)
        if value is not None and value > today:
            raise DueProcessError(f"{NEEDS_LABELS[day_field]}不能晚于今天")
    target = spec.target
    if move == "notify":
        if given.notify_method not in NOTIFY_METHODS:
            raise DueProcessError("告知方式应为：" + "、".join(NOTIFY_METHODS))
        changes.update(notified_on=given.notified_on, notify_method=given.notify_method)
    elif move == "object":
        changes.update(objection_from=record.state, objection_raised_on=given.raised_on)
    elif move == "reject":
        target = record.objection_from or "notified"
        changes.update(objection_from=None, objection_raised_on=None)
    elif move == "uphold":
        changes.update(objection_from=None)
    elif move == "publish":
        end = window_end(record, calendar, rules)
        if end is None or today <= end:
            raise DueProcessError(
                "异议期尚未结束，不能公布" + (f"（异议期至 {end.isoformat()}）" if end else "")
            )
        # what publishing needs is given (checked above), and a window has an end once notified
        assert given.decision_no is not None and given.decision_date is not None
        assert given.term_months is not None and record.notified_on is not None
        low, high = rules.terms_months.get(record.severity, (1, 36))
        if not low <= int(given.term_months) <= high:
            raise DueProcessError(f"{record.severity}失信记录的公布期限应为 {low} 至 {high} 个月")
        if given.decision_date < record.notified_on:
            raise DueProcessError("决定日期不能早于告知日期")
        changes.update(
            decision_no=given.decision_no.strip(),
            decision_date=given.decision_date,
            term_months=int(given.term_months),
        )
    elif move == "repair":
        if record.money_recovered_fen < record.money_obtained_fen:
            raise DueProcessError("信用修复需先纠正失信行为：违规获得的救助金尚未全部退还")
        changes.update(returned_on=given.returned_on, commitment_on=given.commitment_on)
    assert target is not None  # only "reject" has no target of its own, set above
    return target, changes


def rules_from(settings) -> Rules:
    """Rules from the settings' [dishonesty] section (analytics.reference.Dishonesty)."""
    return Rules(
        objection_window_working_days=settings.objection_window_working_days,
        objection_decision_working_days=settings.objection_decision_working_days,
        removal_working_days=settings.removal_working_days,
        terms_months=dict(settings.terms_months),
    )
