"""Reference data an administrator edits: settings, the catalogue of items, the calendar folder.

The data folder is ``data/`` at the project root, or the folder named by ``AIDWATCH_DATA_DIR``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("AIDWATCH_DATA_DIR", PROJECT_ROOT / "data"))


@dataclass(frozen=True)
class Limits:
    """What one file of a drop may hold ([limits]): a file over a limit is refused before a
    library reads it, so that a damaged or crafted file cannot exhaust the server's memory."""

    max_cell_chars: int = 32767  # characters in one cell (Excel's own limit)
    max_unpacked_mb: int = 1024  # an .xlsx file unpacked, a Parquet file's pages
    max_cells: int = 30_000_000  # cells of a worksheet's used range (rows x columns)
    max_columns: int = 16384  # columns of a table (Excel's own limit)

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> Limits:
        defaults = cls()
        return cls(**{f.name: int(raw.get(f.name, getattr(defaults, f.name))) for f in fields(cls)})


@dataclass(frozen=True)
class Workflow:
    """Deadlines of the follow-up loop ([workflow]); working days on the official calendar."""

    verify_working_days: int = 10  # a lead assigned for verification is due in
    rectify_working_days: int = 20  # a rectification ordered is due in
    recheck_after_months: int = 3  # 回头看: months after a rectification is completed
    exception_max_days: int = 365  # longest term of a 容错免责 or other exception
    exception_warning_days: int = 30  # flagged this many days before an exception ends

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> Workflow:
        defaults = cls()
        return cls(**{f.name: int(raw.get(f.name, getattr(defaults, f.name))) for f in fields(cls)})


@dataclass(frozen=True)
class Dishonesty:
    """失信名单 ([dishonesty]): due-process periods in working days, publication terms in months
    by severity, and the purposes a member unit may state for a query."""

    objection_window_working_days: int = 10
    objection_decision_working_days: int = 5
    removal_working_days: int = 3
    terms_months: dict[str, tuple[int, int]] = field(
        default_factory=lambda: {"轻微": (1, 3), "一般": (3, 12), "严重": (12, 36)}
    )
    query_purposes: tuple[str, ...] = (
        "保障性住房资格审核",
        "教育资助审核",
        "医疗救助审核",
        "就业扶持审核",
        "其他社会救助审核",
    )
    query_max_numbers: int = 1000

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> Dishonesty:
        d = cls()
        terms = raw.get("terms_months")
        return cls(
            objection_window_working_days=int(
                raw.get("objection_window_working_days", d.objection_window_working_days)
            ),
            objection_decision_working_days=int(
                raw.get("objection_decision_working_days", d.objection_decision_working_days)
            ),
            removal_working_days=int(raw.get("removal_working_days", d.removal_working_days)),
            terms_months=(
                {k: (int(v[0]), int(v[1])) for k, v in terms.items()} if terms else d.terms_months
            ),
            query_purposes=tuple(raw.get("query_purposes", d.query_purposes)),
            query_max_numbers=int(raw.get("query_max_numbers", d.query_max_numbers)),
        )


@dataclass(frozen=True)
class FileAudit:
    """档案核查 ([file_audit]): how a session's sample is drawn by default."""

    per_street: int = 5
    share: float = 0.0
    min_per_street: int = 2
    new_handler_months: int = 6
    statuses: tuple[str, ...] = ("在册",)
    risk_weights: dict[str, float] = field(
        default_factory=lambda: {
            "open_findings": 3.0,
            "decided_in_month": 2.0,
            "special_circumstance": 2.0,
            "new_handler": 1.0,
        }
    )

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> FileAudit:
        d = cls()
        weights = raw.get("risk_weights")
        return cls(
            per_street=int(raw.get("per_street", d.per_street)),
            share=float(raw.get("share", d.share)),
            min_per_street=int(raw.get("min_per_street", d.min_per_street)),
            new_handler_months=int(raw.get("new_handler_months", d.new_handler_months)),
            statuses=tuple(raw.get("statuses", d.statuses)),
            risk_weights=(
                {k: float(v) for k, v in weights.items()} if weights is not None else d.risk_weights
            ),
        )


