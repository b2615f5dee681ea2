"""What the API says about the domain, and what it accepts.

The contract, as for connectors: plain JSON in and out; no secret ever goes out (a credential is
its field name with ``stored: true/false``; audit events and log entries are redacted when they
are written); inputs are validated here, then the same service functions as the pages decide.
"""

from collections.abc import Mapping

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from ..choices import (
    AuditActivity,
    CycleKind,
    CycleState,
    JobState,
    LogAction,
    LogStatus,
    ObjectType,
    ProvisioningMode,
    ProvisioningScope,
    QuarantineReason,
)
from ..engine.inflight import MAX_REQUESTS_IN_FLIGHT
from ..gallery import all_templates
from ..models import (
    Application,
    AppRole,
    Assignment,
    AuditEvent,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisioningLogEntry,
    SyncCycle,
)

# The job's requests in flight (issue 16); the Provisioning tab's help text, as translated there.
IN_FLIGHT_HELP = _(
    "At most this many requests are sent to the target at once (1–64). The engine starts "
    "lower, grows while the target answers fast, and halves on throttling or timeouts."
)


class RejectUnknownFields:
    """A typo must not pass silently: input keys the serializer does not know are errors
    (read-only fields are known, so an object read from the API can be sent back)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("Unknown field.")] for name in unknown}, code="unknown"
                )
        return super().to_internal_value(data)


# -- gallery --------------------------------------------------------------------------------


class CredentialFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    secret = serializers.BooleanField()
    required = serializers.BooleanField()
    kind = serializers.CharField()


class RoleTemplateSerializer(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.CharField()
    description = serializers.CharField()
    is_default_access = serializers.BooleanField()


class GalleryTemplateSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    publisher = serializers.CharField()
    description = serializers.CharField()
    categories = serializers.ListField(child=serializers.CharField())
    credential_fields = CredentialFieldSerializer(many=True)
    app_roles = RoleTemplateSerializer(many=True)


# -- applications and assignments ---------------------------------------------------------------


class AppRoleSerializer(serializers.ModelSerializer):
    valid_for_provisioning = serializers.BooleanField(source="is_valid_for_provisioning")

    class Meta:
        model = AppRole
        fields = [
            "id",
            "name",
            "value",
            "description",
            "is_default_access",
            "valid_for_provisioning",
        ]


class ApplicationSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="template_slug")
    provisioning_status = serializers.SerializerMethodField()
    provisioning_state = serializers.CharField(source="provisioning_job.state")
    provisioning_mode = serializers.CharField(source="provisioning_job.mode")
    roles = AppRoleSerializer(many=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "name",
            "template",
            "created_at",
            "updated_at",
            "provisioning_mode",
            "provisioning_status",
            "provisioning_state",
            "roles",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=["On", "Off"]))
    def get_provisioning_status(self, application) -> str:
        return "On" if application.provisioning_job.status_on else "Off"


class ApplicationCreateSerializer(RejectUnknownFields, serializers.Serializer):
    template = serializers.ChoiceField(
        choices=[], help_text=_("The slug of a gallery template (see /gallery/).")
    )
    name = serializers.CharField(max_length=256, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [t.slug for t in all_templates()]


class AssignmentSerializer(serializers.ModelSerializer):
    principal_type = serializers.SerializerMethodField()
    principal_id = serializers.SerializerMethodField()
    principal_name = serializers.SerializerMethodField()
    role = AppRoleSerializer()
    valid_for_provisioning = serializers.BooleanField(source="is_valid_for_provisioning")
    invalid_reason = serializers.CharField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "principal_type",
            "principal_id",
            "principal_name",
            "role",
            "valid_for_provisioning",
            "invalid_reason",
            "created_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=ObjectType.values))
    def get_principal_type(self, assignment) -> str:
        return ObjectType.USER if assignment.user_id else ObjectType.GROUP

    @extend_schema_field(serializers.UUIDField())
    def get_principal_id(self, assignment) -> str:
        return str(assignment.user_id or assignment.group_id)

    def get_principal_name(self, assignment) -> str:
        if assignment.user_id:
            return assignment.user.user_principal_name
        return assignment.group.display_name


class PrincipalInputSerializer(RejectUnknownFields, serializers.Serializer):
    """Exactly one of ``user`` and ``group`` (object ids of live directory objects)."""

    user = serializers.UUIDField(required=False)
    group = serializers.UUIDField(required=False)

    def validate(self, data):
        if ("user" in data) == ("group" in data):
            raise serializers.ValidationError(_("Give exactly one of “user” and “group”."))
        if "user" in data:
            principal = DirectoryUser.objects.alive().filter(pk=data["user"]).first()
            if principal is None:
                raise serializers.ValidationError({"user": _("No such user.")})
        else:
            principal = DirectoryGroup.objects.alive().filter(pk=data["group"]).first()
            if principal is None:
                raise serializers.ValidationError({"group": _("No such group.")})
        data["principal"] = principal
        return data


class AssignmentCreateSerializer(PrincipalInputSerializer):
    role = serializers.CharField(
        help_text=_(
            "The app role's id or display name, e.g. “User” (“Default Access” is "
            "accepted but not valid for provisioning)."
        )
    )

    def validate(self, data):
        data = super().validate(data)
        application = self.context["application"]
        value = str(data["role"]).strip()
        roles = application.roles.all()
        role = roles.filter(pk=value).first() if value.isdigit() else None
        role = role or roles.filter(name=value).first()
        if role is None:
            raise serializers.ValidationError({"role": _("No such role in this application.")})
        data["role"] = role
        return data


# -- the provisioning job --------------------------------------------------------------------


class CredentialStatusSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    secret = serializers.BooleanField()
    required = serializers.BooleanField()
    stored = serializers.BooleanField()


class QuarantineSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=QuarantineReason.choices)
    detail = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    attempts = serializers.IntegerField()


class CycleSerializer(serializers.ModelSerializer):
    percent_complete = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=CycleKind.choices)
    state = serializers.ChoiceField(choices=CycleState.choices)

    class Meta:
        model = SyncCycle
        fields = [
            "id",
            "kind",
            "state",
            "started_at",
            "ended_at",
            "progress_total",
            "progress_done",
            "percent_complete",
            "counters",
            "error",
        ]


class ProvisioningSettingsValuesSerializer(serializers.Serializer):
    notification_email = serializers.CharField()
    notify_on_failure = serializers.BooleanField()
    prevent_accidental_deletion = serializers.BooleanField()
    deletion_threshold = serializers.IntegerField()
    interval_minutes = serializers.IntegerField()
    max_requests_in_flight = serializers.IntegerField(
        min_value=1, max_value=MAX_REQUESTS_IN_FLIGHT, help_text=IN_FLIGHT_HELP
    )


class ProvisioningJobSerializer(serializers.Serializer):
    """The job as Graph's synchronizationJob shows it: schedule, status, settings; credentials
    by name only."""

    application_id = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=ProvisioningMode.choices)
    status = serializers.SerializerMethodField()
    state = serializers.ChoiceField(choices=JobState.choices)
    scope = serializers.ChoiceField(choices=ProvisioningScope.choices)
    settings = serializers.SerializerMethodField()
    credentials = serializers.SerializerMethodField()
    quarantine = serializers.SerializerMethodField()
    last_cycle = serializers.SerializerMethodField()
    next_run_at = serializers.DateTimeField(allow_null=True)
    full_sync_required = serializers.BooleanField(
        help_text=_("The next cycle is an initial cycle.")
    )
    deletes_allowed_once = serializers.BooleanField()

    @extend_schema_field(serializers.ChoiceField(choices=["On", "Off"]))
    def get_status(self, job) -> str:
        return "On" if job.status_on else "Off"

    @extend_schema_field(ProvisioningSettingsValuesSerializer)
    def get_settings(self, job) -> dict:
        return {
            "notification_email": job.notification_email,
            "notify_on_failure": job.notify_on_failure,
            "prevent_accidental_deletion": job.prevent_accidental_deletion,
            "deletion_threshold": job.deletion_threshold,
            "interval_minutes": job.interval_minutes,
            "max_requests_in_flight": job.max_requests_in_flight,
        }

    @extend_schema_field(CredentialStatusSerializer(many=True))
    def get_credentials(self, job) -> list[dict]:
        return [
            {
                "name": field.name,
                "label": str(field.label),
                "secret": field.secret,
                "required": field.required,
                "stored": bool(job.credentials.get(field.name)),
            }
            for field in job.application.template.credential_fields
        ]

    @extend_schema_field(QuarantineSerializer(allow_null=True))
    def get_quarantine(self, job) -> dict | None:
        if not job.quarantine_reason:
            return None
        return {
            "reason": job.quarantine_reason,
            "detail": job.quarantine_detail,
            "since": job.quarantine_since,
            "attempts": job.quarantine_attempts,
        }

    @extend_schema_field(CycleSerializer(allow_null=True))
    def get_last_cycle(self, job) -> dict | None:
        cycle = (
            SyncCycle.objects.filter(job=job)
            .exclude(kind=CycleKind.ON_DEMAND)
            .order_by("-started_at")
            .first()
        )
        return CycleSerializer(cycle).data if cycle else None


class ProvisioningSettingsUpdateSerializer(RejectUnknownFields, serializers.Serializer):
    """The Provisioning tab's settings; any subset (validated as the page validates them)."""

    mode = serializers.ChoiceField(choices=ProvisioningMode.choices, required=False)
    notification_email = serializers.CharField(required=False, allow_blank=True, max_length=512)
    notify_on_failure = serializers.BooleanField(required=False)
    scope = serializers.ChoiceField(choices=ProvisioningScope.choices, required=False)
    prevent_accidental_deletion = serializers.BooleanField(required=False)
    deletion_threshold = serializers.IntegerField(required=False, min_value=1)
    interval_minutes = serializers.IntegerField(required=False, min_value=1)
    max_requests_in_flight = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_REQUESTS_IN_FLIGHT, help_text=IN_FLIGHT_HELP
    )


