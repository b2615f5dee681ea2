"""Enterprise applications (F4): the list with search, the gallery, adding a named instance."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import AuditActivity
from provisioning.models import Application, AuditEvent
from provisioning.roles import ensure_roles
from tests.factories import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    administrators, _auditors = ensure_roles()
    user = get_user_model().objects.create_user(username="adam")
    user.groups.add(administrators)
    client.force_login(user)
    return user


def test_all_applications_lists_and_searches_by_name(admin, client):
    make_application("scim", "Contoso HR")
    make_application("gotomeeting", "Citrix GoToMeeting")
    html = client.get(reverse("application-list")).content.decode()
    assert "Contoso HR" in html and "Citrix GoToMeeting" in html
    html = client.get(reverse("application-list") + "?q=citrix").content.decode()
    assert "Citrix GoToMeeting" in html and "Contoso HR" not in html


def test_the_gallery_searches_the_templates(admin, client):
    html = client.get(reverse("application-add") + "?q=gotomeeting").content.decode()
    assert "Citrix GoToMeeting" in html and "SCIM 2.0 application" not in html


def test_selecting_a_template_offers_its_name_for_the_instance(admin, client):
    html = client.get(reverse("application-add") + "?template=scim").content.decode()
    assert 'name="name"' in html and 'value="SCIM 2.0 application"' in html


def test_adding_an_application_creates_it_and_opens_its_overview(admin, client):
    response = client.post(reverse("application-add"), {"template": "scim", "name": "HR SCIM"})
    application = Application.objects.get(name="HR SCIM")
    assert response.status_code == 302
    assert response["Location"] == reverse("application-overview", args=[application.pk])
    assert application.template_slug == "scim"
    assert AuditEvent.objects.filter(
        activity=AuditActivity.ADD_APPLICATION, application_id=application.pk, actor=admin
    ).exists()
    overview = client.get(response["Location"]).content.decode()
    assert "HR SCIM | Overview" in overview and "Provisioning Mode" in overview


def test_a_taken_name_is_a_form_error(admin, client):
    make_application("scim", "HR SCIM")
    response = client.post(reverse("application-add"), {"template": "scim", "name": "HR SCIM"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Application.objects.filter(name="HR SCIM").count() == 1


def test_the_blade_shows_the_breadcrumb_and_the_left_menu(admin, client):
    application = make_application("scim", "HR SCIM")
    html = client.get(reverse("provisioning", args=[application.pk])).content.decode()
    for text in (
        "Home",
        "Enterprise applications",
        "HR SCIM",
        "Overview",
        "Users and groups",
        "Single sign-on",
        "Provisioning logs",
        "Audit logs",
    ):
        assert text in html
    assert 'aria-current="page">Provisioning</a>' in html


def test_single_sign_on_says_it_is_configured_independently(admin, client):
    application = make_application("scim", "HR SCIM")
    html = client.get(reverse("single-sign-on", args=[application.pk])).content.decode()
    assert "configured independently of automatic provisioning" in html


def test_an_unknown_application_is_404(admin, client):
    assert client.get(reverse("application-overview", args=[999999])).status_code == 404


def test_a_traditional_chinese_browser_gets_the_portal_in_traditional_chinese(admin, client):
    application = make_application("scim", "HR SCIM")
    html = client.get(
        reverse("provisioning", args=[application.pk]), HTTP_ACCEPT_LANGUAGE="zh-TW,zh;q=0.9"
    ).content.decode()
    assert '<html lang="zh-hant">' in html
    for text in ("佈建模式", "管理員認證", "測試連線", "通知電子郵件", "佈建狀態", "儲存"):
        assert text in html, text
