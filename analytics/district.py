"""The district AidWatch audits, read from ``data/district.toml``: its name, the body that
issues reports, the district-level unit, the joint-meeting office that publishes the dishonesty
list and the regulations it cites, and its street offices with their short names.

Nothing else in the code names a street office or the district: :mod:`analytics.schema` builds
the street rule (the values a 街镇 / 所属单位 column accepts) from :func:`current`, the reports
print :attr:`District.name` and :attr:`District.issuer`, the reader strips
:attr:`District.address_prefix` from addresses before comparing them.

The file is ``district.toml`` in the reference data folder (``data/``, or the folder named by
``AIDWATCH_DATA_DIR``, as for the settings and the catalogue); ``AIDWATCH_DISTRICT_FILE`` names
another file. It is read once per process: after an edit, restart the server.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ENV = "AIDWATCH_DISTRICT_FILE"


def default_path() -> Path:
    folder = os.environ.get("AIDWATCH_DATA_DIR") or PROJECT_ROOT / "data"
    return Path(os.environ.get(ENV) or Path(folder) / "district.toml")


class DistrictError(ValueError):
    """The district file is missing or wrong; the message names the file and the entry."""


@dataclass(frozen=True)
class Street:
    name: str
    short: str


@dataclass(frozen=True)
class District:
    name: str
    city: str
    issuer: str
    office: str
    joint_office: str
    basis: str
    streets: tuple[Street, ...]

    @property
    def street_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.streets)

    def short(self, name: str) -> str:
        """A street office's short name; any other name as it is."""
        for street in self.streets:
            if street.name == name:
                return street.short
        return name

    @property
    def address_prefix(self) -> str:
        """A regular expression for the city and district an address may begin with
        (上海市长宁区, 上海长宁区, 长宁区...), each optional."""
        city = re.escape(self.city.removesuffix("市"))
        district = re.escape(self.name)
        if not city:
            return f"(?:{district})?"
        # The longest first: a district named like its city (示例市示例区) must not lose 示例.
        return f"(?:{city}市?{district}|{district}|{city}市?)?"


def _text(table: Mapping[str, object], key: str, where: str, path: Path) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DistrictError(f"区划设置文件 {path.name} 中 {where} 的 {key} 缺失或为空。")
    return value.strip()


def load(path: Path | None = None) -> District:
    """The district in ``path`` (default: :func:`default_path`),
    checked: every name present, no street office or short name twice, the district-level unit
    not named like a street office."""
    path = Path(path or default_path())
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DistrictError(f"找不到区划设置文件 {path}。") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise DistrictError(f"区划设置文件 {path.name} 格式有误：{exc}") from None
    head = raw.get("district")
    if not isinstance(head, dict):
        raise DistrictError(f"区划设置文件 {path.name} 缺少 [district] 部分。")
    name = _text(head, "name", "[district]", path)
    city = str(head.get("city") or "").strip()
    issuer = _text(head, "issuer", "[district]", path)
    office = _text(head, "office", "[district]", path)
    joint_office = _text(head, "joint_office", "[district]", path)
    basis = _text(head, "basis", "[district]", path)
    entries = raw.get("streets")
    if not isinstance(entries, list) or not entries:
        raise DistrictError(f"区划设置文件 {path.name} 没有列出任何街镇（[[streets]]）。")
    streets: list[Street] = []
    for number, entry in enumerate(entries, start=1):
        where = f"第 {number} 个街镇"
        if not isinstance(entry, dict):
            raise DistrictError(f"区划设置文件 {path.name} 中 {where} 格式有误。")
        street_name = _text(entry, "name", where, path)
        short = str(entry.get("short") or "").strip() or street_name
        streets.append(Street(street_name, short))
    for attr, label in (("name", "名称"), ("short", "简称")):
        seen: set[str] = set()
        for number, street in enumerate(streets, start=1):
            value = getattr(street, attr)
            if value in seen:
                raise DistrictError(
                    f"区划设置文件 {path.name} 中第 {number} 个街镇的{label}"
                    f"“{value}”与前面的街镇重复。"
                )
            seen.add(value)
    if office in {s.name for s in streets}:
        raise DistrictError(f"区划设置文件 {path.name} 中区级单位“{office}”与街镇同名。")
    return District(
        name=name,
        city=city,
        issuer=issuer,
        office=office,
        joint_office=joint_office,
        basis=basis,
        streets=tuple(streets),
    )


@cache
def current() -> District:
    """The district this process audits (loaded once)."""
    return load()