class CredentialsInputSerializer(RejectUnknownFields, serializers.Serializer):
    """Write-only: ``{"credentials": {"<field name>": "<value>", …}}``; a field left out keeps
    its stored value."""

    credentials = serializers.DictField(child=serializers.CharField(allow_blank=True))


class TestConnectionInputSerializer(RejectUnknownFields, serializers.Serializer):
    credentials = serializers.DictField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        help_text=_("Values to try instead of the stored ones (nothing is saved)."),
    )


class TestConnectionResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    message = serializers.CharField()
    detail = serializers.CharField()


RESET_SCOPES = ("Watermark", "Escrows", "QuarantineState", "Full")


class RestartInputSerializer(RejectUnknownFields, serializers.Serializer):
    reset_scope = serializers.ListField(
        child=serializers.ChoiceField(choices=RESET_SCOPES),
        required=False,
        allow_empty=False,
        help_text=_("As Graph's resetScope: what to clear. Default: Full (as the page's Restart)."),
    )


class ProvisionOnDemandInputSerializer(PrincipalInputSerializer):
    wait = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=60,
        default=0,
        help_text=_("Seconds to wait for the cycle to end before answering (0: answer at once)."),
    )


class LogEntrySerializer(serializers.ModelSerializer):
    identity = serializers.CharField(source="source_display")
    action = serializers.ChoiceField(choices=LogAction.choices)
    status = serializers.ChoiceField(choices=LogStatus.choices)

    class Meta:
        model = ProvisioningLogEntry
        fields = [
            "id",
            "change_id",
            "created_at",
            "application_id",
            "application_name",
            "cycle_id",
            "object_type",
            "source_id",
            "identity",
            "target_id",
            "action",
            "status",
            "steps",
            "modified_properties",
            "error_code",
            "reason",
            "recommendation",
            "duration_ms",
        ]


