"""A person behind many companies: their companies are rescored on a real Celery worker."""

import datetime
import time

import pytest

from scoring import api, batch
from scoring.models import LatestScore, Score
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.scoring.helpers import AS_OF, BAD_PERSON, GOOD_COMPANY, GOOD_PERSON, champion, snapshot


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.filterwarnings("ignore:task_always_eager has no effect on send_task")
def test_a_person_behind_three_companies_has_them_rescored_on_a_worker(
    on_postgres, redis_url, celery_worker, monkeypatch
):
    from config.celery_app import app
    from scoring import tasks

    # given: a person who is the legal representative of three scored companies
    champion("person")
    champion("company")
    boss = PersonFactory()
    snapshot("person", boss.id, GOOD_PERSON, as_of=AS_OF - datetime.timedelta(days=30))
    companies = [CompanyFactory() for _ in range(3)]
    for c in companies:
        snapshot("company", c.id, GOOD_COMPANY, as_of=AS_OF - datetime.timedelta(days=30))
        RelatedPartyFactory(company=c, person=boss, role="legal_representative")
    ids = sorted(c.id for c in companies)
    batch.score_persons(person_ids=[boss.id], as_of=AS_OF)
    batch.score_companies(company_ids=ids, as_of=AS_OF)
    before = dict(Score.objects.filter(subject_kind="company").values_list("subject_id", "score"))
    start, _stop = celery_worker
    worker = start("rescore1")

    def send(company_ids, as_of):  # the task sent to the real broker (tests run eager otherwise)
        with app.connection_for_write(redis_url) as conn:
            app.send_task(tasks.rescore_companies.name, args=[company_ids, as_of], connection=conn)

    monkeypatch.setattr(tasks.rescore_companies, "delay", send)
    # when: the person defaults, and the request's threshold is below three companies
    snapshot("person", boss.id, BAD_PERSON, as_of=AS_OF, in_default=True)
    result = api.rescore_subjects(person_ids=[boss.id], as_of=AS_OF, inline=2)
    assert result.persons_written == 1 and result.companies_queued == ids and not result.companies_inline

    # then: the worker writes the second revision of all three
    def done():
        return Score.objects.filter(subject_kind="company", subject_id__in=ids, revision=2).count() == 3

    deadline = time.monotonic() + 120  # a worker's start-up imports the whole product
    while time.monotonic() < deadline and worker.poll() is None and not done():
        time.sleep(0.3)
    assert done(), worker.log_path.read_text()[-2000:]
    for cid in ids:
        pointer = LatestScore.objects.get(subject_kind="company", subject_id=cid)
        latest = Score.objects.get(id=pointer.score_id)
        assert latest.revision == 2 and latest.score < before[cid]
