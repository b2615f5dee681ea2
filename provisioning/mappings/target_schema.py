"""The target's attribute list: defaults, what a SCIM target's ``/Schemas`` says, and additions
by hand (Azure: *Edit attribute list for APP*).

Every job has a list per object type. It is created on first use from the gallery template (the
SCIM core and Enterprise attributes for SCIM apps, the template's own targets otherwise) and the
attributes already mapped, so mappings saved before the list existed stay valid.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.db import transaction
from django.utils.translation import gettext as _

from ..choices import AuditActivity, ObjectType, TargetAttributeOrigin, TargetAttributeType
from ..connectors import build_connector
from ..connectors.errors import ConnectorError
from ..connectors.http import RetryPolicy
from ..connectors.scim_paths import CORE_SCHEMAS, ENTERPRISE_USER_SCHEMA, parse_path
from ..models import ProvisioningJob, TargetAttribute
from ..services.audit import record_audit


@dataclass(frozen=True)
class TargetAttributeSpec:
    name: str
    type: str = TargetAttributeType.STRING
    required: bool = False
    multi_valued: bool = False
    matching_supported: bool = False
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spec(name: str, type_: str = TargetAttributeType.STRING, **flags: Any) -> TargetAttributeSpec:
    return TargetAttributeSpec(name=name, type=type_, **flags)


_ADDRESS_PARTS = ("formatted", "streetAddress", "locality", "region", "postalCode", "country")

# RFC 7643's User and Group, named as Azure's default SCIM mappings name them.
SCIM_USER_DEFAULTS: tuple[TargetAttributeSpec, ...] = (
    _spec("userName", required=True, matching_supported=True),
    _spec("externalId", matching_supported=True),
    _spec("active", TargetAttributeType.BOOLEAN),
    _spec("displayName", matching_supported=True),
    _spec("nickName"),
    _spec("title"),
    _spec("userType"),
    _spec("preferredLanguage"),
    _spec("locale"),
    _spec("timezone"),
    _spec("profileUrl", TargetAttributeType.REFERENCE),
    _spec("name.givenName"),
    _spec("name.familyName"),
    _spec("name.formatted"),
    _spec("name.middleName"),
    _spec("name.honorificPrefix"),
    _spec("name.honorificSuffix"),
    _spec('emails[type eq "work"].value', matching_supported=True),
    _spec('emails[type eq "home"].value'),
    _spec('emails[type eq "other"].value'),
    _spec('phoneNumbers[type eq "work"].value'),
    _spec('phoneNumbers[type eq "mobile"].value'),
    _spec('phoneNumbers[type eq "fax"].value'),
    *(_spec(f'addresses[type eq "work"].{part}') for part in _ADDRESS_PARTS),
    *(_spec(f'addresses[type eq "home"].{part}') for part in _ADDRESS_PARTS),
    _spec('roles[primary eq "True"].value'),
    _spec('roles[primary eq "True"].display'),
    _spec('roles[primary eq "True"].type'),
    _spec(f"{ENTERPRISE_USER_SCHEMA}:employeeNumber"),
    _spec(f"{ENTERPRISE_USER_SCHEMA}:costCenter"),
    _spec(f"{ENTERPRISE_USER_SCHEMA}:organization"),
    _spec(f"{ENTERPRISE_USER_SCHEMA}:division"),
    _spec(f"{ENTERPRISE_USER_SCHEMA}:department"),
    _spec(f"{ENTERPRISE_USER_SCHEMA}:manager", TargetAttributeType.REFERENCE),
)
SCIM_GROUP_DEFAULTS: tuple[TargetAttributeSpec, ...] = (
    _spec("displayName", required=True, matching_supported=True),
    _spec("externalId", matching_supported=True),
    _spec("members", TargetAttributeType.REFERENCE, multi_valued=True),
)
SCIM_DEFAULTS = {ObjectType.USER: SCIM_USER_DEFAULTS, ObjectType.GROUP: SCIM_GROUP_DEFAULTS}


def default_target_attributes(job: ProvisioningJob, object_type: str) -> list[TargetAttributeSpec]:
    """The list a job starts with: the connector's catalogue, then the template's default
    targets (matching where the template matches on them)."""
    specs: dict[str, TargetAttributeSpec] = {}
    try:
        template = job.application.template
    except LookupError:
        template = None
    if template is not None and template.connector == "scim":
        for spec in SCIM_DEFAULTS.get(object_type, ()):
            specs[spec.name.lower()] = spec
    mapping_template = template.mapping_for(object_type) if template is not None else None
    for attribute in mapping_template.attributes if mapping_template else ():
        key = attribute.target.lower()
        if key in specs:
            if attribute.matching_precedence and not specs[key].matching_supported:
                specs[key] = TargetAttributeSpec(
                    **{**specs[key].to_dict(), "matching_supported": True}
                )
            continue
        specs[key] = _spec(
            attribute.target,
            TargetAttributeType.REFERENCE
            if attribute.source in ("manager", "members")
            else TargetAttributeType.STRING,
            matching_supported=attribute.matching_precedence is not None,
            multi_valued=attribute.source == "members",
        )
    return list(specs.values())


def ensure_target_schema(job: ProvisioningJob) -> None:
    """Create the job's attribute lists where they do not exist yet (idempotent)."""
    present = set(job.target_attributes.values_list("object_type", flat=True).distinct())
    rows = []
    for mapping in job.mappings.all():
        if mapping.object_type in present:
            continue
        names = set()
        for spec in default_target_attributes(job, mapping.object_type):
            names.add(spec.name.lower())
            rows.append(_row(job, mapping.object_type, spec, TargetAttributeOrigin.DEFAULT))
        # Attributes mapped before the list existed stay valid.
        for row in mapping.attributes.all():
            if row.target_attribute.lower() not in names:
                names.add(row.target_attribute.lower())
                spec = _spec(row.target_attribute, matching_supported=row.is_matching)
                rows.append(_row(job, mapping.object_type, spec, TargetAttributeOrigin.DEFAULT))
    if rows:
        TargetAttribute.objects.bulk_create(rows, ignore_conflicts=True)