class OnDemandResultSerializer(serializers.Serializer):
    cycle = CycleSerializer()
    steps = LogEntrySerializer(many=True)


class CycleDetailSerializer(CycleSerializer):
    entries = serializers.SerializerMethodField()

    class Meta(CycleSerializer.Meta):
        fields = [*CycleSerializer.Meta.fields, "entries"]

    @extend_schema_field(LogEntrySerializer(many=True))
    def get_entries(self, cycle) -> list:
        """On-demand cycles list their entries with steps (at most 50), as the page does."""
        if cycle.kind != CycleKind.ON_DEMAND:
            return []
        entries = ProvisioningLogEntry.objects.filter(cycle_id=cycle.pk).order_by(
            "created_at", "id"
        )
        return LogEntrySerializer(entries[:50], many=True).data


# -- audit -----------------------------------------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    initiated_by = serializers.CharField(source="actor_name")
    activity = serializers.ChoiceField(choices=AuditActivity.choices)

    class Meta:
        model = AuditEvent
        fields = [
            "id",
            "created_at",
            "initiated_by",
            "channel",
            "application_id",
            "application_name",
            "activity",
            "target",
            "before",
            "after",
        ]


# -- directory --------------------------------------------------------------------------------


class DirectoryUserSerializer(RejectUnknownFields, serializers.ModelSerializer):
    manager = serializers.PrimaryKeyRelatedField(
        queryset=DirectoryUser.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = DirectoryUser
        fields = [
            "id",
            "user_principal_name",
            "mail",
            "given_name",
            "surname",
            "display_name",
            "job_title",
            "department",
            "employee_id",
            "mobile",
            "country",
            "preferred_language",
            "manager",
            "account_enabled",
            "extension_attributes",
            "deleted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "deleted_at", "created_at", "updated_at"]

    def validate_user_principal_name(self, value: str) -> str:
        value = value.strip()
        taken = DirectoryUser.objects.filter(user_principal_name__iexact=value)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(
                _("A user with this user principal name already exists."), code="unique"
            )
        return value

    def validate_manager(self, value):
        if value is not None and self.instance is not None and value.pk == self.instance.pk:
            raise serializers.ValidationError(_("A user cannot be their own manager."))
        return value

    def validate_extension_attributes(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Give an object of attribute names and values."))
        return value


class DirectoryGroupSerializer(RejectUnknownFields, serializers.ModelSerializer):
    class Meta:
        model = DirectoryGroup
        fields = [
            "id",
            "display_name",
            "mail",
            "mail_nickname",
            "description",
            "security_enabled",
            "deleted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "deleted_at", "created_at", "updated_at"]


class GroupMemberSerializer(serializers.ModelSerializer):
    member_type = serializers.SerializerMethodField()
    member_id = serializers.SerializerMethodField()
    member_name = serializers.SerializerMethodField()

    class Meta:
        model = GroupMembership
        fields = ["member_type", "member_id", "member_name", "created_at"]

    @extend_schema_field(serializers.ChoiceField(choices=ObjectType.values))
    def get_member_type(self, membership) -> str:
        return ObjectType.USER if membership.member_user_id else ObjectType.GROUP

    @extend_schema_field(serializers.UUIDField())
    def get_member_id(self, membership) -> str:
        return str(membership.member_user_id or membership.member_group_id)

    def get_member_name(self, membership) -> str:
        if membership.member_user_id:
            return membership.member_user.user_principal_name
        return membership.member_group.display_name


class ErrorDetailSerializer(serializers.Serializer):
    field = serializers.CharField(help_text=_("The field (or document path); empty for the whole."))
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(
        help_text=_(
            "invalid, parse_error, not_authenticated, authentication_failed, "
            "permission_denied, not_found, method_not_allowed, conflict, throttled, …"
        )
    )
    message = serializers.CharField()
    details = ErrorDetailSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API."""

    error = ErrorBodySerializer()
