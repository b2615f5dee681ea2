"""Audit log of configuration changes (F25); before/after values are redacted before saving."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import AuditActivity


class AuditEvent(models.Model):
    created_at = models.DateTimeField(_("date"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("initiated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(_("initiated by (name)"), max_length=150, blank=True)
    application_id = models.BigIntegerField(_("application id"), null=True, blank=True)
    application_name = models.CharField(_("application"), max_length=256, blank=True)
    activity = models.CharField(_("activity"), max_length=64, choices=AuditActivity.choices)
    target = models.CharField(_("target"), max_length=512, blank=True)
    before = models.JSONField(_("old value"), default=dict, blank=True)
    after = models.JSONField(_("new value"), default=dict, blank=True)
    # How the change came in: "portal" (a page), "admin" (the Django admin), "api:<token name>", or
    # "system" (the engine, a command). Auditors ask "who, and through what".
    channel = models.CharField(_("channel"), max_length=128, blank=True, default="portal")

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["application_id", "-created_at"], name="audit_app_date"),
            models.Index(fields=["-created_at", "-id"], name="audit_date_id"),
            models.Index(fields=["activity", "-created_at"], name="audit_activity_date"),
            models.Index(fields=["actor_name", "-created_at"], name="audit_actor_date"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.activity} {self.application_name}"