@dataclass(frozen=True)
class Accounts:
    """Local accounts ([accounts]): password rule, lockout and login-session limits."""

    password_min_length: int = 12
    lockout_failures: int = 5  # failed logins in a row that lock an account
    lockout_minutes: int = 15  # for this long
    session_idle_minutes: int = 30  # a login session ends after this long without use
    session_max_hours: int = 10  # and at the latest after this long

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> Accounts:
        defaults = cls()
        return cls(**{f.name: int(raw.get(f.name, getattr(defaults, f.name))) for f in fields(cls)})


@dataclass(frozen=True)
class Oidc:
    """A deployment's OIDC login ([oidc]): the claims that carry the role, street, unit, name."""

    role_claim: str = "aidwatch_role"
    street_claim: str = "aidwatch_street"
    unit_claim: str = "aidwatch_unit"
    name_claim: str = "name"

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> Oidc:
        defaults = cls()
        return cls(**{f.name: str(raw.get(f.name, getattr(defaults, f.name))) for f in fields(cls)})


@dataclass(frozen=True)
class Settings:
    payment_due_day: int
    small_amount_cap_fen: int
    approval_deadline_working_days: int
    approval_deadline_special_working_days: int
    custodian_concentration_households: int
    hub_threshold_persons: int
    death_grace_days: int
    visit_cycle_months: dict[str, int]
    indicator_weights: dict[str, float]
    trainings_per_year: int
    limits: Limits = field(default_factory=Limits)
    workflow: Workflow = field(default_factory=Workflow)
    dishonesty: Dishonesty = field(default_factory=Dishonesty)
    file_audit: FileAudit = field(default_factory=FileAudit)
    accounts: Accounts = field(default_factory=Accounts)
    oidc: Oidc = field(default_factory=Oidc)

    @classmethod
    def from_toml(cls, raw: dict[str, Any]) -> Settings:
        return cls(
            payment_due_day=int(raw["funds"]["payment_due_day"]),
            small_amount_cap_fen=int(round(float(raw["funds"]["small_amount_cap_yuan"]) * 100)),
            approval_deadline_working_days=int(raw["process"]["approval_deadline_working_days"]),
            approval_deadline_special_working_days=int(
                raw["process"]["approval_deadline_special_working_days"]
            ),
            custodian_concentration_households=int(
                raw["integrity"]["custodian_concentration_households"]
            ),
            hub_threshold_persons=int(raw["integrity"]["hub_threshold_persons"]),
            death_grace_days=int(raw["dynamic"]["death_grace_days"]),
            visit_cycle_months={k: int(v) for k, v in raw["dynamic"]["visit_cycle_months"].items()},
            indicator_weights={k: float(v) for k, v in raw["indicators"]["weights"].items()},
            trainings_per_year=int(raw["indicators"]["trainings_per_year"]),
            limits=Limits.from_toml(raw.get("limits", {})),
            workflow=Workflow.from_toml(raw.get("workflow", {})),
            dishonesty=Dishonesty.from_toml(raw.get("dishonesty", {})),
            file_audit=FileAudit.from_toml(raw.get("file_audit", {})),
            accounts=Accounts.from_toml(raw.get("accounts", {})),
            oidc=Oidc.from_toml(raw.get("oidc", {})),
        )


@lru_cache(maxsize=4)
def _load_settings(path: str, stamp: tuple[int, int]) -> Settings:
    with open(path, "rb") as fh:
        return Settings.from_toml(tomllib.load(fh))


def load_settings(path: Path | None = None) -> Settings:
    """The settings in ``path`` (default: settings.toml of the reference data), read again once
    the file changes: a running server picks up an administrator's edit without a restart."""
    where = str(path or data_dir() / "settings.toml")
    try:
        info = os.stat(where)
        stamp = (info.st_mtime_ns, info.st_size)
    except OSError:
        stamp = (0, 0)  # opening it says what is wrong
    return _load_settings(where, stamp)


def storage_setting(name: str) -> str:
    """A value of the settings' [storage] section (blank when absent). Read apart from the
    rules' settings: where the data lives is decided before anything else is loaded."""
    try:
        with open(data_dir() / "settings.toml", "rb") as fh:
            return str(tomllib.load(fh).get("storage", {}).get(name, "") or "")
    except (OSError, tomllib.TOMLDecodeError):
        return ""


def checklist_path() -> Path:
    return data_dir() / "checklist.toml"


def load_catalogue(path: Path | None = None) -> pl.DataFrame:
    """assistance_type, item, fund_code, paid_to (person | provider)."""
    return pl.read_csv(path or data_dir() / "catalogue.csv", infer_schema=False)
