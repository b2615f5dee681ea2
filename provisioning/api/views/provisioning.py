"""``applications/{id}/provisioning``: the job (Graph's synchronizationJob) and its actions.

Settings and credentials go through the Provisioning tab's own form (the same validation and
messages) and :func:`save_provisioning_settings` (the same audit event); the actions call the
same operations as the page's buttons.
"""

import time

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from ...choices import CycleState
from ...forms.provisioning import CREDENTIAL_PREFIX, ProvisioningSettingsForm
from ...models import ProvisioningLogEntry, SyncCycle
from ...services.configuration import save_provisioning_settings, try_connection
from ...services.operations import allow_deletes, set_provisioning_status, start_provision_on_demand
from ..authentication import request_channel
from ..errors import NotImplementedYet
from ..pagination import cursor_pagination
from ..restart import restart_with_reset_scope
from ..serializers import (
    CredentialsInputSerializer,
    CycleDetailSerializer,
    CycleSerializer,
    LogEntrySerializer,
    OnDemandResultSerializer,
    ProvisioningJobSerializer,
    ProvisioningSettingsUpdateSerializer,
    ProvisionOnDemandInputSerializer,
    RestartInputSerializer,
    TestConnectionInputSerializer,
    TestConnectionResultSerializer,
)
from .base import ApplicationScopedView

ENDED = {
    CycleState.SUCCEEDED,
    CycleState.COMPLETED_WITH_FAILURES,
    CycleState.FAILED,
    CycleState.ABANDONED,
}
ON_DEMAND_POLL_SECONDS = 0.25


def _form_data(job, settings: dict, credentials: dict) -> dict:
    """The Provisioning tab's POST for the job's current values overridden by ``settings``;
    non-secret credentials keep their stored value unless given, secrets are blank (kept)
    unless given."""
    data = {
        "mode": job.mode,
        "notification_email": job.notification_email,
        "notify_on_failure": job.notify_on_failure,
        "scope": job.scope,
        "prevent_accidental_deletion": job.prevent_accidental_deletion,
        "deletion_threshold": job.deletion_threshold,
        "interval_minutes": job.interval_minutes,
        "status": "on" if job.status_on else "off",
    }
    data.update(settings)
    for name in ("notify_on_failure", "prevent_accidental_deletion"):
        data[name] = "true" if data[name] else "false"
    for field in job.application.template.credential_fields:
        if field.name in credentials:
            value = credentials[field.name]
        else:
            value = "" if field.secret else job.credentials.get(field.name, "")
        data[CREDENTIAL_PREFIX + field.name] = value
    return data


def _form_errors(form: ProvisioningSettingsForm) -> dict:
    errors = {}
    for name, messages in form.errors.get_json_data().items():
        key = name
        if name.startswith(CREDENTIAL_PREFIX):
            key = f"credentials.{name.removeprefix(CREDENTIAL_PREFIX)}"
        elif name == "__all__":
            key = "non_field_errors"
        errors[key] = [serializers.ErrorDetail(m["message"], m["code"]) for m in messages]
    return errors


class JobView(ApplicationScopedView):
    serializer_class = ProvisioningJobSerializer

    def job(self):
        job = self.get_application().provisioning_job
        job.application = self.get_application()
        return job

    def job_response(self, job=None) -> Response:
        job = job or self.job()
        job.refresh_from_db()
        return Response(ProvisioningJobSerializer(job).data)

    def save(self, settings: dict, credentials: dict) -> Response:
        job = self.job()
        form = ProvisioningSettingsForm(_form_data(job, settings, credentials), job=job)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        with self.audited():
            save_provisioning_settings(job, form.settings(), actor=self.request.user)
        return self.job_response(job)


class ProvisioningJobDetail(JobView):
    @extend_schema(summary="Get the provisioning job (credentials by name only)")
    def get(self, request, application_id: int):
        return self.job_response()

    @extend_schema(
        request=ProvisioningSettingsUpdateSerializer,
        summary="Update the provisioning settings",
        description="Any subset of the settings. Validated as the Provisioning tab validates "
        "them (e.g. Automatic needs the required credentials).",
    )
    def patch(self, request, application_id: int):
        data = ProvisioningSettingsUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self.save(dict(data.validated_data), {})


class ProvisioningCredentials(JobView):
    @extend_schema(
        request=CredentialsInputSerializer,
        summary="Set the admin credentials (write-only)",
        description="Values are never returned; the job shows each credential as stored or not.",
    )
    def put(self, request, application_id: int):
        data = CredentialsInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        credentials = data.validated_data["credentials"]
        known = {f.name for f in self.job().application.template.credential_fields}
        unknown = sorted(set(credentials) - known)
        if unknown:
            raise ValidationError(
                {
                    f"credentials.{name}": [_("This application has no such credential.")]
                    for name in unknown
                }
            )
        return self.save({}, {name: value.strip() for name, value in credentials.items()})


class TestConnection(JobView):
    serializer_class = TestConnectionResultSerializer

    @extend_schema(
        request=TestConnectionInputSerializer,
        responses={200: TestConnectionResultSerializer},
        summary="Test the connection (typed or stored credentials; saves nothing)",
    )
    def post(self, request, application_id: int):
        data = TestConnectionInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        job = self.job()
        # As the page submits them: the stored non-secret values unless typed; a blank secret
        # means the stored one.
        submitted = {
            field.name: job.credentials.get(field.name, "")
            for field in job.application.template.credential_fields
            if not field.secret
        }
        submitted.update(data.validated_data.get("credentials", {}))
        result = try_connection(job, submitted)
        return Response({"success": result.ok, "message": result.message, "detail": result.detail})


