import pytest
from django.urls import reverse

from scoring import batch
from tests.factories import PersonFactory
from tests.scoring.helpers import AS_OF, BAD_PERSON, champion, snapshot

pytestmark = pytest.mark.django_db


def test_score_model_page_shows_bins_and_points(admin_client):
    model = champion("person")
    resp = admin_client.get(reverse("admin:scoring_scoremodel_change", args=[model.pk]))
    assert resp.status_code == 200
    assert b"Bins and points" in resp.content and b"ontime_ratio_24m" in resp.content
    assert admin_client.get(reverse("admin:scoring_scoremodel_changelist")).status_code == 200


def test_score_list_shows_reason_texts_without_n_plus_one(admin_client, django_assert_max_num_queries):
    # given
    champion("person")
    people = [PersonFactory() for _ in range(5)]
    for p in people:
        snapshot("person", p.id, BAD_PERSON)
    batch.score_person_range(id_from=people[0].id, id_to=people[-1].id + 1, as_of=AS_OF)
    # when
    with django_assert_max_num_queries(12):
        resp = admin_client.get(reverse("admin:scoring_score_changelist"))
    # then
    assert resp.status_code == 200
    assert "关系人中有违约".encode() in resp.content
