"""Targets that support only part of what the engine sends (issue 9, items 6 and 7).

- A PATCH refused because of one attribute (501, or 400 naming it) is sent again without it; the
  attribute is logged once per job as not supported, kept on the job, and not sent again.
  In particular it never blocks a re-enable (``active: true``).
- A kind of request the target keeps failing with 500 is stopped for the rest of the cycle.
"""

import pytest

from provisioning.choices import CycleState
from provisioning.engine.learnt import unsupported_attributes
from provisioning.models import DirectoryUser, ProvisioningJob, ProvisioningLogEntry
from tests.factories import DirectoryUserFactory, assign
from tests.integration import test_engine_scim as engine
from tests.support.fault_proxy import Fault

pytestmark = pytest.mark.django_db

app = engine.app
connector = engine.connector
requests_seen = engine.requests_seen
cycle = engine.cycle
target_users = engine.target_users


def one_by_one(connector_factory, url):
    return connector_factory(url, capability_overrides={"bulk": False})


@pytest.mark.parametrize("bulk", [False, True], ids=["one-by-one", "bulk"])
@pytest.mark.parametrize(
    "refusal",
    [
        Fault.status(501, detail="not implemented"),
        Fault.status(400, detail="preferredLanguage is not supported", scim_type="invalidPath"),
    ],
    ids=["501", "400-naming-it"],
)
def test_an_unsupported_attribute_does_not_block_a_re_enable(
    app, scim, connector, fault_proxy, bulk, refusal
):
    user = DirectoryUserFactory(
        user_principal_name="lang@contoso.example", preferred_language="en-GB"
    )
    assign(app, user)
    overrides = {} if bulk else {"bulk": False}

    def run():
        result = cycle(app, connector(fault_proxy.url, capability_overrides=overrides))
        assert result.state != CycleState.FAILED, result.error
        return result

    run()
    assert target_users(scim)["lang@contoso.example"]["active"] is True
    # From now on the target refuses any PATCH that touches preferredLanguage.
    fault_proxy.inject(
        refusal, method=("PATCH", "POST"), body="preferredLanguage", path="/", times=None
    )
    DirectoryUser.objects.filter(pk=user.pk).update(account_enabled=False)
    run()
    assert target_users(scim)["lang@contoso.example"]["active"] is False

    DirectoryUser.objects.filter(pk=user.pk).update(account_enabled=True, preferred_language="fr")
    result = run()
    assert result.state == CycleState.SUCCEEDED
    assert target_users(scim)["lang@contoso.example"]["active"] is True
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert unsupported_attributes(job, "User") == ["preferredLanguage"]
    warnings = ProvisioningLogEntry.objects.filter(status="Warning", source_id=user.pk)
    assert warnings.count() == 1 and "preferredLanguage" in warnings.get().reason

    # Not sent again, and no second warning.
    fault_proxy.reset_counters()
    DirectoryUser.objects.filter(pk=user.pk).update(preferred_language="de", job_title="Chef")
    assert run().state == CycleState.SUCCEEDED
    assert target_users(scim)["lang@contoso.example"]["title"] == "Chef"
    assert fault_proxy.faults == {}
    assert ProvisioningLogEntry.objects.filter(status="Warning", source_id=user.pk).count() == 1


def test_a_400_about_a_value_is_a_failure_not_an_unsupported_attribute(
    app, scim, connector, fault_proxy
):
    user = DirectoryUserFactory(user_principal_name="val@contoso.example", job_title="A")
    assign(app, user)
    cycle(app, one_by_one(connector, fault_proxy.url))
    fault_proxy.inject(Fault.status(400, detail="bad value"), method="PATCH", times=None)
    DirectoryUser.objects.filter(pk=user.pk).update(job_title="B")
    result = cycle(app, one_by_one(connector, fault_proxy.url))
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    job = ProvisioningJob.objects.get(pk=app.provisioning_job.pk)
    assert unsupported_attributes(job) == []


@pytest.mark.parametrize("in_flight", [1, 8])
def test_repeated_500s_on_one_kind_of_request_stop_it_for_the_cycle(
    app, scim, connector, fault_proxy, in_flight
):
    type(app.provisioning_job).objects.filter(pk=app.provisioning_job.pk).update(
        max_requests_in_flight=in_flight
    )
    people = [
        DirectoryUserFactory(user_principal_name=f"crash{n}@contoso.example", job_title="A")
        for n in range(8)
    ]
    for person in people:
        assign(app, person)
    cycle(app, one_by_one(connector, fault_proxy.url))
    fault_proxy.inject(Fault.status(500), method="PATCH", path="/Users", times=None)
    DirectoryUser.objects.filter(pk__in=[p.pk for p in people]).update(job_title="B")
    result = cycle(app, one_by_one(connector, fault_proxy.url))
    assert result.state == CycleState.COMPLETED_WITH_FAILURES
    # Four tries for the first object, one for the next two, then none: not four per object.
    # With requests in flight (issue 16), those in flight when the kind met its first 500 are
    # not retried, and the kind's next requests go one at a time: still far from 4 per object.
    if in_flight == 1:
        assert fault_proxy.count("PATCH", "/Users") == 6
    else:
        assert fault_proxy.count("PATCH", "/Users") <= 4 + in_flight
    said = ProvisioningLogEntry.objects.filter(
        cycle_id=result.pk, error_code="TargetFailing", source_id__isnull=True
    )
    assert said.count() == 1 and "PATCH /Users" in said.get().source_display
    failed = ProvisioningLogEntry.objects.filter(cycle_id=result.pk, status="Failure")
    assert failed.count() == 8
    # The next cycle tries again, and the escrowed objects converge once the target recovers.
    fault_proxy.clear()
    result = cycle(app, one_by_one(connector, fault_proxy.url), initial=True)
    assert result.state == CycleState.SUCCEEDED
    assert {u["title"] for u in target_users(scim).values()} == {"B"}
