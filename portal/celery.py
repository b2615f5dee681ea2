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


_in_beat = False


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_bad_encryption_keys(**kwargs) -> None:
    """A worker or beat with a wrong FIELD_ENCRYPTION_KEYS exits with the reason (issue 12)."""
    from django.core.exceptions import ImproperlyConfigured

    from provisioning.security.checks import refuse_to_start_on_bad_keys

    try:
        refuse_to_start_on_bad_keys()
    except ImproperlyConfigured as error:
        # Celery logs and swallows exceptions from signal handlers; SystemExit stops the process.
        raise SystemExit(f"Refusing to start: {error}") from None


@signals.beat_init.connect
def _mark_beat(**kwargs) -> None:
    global _in_beat
    _in_beat = True


@signals.after_task_publish.connect
def _beat_heartbeat(sender=None, **kwargs) -> None:
    """Beat has published the dispatcher: /readyz's "beat" check (issue 12)."""
    if _in_beat and sender == "provisioning.tasks.dispatch_due_jobs":
        from provisioning.security.health import record_beat_heartbeat

        record_beat_heartbeat()