class StartJob(JobView):
    @extend_schema(request=None, summary="Start: Provisioning Status On")
    def post(self, request, application_id: int):
        job = self.job()
        if not job.status_on:
            with self.audited():
                set_provisioning_status(job, True, actor=request.user)
        return self.job_response(job)


class PauseJob(JobView):
    @extend_schema(request=None, summary="Pause: Provisioning Status Off")
    def post(self, request, application_id: int):
        job = self.job()
        if job.status_on:
            with self.audited():
                set_provisioning_status(job, False, actor=request.user)
        return self.job_response(job)


class RestartJob(JobView):
    @extend_schema(request=RestartInputSerializer, summary="Restart provisioning")
    def post(self, request, application_id: int):
        data = RestartInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        job = self.job()
        with self.audited():
            restart_with_reset_scope(
                job, data.validated_data.get("reset_scope", ["Full"]), actor=request.user
            )
        return self.job_response(job)


class AllowDeletes(JobView):
    @extend_schema(request=None, summary="Allow the deletions held by the deletion threshold")
    def post(self, request, application_id: int):
        job = self.job()
        with self.audited():
            allow_deletes(job, actor=request.user)
        return self.job_response(job)


class ProvisionOnDemand(JobView):
    serializer_class = OnDemandResultSerializer

    @extend_schema(
        request=ProvisionOnDemandInputSerializer,
        responses={202: OnDemandResultSerializer, 200: OnDemandResultSerializer},
        summary="Provision one user, or a group of at most 5 members, now",
        description="Answers 202 with the queued cycle, or with ``wait`` seconds 200 once the "
        "cycle has ended, with its steps (Import, Scope, Match, Action) per object. Follow "
        "``cycles/{id}/`` for the steps later.",
    )
    def post(self, request, application_id: int):
        data = ProvisionOnDemandInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        principal = data.validated_data["principal"]
        target = {"user": principal} if "user" in data.validated_data else {"group": principal}
        with self.audited():
            cycle = start_provision_on_demand(self.job(), actor=request.user, **target)
        deadline = time.monotonic() + data.validated_data["wait"]
        while cycle.state not in ENDED and time.monotonic() < deadline:
            time.sleep(ON_DEMAND_POLL_SECONDS)
            cycle.refresh_from_db()
        entries = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk).order_by(
            "created_at", "id"
        )
        body = {
            "cycle": CycleSerializer(cycle).data,
            "steps": LogEntrySerializer(entries[:50], many=True).data,
        }
        ended = cycle.state in ENDED
        return Response(body, status=status.HTTP_200_OK if ended else status.HTTP_202_ACCEPTED)


class CycleList(JobView):
    serializer_class = CycleSerializer
    pagination_class = cursor_pagination("-started_at")

    @extend_schema(
        responses=CycleSerializer(many=True),
        operation_id="applications_provisioning_cycles_list",
        summary="List the job's cycles, newest first",
    )
    def get(self, request, application_id: int):
        cycles = SyncCycle.objects.filter(job=self.job())
        page = self.paginate_queryset(cycles)
        return self.get_paginated_response(CycleSerializer(page, many=True).data)


class CycleDetail(JobView):
    serializer_class = CycleDetailSerializer

    @extend_schema(summary="Get a cycle: counters, progress (and steps for on-demand cycles)")
    def get(self, request, application_id: int, cycle_id):
        cycle = get_object_or_404(SyncCycle, pk=cycle_id, job=self.job())
        return Response(CycleDetailSerializer(cycle).data)


def _schema_module():
    """The mapping editor's schema document (issue 10), imported when it is there."""
    try:
        from ...mappings import schema_document
    except ImportError:
        raise NotImplementedYet(
            _("The schema document is not available in this installation yet.")
        ) from None
    return schema_document


class SchemaDocument(JobView):
    serializer_class = None

    @extend_schema(
        responses={200: {"type": "object"}},
        summary="Get the mappings, scoping filters and target attributes as one document",
        description="The same document as the mapping editor's export.",
    )
    def get(self, request, application_id: int):
        return Response(_schema_module().export_schema_document(self.job()))

    @extend_schema(
        request={"application/json": {"type": "object"}},
        responses={200: {"type": "object"}},
        summary="Replace the whole document (validated as a whole)",
        description="All problems are listed in error.details (field = the document path); "
        "nothing changes when there is any. A change makes the next cycle an initial one.",
    )
    def put(self, request, application_id: int):
        module = _schema_module()
        job = self.job()
        if not isinstance(request.data, dict):
            raise ValidationError([_("Send the schema document as a JSON object.")])
        with self.audited():
            problems = module.apply_schema_document(
                job, request.data, actor=request.user, channel=request_channel(request)
            )
        if problems:
            raise ValidationError(_problems_by_path(problems))
        job.refresh_from_db()
        return Response(module.export_schema_document(job))


def _problems_by_path(problems) -> dict:
    grouped: dict[str, list] = {}
    for problem in problems:
        grouped.setdefault(problem.path or "non_field_errors", []).append(
            serializers.ErrorDetail(problem.message, "invalid")
        )
    return grouped
