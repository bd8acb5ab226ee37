import re
import shutil
from datetime import date, timedelta

import chinese_calendar
import holidays
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics import reference
from analytics.calendar import CalendarError, WorkdayCalendar

CALENDAR_DIR = reference.PROJECT_ROOT / "data" / "calendar"
CAL = WorkdayCalendar.load(CALENDAR_DIR)


def days(first: date, last: date):
    return (first + timedelta(days=i) for i in range((last - first).days + 1))


def copy_calendar(tmp_path, years):
    folder = tmp_path / "calendar"
    folder.mkdir()
    for year in years:
        shutil.copy(CALENDAR_DIR / f"{year}.csv", folder / f"{year}.csv")
    return folder


def test_years_are_the_files_shipped():
    assert CAL.years == tuple(range(2004, 2027))


def test_default_folder_is_the_reference_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("AIDWATCH_DATA_DIR", str(tmp_path))
    copy_calendar(tmp_path, [2025])
    assert WorkdayCalendar.load().years == (2025,)


def test_agrees_with_chinesecalendar_on_every_day():
    for d in days(date(2004, 1, 1), date(2026, 12, 31)):
        assert CAL.is_workday(d) == chinese_calendar.is_workday(d), d


def test_agrees_with_holidays_package_2024_to_2026():
    cn = holidays.China(years=range(2024, 2027))
    makeup = {d for d in cn.weekend_workdays if 2024 <= d.year <= 2026}
    assert makeup, "the holidays package lists no make-up working days"
    for d in days(date(2024, 1, 1), date(2026, 12, 31)):
        expected = d in makeup or (d.weekday() < 5 and d not in cn)
        assert CAL.is_workday(d) == expected, d
        assert cn.is_working_day(d) == expected, d


@pytest.mark.parametrize(
    ("d", "workday"),
    [
        (date(2026, 2, 14), True),  # Saturday worked before the Spring Festival
        (date(2026, 2, 28), True),  # Saturday worked after it
        (date(2026, 2, 16), False),  # Monday off
        (date(2026, 2, 21), False),  # Saturday inside the holiday
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2026, 3, 9), True),  # an ordinary Monday
        (date(2026, 10, 10), True),  # Saturday worked after National Day
    ],
)
def test_is_workday_examples(d, workday):
    assert CAL.is_workday(d) is workday


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        # 2026-02-02 (Mon) .. 02-13: 10 days, 02-14 (Sat) 11th, 02-24..27: 15th, 02-28 (Sat) 16th,
        # 03-02..05: 20th.
        (date(2026, 2, 1), 20, date(2026, 3, 5)),
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 14), 1, date(2026, 2, 24)),
        (date(2026, 9, 30), 1, date(2026, 10, 8)),  # across National Day
        (date(2026, 9, 28), 5, date(2026, 10, 10)),  # 09-29, 09-30, 10-08, 10-09, Sat 10-10
        (date(2025, 12, 31), 1, date(2026, 1, 4)),  # into the next known year, a Sunday worked
        (date(2026, 3, 5), 0, date(2026, 3, 5)),
    ],
)
def test_add_workdays_examples(start, n, expected):
    assert CAL.add_workdays(start, n) == expected
    assert CAL.workdays_between(start, expected) == n


def test_workdays_between_is_antisymmetric():
    a, b = date(2026, 1, 1), date(2026, 3, 5)
    assert CAL.workdays_between(b, a) == -CAL.workdays_between(a, b) != 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.is_workday(date(2027, 1, 4)),
        lambda c: c.add_workdays(date(2027, 1, 4), 1),
        lambda c: c.add_workdays(date(2026, 12, 20), 20),  # the deadline falls in 2027
        lambda c: c.workdays_between(date(2026, 12, 1), date(2027, 1, 10)),
        lambda c: pl.DataFrame({"d": [date(2026, 12, 20)]}).select(c.nth_workday_after("d", 20)),
        lambda c: pl.DataFrame({"d": [date(2027, 3, 1)]}).select(c.workday_ordinal("d")),
        lambda c: pl.DataFrame({"d": [date(2003, 12, 1)]}).select(c.nth_workday_after("d", 1)),
    ],
)
def test_unknown_year_fails_closed(call):
    with pytest.raises(CalendarError, match=r"(2027|2003) 年.*README\.md"):
        call(CAL)


def test_a_date_years_ahead_asks_for_every_year_between():
    with pytest.raises(CalendarError, match="2027—2029 年.*2027.csv 至 2029.csv"):
        CAL.is_workday(date(2029, 5, 6))


def test_year_end_is_fine_while_result_stays_in_the_year():
    assert CAL.add_workdays(date(2026, 12, 1), 20) == date(2026, 12, 29)


