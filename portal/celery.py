"""The Celery application: the worker and beat processes of the provisioning engine.

The broker comes from ``CELERY_BROKER_URL`` (or ``REDIS_URL``); with neither set it is kombu's
filesystem transport under ``var/``, so a bare machine can run the portal (see settings).
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "purge-provisioning-logs-daily": {
        "task": "provisioning.tasks.purge_provisioning_logs",
        "schedule": crontab(hour=3, minute=17),
    },
}
