"""The target's attribute list (Azure: *Show advanced options → Edit attribute list for APP*).

One row per attribute a target object accepts, named exactly as attribute mappings name their
target (a SCIM path such as ``emails[type eq "work"].value`` or
``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department``). The mapping editor
refuses a mapping to an attribute that is not listed here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..choices import ObjectType, TargetAttributeOrigin, TargetAttributeType
from .jobs import ProvisioningJob


class TargetAttribute(models.Model):
    job = models.ForeignKey(
        ProvisioningJob,
        verbose_name=_("job"),
        on_delete=models.CASCADE,
        related_name="target_attributes",
    )
    object_type = models.CharField(_("object type"), max_length=8, choices=ObjectType.choices)
    name = models.CharField(_("name"), max_length=512)
    type = models.CharField(
        _("type"),
        max_length=16,
        choices=TargetAttributeType.choices,
        default=TargetAttributeType.STRING,
    )
    required = models.BooleanField(_("required"), default=False)
    multi_valued = models.BooleanField(_("multi-valued"), default=False)
    matching_supported = models.BooleanField(
        _("supported as a matching attribute"),
        default=False,
        help_text=_("The target can find accounts by this attribute (a filter on it works)."),
    )
    origin = models.CharField(
        _("origin"),
        max_length=16,
        choices=TargetAttributeOrigin.choices,
        default=TargetAttributeOrigin.DEFAULT,
    )
    description = models.CharField(_("description"), max_length=1024, blank=True)

    class Meta:
        verbose_name = _("target attribute")
        verbose_name_plural = _("target attributes")
        ordering = ["job", "object_type", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "object_type", "name"], name="target_attribute_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
