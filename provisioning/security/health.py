"""What ``/healthz``, ``/readyz`` and ``manage.py health_check`` check (issue 12).

Each check answers only ok or failing: the endpoints are public (an orchestrator calls them
without credentials), so they never say more — no host names, versions or error texts.
"""

from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

BEAT = "beat"
DISPATCHER_TASK = "provisioning.tasks.dispatch_due_jobs"


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone()[0] == 1
    except DatabaseError:
        return False


def broker_ok() -> bool:
    from kombu import Connection

    try:
        with Connection(
            settings.CELERY_BROKER_URL,
            connect_timeout=3,
            transport_options=getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
        ) as broker:
            broker.ensure_connection(max_retries=1, timeout=3)
        return True
    except Exception:  # any failure to reach the broker is "failing", whatever its kind
        return False


def record_beat_heartbeat() -> None:
    from provisioning.models import ServiceHeartbeat

    ServiceHeartbeat.objects.update_or_create(name=BEAT, defaults={"seen_at": timezone.now()})


def beat_ok() -> bool:
    from provisioning.models import ServiceHeartbeat

    window = timedelta(seconds=3 * float(settings.PROVISIONING_DISPATCH_SECONDS))
    try:
        return ServiceHeartbeat.objects.filter(
            name=BEAT, seen_at__gte=timezone.now() - window
        ).exists()
    except DatabaseError:
        return False


def encryption_keys_ok() -> bool:
    from .encryption import encryption_keys_valid

    try:
        return encryption_keys_valid()
    except DatabaseError:
        return False


READINESS_CHECKS: dict[str, Callable[[], bool]] = {
    "database": database_ok,
    "broker": broker_ok,
    "beat": beat_ok,
    "encryption_keys": encryption_keys_ok,
}


def readiness() -> dict[str, bool]:
    return {name: check() for name, check in READINESS_CHECKS.items()}


def health_endpoints_middleware(get_response):
    """Answer ``/healthz`` and ``/readyz`` before anything else looks at the request.

    Orchestrators call them by the container's address (``http://127.0.0.1:8000/healthz``), which
    is not in ``ALLOWED_HOSTS`` and is plain HTTP: Django's host check and HTTPS redirect must not
    turn a healthy process into a failing check. Nothing else is answered here.
    """
    from provisioning.views import health

    endpoints = {"/healthz": health.healthz, "/readyz": health.readyz}

    def middleware(request):
        view = endpoints.get(request.path_info)
        if view is not None:
            return view(request)
        return get_response(request)

    return middleware
