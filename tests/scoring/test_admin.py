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
    # (12, and 2 for the sidebar's counts of the work waiting for a superuser: actions to approve
    # and committee cases to vote on)
    with django_assert_max_num_queries(12 + 2):
        resp = admin_client.get(reverse("admin:scoring_score_changelist"))
    # then: the main reasons in the reader's language
    assert resp.status_code == 200
    assert "Close connections in default" in resp.content.decode()
    chinese = admin_client.get(reverse("admin:scoring_score_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "关系人中有违约" in chinese.content.decode()


def test_a_risk_manager_promotes_a_scorecard_from_the_admin(client, django_user_model):
    from django.contrib.admin.models import LogEntry
    from django.contrib.auth.models import Permission

    from scoring import services
    from scoring.models import ModelStatus, ScoreModel
    from tests.scoring.helpers import person_scorecard

    # given a champion and a newer draft, and a user allowed to view and promote scorecards
    old = champion("person")
    new = services.score_model_create(subject_kind="person", scorecard=person_scorecard(), metrics={}, reference_distribution={}, trained_on={})
    user = django_user_model.objects.create_user("risk", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_scoremodel", "promote_scorecard"]))
    client.force_login(user)
    # when they promote the draft
    r = client.post(reverse("admin:scoring_scoremodel_changelist"), {"action": "promote", "_selected_action": [new.pk], "index": 0}, follow=True)
    # then it is the champion, the old one is retired, and the admin's history names them
    assert [str(m) for m in r.context["messages"]] == [f"{ScoreModel.objects.get(pk=new.pk)} is now the champion."]
    assert dict(ScoreModel.objects.values_list("pk", "status")) == {old.pk: ModelStatus.RETIRED, new.pk: ModelStatus.CHAMPION}
    assert LogEntry.objects.get(object_id=str(new.pk)).user == user
