"""Credentials are encrypted at rest (F8) and keys rotate without losing secrets."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from provisioning.models import ProvisioningJob
from provisioning.security.encryption import SecretDecryptionError
from tests.factories import make_application

SECRET = "s3cr3t-token-Ω"


def raw_credentials(job: ProvisioningJob) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM provisioning_provisioningjob WHERE id = %s", [job.pk]
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_secret_round_trips_and_the_column_holds_no_plaintext():
    job = make_application("scim", "Vault").provisioning_job
    job.credentials = {"tenant_url": "https://scim.example/v2", "secret_token": SECRET}
    job.save()

    reloaded = ProvisioningJob.objects.get(pk=job.pk)
    assert reloaded.credentials == {"tenant_url": "https://scim.example/v2", "secret_token": SECRET}
    raw = raw_credentials(job)
    assert SECRET not in raw
    assert "scim.example" not in raw
    assert raw.startswith("gAAAA")  # a Fernet token


@pytest.mark.django_db
def test_key_rotation_keeps_old_secrets_readable_and_reencrypts_with_the_new_key(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    job = make_application("scim", "Rotating").provisioning_job
    job.credentials = {"tenant_url": "https://a.example/v2", "secret_token": SECRET}
    job.save()
    token_before = raw_credentials(job)

    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    assert ProvisioningJob.objects.get(pk=job.pk).credentials["secret_token"] == SECRET

    call_command("rotate_encryption_keys")
    token_after = raw_credentials(job)
    assert token_after != token_before
    Fernet(new_key.encode()).decrypt(token_after.encode())  # the new key alone opens it

    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert ProvisioningJob.objects.get(pk=job.pk).credentials["secret_token"] == SECRET


@pytest.mark.django_db
def test_a_removed_key_gives_a_clear_error_instead_of_garbage(settings):
    job = make_application("scim", "Lost key").provisioning_job
    job.credentials = {"secret_token": SECRET}
    job.save()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    reloaded = ProvisioningJob.objects.get(pk=job.pk)  # loading alone decrypts nothing
    with pytest.raises(SecretDecryptionError):
        reloaded.credentials  # noqa: B018 - reading the attribute is the test


@pytest.mark.django_db
def test_with_a_wrong_key_pages_that_do_not_need_credentials_still_work(settings, client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from provisioning.roles import ensure_roles

    app = make_application("scim", "Wrong key")
    job = app.provisioning_job
    job.credentials = {"tenant_url": "https://scim.example/v2", "secret_token": SECRET}
    job.save()
    administrators, _ = ensure_roles()
    user = get_user_model().objects.create_user(username="kim")
    user.groups.add(administrators)
    client.force_login(user)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    for page in (
        reverse("home"),
        reverse("application-list"),
        reverse("application-overview", args=[app.pk]),
    ):
        assert client.get(page).status_code == 200, page


@pytest.mark.django_db
def test_saving_a_job_whose_credentials_were_never_read_keeps_the_token_unchanged():
    job = make_application("scim", "Untouched").provisioning_job
    job.credentials = {"secret_token": SECRET}
    job.save()
    token = raw_credentials(job)
    reloaded = ProvisioningJob.objects.get(pk=job.pk)
    reloaded.interval_minutes = 45
    reloaded.save()
    assert raw_credentials(job) == token
    assert ProvisioningJob.objects.get(pk=job.pk).credentials == {"secret_token": SECRET}
