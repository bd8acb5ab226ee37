"""Write one CSV per year (``YYYY.csv``: date,kind,name) from the chinesecalendar package.

Run once to seed the calendar; afterwards an administrator adds each new year from the State
Council notice by hand (README.md). The runtime reads only the CSVs, never this package.

    .venv/bin/python data/calendar/build_from_chinesecalendar.py [--force]
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from chinese_calendar.constants import Holiday, holidays, workdays

HERE = Path(__file__).resolve().parent
FIRST_YEAR, LAST_YEAR = 2004, 2026


def rows_for(year: int) -> list[tuple[str, str, str]]:
    rows = [(d, "休", Holiday(name).chinese) for d, name in holidays.items() if d.year == year]
    rows += [(d, "班", Holiday(name).chinese) for d, name in workdays.items() if d.year == year]
    return [(d.isoformat(), kind, name) for d, kind, name in sorted(rows)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="overwrite existing year files")
    args = parser.parse_args()
    for year in range(FIRST_YEAR, LAST_YEAR + 1):
        path = HERE / f"{year}.csv"
        if path.exists() and not args.force:
            continue
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(("date", "kind", "name"))
            writer.writerows(rows_for(year))


if __name__ == "__main__":
    main()