def _row(job: ProvisioningJob, object_type: str, spec: TargetAttributeSpec, origin: str):
    return TargetAttribute(job=job, object_type=object_type, origin=origin, **spec.to_dict())


def target_attributes(job: ProvisioningJob, object_type: str) -> dict[str, TargetAttribute]:
    """The job's list for one object type, keyed by lower-cased name (SCIM names are
    case-insensitive)."""
    ensure_target_schema(job)
    return {
        attribute.name.lower(): attribute
        for attribute in job.target_attributes.filter(object_type=object_type)
    }


def spec_of(attribute: TargetAttribute) -> TargetAttributeSpec:
    return TargetAttributeSpec(
        name=attribute.name,
        type=attribute.type,
        required=attribute.required,
        multi_valued=attribute.multi_valued,
        matching_supported=attribute.matching_supported,
        description=attribute.description,
    )


# --- SCIM /Schemas -----------------------------------------------------------------------------

_SCIM_TYPES = {
    "string": TargetAttributeType.STRING,
    "boolean": TargetAttributeType.BOOLEAN,
    "integer": TargetAttributeType.INTEGER,
    "decimal": TargetAttributeType.DECIMAL,
    "datetime": TargetAttributeType.DATETIME,
    "reference": TargetAttributeType.REFERENCE,
    "binary": TargetAttributeType.BINARY,
}
_MATCHABLE_CORE = {"username", "externalid", "displayname", 'emails[type eq "work"].value'}


class TargetSchemaUnavailable(Exception):
    """The target did not describe its schema (no /Schemas, an error, or an unusable answer)."""


def _scim_type(attribute: dict[str, Any]) -> str:
    return _SCIM_TYPES.get(str(attribute.get("type", "string")).lower(), TargetAttributeType.STRING)


def _writable(attribute: dict[str, Any]) -> bool:
    return str(attribute.get("mutability", "readWrite")).lower() not in ("readonly",)


def _attribute_specs(
    prefix: str, attribute: dict[str, Any], core: bool
) -> list[TargetAttributeSpec]:
    name = str(attribute.get("name") or "")
    if not name or not _writable(attribute) or name in ("id", "meta", "schemas"):
        return []
    path = f"{prefix}{name}"
    required = bool(attribute.get("required"))
    multi = bool(attribute.get("multiValued"))
    description = str(attribute.get("description") or "")[:1024]
    if str(attribute.get("type", "")).lower() != "complex":
        unique = str(attribute.get("uniqueness", "none")).lower() in ("server", "global")
        return [
            TargetAttributeSpec(
                name=path,
                type=_scim_type(attribute),
                required=required,
                multi_valued=multi,
                matching_supported=unique or (core and path.lower() in _MATCHABLE_CORE),
                description=description,
            )
        ]
    subs = [s for s in attribute.get("subAttributes") or [] if isinstance(s, dict)]
    sub_names = {str(s.get("name", "")).lower(): s for s in subs}
    if name == "members" or (not multi and "value" in sub_names and "$ref" in sub_names):
        # A reference (members, the Enterprise manager): the mapping writes the id.
        return [
            TargetAttributeSpec(
                name=path,
                type=TargetAttributeType.REFERENCE,
                required=required,
                multi_valued=multi,
                description=description,
            )
        ]
    parts = [
        s
        for s in subs
        if _writable(s) and str(s.get("name", "")).lower() not in ("type", "primary", "$ref")
    ]
    if not multi:
        bases = [path]
    elif "type" in sub_names and sub_names["type"].get("canonicalValues"):
        bases = [f'{path}[type eq "{value}"]' for value in sub_names["type"]["canonicalValues"]]
    elif "primary" in sub_names:
        bases = [f'{path}[primary eq "True"]']
    else:
        return []  # a multi-valued complex attribute the flat mappings can't address
    specs = []
    for base in bases:
        for sub in parts:
            full = f"{base}.{sub['name']}"
            specs.append(
                TargetAttributeSpec(
                    name=full,
                    type=_scim_type(sub),
                    required=required and bool(sub.get("required")),
                    matching_supported=core and full.lower() in _MATCHABLE_CORE,
                    description=str(sub.get("description") or "")[:1024],
                )
            )
    return specs


