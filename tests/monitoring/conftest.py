import datetime
import io
import os

import pytest
from django.db.models import Count

from config.demo import borrowers
from loans.models import Company, Person

SEED_AS_OF = datetime.date(2026, 11, 1)  # credit data history ends here (and is scored by the seed)
RUN_AS_OF = datetime.date(2026, 11, 2)  # the nightly run under test


def seed_population(companies: int, seed: int = 3) -> dict:
    """The product's own demo: borrowers (config.demo.borrowers), then credit data history, trained
    champion scorecards and scores for SEED_AS_OF (config.demo.credit)."""
    from config.demo.credit import seed_scoring_demo

    borrowers.ensure_products()
    borrowers.load(borrowers.generate(companies=companies, seed=seed, as_of=SEED_AS_OF))
    seed_scoring_demo(seed=seed, as_of=SEED_AS_OF, stdout=io.StringIO())
    return {"persons": Person.objects.count(), "companies": Company.objects.count()}


def assert_one_score_each(population, as_of=RUN_AS_OF):
    """Every person and company of the population has exactly one score for ``as_of``."""
    from scoring.models import Score

    per_subject = Score.objects.filter(as_of=as_of).values("subject_kind", "subject_id").annotate(n=Count("id"))
    assert not per_subject.filter(n__gt=1).exists()
    assert Score.objects.filter(as_of=as_of, subject_kind="person").count() == population["persons"]
    assert Score.objects.filter(as_of=as_of, subject_kind="company").count() == population["companies"]


@pytest.fixture
def population(db):
    return seed_population(120)


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set TEST_REDIS_URL=redis://127.0.0.1:6379/15 (CI does)")
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"needs Redis at TEST_REDIS_URL={url}: {exc}")
    return url
