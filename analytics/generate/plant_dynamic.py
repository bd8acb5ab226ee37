"""Planted defects of the dynamic-management and process families: deaths, employment and
criminal records after approval, overdue visits, approvals during a dishonesty record and
approvals past their deadline.

As in the integrity planter, each plant claims its households, changes the data and records
every finding the change causes; look-alikes are recorded too. A planted death stops the case's
entitlements and payments after the death month (both sides booked), so that only
deceased_still_active fires and not paid_after_death. Decision dates of approved cases are never
moved (events, visits and dishonesty records are read against them): a late approval is planted
by an earlier acceptance date; boundary cases that need a chosen decision date use rejected
applications, which no other check reads.
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, timedelta

import polars as pl

from analytics import schema
from analytics.generate.base.plan import FIRST_ACCEPTED
from analytics.generate.core import PlantContext
from analytics.generate.kit import Kit, NoCandidate, month_of, one_plant

DYNAMIC_CHECKS = (
    "deceased_still_active",
    "employment_found",
    "criminal_sanction_found",
    "visit_overdue",
    "blacklisted_recipient",
)
PROCESS_CHECKS = ("approval_overdue",)
EVENT_SOURCE = {"死亡": "市公安局", "就业参保": "市人社局", "刑事处罚": "市司法局"}
ONE_DAY = timedelta(days=1)


def add_months(d: date, n: int) -> date:
    """Calendar months added, the day clamped to the month's end."""
    ym = d.year * 12 + d.month - 1 + n
    y, m = divmod(ym, 12)
    return date(y, m + 1, min(d.day, _calendar.monthrange(y, m + 1)[1]))


def latest_overdue_visit(as_of: date, months: int, clamped: bool = False) -> date:
    """The latest last-visit date whose due date (plus ``months``) is before ``as_of``;
    ``clamped``: the latest such date whose day does not exist in the due month."""
    d = add_months(as_of, -months)
    while True:
        due = add_months(d, months)
        if due < as_of and (not clamped or due.day != d.day):
            return d
        d -= ONE_DAY


def earliest_current_visit(as_of: date, months: int) -> date:
    """The earliest last-visit date that is not overdue on ``as_of``."""
    d = add_months(as_of, -months) - timedelta(days=3)
    while add_months(d, months) < as_of:
        d += ONE_DAY
    return d


def _event(kit: Kit, person: str, kind: str, day: date) -> None:
    kit.edits.add(
        "events",
        {"id_number": person, "event_type": kind, "event_date": day, "source": EVENT_SOURCE[kind]},
    )


# --- dynamic ---------------------------------------------------------------------------------


def _deceased_still_active(kit: Kit) -> None:
    ctx = kit.ctx
    grace = ctx.settings.death_grace_days
    first = date.fromisoformat(ctx.months[0] + "-01")
    # Deaths just past the grace days, a few months back, early in the period.
    offsets = (
        lambda: grace + 1,
        lambda: int(kit.rng.integers(60, 120)),
        lambda: (ctx.as_of - first).days - int(kit.rng.integers(0, 20)),
    )

    def die(h: dict, day: date) -> None:
        _event(kit, h["applicant_id_number"], "死亡", day)
        kit.drop_case_months_after(h, month_of(day))

    for i in range(max(kit.n, len(offsets))):

        def plant(i: int = i) -> None:
            day = ctx.as_of - timedelta(days=max(offsets[i % len(offsets)](), grace + 1))
            h = kit.take(pl.col("decided_date") < day)
            die(h, day)
            ctx.fire(
                "deceased_still_active",
                f"申请人已死亡{(ctx.as_of - day).days}天，案件仍在册",
                case_id=h["case_id"],
            )

        one_plant([plant], "身故仍在册")

    def within_grace() -> None:
        day = ctx.as_of - timedelta(days=grace)
        h = kit.take(pl.col("decided_date") < day)
        die(h, day)
        ctx.lookalike(
            "deceased_still_active", f"申请人死亡恰满{grace}天，仍在宽限期内", case_id=h["case_id"]
        )

    one_plant([within_grace], "宽限期内死亡（对照）")