def parse_scim_schemas(
    schemas: list[dict[str, Any]], resource_types: list[dict[str, Any]] | None = None
) -> dict[str, list[TargetAttributeSpec]]:
    """Flatten SCIM schema resources into attribute paths per object type.

    A resource type's core schema gives plain names (``userName``, ``name.givenName``,
    ``emails[type eq "work"].value``); its extensions give ``<schema URN>:<name>``. Without
    /ResourceTypes, the core schemas of RFC 7643 are assumed and an extension whose URN ends
    with ``:User`` or ``:Group`` extends that type.
    """
    by_id = {str(s.get("id")): s for s in schemas if isinstance(s, dict) and s.get("id")}
    layout: dict[str, tuple[str, list[str]]] = {}
    for resource_type in resource_types or []:
        name = str(resource_type.get("name") or resource_type.get("id") or "")
        object_type = {"user": ObjectType.USER, "group": ObjectType.GROUP}.get(name.lower())
        if object_type is None:
            continue
        extensions = [
            str(e.get("schema"))
            for e in resource_type.get("schemaExtensions") or []
            if isinstance(e, dict) and e.get("schema")
        ]
        layout[object_type] = (str(resource_type.get("schema") or ""), extensions)
    for object_type, core in CORE_SCHEMAS.items():
        if object_type not in layout:
            suffix = f":{object_type}"
            extensions = [
                i for i in by_id if i != core and i.endswith(suffix) and ":extension:" in i
            ]
            layout[object_type] = (core, extensions)
    result: dict[str, list[TargetAttributeSpec]] = {}
    for object_type, (core, extensions) in layout.items():
        specs: dict[str, TargetAttributeSpec] = {}
        for schema_id, prefix, is_core in [(core, "", True)] + [
            (e, f"{e}:", False) for e in extensions
        ]:
            schema = by_id.get(schema_id)
            for attribute in (schema or {}).get("attributes") or []:
                if isinstance(attribute, dict):
                    for spec in _attribute_specs(prefix, attribute, is_core):
                        specs.setdefault(spec.name.lower(), spec)
        if specs:
            result[object_type] = list(specs.values())
    return result


def _scim_resources(connector: Any, base: str, endpoint: str) -> list[dict[str, Any]] | None:
    response = connector.http.request("GET", f"{base}/{endpoint}")
    if response.status != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    if isinstance(body, dict):
        body = body.get("Resources", [])
    return [item for item in body if isinstance(item, dict)] if isinstance(body, list) else None


