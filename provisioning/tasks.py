"""Celery tasks of the provisioning engine."""

import logging

from celery import shared_task

from .services.retention import purge_provisioning_logs as purge_logs

logger = logging.getLogger(__name__)


@shared_task(name="provisioning.tasks.purge_provisioning_logs", ignore_result=True)
def purge_provisioning_logs() -> int:
    """Daily: delete provisioning log entries older than the retention period."""
    deleted = purge_logs()
    logger.info("Purged %d provisioning log entries past retention", deleted)
    return deleted