def _member_event(kit: Kit, check: str, kind: str) -> None:
    ctx = kit.ctx
    variants = ("applicant_next_day", "other_member", "applicant")
    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str) -> None:
            recent = pl.col("decided_date") < ctx.as_of - timedelta(days=2)
            if how == "other_member":
                h = kit.take(recent & (pl.col("adult_others").list.len() >= 1))
                person = h["adult_others"][0]
            else:
                h = kit.take(recent)
                person = h["applicant_id_number"]
            decided = h["decided_date"]
            day = (
                decided + ONE_DAY
                if how == "applicant_next_day"
                else kit.day_between(decided + ONE_DAY, ctx.as_of)
            )
            _event(kit, person, kind, day)
            who = "家庭成员" if how == "other_member" else "申请人"
            ctx.fire(
                check,
                f"{who}审批后有{kind}记录（审批后第{(day - decided).days}天）",
                case_id=h["case_id"],
            )

        one_plant([lambda v=v: plant(v) for v in order], kind)

    def before() -> None:
        h = kit.take()
        decided = h["decided_date"]
        _event(
            kit,
            h["applicant_id_number"],
            kind,
            decided - timedelta(days=int(kit.rng.integers(1, 300))),
        )
        ctx.lookalike(check, f"{kind}记录早于审批日期", case_id=h["case_id"])

    one_plant([before], f"审批前的{kind}记录（对照）")


def _visit_overdue(kit: Kit) -> None:
    ctx = kit.ctx
    as_of = ctx.as_of
    cycles = ctx.settings.visit_cycle_months
    # (difficulty, how): the latest overdue visit; the latest overdue one whose day is clamped
    # (e.g. Mar 31 + 6 months = Sep 30); no visit at all since the decision.
    variants = (
        ("高", "tight"),
        ("低", "tight"),
        ("低", "clamped"),
        ("中", "none"),
        (None, "tight"),
        ("高", "clamped"),
    )

    def set_visits(h: dict, difficulty: str | None, last: date | None) -> None:
        case_id = h["case_id"]
        kit.edits.update("cases", "case_id", case_id, difficulty=difficulty)
        since = last if last is not None else date.min
        kit.remove_rows("visits", (pl.col("case_id") == case_id) & (pl.col("visit_date") >= since))
        if last is not None:
            kit.edits.add(
                "visits",
                {
                    "case_id": case_id,
                    "visit_date": last,
                    "staff_id": h["handler_id"],
                    "mode": "入户",
                },
            )

    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(difficulty: str | None, how: str) -> None:
            months = cycles[difficulty or "低"]
            if how == "none":
                h = kit.take(pl.col("decided_date") < add_months(as_of, -months) - ONE_DAY)
                last = None
                note = f"审批后从未探访（周期{months}个月）"
            else:
                last = latest_overdue_visit(as_of, months, clamped=how == "clamped")
                h = kit.take(pl.col("decided_date") <= last)
                due = add_months(last, months)
                note = f"上次探访{last}，周期{months}个月，应于{due}前再次探访"
            set_visits(h, difficulty, last)
            ctx.fire("visit_overdue", note, case_id=h["case_id"])

        one_plant([lambda v=v: plant(*v) for v in order], "探访逾期")

    def current(difficulty: str) -> None:
        months = cycles[difficulty]
        last = earliest_current_visit(as_of, months)
        h = kit.take(pl.col("decided_date") <= last)
        set_visits(h, difficulty, last)
        ctx.lookalike(
            "visit_overdue",
            f"上次探访{last}加{months}个月为{add_months(last, months)}，未早于检查基准日",
            case_id=h["case_id"],
        )

    for difficulty in ("中", "低"):
        one_plant([lambda d=difficulty: current(d)], "探访未逾期（对照）")


