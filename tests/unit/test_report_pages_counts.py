"""What Synchronization details and the Overview count must be true (issue 11); each test
failed before its fix."""

import pytest
from django.utils import timezone

from provisioning.choices import CycleKind, CycleState, JobState
from provisioning.models import GroupMembership, ProvisioningJob, SyncCycle
from provisioning.views.overview import default_access_only_users
from provisioning.views.sync_details import sync_details_context
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, assign, make_application

pytestmark = pytest.mark.django_db


def ended_cycle(app, state):
    return SyncCycle.objects.create(
        job=app.provisioning_job,
        kind=CycleKind.INCREMENTAL,
        state=state,
        ended_at=timezone.now(),
        progress_total=10,
        progress_done=10,
    )


@pytest.mark.parametrize(
    ("state", "steady"),
    [(CycleState.COMPLETED_WITH_FAILURES, False), (CycleState.SUCCEEDED, True)],
)
def test_steady_state_only_after_a_cycle_completed_without_failures(state, steady):
    app = make_application("scim", "Steady")
    ProvisioningJob.objects.filter(pk=app.provisioning_job.pk).update(
        state=JobState.ACTIVE, status_on=True
    )
    ended_cycle(app, state)
    app.refresh_from_db()
    assert sync_details_context(app)["steady_state"] is steady


def test_overview_does_not_count_a_user_a_second_valid_assignment_provisions():
    app = make_application("scim", "Roles")
    both = DirectoryUserFactory()
    assign(app, both, "Default Access")
    assign(app, both, "User")
    through_group = DirectoryUserFactory()
    assign(app, through_group, "Default Access")
    group = DirectoryGroupFactory()
    GroupMembership.objects.create(group=group, member_user=through_group)
    assign(app, group, "User")
    only_default = DirectoryUserFactory()
    assign(app, only_default, "Default Access")

    assert default_access_only_users(app) == 1


def test_overview_page_shows_the_true_default_access_count(admin_client):
    app = make_application("scim", "Roles page")
    both = DirectoryUserFactory()
    assign(app, both, "Default Access")
    assign(app, both, "User")
    response = admin_client.get(f"/apps/{app.pk}/")
    assert response.status_code == 200
    assert "Default Access (not provisioned)" not in response.content.decode()
