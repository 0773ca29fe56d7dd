"""Deterministic synthetic borrowers for demos, tests and benchmarks.

``generate`` is pure: the same seed gives the same companies, people, roles and hidden
risks.  ``load`` writes them with COPY on PostgreSQL (bulk_create on SQLite).

Shape of the population:
* each company has a legal representative (usually also its actual controller and
  majority shareholder), one or two further shareholders and often a director — about
  three related persons per company;
* about one company in eight reuses a controlling person of an earlier company, so
  borrower groups exist;
* every company and person carries a standard-normal ``latent_risk`` (stored apart, in
  SyntheticTruth) from which the scoring app derives credit data and outcomes.  Company
  revenue and age lean on the latent risk a little, as they do in real books.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from loans.choices import CompanyStatus, ProductKind, RepaymentMethod, Role
from loans.models import Company, LoanProduct, Person, RelatedParty
from loans.parties import identity

from .bulk import copy_rows, next_ids, reset_sequence
from .identities import REGION_CODES, make_resident_id, make_uscc
from .models import SyntheticTruth

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鹏辉斌宇浩凯健俊帆帅旭宁晨欣怡佳雪琳晶慧倩婷"
CITY = ["北京", "上海", "天津", "深圳", "广州", "杭州", "南京", "成都", "武汉", "苏州", "宁波", "厦门", "青岛", "西安", "长沙", "郑州", "合肥", "贵阳"]
WORDS = ["恒", "鑫", "华", "泰", "盛", "源", "达", "通", "嘉", "瑞", "丰", "宏", "创", "智", "联", "信", "诚", "博", "远", "海", "晟", "隆", "安", "锦"]
TRADE = {
    "A": "农业科技", "C": "机械制造", "E": "建筑工程", "F": "商贸", "G": "物流", "H": "餐饮管理",
    "I": "信息技术", "L": "商务咨询", "M": "检测技术", "O": "家政服务", "R": "文化传媒", "K": "物业管理",
}
INDUSTRY_WEIGHTS = {"F": 30, "C": 20, "I": 10, "E": 8, "G": 8, "H": 7, "L": 6, "M": 4, "A": 3, "O": 2, "R": 1, "K": 1}
REGION_PROVINCE = {code: code[:2] for code in REGION_CODES}

PRODUCTS = [
    dict(code="sme-revolving", name="SME revolving credit line 小微循环贷", kind=ProductKind.REVOLVING,
         repayment_method=RepaymentMethod.EQUAL_INSTALLMENT, min_amount=Decimal("10000.00"),
         max_amount=Decimal("3000000.00"), min_term_months=3, max_term_months=36, min_score=600,
         rate_spread=Decimal("0.000000"), line_validity_months=12),
    dict(code="sme-term-ep", name="SME term loan, equal principal 等额本金经营贷", kind=ProductKind.TERM,
         repayment_method=RepaymentMethod.EQUAL_PRINCIPAL, min_amount=Decimal("50000.00"),
         max_amount=Decimal("5000000.00"), min_term_months=6, max_term_months=60, min_score=620,
         rate_spread=Decimal("-0.005000"), line_validity_months=6),
    dict(code="sme-bullet", name="SME working capital, interest first 先息后本周转贷", kind=ProductKind.REVOLVING,
         repayment_method=RepaymentMethod.INTEREST_FIRST, min_amount=Decimal("10000.00"),
         max_amount=Decimal("1000000.00"), min_term_months=1, max_term_months=12, min_score=650,
         rate_spread=Decimal("0.010000"), line_validity_months=12),
]


@dataclass
class Population:
    companies: list[tuple] = field(default_factory=list)   # (idx, legal_name, uscc, industry, province, founded_on, capital, employees, revenue)
    persons: list[tuple] = field(default_factory=list)     # (idx, name, resident_id, phone)
    roles: list[tuple] = field(default_factory=list)       # (company idx, person idx, role, pct, valid_from)
    company_risk: list[float] = field(default_factory=list)
    person_risk: list[float] = field(default_factory=list)


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def generate(*, companies: int, seed: int, as_of: datetime.date) -> Population:
    rng = random.Random(seed)
    pop = Population()
    usccs: set[str] = set()
    ids: set[str] = set()
    industries = list(INDUSTRY_WEIGHTS)
    weights = list(INDUSTRY_WEIGHTS.values())
    controllers: list[int] = []  # person idx of controlling persons, for sharing

    def new_person() -> int:
        while True:
            birth = as_of - datetime.timedelta(days=rng.randint(24 * 365, 62 * 365))
            rid = make_resident_id(rng, birth)
            if rid not in ids:
                ids.add(rid)
                break
        idx = len(pop.persons)
        pop.persons.append((idx, _person_name(rng), rid, f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"))
        pop.person_risk.append(rng.gauss(0.0, 1.0))
        return idx

    for c in range(companies):
        while True:
            region = rng.choice(REGION_CODES)
            u = make_uscc(rng, region)
            if u not in usccs:
                usccs.add(u)
                break
        industry = rng.choices(industries, weights)[0]
        latent = rng.gauss(0.0, 1.0)
        age_years = max(0.5, rng.lognormvariate(1.7 - 0.25 * latent, 0.6))
        founded = as_of - datetime.timedelta(days=int(age_years * 365))
        revenue = Decimal(str(round(min(5e8, rng.lognormvariate(15.4 - 0.35 * latent, 1.0)), -3))).quantize(Decimal("0.01"))
        capital = Decimal(str(round(min(1e8, float(revenue) * rng.uniform(0.05, 0.6)), -4))).quantize(Decimal("0.01"))
        employees = max(1, int(rng.lognormvariate(2.6, 0.9)))
        name = f"{rng.choice(CITY)}{rng.choice(WORDS)}{rng.choice(WORDS)}{TRADE.get(industry, '商贸')}有限公司"
        pop.companies.append((c, name, u, industry, REGION_PROVINCE[region], founded, capital, employees, revenue))
        pop.company_risk.append(latent)

        # The controlling person: an existing controller in about one case in eight.
        if controllers and rng.random() < 0.125:
            boss = rng.choice(controllers)
        else:
            boss = new_person()
            controllers.append(boss)
        since = founded
        majority = Decimal(rng.choice(("51.00", "60.00", "70.00", "80.00", "100.00")))
        pop.roles.append((c, boss, Role.LEGAL_REPRESENTATIVE, None, since))
        if rng.random() < 0.8:
            pop.roles.append((c, boss, Role.ACTUAL_CONTROLLER, None, since))
        pop.roles.append((c, boss, Role.SHAREHOLDER, majority, since))
        rest = Decimal("100.00") - majority
        if rest > 0:
            other = new_person()
            pop.roles.append((c, other, Role.SHAREHOLDER, rest, since))
        if rng.random() < 0.7:
            pop.roles.append((c, new_person(), Role.DIRECTOR, None, since))
        if rng.random() < 0.3:
            pop.roles.append((c, new_person(), Role.GUARANTOR, None, since))
    return pop


def ensure_products() -> list[LoanProduct]:
    out = []
    for spec in PRODUCTS:
        product, _ = LoanProduct.objects.update_or_create(code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"})
        out.append(product)
    return out


@transaction.atomic
def load(pop: Population) -> dict[str, int]:
    """Write a generated population; returns counts.  Ids are reserved after the current maximum."""
    now = timezone.now()
    company_ids = next_ids(Company, len(pop.companies))
    person_ids = next_ids(Person, len(pop.persons))
    active = CompanyStatus.ACTIVE

    copy_rows(
        Company,
        ["id", "legal_name", "uscc", "industry", "province", "founded_on", "registered_capital", "employees",
         "annual_revenue", "status", "is_blocklisted", "created_at", "updated_at"],
        ((company_ids[c[0]], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], active, False, now, now) for c in pop.companies),
    )

    def person_rows():
        for idx, name, rid, phone in pop.persons:
            yield (
                person_ids[idx], name, identity.lookup_hash(rid), identity.encrypt(rid), identity.mask_resident_id(rid),
                identity.encrypt(phone), identity.mask_phone(phone), identity.birth_year_from_resident_id(rid),
                False, now, now,
            )

    copy_rows(
        Person,
        ["id", "name", "resident_id_hash", "resident_id_encrypted", "resident_id_masked", "phone_encrypted",
         "phone_masked", "birth_year", "is_blocklisted", "created_at", "updated_at"],
        person_rows(),
    )
    copy_rows(
        RelatedParty,
        ["company_id", "person_id", "role", "ownership_pct", "valid_from", "created_at", "updated_at"],
        ((company_ids[c], person_ids[p], str(role), pct, since, now, now) for c, p, role, pct, since in pop.roles),
    )
    copy_rows(
        SyntheticTruth,
        ["subject_kind", "subject_id", "latent_risk"],
        [("company", company_ids[i], r) for i, r in enumerate(pop.company_risk)]
        + [("person", person_ids[i], r) for i, r in enumerate(pop.person_risk)],
    )
    for model in (Company, Person, RelatedParty, SyntheticTruth):
        reset_sequence(model)
    if connection.vendor == "postgresql":
        # Fresh planner statistics after a bulk load (autovacuum may be off or not yet around):
        # without them the borrower-group CTE of every booking below planned hash joins over
        # the whole role table (8 s a decision at 100,000 companies instead of milliseconds).
        with connection.cursor() as cursor:
            for model in (Company, Person, RelatedParty, SyntheticTruth):
                cursor.execute("ANALYZE " + connection.ops.quote_name(model._meta.db_table))
    return {"companies": len(pop.companies), "persons": len(pop.persons), "related_parties": len(pop.roles)}


