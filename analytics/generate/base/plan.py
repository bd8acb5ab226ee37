"""What the base district is drawn from: its streets and their weights, household templates,
assistance types with their amounts and shares, case statuses, staff roles, pay days, service
providers, event sources and training topics, and the parameters of one build.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from analytics import schema

STREETS = schema.STREETS
DISTRICT = schema.DISTRICT_OFFICE
N_STREETS = len(STREETS)
# Changning's street offices by size; another district's demo spreads households evenly.
_CHANGNING_WEIGHTS = (0.09, 0.06, 0.10, 0.09, 0.11, 0.12, 0.09, 0.05, 0.10, 0.19)
STREET_WEIGHTS = np.array(
    _CHANGNING_WEIGHTS if N_STREETS == len(_CHANGNING_WEIGHTS) else [1.0] * N_STREETS
)
FIRST_ACCEPTED = date(2023, 1, 1)
HOUSEHOLDS_PER_STAFF = 60
MIN_STAFF_PER_STREET = 6

# Household templates: roles of the members. A applicant (or the staff member), S spouse,
# C child, P elderly parent of A.
A, S, C, P = 0, 1, 2, 3
TEMPLATES = (
    (A,),
    (A, S),
    (A, C),
    (A, P),
    (A, S, C),
    (A, C, C),
    (A, S, P),
    (A, S, C, C),
    (A, S, C, P),
)
RECIPIENT_TEMPLATE_P = (0.30, 0.17, 0.08, 0.05, 0.17, 0.04, 0.04, 0.10, 0.05)
STAFF_TEMPLATE_P = (0.15, 0.20, 0.05, 0.05, 0.30, 0.00, 0.05, 0.10, 0.10)

MAIN_TYPES = (
    "最低生活保障",
    "重残无业",
    "低保边缘",
    "特困人员",
    "刚性支出困难",
    "困境儿童",
    "临时救助",
    "小金额救助",
)
MAIN_TYPE_P = (0.55, 0.10, 0.10, 0.07, 0.06, 0.05, 0.04, 0.03)
# Monthly amount in yuan: low, high, rounding step, times household size
AMOUNTS = {
    "最低生活保障": (500, 1550, 10, True),
    "重残无业": (1300, 1600, 10, False),
    "低保边缘": (300, 900, 10, False),
    "特困人员": (2300, 2700, 10, False),
    "刚性支出困难": (500, 2500, 10, False),
    "困境儿童": (1800, 2400, 10, False),
    "临时救助": (1000, 8000, 100, False),
    "小金额救助": (100, 450, 10, False),
}
ONE_OFF = "临时救助"
SMALL = "小金额救助"
SERVICE_ITEM = "服务类救助"
STATUSES = ("在册", "终止", "未通过", "申请中")
STATUS_P = (0.78, 0.10, 0.06, 0.06)
SECOND_CASE_SHARE = 0.08
BACK_PAY_SHARE = 0.015
RETURNED_SHARE = 0.004
SPECIAL_SHARE = 0.05
DIFFICULTY_P = (0.15, 0.35, 0.50)
STAFF_ROLE_EXTRA = ("救助顾问", "街镇经办", "居委干部", "街镇审核", "财务人员")
STAFF_ROLE_EXTRA_P = (0.35, 0.25, 0.25, 0.10, 0.05)
STAFF_ROLE_BASE = ("街镇经办", "救助顾问", "街镇审核", "居委干部", "财务人员", "街镇经办")
# Pay day of a month's batch, 1..15: most batches go out in the second week.
PAY_DAY_W = np.array([1, 1, 2, 4, 6, 8, 10, 12, 12, 12, 10, 8, 6, 4, 3], dtype=float)
SPRING_FESTIVAL_ACCEPTED = (date(2024, 2, 1), date(2025, 1, 20), date(2026, 2, 5))

PROVIDER_NAMES = (
    "长宁区{}居家养老服务中心",
    "上海{}社会工作服务社",
    "长宁区{}助餐服务点",
    "上海{}康复护理服务中心",
    "长宁区{}社区助残服务社",
)
PROVIDER_SERVICES = ("居家照护", "助餐", "康复护理", "助浴", "精神慰藉")
EVENT_SOURCES = {
    "死亡": ("市公安局", "市卫生健康委"),
    "就业参保": ("市人社局",),
    "刑事处罚": ("市司法局", "市公安局"),
}
TRAINING_TOPICS = (
    "社会救助政策解读",
    "低保审核确认业务培训",
    "廉政教育与近亲属备案",
    "资金发放与财务管理",
    "救助顾问工作规范",
    "探访与动态管理",
    "个人信息保护与数据安全",
)


@dataclass(frozen=True)
class BaseParams:
    households: int = 3000
    seed: int = 7
    months: int = 6
    end_month: str = "2026-10"
