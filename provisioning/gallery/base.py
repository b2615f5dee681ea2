"""The shape of a gallery template (F5): data, not code branches.

A template says which connector talks to the app, which admin credentials the Provisioning tab asks
for, which app roles the app offers and the default object and attribute mappings copied into a
new application's provisioning job.
"""

from dataclasses import dataclass, field

from ..choices import ApplyMapping, MappingType, ObjectType


@dataclass(frozen=True)
class CredentialField:
    name: str  # key in ProvisioningJob.credentials
    label: str
    secret: bool = False
    kind: str = "text"  # text | url | password | email | oauth (the Authorize button)
    required: bool = True
    help_text: str = ""


@dataclass(frozen=True)
class RoleTemplate:
    name: str
    value: str = ""
    description: str = ""
    is_default_access: bool = False


@dataclass(frozen=True)
class AttributeTemplate:
    target: str
    source: str = ""
    mapping_type: str = MappingType.DIRECT
    expression: str = ""
    constant: str = ""
    default: str = ""
    matching_precedence: int | None = None
    apply_on: str = ApplyMapping.ALWAYS


@dataclass(frozen=True)
class ObjectMappingTemplate:
    object_type: str  # ObjectType
    target_object: str
    attributes: tuple[AttributeTemplate, ...]
    enabled: bool = True
    create: bool = True
    update: bool = True
    delete: bool = True


@dataclass(frozen=True)
class GalleryTemplate:
    slug: str
    name: str
    publisher: str
    description: str
    connector: str  # key of provisioning.connectors' registry
    credential_fields: tuple[CredentialField, ...]
    app_roles: tuple[RoleTemplate, ...]
    object_mappings: tuple[ObjectMappingTemplate, ...]
    test_connection_hint: str = ""
    tenant_url_pattern: str = ""
    quirks: tuple[str, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)
    # A line administrators must read before choosing the app (e.g. a retired integration),
    # shown in the gallery and on the app's Overview.
    notice: str = ""
    # Ways to connect of which one must be complete (each a tuple of credential names), for
    # templates whose fields are all optional on their own (GoTo: Authorize, a personal access
    # token, or the legacy user name and password).
    credential_alternatives: tuple[tuple[str, ...], ...] = ()

    @property
    def secret_credential_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.credential_fields if f.secret)

    def credentials_complete(self, credentials) -> bool:
        """Every required credential is set, and one of the alternative ways (if any) is."""
        if not all(credentials.get(f.name) for f in self.credential_fields if f.required):
            return False
        return not self.credential_alternatives or any(
            all(credentials.get(name) for name in way) for way in self.credential_alternatives
        )

    def mapping_for(self, object_type: str) -> ObjectMappingTemplate | None:
        return next((m for m in self.object_mappings if m.object_type == object_type), None)

    def mapping_name(self, object_type: str, app_name: str) -> str:
        plural = "Users" if object_type == ObjectType.USER else "Groups"
        return f"Synchronize Azure Active Directory {plural} to {app_name}"


DEFAULT_ACCESS = RoleTemplate(
    name="Default Access",
    value="msiam_access",
    description="Sign-in only; not valid for provisioning.",
    is_default_access=True,
)
