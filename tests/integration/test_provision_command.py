"""``manage.py provision`` exit codes and failure summary (issue 9, item 9), against scim2-server.

Exit codes: 0 success, 1 the cycle failed, 2 some objects failed, 3 quarantine, 4 busy.
"""

import os
import socket
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from provisioning.management.commands import provision
from provisioning.models import ProvisioningJob
from tests.factories import DirectoryUserFactory, assign
from tests.integration import test_engine_scim as engine
from tests.support.fault_proxy import Fault

pytestmark = pytest.mark.django_db

app = engine.app


def through(app, proxy):
    job = app.provisioning_job
    job.credentials = {**job.credentials, "tenant_url": proxy.url}
    job.save()


def run(app):
    try:
        call_command("provision", app.name, "--initial")
    except CommandError as error:
        return error.returncode, str(error)
    return 0, ""


def test_success_exits_0(app, scim, capsys):
    assign(app, DirectoryUserFactory(user_principal_name="ok@contoso.example"))
    assert run(app) == (0, "")


def test_some_failed_objects_exit_2_and_are_listed_with_their_error_codes(
    app, scim, fault_proxy, capsys
):
    through(app, fault_proxy)
    for number in range(19):
        assign(app, DirectoryUserFactory(user_principal_name=f"fine{number}@contoso.example"))
    assign(app, DirectoryUserFactory(user_principal_name="refused@contoso.example"))
    fault_proxy.inject(
        Fault.status(400, detail="no", scim_type="invalidValue"),
        method="POST",
        body='"refused@contoso.example"',
        times=None,
    )
    # A target without Bulk: one POST per user, so one of them can be refused.
    fault_proxy.inject(
        Fault.json(
            200,
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
                "patch": {"supported": True},
                "bulk": {"supported": False},
                "filter": {"supported": True, "maxResults": 200},
            },
        ),
        method="GET",
        path="/ServiceProviderConfig",
        times=None,
    )
    code, message = run(app)
    out = capsys.readouterr().out
    assert code == provision.EXIT_OBJECT_FAILURES == 2, (message, out)
    assert "failed object" in message
    assert "Failed objects" in out and "SCIM_400" in out


def test_more_than_20_failures_list_20_and_a_quarantined_job_exits_3(
    app, scim, fault_proxy, capsys
):
    through(app, fault_proxy)
    for number in range(25):
        assign(app, DirectoryUserFactory(user_principal_name=f"bad{number}@contoso.example"))
    fault_proxy.inject(Fault.status(400, detail="no"), method="POST", times=None)
    code, message = run(app)
    out = capsys.readouterr().out
    assert code == provision.EXIT_QUARANTINE == 3, (message, out)
    listed = [line for line in out.splitlines() if line.startswith("  User ")]
    assert len(listed) == 20
    assert "Failed objects (25, up to 20 listed)" in out


def test_a_busy_job_exits_4_saying_when_the_lease_expires(app, scim):
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        lease_owner=f"{socket.gethostname()}:{os.getpid()}:elsewhere",
        lease_expires_at=timezone.now() + timedelta(seconds=200),
    )
    code, message = run(app)
    assert code == provision.EXIT_BUSY == 4
    assert "expires at" in message


def test_a_failed_cycle_exits_1(app, scim):
    job = app.provisioning_job
    job.credentials = {**job.credentials, "secret_token": "wrong"}
    job.save()
    assign(app, DirectoryUserFactory())
    code, message = run(app)
    assert code == provision.EXIT_FAILED == 1
    assert "The cycle failed" in message
