"""The Celery application: the worker and beat processes of the provisioning engine.

The broker comes from ``CELERY_BROKER_URL`` (or ``REDIS_URL``); with neither set it is kombu's
filesystem transport under ``var/``, so a bare machine can run the portal. The beat schedule is
``CELERY_BEAT_SCHEDULE`` in settings: the dispatcher, the directory watcher and the daily purge.
"""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_bad_encryption_keys(**kwargs) -> None:
    """A worker or beat with a wrong FIELD_ENCRYPTION_KEYS exits with the reason (issue 12)."""
    from provisioning.security.checks import refuse_to_start_on_bad_keys

    refuse_to_start_on_bad_keys()