def _blacklisted_recipient(kit: Kit) -> None:
    ctx = kit.ctx
    variants = ("applicant_inside", "other_member_start", "applicant_end", "terminated")

    def record(person: str, name: str | None, start: date, end: date) -> None:
        kit.edits.add(
            "dishonesty", {"id_number": person, "name": name, "start_date": start, "end_date": end}
        )

    def span(lo: int, hi: int) -> timedelta:
        return timedelta(days=int(kit.rng.integers(lo, hi)))

    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str) -> None:
            if how == "other_member_start":
                h = kit.take(pl.col("adult_others").list.len() >= 1)
                person = h["adult_others"][0]
                name = kit.name_of(person)
            elif how == "terminated":
                h = kit.take(None, kit.other_pool(("终止",)))
                person, name = h["applicant_id_number"], h["applicant_name"]
            else:
                h = kit.take()
                person, name = h["applicant_id_number"], h["applicant_name"]
            d = h["decided_date"]
            start, end = {
                "applicant_inside": (d - span(30, 300), d + span(200, 900)),
                "other_member_start": (d, d + span(365, 900)),
                "applicant_end": (d - span(365, 900), d),
                "terminated": (d - span(30, 300), d + span(200, 900)),
            }[how]
            record(person, name, start, end)
            note = {
                "applicant_inside": "申请人失信期内获批",
                "other_member_start": "家庭成员失信名单公布当日获批",
                "applicant_end": "申请人失信期最后一天获批",
                "terminated": "已终止案件当年在失信期内获批",
            }[how]
            ctx.fire("blacklisted_recipient", note, case_id=h["case_id"])

        one_plant([lambda v=v: plant(v) for v in order], "失信期内获批救助")

    def rejected() -> None:
        h = kit.take(None, kit.other_pool(("未通过",)))
        d = h["decided_date"]
        record(h["applicant_id_number"], h["applicant_name"], d - span(30, 300), d + span(200, 900))
        ctx.lookalike(
            "blacklisted_recipient", "失信期内的申请未获批准（未通过）", case_id=h["case_id"]
        )

    def ended_before() -> None:
        h = kit.take()
        d = h["decided_date"]
        record(h["applicant_id_number"], h["applicant_name"], d - span(365, 900), d - ONE_DAY)
        ctx.lookalike("blacklisted_recipient", "失信期截止于审批日前一天", case_id=h["case_id"])

    one_plant([rejected], "未通过的失信人员申请（对照）")
    one_plant([ended_before], "失信期已结束（对照）")


# --- process ---------------------------------------------------------------------------------


def _holiday_start(cal, year: int, lo: tuple[int, int], hi: tuple[int, int]) -> date | None:
    """First day of the first run of at least five days off between lo and hi (month, day)."""
    d, end = date(year, *lo), date(year, *hi)
    run = 0
    while d <= end:
        run = 0 if cal.is_workday(d) else run + 1
        if run == 5:
            return d - timedelta(days=4)
        d += ONE_DAY
    return None


def _latest_acceptance(cal, deadline_days: int, before: date) -> date:
    """The latest acceptance date whose deadline is before ``before``: at least
    ``deadline_days`` working days lie after it and before ``before``. Counted backwards, so
    that no deadline past the calendar's last year is ever asked for."""
    d = before - ONE_DAY
    while cal.workdays_between(d, before - ONE_DAY) < deadline_days:
        d -= ONE_DAY
    return d


def _festival_acceptances(ctx: PlantContext, extra: int) -> dict[str, date]:
    """Acceptance dates a week before the latest Spring Festival and National Day holidays
    whose 20th (+extra) working day after is on or before the as-of date."""
    cal = ctx.calendar
    n = ctx.settings.approval_deadline_working_days + extra
    out: dict[str, date] = {}
    windows = {"春节": ((1, 10), (2, 28)), "国庆": ((9, 25), (10, 10))}
    for label, (lo, hi) in windows.items():
        for year in sorted(cal.years, reverse=True):
            start = _holiday_start(cal, year, lo, hi)
            if start is None:
                continue
            accepted = start - timedelta(days=7)
            if accepted >= FIRST_ACCEPTED and cal.add_workdays(accepted, n) <= ctx.as_of:
                out[label] = accepted
                break
    return out


