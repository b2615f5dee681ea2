"""The provisioning job of an application (F7–F13, F22) and its mappings (F10, F11, F19)."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import (
    ApplyMapping,
    JobState,
    MappingType,
    ObjectType,
    ProvisioningMode,
    ProvisioningScope,
    QuarantineReason,
    ReconcileRepair,
)
from ..fields import EncryptedJSONField
from .applications import Application


def default_interval() -> int:
    return settings.PROVISIONING_DEFAULT_INTERVAL_MINUTES


class ProvisioningJob(models.Model):
    application = models.OneToOneField(
        Application,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="provisioning_job",
    )
    mode = models.CharField(
        _("provisioning mode"),
        max_length=16,
        choices=ProvisioningMode.choices,
        default=ProvisioningMode.MANUAL,
    )
    # Admin credentials as named by the gallery template's credential fields; encrypted at rest.
    credentials = EncryptedJSONField(_("admin credentials"), default=dict, blank=True)
    notification_email = models.CharField(_("notification email"), max_length=512, blank=True)
    notify_on_failure = models.BooleanField(
        _("send an email notification when a failure occurs"), default=False
    )
    # The language of the notification e-mails; blank: the portal's default (LANGUAGE_CODE).
    notification_language = models.CharField(
        _("notification language"), max_length=16, blank=True, choices=settings.LANGUAGES
    )
    scope = models.CharField(
        _("scope"),
        max_length=16,
        choices=ProvisioningScope.choices,
        default=ProvisioningScope.ASSIGNED,
    )
    status_on = models.BooleanField(_("provisioning status on"), default=False)
    interval_minutes = models.PositiveIntegerField(
        _("cycle interval (minutes)"), default=default_interval, validators=[MinValueValidator(1)]
    )
    prevent_accidental_deletion = models.BooleanField(
        _("prevent accidental deletion"), default=True
    )
    deletion_threshold = models.PositiveIntegerField(
        _("accidental deletion threshold"), default=500, validators=[MinValueValidator(1)]
    )
    rate_limit_per_second = models.PositiveIntegerField(
        _("maximum requests per second to the target"), null=True, blank=True
    )
    # Issue 16: a ceiling; the engine starts lower and adapts to the target (AIMD).
    max_requests_in_flight = models.PositiveSmallIntegerField(
        _("maximum requests in flight"),
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(64)],
    )
    state = models.CharField(
        _("state"), max_length=16, choices=JobState.choices, default=JobState.NOT_CONFIGURED
    )
    quarantine_reason = models.CharField(
        _("quarantine reason"), max_length=48, choices=QuarantineReason.choices, blank=True
    )
    quarantine_detail = models.TextField(_("quarantine detail"), blank=True)
    # The detail's message id and parameters, to show it in the reader's language (log_text.py).
    quarantine_message = models.JSONField(_("quarantine message"), null=True, blank=True)
    quarantine_since = models.DateTimeField(_("in quarantine since"), null=True, blank=True)
    quarantine_attempts = models.PositiveIntegerField(_("cycles run in quarantine"), default=0)
    quarantine_notified_reason = models.CharField(max_length=48, blank=True)
    last_failure_email_at = models.DateTimeField(_("last failure e-mail"), null=True, blank=True)
    deletes_allowed_once = models.BooleanField(
        _("held deletions released"),
        default=False,
        help_text=_("Set by “Allow deletes”: the next cycle performs the held deletions."),
    )
    # Directory change-log sequence number up to which this job has processed changes.
    watermark = models.BigIntegerField(_("watermark"), null=True, blank=True)
    full_sync_required = models.BooleanField(
        _("next cycle is an initial cycle"),
        default=True,
        help_text=_("Set by a change to mappings or scope, and by Restart."),
    )
    # Change-log position up to which the directory watcher has looked for this job (B3).
    changes_seen_up_to = models.BigIntegerField(null=True, blank=True)
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    lease_owner = models.CharField(_("leased by"), max_length=128, blank=True)
    lease_expires_at = models.DateTimeField(_("lease expires"), null=True, blank=True)
    # What cycles learnt about the target (issue 9): {"member_removal": "filter"|"value",
    # "unsupported_attributes": {"User": [...], "Group": [...]}}. See engine/learnt.py.
    target_learnt = models.JSONField(_("learnt about the target"), default=dict, blank=True)
    # Reconcile (DESIGN B4): read the target back every N hours, report and repair drift.
    reconcile_interval_hours = models.PositiveIntegerField(
        _("reconcile every (hours)"), default=24, help_text=_("0 turns scheduled reconciles off.")
    )
    reconcile_repair = models.CharField(
        _("when a reconcile finds drift"),
        max_length=16,
        choices=ReconcileRepair.choices,
        default=ReconcileRepair.REPORT_ONLY,
    )
    reconcile_disable_unmanaged = models.BooleanField(
        _("disable unmanaged accounts"), default=False
    )
    next_reconcile_at = models.DateTimeField(_("next reconcile"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("provisioning job")
        verbose_name_plural = _("provisioning jobs")
        indexes = [
            models.Index(
                fields=["next_run_at"],
                condition=Q(status_on=True),
                name="job_due_when_on",
            )
        ]

    def __str__(self) -> str:
        return str(_("Provisioning of %(app)s") % {"app": self.application.name})

    # Written only by the engine, the scheduler and the operation services, with UPDATEs of
    # their own: a page or command saving a job it loaded earlier never writes back a stale
    # lease, watermark, schedule, state or quarantine. (Pass update_fields to write them.)
    ENGINE_FIELDS = frozenset(
        {
            "lease_owner",
            "lease_expires_at",
            "watermark",
            "changes_seen_up_to",
            "next_run_at",
            "state",
            "quarantine_reason",
            "quarantine_detail",
            "quarantine_message",
            "quarantine_since",
            "quarantine_attempts",
            "quarantine_notified_reason",
            "last_failure_email_at",
            "full_sync_required",
            "deletes_allowed_once",
            "target_learnt",
            "next_reconcile_at",
        }
    )

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None and not args:
            kwargs["update_fields"] = [
                f.name
                for f in self._meta.concrete_fields
                if not f.primary_key and f.name not in self.ENGINE_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def quarantine_detail_text(self) -> str:
        """The quarantine detail in the reader's language (as stored when not a message)."""
        from ..log_text import translated

        return translated(self.quarantine_message, self.quarantine_detail)


