"""Sign-in throttling (issue 12, item 6): failures are logged and audited, and past the limit the
user name or the address is locked out, the page saying for how long."""

import logging

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import AuditActivity
from provisioning.models import AuditEvent

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-41"


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="dana", password=PASSWORD)


def sign_in(client, username, password, address="127.0.0.1"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def test_a_wrong_password_is_logged_and_audited_with_the_name_escaped(client, user, caplog):
    caplog.set_level(logging.WARNING, logger="provisioning.signin")
    response = sign_in(client, "dana\r\nINFO forged line", "wrong")
    assert response.status_code == 200
    assert "didn" in response.content.decode()  # "didn't match"
    event = AuditEvent.objects.get(activity=AuditActivity.FAILED_SIGN_IN)
    assert event.after == {"username": "dana\r\nINFO forged line", "address": "127.0.0.1"}
    lines = [r.getMessage() for r in caplog.records if r.name == "provisioning.signin"]
    assert len(lines) == 1 and "\n" not in lines[0] and "\\r\\n" in lines[0]


def test_after_five_failures_the_account_is_locked_even_with_the_right_password(
    client, user, settings
):
    settings.AXES_FAILURE_LIMIT = 5
    for attempt in range(5):
        sign_in(client, "dana", f"wrong-{attempt}", address=f"10.0.0.{attempt + 1}")
    response = sign_in(client, "dana", PASSWORD, address="10.0.0.99")
    assert response.status_code == 429
    html = response.content.decode()
    assert "locked for 15 minutes" in html
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(
        activity=AuditActivity.FAILED_SIGN_IN, after__locked_out=True
    ).exists()


def test_after_five_failures_from_one_address_other_names_are_refused_there_too(
    client, user, settings
):
    settings.AXES_FAILURE_LIMIT = 5
    for attempt in range(5):
        sign_in(client, f"nobody{attempt}", "wrong", address="192.0.2.7")
    assert sign_in(client, "dana", PASSWORD, address="192.0.2.7").status_code == 429
    response = sign_in(client, "dana", PASSWORD, address="192.0.2.8")
    assert response.status_code == 302  # another address, the account itself is not locked
    assert client.session["_auth_user_id"] == str(user.pk)


def test_fifty_wrong_passwords_are_not_all_processed(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    statuses = [sign_in(client, "dana", f"guess-{n}").status_code for n in range(50)]
    # The fifth failure is answered with the lockout; nothing after it reaches the password check.
    assert statuses == [200] * 4 + [429] * 46
    # Four failures, then the lockout (the fifth) once; the attempts during it are only logged.
    events = AuditEvent.objects.filter(activity=AuditActivity.FAILED_SIGN_IN)
    assert events.filter(after__locked_out=True).count() == 1
    assert events.count() == 5
