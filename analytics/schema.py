"""The data contract (docs/data-contract.md, sections 1, 2 and 4) as data.

Everything that names a table, a column, a Chinese header, a type word or an enum lives here and
only here; the reader, the generator, the checks and the pages all read it from this module.

Type words (contract section 2, plus the finer words the contract's notes imply):

- ``id18``     resident ID number, normalised to 18 characters with an upper-case X
- ``date``     calendar date (``pl.Date``)
- ``month``    ``YYYY-MM`` text, so that months sort and compare as text
- ``money``    integer fen (``pl.Int64``); never float
- ``text``     stripped text; blank becomes null
- ``enum``     text restricted to ``Column.values``
- ``phone``    digits of the national number
- ``address``  the text as written; the reader adds ``<column>_norm`` with the normalised form
- ``account``  bank account digits, 10 to 30 of them
- ``payee``    an id18 or an 18-character unified social credit code of an organisation
- ``int``      a whole number
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl
from polars._typing import PolarsDataType

from analytics.district import District
from analytics.district import current as current_district

# The street offices and the district-level unit are the district's (data/district.toml, read and
# checked by analytics.district): the street rule of every 街镇 / 所属单位 column reads them.
DISTRICT_INFO: District = current_district()
STREETS: tuple[str, ...] = DISTRICT_INFO.street_names
DISTRICT_OFFICE = DISTRICT_INFO.office

STAFF_ROLES = ("救助顾问", "街镇经办", "街镇审核", "区级审批", "居委干部", "财务人员")
CASE_STATUSES = ("申请中", "在册", "终止", "未通过")
SPECIAL_CIRCUMSTANCES = ("公示有异议", "人户分离", "异地申办", "核对难度大")
DIFFICULTIES = ("高", "中", "低")
ENTITLEMENT_KINDS = ("正常", "补发")
LEDGER_STATUSES = ("成功", "退票")
HUKOU = ("本市", "非本市")
RELATIONS = ("配偶", "父母")
EVENT_TYPES = ("死亡", "就业参保", "刑事处罚")
VISIT_MODES = ("入户", "电话", "线上")
SEVERITIES = ("高", "中", "低")

# Catalogue values are reference data (data/catalogue.csv); the reader checks enum columns typed
# ``catalogue:<column>`` against the loaded catalogue rather than a literal list.
CATALOGUE_TYPE = "catalogue:assistance_type"
CATALOGUE_ITEM = "catalogue:item"

TYPE_WORDS = (
    "id18",
    "date",
    "month",
    "money",
    "text",
    "enum",
    "phone",
    "address",
    "account",
    "payee",
    "int",
    "items",
)


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    type: str
    required: bool = False
    values: tuple[str, ...] | str | None = None  # enum values, or a catalogue reference
    aliases: tuple[str, ...] = ()  # further headers seen in real exports

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.aliases)


@dataclass(frozen=True)
class Table:
    name: str
    zh: str
    columns: tuple[Column, ...]
    unique: tuple[str, ...] = ()  # the unique key; later repeats are rejects
    required: bool = False
    file_aliases: tuple[str, ...] = field(default_factory=tuple)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def file_stems(self) -> tuple[str, ...]:
        return (self.name, self.zh, *self.file_aliases)


def C(
    name: str,
    zh: str,
    type_: str,
    required: bool = False,
    values: tuple[str, ...] | str | None = None,
    aliases: Iterable[str] = (),
) -> Column:
    return Column(name, zh, type_, required, values, tuple(aliases))


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "staff",
            "工作人员",
            (
                C("staff_id", "工号", "text", True),
                C("name", "姓名", "text", True),
                C("id_number", "身份证号", "id18", True),
                C("role", "岗位", "enum", True, STAFF_ROLES),
                C("street", "所属单位", "enum", True, STREETS + (DISTRICT_OFFICE,)),
                C("phone", "联系电话", "phone"),
                C("address", "住址", "address"),
                C("salary_account", "工资账号", "account"),
            ),
            unique=("staff_id",),
            required=True,
        ),
        Table(
            "persons",
            "人员信息",
            (
                C("id_number", "身份证号", "id18", True),
                C("name", "姓名", "text", True),
                C("household_id", "家庭编号", "text", True),
                C("street", "居住街镇", "enum", True, STREETS),
                C("committee", "居委会", "text"),
                C("address", "居住地址", "address"),
                C("phone", "联系电话", "phone"),
                C("hukou", "户籍性质", "enum", False, HUKOU),
            ),
            unique=("id_number",),
            required=True,
        ),
        Table(
            "cases",
            "救助案件",
            (
                C("case_id", "救助编号", "text", True),
                C("household_id", "家庭编号", "text", True),
                C("applicant_id_number", "申请人身份证号", "id18", True),
                C("street", "街镇", "enum", True, STREETS),
                C("assistance_type", "救助类别", "enum", True, CATALOGUE_TYPE),
                C("status", "状态", "enum", True, CASE_STATUSES),
                C("accepted_date", "受理日期", "date", True),
                C("decided_date", "审批日期", "date"),
                C("special_circumstance", "特殊情形", "enum", False, SPECIAL_CIRCUMSTANCES),
                C("monthly_amount", "月核定金额", "money"),
                C("start_month", "起始月份", "month"),
                C("termination_date", "终止日期", "date"),
                C("difficulty", "困难程度", "enum", False, DIFFICULTIES),
                C("handler_id", "经办人工号", "text"),
                C("reviewer_id", "审核人工号", "text"),
                C("approver_id", "审批人工号", "text"),
            ),
            unique=("case_id",),
            required=True,
        ),
        Table(
            "accounts",
            "收款账户",
            (
                C("case_id", "救助编号", "text", True),
                C("account_no", "银行账号", "account", True),
                C("bank", "开户银行", "text"),
                C("holder_id_number", "户名身份证号", "id18", True),
                C("holder_name", "户名", "text"),
                C("custodian_id_number", "代管人身份证号", "id18"),
                C("custodian_name", "代管人姓名", "text"),
            ),
            unique=("case_id",),
            required=True,
        ),
        Table(
            "entitlements",
            "应发名册",
            (
                C("month", "发放月份", "month", True),
                C("case_id", "救助编号", "text", True),
                C("id_number", "身份证号", "id18", True),
                C("item", "救助项目", "enum", True, CATALOGUE_ITEM),
                C("kind", "类型", "enum", True, ENTITLEMENT_KINDS),
                C("amount", "应发金额", "money", True),
                C("account_no", "银行账号", "account"),
            ),
            required=True,
        ),
        Table(
            "ledger",
            "资金实发明细",
            (
                C("txn_id", "流水号", "text", True),
                C("batch_id", "批次号", "text"),
                C("month", "发放月份", "month", True),
                C("pay_date", "拨付日期", "date", True),
                C("street", "街镇", "enum", True, STREETS + (DISTRICT_OFFICE,)),
                C("fund_code", "资金科目", "text", True),
                C("item", "救助项目", "text", True),
                C("case_id", "救助编号", "text"),
                C("payee_id", "收款人证件号", "payee", True),
                C("payee_name", "收款人", "text"),
                C("account_no", "银行账号", "account", True),
                C("amount", "金额", "money", True),
                C("status", "状态", "enum", True, LEDGER_STATUSES),
                C("purpose", "摘要", "text"),
            ),
            unique=("txn_id",),
            required=True,
            file_aliases=("实发明细",),
        ),
        Table(
            "providers",
            "服务机构",
            (
                C("uscc", "统一社会信用代码", "payee", True),
                C("name", "机构名称", "text", True),
                C("items", "服务项目", "items", True),
            ),
            unique=("uscc",),
        ),
        Table(
            "relations",
            "亲属关系",
            (
                C("id_number_a", "身份证号A", "id18", True),
                C("id_number_b", "身份证号B", "id18", True),
                C("relation", "关系", "enum", True, RELATIONS),
            ),
        ),
        Table(
            "relative_filings",
            "近亲属备案",
            (
                C("staff_id", "工号", "text", True),
                C("relative_id_number", "亲属身份证号", "id18", True),
                C("relative_name", "亲属姓名", "text"),
                C("relation", "关系", "text"),
                C("filed_date", "备案日期", "date", True),
            ),
        ),
        Table(
            "custody_filings",
            "卡折代管备案",
            (
                C("account_no", "银行账号", "account", True),
                C("custodian_id_number", "代管人身份证号", "id18", True),
                C("filed_date", "备案日期", "date", True),
                C("valid_to", "有效期至", "date"),
            ),
        ),
        Table(
            "events",
            "部门共享信息",
            (
                C("id_number", "身份证号", "id18", True),
                C("event_type", "事项", "enum", True, EVENT_TYPES),
                C("event_date", "发生日期", "date", True),
                C("source", "来源部门", "text"),
            ),
        ),
        Table(
            "visits",
            "探访记录",
            (
                C("case_id", "救助编号", "text", True),
                C("visit_date", "探访日期", "date", True),
                C("staff_id", "工号", "text"),
                C("mode", "方式", "enum", False, VISIT_MODES),
            ),
        ),
        Table(
            "trainings",
            "培训记录",
            (
                C("street", "街镇", "enum", True, STREETS + (DISTRICT_OFFICE,)),
                C("date", "日期", "date", True),
                C("topic", "主题", "text"),
                C("participants", "人数", "int"),
            ),
        ),
        Table(
            "dishonesty",
            "失信名单",
            (
                C("id_number", "身份证号", "id18", True),
                C("name", "姓名", "text"),
                C("start_date", "公布日期", "date", True),
                C("end_date", "截止日期", "date", True),
            ),
        ),
    )
}

REQUIRED_TABLES = tuple(t.name for t in TABLES.values() if t.required)
OPTIONAL_TABLES = tuple(t.name for t in TABLES.values() if not t.required)

_POLARS_TYPE: dict[str, PolarsDataType] = {
    "id18": pl.String,
    "date": pl.Date,
    "month": pl.String,
    "money": pl.Int64,
    "text": pl.String,
    "enum": pl.String,
    "phone": pl.String,
    "address": pl.String,
    "account": pl.String,
    "payee": pl.String,
    "int": pl.Int64,
    "items": pl.String,
}


def polars_schema(table: str) -> dict[str, PolarsDataType]:
    """The typed schema of a table as the reader hands it to the checks."""
    t = TABLES[table]
    out: dict[str, PolarsDataType] = {}
    for c in t.columns:
        out[c.name] = _POLARS_TYPE[c.type]
        if c.type == "address":
            out[f"{c.name}_norm"] = pl.String
    return out


def empty_frame(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(table))


# --- What a check run writes (contract section 4) -------------------------------------------

FINDINGS_COLUMNS = (
    "check_id",
    "severity",
    "street",
    "month",
    "case_id",
    "txn_id",
    "id_number",
    "account_no",
    "staff_id",
    "item",
    "amount",
    "summary",
    "evidence",
)
# Key columns a finding may fill (contract section 5's "key columns" are drawn from these).
FINDING_KEY_COLUMNS = (
    "street",
    "month",
    "case_id",
    "txn_id",
    "id_number",
    "account_no",
    "staff_id",
    "item",
)
REJECTS_COLUMNS = ("file", "row", "column", "value", "reason")
INDICATORS_COLUMNS = ("street", "period", "indicator", "value", "numerator", "denominator")

FINDINGS_SCHEMA: dict[str, PolarsDataType] = {
    "check_id": pl.String,
    "severity": pl.String,
    "street": pl.String,
    "month": pl.String,
    "case_id": pl.String,
    "txn_id": pl.String,
    "id_number": pl.String,
    "account_no": pl.String,
    "staff_id": pl.String,
    "item": pl.String,
    "amount": pl.String,
    "summary": pl.String,
    "evidence": pl.String,
}
REJECTS_SCHEMA: dict[str, PolarsDataType] = {
    "file": pl.String,
    "row": pl.Int64,
    "column": pl.String,
    "value": pl.String,
    "reason": pl.String,
}
INDICATORS_SCHEMA: dict[str, PolarsDataType] = {
    "street": pl.String,
    "period": pl.String,
    "indicator": pl.String,
    "value": pl.Float64,
    "numerator": pl.Float64,
    "denominator": pl.Float64,
}
