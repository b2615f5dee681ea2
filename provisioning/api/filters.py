"""List filters of the provisioning logs and audit events, validated (a bad value is a 400 with
the field named, never an empty or unfiltered list)."""

import uuid
from datetime import datetime, time

from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from ..choices import AuditActivity, LogAction, LogStatus, ObjectType


class DateOrDateTimeField(serializers.Field):
    """``2026-11-29`` (a whole day) or an ISO 8601 date-time; naive times are in TIME_ZONE."""

    default_error_messages = {"invalid": _("Give a date (YYYY-MM-DD) or an ISO 8601 date-time.")}

    def __init__(self, *, end_of_day: bool = False, **kwargs):
        self.end_of_day = end_of_day
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> datetime:
        text = str(data).strip()
        try:
            moment = parse_datetime(text)
            if moment is None:
                day = parse_date(text)
                if day is None:
                    raise ValueError
                moment = datetime.combine(day, time.max if self.end_of_day else time.min)
        except ValueError:
            self.fail("invalid")
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment


class ProvisioningLogFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=LogStatus.values, required=False)
    action = serializers.ChoiceField(choices=LogAction.values, required=False)
    object_type = serializers.ChoiceField(choices=ObjectType.values, required=False)
    identity = serializers.CharField(required=False, max_length=256)
    cycle_id = serializers.UUIDField(required=False)
    application_id = serializers.IntegerField(required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # "from" is a Python keyword, so these two are added here rather than declared.
        self.fields["from"] = DateOrDateTimeField(required=False)
        self.fields["to"] = DateOrDateTimeField(required=False, end_of_day=True)

    def apply(self, entries):
        data = self.validated_data
        if "from" in data:
            entries = entries.filter(created_at__gte=data["from"])
        if "to" in data:
            entries = entries.filter(created_at__lte=data["to"])
        for name in ("status", "action", "object_type", "cycle_id", "application_id"):
            if name in data:
                entries = entries.filter(**{name: data[name]})
        if data.get("identity", "").strip():
            text = data["identity"].strip()
            match = Q(source_display__icontains=text) | Q(target_id=text)
            try:
                object_id = uuid.UUID(text)
            except ValueError:
                object_id = None
            if object_id is not None:
                match |= Q(source_id=object_id) | Q(change_id=object_id)
            entries = entries.filter(match)
        return entries


LOG_FILTER_PARAMETERS = [
    OpenApiParameter("from", str, description="From this date (YYYY-MM-DD) or date-time."),
    OpenApiParameter("to", str, description="Up to this date (the whole day) or date-time."),
    OpenApiParameter("status", str, enum=LogStatus.values),
    OpenApiParameter("action", str, enum=LogAction.values),
    OpenApiParameter("object_type", str, enum=ObjectType.values),
    OpenApiParameter(
        "identity", str, description="Name contains, or the source id, target id or change id."
    ),
    OpenApiParameter("cycle_id", str, description="A cycle's id (UUID)."),
]
APPLICATION_PARAMETER = OpenApiParameter("application_id", int)


class AuditEventFilter(serializers.Serializer):
    activity = serializers.ChoiceField(choices=AuditActivity.values, required=False)
    application_id = serializers.IntegerField(required=False, min_value=1)
    channel = serializers.CharField(required=False, max_length=128)
    initiated_by = serializers.CharField(required=False, max_length=150)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = DateOrDateTimeField(required=False)
        self.fields["to"] = DateOrDateTimeField(required=False, end_of_day=True)

    def apply(self, events):
        data = self.validated_data
        if "from" in data:
            events = events.filter(created_at__gte=data["from"])
        if "to" in data:
            events = events.filter(created_at__lte=data["to"])
        for name in ("activity", "application_id", "channel"):
            if name in data:
                events = events.filter(**{name: data[name]})
        if "initiated_by" in data:
            events = events.filter(actor_name=data["initiated_by"])
        return events


AUDIT_FILTER_PARAMETERS = [
    OpenApiParameter("from", str, description="From this date (YYYY-MM-DD) or date-time."),
    OpenApiParameter("to", str, description="Up to this date (the whole day) or date-time."),
    OpenApiParameter("activity", str, enum=AuditActivity.values),
    OpenApiParameter("application_id", int),
    OpenApiParameter("channel", str, description="portal, admin, api:<token name>, system"),
    OpenApiParameter("initiated_by", str, description="The user name of the actor."),
]
