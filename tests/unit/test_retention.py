from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.models import ProvisioningLogEntry
from provisioning.services.retention import purge_provisioning_logs


def entry(age_days: float) -> ProvisioningLogEntry:
    return ProvisioningLogEntry.objects.create(
        created_at=timezone.now() - timedelta(days=age_days),
        application_id=1,
        application_name="App",
        object_type="User",
        action="Create",
        status="Success",
    )


@pytest.mark.django_db
def test_purge_removes_only_entries_past_the_retention_period(settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 30
    old = [entry(31), entry(45)]
    kept = [entry(29), entry(0)]
    assert purge_provisioning_logs() == 2
    remaining = set(ProvisioningLogEntry.objects.values_list("id", flat=True))
    assert remaining == {e.id for e in kept}
    assert not remaining & {e.id for e in old}
