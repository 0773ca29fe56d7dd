"""Valid-looking synthetic identities for demo data and tests.

Check digits come from python-stdnum itself, so every generated USCC and resident
ID passes the same validation that real input passes.
"""

from __future__ import annotations

import datetime
import random

from stdnum.cn import ric, uscc

# County-level codes that python-stdnum's region table accepts for every birth year
# from 1950 to 2009 (checked against stdnum's table when this list was written).
REGION_CODES = (
    "110102", "110104", "110105", "110106", "110108", "120102", "120103", "120104",
    "120105", "120106", "310103", "310104", "310105", "310106", "310108", "520203",
)

_USCC_BODY = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def make_uscc(rng: random.Random, region: str | None = None) -> str:
    region = region or rng.choice(REGION_CODES)
    # 9 = registered by market regulation, 1 = enterprise; then region, then organisation code.
    body = "91" + region + "".join(rng.choice(_USCC_BODY) for _ in range(9))
    return body + uscc.calc_check_digit(body)


def make_resident_id(rng: random.Random, birth_date: datetime.date, region: str | None = None) -> str:
    region = region or rng.choice(REGION_CODES)
    body = f"{region}{birth_date:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")