def test_an_empty_year_file_declares_the_year(tmp_path):
    folder = copy_calendar(tmp_path, [2026])
    (folder / "2027.csv").write_text("date,kind,name\n", encoding="utf-8")
    cal = WorkdayCalendar.load(folder)
    assert cal.years == (2026, 2027)
    assert cal.add_workdays(date(2026, 12, 20), 20) == date(2027, 1, 15)


def test_readme_example_is_a_valid_year_file(tmp_path):
    readme = (CALENDAR_DIR / "README.md").read_text(encoding="utf-8")
    example = re.search(r"```csv\n(.*?)```", readme, re.S)[1]
    folder = copy_calendar(tmp_path, [2026])
    (folder / "2027.csv").write_text(example, encoding="utf-8")
    cal = WorkdayCalendar.load(folder)
    assert not cal.is_workday(date(2027, 2, 8))
    assert cal.is_workday(date(2027, 2, 14))


def test_excel_saved_file_in_gb18030_with_slashed_dates(tmp_path):
    folder = copy_calendar(tmp_path, [2026])
    (folder / "2027.csv").write_bytes("日期,类型,名称\r\n2027/2/8,休,春节\r\n".encode("gb18030"))
    assert not WorkdayCalendar.load(folder).is_workday(date(2027, 2, 8))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("2027.csv", "date,kind,name\n2027-02-08,放,春节\n", "类型"),
        ("2027.csv", "date,kind,name\n2027-02-30,休,春节\n", "无法识别"),
        ("2027.csv", "date,kind,name\n2028-02-08,休,春节\n", "2028.csv"),
        ("2027.csv", "date,kind,name\n2027-02-08,休,春节\n2027-02-08,休,春节\n", "重复"),
        ("2027.csv", "date,kind,name\n2027-02-08,班,春节\n", "周六或周日"),
        ("2027.csv", "2027-02-08,休,春节\n", "表头"),
        ("2027年.csv", "date,kind,name\n", "四位年份"),
        ("2028.csv", "date,kind,name\n", "2027 年"),  # a gap between known years
    ],
)
def test_malformed_calendar_files_are_refused(tmp_path, name, content, message):
    folder = copy_calendar(tmp_path, [2026])
    (folder / name).write_text(content, encoding="utf-8")
    with pytest.raises(CalendarError, match=message):
        WorkdayCalendar.load(folder)


def test_empty_folder_is_refused(tmp_path):
    with pytest.raises(CalendarError, match="没有任何年份"):
        WorkdayCalendar.load(tmp_path)


def test_frame_helpers_pass_nulls_through():
    frame = pl.DataFrame({"d": [date(2026, 2, 1), None, date(2026, 2, 1)], "n": [20, 45, None]})
    out = frame.select(
        deadline=CAL.nth_workday_after("d", "n"),
        ordinal=CAL.workday_ordinal(pl.col("d")),
    )
    assert out["deadline"].to_list() == [date(2026, 3, 5), None, None]
    assert out["ordinal"].null_count() == 1


def test_frame_helpers_on_an_empty_frame():
    empty = pl.LazyFrame(schema={"d": pl.Date})
    out = empty.select(CAL.nth_workday_after("d", 20), o=CAL.workday_ordinal("d")).collect()
    assert out.height == 0 and out.schema["d"] == pl.Date and out.schema["o"] == pl.Int64


known_dates = st.dates(date(2004, 1, 1), date(2026, 10, 31))


@settings(max_examples=50, deadline=None)
@given(
    starts=st.lists(known_dates, min_size=1, max_size=40),
    ns=st.lists(st.integers(0, 45), min_size=40, max_size=40),
)
def test_frame_helper_equals_scalar(starts, ns):
    frame = pl.DataFrame({"d": starts, "n": ns[: len(starts)]})
    out = (
        frame.lazy()
        .select(
            deadline=CAL.nth_workday_after("d", "n"),
            fixed=CAL.nth_workday_after(pl.col("d"), 20),
            ordinal=CAL.workday_ordinal("d"),
        )
        .collect()
    )
    for d, n, deadline, fixed in zip(
        frame["d"], frame["n"], out["deadline"], out["fixed"], strict=True
    ):
        assert deadline == CAL.add_workdays(d, n)
        assert fixed == CAL.add_workdays(d, 20)
    for d, ordinal in zip(frame["d"], out["ordinal"], strict=True):
        assert ordinal - out["ordinal"][0] == CAL.workdays_between(frame["d"][0], d)


def test_folder_label_is_relative_inside_the_project_and_full_outside(tmp_path):
    assert CAL.folder == CALENDAR_DIR
    assert CAL.folder_label() == "data/calendar"
    folder = copy_calendar(tmp_path, [2025])
    assert WorkdayCalendar.load(folder).folder_label() == str(folder)
