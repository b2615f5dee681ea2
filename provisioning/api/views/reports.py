"""Provisioning logs (all applications, or one) and audit events: filtered, cursor paginated;
the logs also as a stream of NDJSON for bulk pulls into a SIEM."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from ...models import AuditEvent, ProvisioningLogEntry
from ..filters import (
    APPLICATION_PARAMETER,
    AUDIT_FILTER_PARAMETERS,
    LOG_FILTER_PARAMETERS,
    AuditEventFilter,
    ProvisioningLogFilter,
)
from ..serializers import AuditEventSerializer, LogEntrySerializer
from .base import ApiView, ApplicationScopedView

STREAM_CHUNK = 2000


class LogEntries:
    serializer_class = LogEntrySerializer

    def filtered_entries(self):
        entries = ProvisioningLogEntry.objects.all()
        if "application_id" in self.kwargs:
            entries = entries.filter(application_id=self.get_application().pk)
        filters = ProvisioningLogFilter(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return filters.apply(entries)

    def list_entries(self):
        page = self.paginate_queryset(self.filtered_entries())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def stream_entries(self):
        entries = self.filtered_entries().order_by("-created_at", "-id")

        def lines():
            for entry in entries.iterator(chunk_size=STREAM_CHUNK):
                yield json.dumps(LogEntrySerializer(entry).data, cls=DjangoJSONEncoder) + "\n"

        return StreamingHttpResponse(lines(), content_type="application/x-ndjson")


STREAM_RESPONSE = {
    (200, "application/x-ndjson"): OpenApiResponse(
        OpenApiTypes.STR, description="One log entry (as in the list) per line, newest first."
    )
}


class ProvisioningLogList(LogEntries, ApiView):
    @extend_schema(
        parameters=[*LOG_FILTER_PARAMETERS, APPLICATION_PARAMETER],
        responses=LogEntrySerializer(many=True),
        operation_id="provisioning_logs_list",
        summary="List provisioning log entries of all applications, newest first",
    )
    def get(self, request):
        return self.list_entries()


class ProvisioningLogStream(LogEntries, ApiView):
    pagination_class = None

    @extend_schema(
        parameters=[*LOG_FILTER_PARAMETERS, APPLICATION_PARAMETER],
        responses=STREAM_RESPONSE,
        summary="Stream every matching log entry as NDJSON (bulk pulls)",
    )
    def get(self, request):
        return self.stream_entries()


class ProvisioningLogDetail(ApiView):
    serializer_class = LogEntrySerializer

    @extend_schema(summary="Get one provisioning log entry")
    def get(self, request, entry_id: int):
        entry = get_object_or_404(ProvisioningLogEntry, pk=entry_id)
        return Response(self.get_serializer(entry).data)


class ApplicationLogList(LogEntries, ApplicationScopedView):
    @extend_schema(
        parameters=LOG_FILTER_PARAMETERS,
        responses=LogEntrySerializer(many=True),
        operation_id="applications_provisioning_logs_list",
        summary="List the application's provisioning logs",
    )
    def get(self, request, application_id: int):
        return self.list_entries()


class ApplicationLogStream(LogEntries, ApplicationScopedView):
    pagination_class = None

    @extend_schema(
        parameters=LOG_FILTER_PARAMETERS,
        responses=STREAM_RESPONSE,
        summary="Stream the application's matching log entries as NDJSON",
    )
    def get(self, request, application_id: int):
        return self.stream_entries()


class AuditEventList(ApiView):
    serializer_class = AuditEventSerializer

    @extend_schema(
        parameters=AUDIT_FILTER_PARAMETERS,
        responses=AuditEventSerializer(many=True),
        operation_id="audit_events_list",
        summary="List audit events, newest first",
    )
    def get(self, request):
        filters = AuditEventFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = self.paginate_queryset(filters.apply(AuditEvent.objects.all()))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
