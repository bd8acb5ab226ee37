"""Street-office performance indicators (indicators.csv, contract section 4) and the four circles
of the low-income population.

Every indicator is defined once, in :data:`INDICATORS`: its Chinese title, unit, definition,
numerator and denominator. The 总览 and 街镇 pages and the yearly PDF show that table as it is.

Rows: each of the ten street offices and the district (``全区``), for each month from the first
month of the entitlements and the ledger up to the as-of month, and for the quarters (``2026Q1``)
and years (``2026``) those months fall in. A *flow* indicator counts what happened inside the
period; a *stock* indicator is taken at the period's end, the last day of the period or the
as-of date if earlier. Money is in yuan. A value that cannot be computed (no denominator, or a
table missing from the drop) is blank, never zero.

The package, in the order a row of indicators.csv is made:

- :mod:`~analytics.indicators.definitions`: what each indicator is (:data:`INDICATORS`), the
  table of definitions, and which indicators a run that left out checks cannot count;
- :mod:`~analytics.indicators.periods`: the months, quarters and years reported, and their ends;
- :mod:`~analytics.indicators.circles`: the rules of data/circles.toml and each household's
  circle;
- :mod:`~analytics.indicators.builders`: one builder per indicator (:data:`BUILDERS`), giving
  its numerator and denominator per street and period;
- :mod:`~analytics.indicators.scoring`: the 0–100 scores, the composite score, and the table
  corrected for families of checks a run did not include;
- :mod:`~analytics.indicators.table`: :func:`compute`, the whole table.

To add an indicator (file audits and look-backs will come): one :class:`Indicator` in
``INDICATORS`` and one builder in ``BUILDERS``.
"""

from __future__ import annotations

from analytics.indicators.builders import active_at_ends
from analytics.indicators.circles import (
    RULE_KEYS,
    WINDOW_FIELDS,
    Circle,
    CircleRulesError,
    household_circles,
    load_circles,
)
from analytics.indicators.definitions import (
    AREAS,
    BY_NAME,
    DIRECTIONS,
    DISHONESTY_MOVES,
    DISTRICT,
    FAMILY_INDICATORS,
    FAMILY_LEADS,
    INDICATORS,
    LEVELS,
    Indicator,
    definitions_table,
    setting_texts,
    unchecked_families,
    unchecked_indicators,
)
from analytics.indicators.periods import period_of, period_table
from analytics.indicators.scoring import (
    blank_unchecked,
    component_scores,
    left_out,
    scored_names,
)
from analytics.indicators.table import compute

__all__ = [
    "AREAS",
    "BY_NAME",
    "DIRECTIONS",
    "DISHONESTY_MOVES",
    "DISTRICT",
    "FAMILY_INDICATORS",
    "FAMILY_LEADS",
    "INDICATORS",
    "LEVELS",
    "RULE_KEYS",
    "WINDOW_FIELDS",
    "Circle",
    "CircleRulesError",
    "Indicator",
    "active_at_ends",
    "blank_unchecked",
    "component_scores",
    "compute",
    "definitions_table",
    "household_circles",
    "left_out",
    "load_circles",
    "period_of",
    "period_table",
    "scored_names",
    "setting_texts",
    "unchecked_families",
    "unchecked_indicators",
]
