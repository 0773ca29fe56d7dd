"""A small synthetic population for scoring tests and local benchmarks: companies, persons,
related parties and SyntheticTruth, bulk-created (the lead's seed_demo does this for real)."""

import datetime
import random
from decimal import Decimal

import numpy as np
from stdnum.cn import ric

from config.demo.identities import REGION_CODES, make_uscc
from config.demo.models import SyntheticTruth
from loans.choices import Role
from loans.models import Company, Person, RelatedParty


def _unique_resident_id(seed: int, i: int) -> str:
    # unique per (seed, i): the birth date and sequence number encode i
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=(seed * 37 + i // 1000) % 15000)
    body = f"{REGION_CODES[(i // 1000 // 15000) % len(REGION_CODES)]}{birth:%Y%m%d}{i % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def make_population(*, n_companies: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    companies = Company.objects.bulk_create(
        [
            Company(
                legal_name=f"演示企业 {seed}-{i}", uscc=make_uscc(rng), industry="F", province="31",
                founded_on=datetime.date(2024, 1, 1) - datetime.timedelta(days=int(nrng.integers(100, 7000))),
                registered_capital=Decimal("1000000.00"), employees=20, annual_revenue=Decimal("5000000.00"),
            )
            for i in range(n_companies)
        ],
        batch_size=2000,
    )
    persons = []
    for i in range(n_companies * 2):
        p = Person(name=f"演示 {seed}-{i}")
        p.set_resident_id(_unique_resident_id(seed, i))
        persons.append(p)
    persons = Person.objects.bulk_create(persons, batch_size=2000)
    parties = []
    for i, c in enumerate(companies):
        a, b = persons[2 * i], persons[2 * i + 1]
        parties += [
            RelatedParty(company=c, person=a, role=Role.LEGAL_REPRESENTATIVE, valid_from=datetime.date(2015, 1, 1)),
            RelatedParty(company=c, person=a, role=Role.SHAREHOLDER, ownership_pct=Decimal("60"), valid_from=datetime.date(2015, 1, 1)),
            RelatedParty(company=c, person=b, role=Role.ACTUAL_CONTROLLER, valid_from=datetime.date(2015, 1, 1)),
        ]
    RelatedParty.objects.bulk_create(parties, batch_size=2000)
    c_z = nrng.normal(size=len(companies))
    p_z = nrng.normal(size=len(persons))
    SyntheticTruth.objects.bulk_create(
        [SyntheticTruth(subject_kind="company", subject_id=c.id, latent_risk=float(z)) for c, z in zip(companies, c_z)]
        + [SyntheticTruth(subject_kind="person", subject_id=p.id, latent_risk=float(z)) for p, z in zip(persons, p_z)],
        batch_size=5000,
    )
    return {"companies": companies, "persons": persons}
