"""A page the user may not open answers 403 inside the admin's look, in the user's language,
with a way back to the admin index (before: Django's bare, untranslated "403 Forbidden")."""

import pytest
from django.contrib.auth.models import Permission

pytestmark = pytest.mark.django_db

QUEUE = "/admin/monitoring/postloanaction/approvals/"


@pytest.fixture
def officer_client(client, django_user_model):
    # staff who may view post-loan actions, but not approve them
    user = django_user_model.objects.create_user("officer-403", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_postloanaction"))
    client.force_login(user)
    return client


@pytest.mark.parametrize("language, words", [
    ("en", ["You may not open this page", "Back to the back office home", "ask an administrator"]),
    ("zh-hans", ["您无权打开此页面", "返回后台首页", "请联系管理员"]),
])
def test_a_staff_user_without_the_permission_gets_the_refusal_in_the_admin_look(officer_client, language, words):
    response = officer_client.get(QUEUE, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 403
    html = response.content.decode()
    for word in words:
        assert word in html
    assert 'href="/admin/"' in html  # back to the admin index
    assert "officer-403" in html  # the admin's header, with the user
    assert "Post-loan actions" in html or "贷后措施" in html  # the sidebar the user may see
    assert "<h1>403 Forbidden</h1>" not in html


def test_the_api_still_answers_a_refusal_in_json(client):
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory

    from config.backoffice.errors import permission_denied

    response = permission_denied(RequestFactory().get("/api/v1/anything"), PermissionDenied())
    assert response.status_code == 403 and response["Content-Type"] == "application/json"
