"""Who may see and do what: roles, the pages and actions each may reach, and the one function
that scopes a frame to what a viewer may see. Deny by default.

Roles (PIPL articles 28 and 51: sensitive personal information, reached only by those who need
it): 纪检监督 and 民政监督 see every street; 街镇 sees its own street only, everywhere; 联席办
keeps and publishes the dishonesty list; 成员单位 only asks whether a person is listed; 管理员
manages accounts and settings and chooses the data folder. A row whose street is unknown is
denied to a street user, never shown to all.

Pages never filter for access themselves: they pass the viewer to :func:`scope` (or to a
service that calls it) after the cache.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import polars as pl

ROLES: dict[str, str] = {
    "discipline": "纪检监督",
    "civil_affairs": "民政监督",
    "street": "街镇",
    "joint_office": "联席办",
    "member_unit": "成员单位",
    "admin": "管理员",
}
ROLE_CODES = {label: code for code, label in ROLES.items()}
DISTRICT_ROLES = frozenset({"discipline", "civil_affairs"})

# page (its file name in dashboard/screens) -> the roles that may open it
PAGES: dict[str, frozenset[str]] = {
    "overview": frozenset({"discipline", "civil_affairs", "street"}),
    "findings": frozenset({"discipline", "civil_affairs", "street"}),
    "funds": frozenset({"discipline", "civil_affairs", "street"}),
    # a path crosses streets (kin, shared phones): not yet cut to one street, so district only
    "graph": frozenset({"discipline", "civil_affairs"}),
    "street": frozenset({"discipline", "civil_affairs", "street"}),
    "followup": frozenset({"discipline", "civil_affairs", "street"}),
    "file_audit": frozenset({"discipline", "civil_affairs", "street"}),
    "dishonesty": frozenset({"joint_office"}),
    "member_query": frozenset({"member_unit", "joint_office"}),
    "import_data": frozenset({"civil_affairs", "admin"}),
    "rules": frozenset({"discipline", "civil_affairs", "street", "joint_office", "admin"}),
    "audit_log": frozenset({"discipline"}),
    "accounts": frozenset({"admin"}),
}

# action -> the roles that may take it
ACTIONS: dict[str, frozenset[str]] = {
    "triage": frozenset({"discipline", "civil_affairs", "street"}),  # work a finding
    "decide": frozenset({"discipline", "civil_affairs"}),  # 属实/不属实, 整改, 追回
    "close": frozenset({"discipline", "civil_affairs"}),
    "reopen": frozenset({"discipline", "civil_affairs"}),
    "recover": frozenset({"discipline", "civil_affairs", "street"}),
    "run_checks": frozenset({"civil_affairs", "admin"}),
    "import": frozenset({"civil_affairs", "admin"}),
    "choose_folder": frozenset({"admin"}),
    "file_audit_start": frozenset({"discipline", "civil_affairs"}),
    "file_audit_answer": frozenset({"discipline", "civil_affairs"}),
    "file_audit_close": frozenset({"discipline", "civil_affairs"}),
    "dishonesty_manage": frozenset({"joint_office"}),
    "dishonesty_read": frozenset({"joint_office", "discipline", "civil_affairs"}),
    "member_query": frozenset({"member_unit", "joint_office"}),
    "member_query_log": frozenset({"joint_office"}),
    "unmask": frozenset({"discipline", "civil_affairs"}),
    # the yearly evaluation ranks every street against the others: the district's document
    "yearly_report": frozenset({"discipline", "civil_affairs"}),
    "lookup_person": frozenset({"discipline", "civil_affairs", "street"}),
    "audit_read": frozenset({"discipline"}),
    "accounts": frozenset({"admin"}),
    "settings": frozenset({"admin"}),
}


class AccessError(PermissionError):
    """The viewer may not do this (Chinese message, naming no data)."""


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a name for the records, a role, and a street for a 街镇 user (or the
    unit of a 成员单位)."""

    name: str
    role: str
    street: str | None = None
    unit: str | None = None
    account: str | None = None  # the local account's user name (None: an OIDC login)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}")
        if self.role == "street" and not self.street:
            raise ValueError("a street user needs a street")

    @property
    def streets(self) -> Collection[str] | None:
        """The street offices this viewer may see rows of: None for every one; empty for none."""
        if self.role in DISTRICT_ROLES:
            return None
        if self.role == "street":
            assert self.street is not None  # __post_init__ refuses a street user without one
            return (self.street,)
        return ()

    @property
    def role_label(self) -> str:
        return ROLES[self.role]


def may_open(viewer: Viewer | None, page: str) -> bool:
    return viewer is not None and viewer.role in PAGES.get(page, frozenset())


def may(viewer: Viewer | None, action: str) -> bool:
    return viewer is not None and viewer.role in ACTIONS.get(action, frozenset())


def require(viewer: Viewer | None, action: str) -> None:
    if not may(viewer, action):
        raise AccessError("当前账号无权执行此操作")


def may_see_street(viewer: Viewer | None, street: str | None) -> bool:
    """Whether a row of ``street`` is this viewer's to see (a row with no street is a district
    role's only)."""
    if viewer is None:
        return False
    streets = viewer.streets
    return streets is None or (street is not None and street in streets)


def require_row(viewer: Viewer | None, action: str, street: str | None) -> None:
    """``action`` on a row of ``street``: the role may take it, and the row is the viewer's."""
    require(viewer, action)
    if not may_see_street(viewer, street):
        raise AccessError("当前账号无权处理其他街镇的记录")


def pages_for(viewer: Viewer | None) -> list[str]:
    """The pages this viewer may open, in PAGES order."""
    return [p for p in PAGES if may_open(viewer, p)]


def street_filter(viewer: Viewer | None, column: str = "street") -> pl.Expr:
    """The rows of ``column`` this viewer may see: every row for a district role, the viewer's
    street only for a 街镇 user (a row with no street is denied), nothing otherwise."""
    streets = viewer.streets if viewer is not None else ()
    if streets is None:
        return pl.lit(True)
    if not streets:
        return pl.lit(False)
    return pl.col(column).is_in(list(streets)).fill_null(False)


def scope(frame: pl.DataFrame, viewer: Viewer | None, column: str = "street") -> pl.DataFrame:
    """``frame`` cut to the rows this viewer may see by ``column``. The one place it is done:
    every page's frames pass through it after the cache."""
    return frame.filter(street_filter(viewer, column))