def read_target_schema(job: ProvisioningJob) -> dict[str, list[TargetAttributeSpec]]:
    """Ask a SCIM target for its schemas (GET /Schemas and /ResourceTypes)."""
    template = job.application.template
    if template.connector != "scim":
        raise TargetSchemaUnavailable(_("Only SCIM applications describe their schema."))
    try:
        # A page waits for this: one attempt, short timeouts (no retries with backoff).
        connector = build_connector(
            template.connector,
            dict(job.credentials),
            timeout=(5.0, 15.0),
            retry=RetryPolicy(max_attempts=2, base_delay=0.2, max_delay=1.0, max_retry_after=2.0),
        )
    except (ConnectorError, ValueError) as error:
        raise TargetSchemaUnavailable(str(error)) from None
    parts = urlsplit(connector.tenant_url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
    try:
        schemas = _scim_resources(connector, base, "Schemas")
        resource_types = _scim_resources(connector, base, "ResourceTypes")
    except ConnectorError as error:
        raise TargetSchemaUnavailable(str(error)) from None
    finally:
        connector.close()
    if not schemas:
        raise TargetSchemaUnavailable(_("The target did not answer GET /Schemas with schemas."))
    parsed = parse_scim_schemas(schemas, resource_types)
    if not parsed:
        raise TargetSchemaUnavailable(_("The target's /Schemas names no User or Group attribute."))
    return parsed


@transaction.atomic
def refresh_from_target(job: ProvisioningJob, *, actor=None, channel: str = "portal") -> int:
    """Add the attributes the target describes that the list does not have yet; mark those it
    describes as it describes them. Attributes added by hand are kept. Returns how many were
    added."""
    discovered = read_target_schema(job)
    ensure_target_schema(job)
    added: list[str] = []
    updated: list[str] = []
    for object_type, specs in discovered.items():
        if not job.mappings.filter(object_type=object_type).exists():
            continue
        existing = target_attributes(job, object_type)
        for spec in specs:
            row = existing.get(spec.name.lower())
            if row is None:
                _row(job, object_type, spec, TargetAttributeOrigin.TARGET).save()
                added.append(f"{object_type}:{spec.name}")
            elif row.origin != TargetAttributeOrigin.MANUAL and spec_of(row) != spec:
                for key, value in spec.to_dict().items():
                    if key != "name":
                        setattr(row, key, value)
                row.origin = TargetAttributeOrigin.TARGET
                row.save()
                updated.append(f"{object_type}:{spec.name}")
    if added or updated:
        record_audit(
            AuditActivity.UPDATE_TARGET_SCHEMA,
            actor=actor,
            application=job.application,
            target=_("Attribute list read from the target"),
            before={},
            after={"added": added, "updated": updated},
            channel=channel,
        )
    return len(added)


def is_scim_job(job: ProvisioningJob) -> bool:
    try:
        return job.application.template.connector == "scim"
    except LookupError:
        return False


def validate_spec(spec: TargetAttributeSpec, *, scim: bool = False) -> list[tuple[str, str]]:
    """``scim``: the name must be an attribute path the SCIM connector can write."""
    problems = []
    if not spec.name.strip():
        problems.append(("name", _("Enter the attribute's name.")))
    elif len(spec.name) > 512 or any(c in spec.name for c in "\r\n\t"):
        problems.append(("name", _("The name is too long or holds a line break.")))
    elif scim:
        try:
            parse_path(spec.name)
        except ValueError:
            problems.append(
                (
                    "name",
                    _(
                        "Not a SCIM attribute path: use a name such as title, name.givenName, "
                        'emails[type eq "work"].value or urn:…:User:costCenter.'
                    ),
                )
            )
    if spec.type not in TargetAttributeType.values:
        problems.append(("type", _("Choose a type from the list.")))
    return problems


@transaction.atomic
def add_target_attribute(
    job: ProvisioningJob,
    object_type: str,
    spec: TargetAttributeSpec,
    *,
    actor=None,
    channel: str = "portal",
) -> list[tuple[str, str]]:
    """Add one attribute by hand; returns (field, message) problems and adds nothing on any."""
    spec = TargetAttributeSpec(**{**spec.to_dict(), "name": spec.name.strip()})
    problems = validate_spec(spec, scim=is_scim_job(job))
    existing = target_attributes(job, object_type)
    if not problems and spec.name.lower() in existing:
        problems.append(
            ("name", _("The attribute list already has “%(name)s”.") % {"name": spec.name})
        )
    if problems:
        return problems
    _row(job, object_type, spec, TargetAttributeOrigin.MANUAL).save()
    record_audit(
        AuditActivity.UPDATE_TARGET_SCHEMA,
        actor=actor,
        application=job.application,
        target=spec.name,
        before={},
        after={"added": {"objectType": object_type, **spec.to_dict()}},
        channel=channel,
    )
    return []


@transaction.atomic
def delete_target_attribute(
    job: ProvisioningJob, object_type: str, name: str, *, actor=None, channel: str = "portal"
) -> str | None:
    """Remove one attribute; refused (a message) while a mapping writes to it."""
    row = target_attributes(job, object_type).get(name.lower())
    if row is None:
        return _("The attribute list has no “%(name)s”.") % {"name": name}
    mapped = job.mappings.filter(
        object_type=object_type, attributes__target_attribute__iexact=row.name
    ).exists()
    if mapped:
        return _("“%(name)s” is mapped: delete its mapping first.") % {"name": row.name}
    before = spec_of(row).to_dict()
    row.delete()
    record_audit(
        AuditActivity.UPDATE_TARGET_SCHEMA,
        actor=actor,
        application=job.application,
        target=name,
        before={"removed": {"objectType": object_type, **before}},
        after={},
        channel=channel,
    )
    return None