def _approval_overdue(kit: Kit) -> None:
    ctx = kit.ctx
    cal = ctx.calendar
    normal = ctx.settings.approval_deadline_working_days
    special = ctx.settings.approval_deadline_special_working_days
    variants = ("decided_late", "pending_late", "special_late", "holiday_late")
    festivals = _festival_acceptances(ctx, 1)

    def deadline_days(h: dict) -> int:
        return special if h["special_circumstance"] else normal

    for i in range(max(kit.n, len(variants))):
        order = variants[i % len(variants) :] + variants[: i % len(variants)]

        def plant(how: str, i: int = i) -> None:
            if how == "decided_late":
                h = kit.take()
                n = deadline_days(h)
                accepted = _latest_acceptance(cal, n, h["decided_date"])
                kit.edits.update("cases", "case_id", h["case_id"], accepted_date=accepted)
                note = f"受理后第{cal.workdays_between(accepted, h['decided_date'])}个工作日才审批"
            elif how == "pending_late":
                h = kit.take(None, kit.other_pool(("申请中",)))
                n = deadline_days(h)
                accepted = _latest_acceptance(cal, n, ctx.as_of)
                kit.edits.update("cases", "case_id", h["case_id"], accepted_date=accepted)
                note = f"受理后已过{n}个工作日仍在申请中"
            elif how == "special_late":
                h = kit.take(pl.col("special_circumstance").is_null())
                accepted = _latest_acceptance(cal, special, h["decided_date"])
                kind = schema.SPECIAL_CIRCUMSTANCES[i % len(schema.SPECIAL_CIRCUMSTANCES)]
                kit.edits.update(
                    "cases",
                    "case_id",
                    h["case_id"],
                    accepted_date=accepted,
                    special_circumstance=kind,
                )
                note = f"有特殊情形（{kind}），仍超过{special}个工作日才审批"
            else:
                if not festivals:
                    raise NoCandidate
                label = sorted(festivals)[i % len(festivals)]
                accepted = festivals[label]
                h = kit.take(None, kit.other_pool(("未通过",)))
                decided = cal.add_workdays(accepted, normal + 1)
                kit.edits.update(
                    "cases",
                    "case_id",
                    h["case_id"],
                    accepted_date=accepted,
                    decided_date=decided,
                    special_circumstance=None,
                )
                note = f"跨{label}假期，第{normal + 1}个工作日才作出决定"
            ctx.fire("approval_overdue", note, case_id=h["case_id"])

        one_plant([lambda v=v: plant(v) for v in order], "审批超时")

    festivals_exact = _festival_acceptances(ctx, 0)
    for label, accepted in sorted(festivals_exact.items()):

        def on_deadline(label: str = label, accepted: date = accepted) -> None:
            h = kit.take(None, kit.other_pool(("未通过",)))
            kit.edits.update(
                "cases",
                "case_id",
                h["case_id"],
                accepted_date=accepted,
                decided_date=cal.add_workdays(accepted, normal),
                special_circumstance=None,
            )
            ctx.lookalike(
                "approval_overdue",
                f"跨{label}假期，恰在第{normal}个工作日作出决定",
                case_id=h["case_id"],
            )

        one_plant([on_deadline], "恰在期限日审批（对照）")

    def special_in_time() -> None:
        h = kit.take(pl.col("special_circumstance").is_null())
        # Past 20 working days but within 45: on time only because of the circumstance.
        accepted = _latest_acceptance(cal, (normal + special) // 2, h["decided_date"] + ONE_DAY)
        kind = schema.SPECIAL_CIRCUMSTANCES[0]
        kit.edits.update(
            "cases", "case_id", h["case_id"], accepted_date=accepted, special_circumstance=kind
        )
        ctx.lookalike(
            "approval_overdue",
            f"超过{normal}个工作日，但有特殊情形（{kind}），未超过{special}个工作日",
            case_id=h["case_id"],
        )

    one_plant([special_in_time], "特殊情形延长期限（对照）")


def plant_dynamic(ctx: PlantContext) -> None:
    """Plant the dynamic-management and process checks and record the truth."""
    kit = Kit(ctx)
    _deceased_still_active(kit)
    _member_event(kit, "employment_found", "就业参保")
    _member_event(kit, "criminal_sanction_found", "刑事处罚")
    _visit_overdue(kit)
    _blacklisted_recipient(kit)
    _approval_overdue(kit)
    kit.apply()
