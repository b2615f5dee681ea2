"""Enterprise applications (F4–F6): instances of gallery templates, their roles and assignments."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .directory import DirectoryGroup, DirectoryUser

DEFAULT_ACCESS_ROLE = "Default Access"


class Application(models.Model):
    name = models.CharField(_("name"), max_length=256, unique=True)
    template_slug = models.CharField(_("gallery template"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def template(self):
        from ..gallery import get_template

        return get_template(self.template_slug)


class AppRole(models.Model):
    application = models.ForeignKey(
        Application, verbose_name=_("application"), on_delete=models.CASCADE, related_name="roles"
    )
    name = models.CharField(_("display name"), max_length=128)
    value = models.CharField(_("value"), max_length=128, blank=True)
    description = models.CharField(_("description"), max_length=512, blank=True)
    is_default_access = models.BooleanField(_("default access"), default=False)

    class Meta:
        verbose_name = _("app role")
        verbose_name_plural = _("app roles")
        ordering = ["application", "is_default_access", "name"]
        constraints = [
            models.UniqueConstraint(fields=["application", "name"], name="approle_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_valid_for_provisioning(self) -> bool:
        return not self.is_default_access


class Assignment(models.Model):
    """A user or group assigned to an application with an app role (F6).

    A *Default Access* assignment is stored like any other but never valid for provisioning.
    """

    application = models.ForeignKey(
        Application,
        verbose_name=_("application"),
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    user = models.ForeignKey(
        DirectoryUser,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    group = models.ForeignKey(
        DirectoryGroup,
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="assignments",
    )
    role = models.ForeignKey(
        AppRole, verbose_name=_("role"), on_delete=models.PROTECT, related_name="assignments"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(user__isnull=False, group__isnull=True)
                    | Q(user__isnull=True, group__isnull=False)
                ),
                name="assignment_exactly_one_principal",
            ),
            models.UniqueConstraint(
                fields=["application", "user", "role"],
                condition=Q(user__isnull=False),
                name="assignment_unique_user_role",
            ),
            models.UniqueConstraint(
                fields=["application", "group", "role"],
                condition=Q(group__isnull=False),
                name="assignment_unique_group_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.group} → {self.application} ({self.role})"

    @property
    def principal(self):
        return self.user or self.group

    @property
    def is_valid_for_provisioning(self) -> bool:
        return self.role.is_valid_for_provisioning

    @property
    def invalid_reason(self) -> str:
        if self.role.is_default_access:
            return str(_("no valid app role: “Default Access” is not valid for provisioning"))
        return ""