class ObjectMapping(models.Model):
    """One mapping per object type: 'Synchronize Azure Active Directory Users to APP' (F10)."""

    job = models.ForeignKey(
        ProvisioningJob, verbose_name=_("job"), on_delete=models.CASCADE, related_name="mappings"
    )
    object_type = models.CharField(_("object type"), max_length=8, choices=ObjectType.choices)
    name = models.CharField(_("name"), max_length=256)
    target_object = models.CharField(_("target object"), max_length=256)
    enabled = models.BooleanField(_("enabled"), default=True)
    action_create = models.BooleanField(_("create"), default=True)
    action_update = models.BooleanField(_("update"), default=True)
    action_delete = models.BooleanField(_("delete"), default=True)
    # Source object scope (F19): a list of filters (ORed), each a list of clauses (ANDed):
    # [[{"attribute": "department", "operator": "EQUALS", "value": "Sales"}, ...], ...]
    scoping_filters = models.JSONField(_("source object scope"), default=list, blank=True)

    class Meta:
        verbose_name = _("object mapping")
        verbose_name_plural = _("object mappings")
        ordering = ["job", "object_type"]
        constraints = [
            models.UniqueConstraint(fields=["job", "object_type"], name="mapping_one_per_type"),
            # Users always sync: only the Groups mapping can be turned off.
            models.CheckConstraint(
                condition=~Q(object_type=ObjectType.USER, enabled=False),
                name="mapping_users_always_enabled",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AttributeMapping(models.Model):
    """One row of the attribute-mapping editor (F11)."""

    object_mapping = models.ForeignKey(
        ObjectMapping,
        verbose_name=_("object mapping"),
        on_delete=models.CASCADE,
        related_name="attributes",
    )
    mapping_type = models.CharField(
        _("mapping type"), max_length=16, choices=MappingType.choices, default=MappingType.DIRECT
    )
    source_attribute = models.CharField(_("source attribute"), max_length=256, blank=True)
    expression = models.TextField(_("expression"), blank=True)
    constant_value = models.CharField(_("constant value"), max_length=1024, blank=True)
    default_value = models.CharField(_("default value if null"), max_length=1024, blank=True)
    target_attribute = models.CharField(_("target attribute"), max_length=512)
    is_matching = models.BooleanField(_("match objects using this attribute"), default=False)
    matching_precedence = models.PositiveSmallIntegerField(
        _("matching precedence"), null=True, blank=True
    )
    apply_on = models.CharField(
        _("apply this mapping"),
        max_length=16,
        choices=ApplyMapping.choices,
        default=ApplyMapping.ALWAYS,
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("attribute mapping")
        verbose_name_plural = _("attribute mappings")
        ordering = ["object_mapping", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_mapping", "target_attribute"], name="attribute_unique_target"
            ),
            models.CheckConstraint(
                condition=Q(is_matching=False) | Q(matching_precedence__isnull=False),
                name="attribute_matching_has_precedence",
            ),
        ]

    def __str__(self) -> str:
        source = {
            MappingType.DIRECT: self.source_attribute,
            MappingType.CONSTANT: f'"{self.constant_value}"',
            MappingType.EXPRESSION: self.expression,
        }.get(self.mapping_type, "")
        return f"{source} → {self.target_attribute}"
