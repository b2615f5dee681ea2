"""The source directory (F1, F2): users, groups and direct memberships.

Every insert, update and delete of these tables is written to ``DirectoryChange`` by database
triggers (see ``provisioning.directory.changes``), so the incremental cycle also sees bulk writes.
"""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class DirectoryObjectQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def in_recycle_bin(self):
        return self.filter(deleted_at__isnull=False)


class SoftDeletable(models.Model):
    """Soft delete to a recycle bin, restorable for ``DIRECTORY_RECYCLE_BIN_DAYS``."""

    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, db_index=True)

    objects = DirectoryObjectQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_soft_deleted(self) -> bool:
        return self.deleted_at is not None

    def soft_delete(self) -> None:
        if self.deleted_at is None:
            self.deleted_at = timezone.now()
            self.save(update_fields=["deleted_at", "updated_at"])

    def restore(self) -> None:
        if self.deleted_at is not None:
            if self.deleted_at < timezone.now() - timedelta(
                days=settings.DIRECTORY_RECYCLE_BIN_DAYS
            ):
                raise ValueError(_("The object was deleted too long ago to be restored."))
            self.deleted_at = None
            self.save(update_fields=["deleted_at", "updated_at"])


class DirectoryUser(SoftDeletable):
    id = models.UUIDField(_("object id"), primary_key=True, default=uuid.uuid4, editable=False)
    user_principal_name = models.CharField(_("user principal name"), max_length=256, unique=True)
    mail = models.EmailField(_("mail"), max_length=256, blank=True)
    given_name = models.CharField(_("given name"), max_length=64, blank=True)
    surname = models.CharField(_("surname"), max_length=64, blank=True)
    display_name = models.CharField(_("display name"), max_length=256)
    job_title = models.CharField(_("job title"), max_length=128, blank=True)
    department = models.CharField(_("department"), max_length=64, blank=True)
    employee_id = models.CharField(_("employee id"), max_length=16, blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=64, blank=True)
    country = models.CharField(_("country or region"), max_length=128, blank=True)
    preferred_language = models.CharField(_("preferred language"), max_length=16, blank=True)
    manager = models.ForeignKey(
        "self",
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="direct_reports",
    )
    account_enabled = models.BooleanField(_("account enabled"), default=True)
    extension_attributes = models.JSONField(_("extension attributes"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("directory user")
        verbose_name_plural = _("directory users")
        ordering = ["display_name", "user_principal_name"]
        constraints = [
            # Azure compares user principal names without regard to case.
            models.UniqueConstraint(Lower("user_principal_name"), name="user_upn_unique_ci"),
        ]
        indexes = [
            # The Users page pages the live users by (display name, id) with a keyset (issue 15),
            # "deleted_at IS NULL ORDER BY display_name, id" read as one index range: PostgreSQL
            # takes the partial index (it does not order by columns after an IS NULL), SQLite
            # the second (it prefers an equality on deleted_at to a partial index).
            models.Index(
                fields=["display_name", "id"],
                name="user_display_order",
                condition=Q(deleted_at__isnull=True),
            ),
            models.Index(fields=["deleted_at", "display_name", "id"], name="user_live_order"),
            models.Index(fields=["employee_id"], name="user_employee_id"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.user_principal_name}>"


class DirectoryGroup(SoftDeletable):
    id = models.UUIDField(_("object id"), primary_key=True, default=uuid.uuid4, editable=False)
    display_name = models.CharField(_("display name"), max_length=256, db_index=True)
    mail = models.EmailField(_("mail"), max_length=256, blank=True)
    mail_nickname = models.CharField(_("mail nickname"), max_length=64, blank=True)
    description = models.CharField(_("description"), max_length=1024, blank=True)
    security_enabled = models.BooleanField(_("security enabled"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("directory group")
        verbose_name_plural = _("directory groups")
        ordering = ["display_name"]

    def __str__(self) -> str:
        return self.display_name


class GroupMembership(models.Model):
    """A direct member of a group: a user or a group (exactly one of them)."""

    group = models.ForeignKey(
        DirectoryGroup,
        verbose_name=_("group"),
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    member_user = models.ForeignKey(
        DirectoryUser,
        verbose_name=_("member user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="group_memberships",
    )
    member_group = models.ForeignKey(
        DirectoryGroup,
        verbose_name=_("member group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="parent_memberships",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("group membership")
        verbose_name_plural = _("group memberships")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(member_user__isnull=False, member_group__isnull=True)
                    | Q(member_user__isnull=True, member_group__isnull=False)
                ),
                name="membership_exactly_one_member",
            ),
            models.UniqueConstraint(
                fields=["group", "member_user"],
                condition=Q(member_user__isnull=False),
                name="membership_unique_user",
            ),
            models.UniqueConstraint(
                fields=["group", "member_group"],
                condition=Q(member_group__isnull=False),
                name="membership_unique_group",
            ),
            models.CheckConstraint(
                condition=~Q(member_group=models.F("group")), name="membership_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_user or self.member_group} ∈ {self.group}"
