"""Building blocks of the real SCIM 2.0 vendors in the gallery (Tenant URL + Secret Token).

Each vendor module picks its attributes from Azure's SCIM defaults (:mod:`.scim_defaults`)
by target path, names its matching attribute, and may change a source. Vendors differ in
what they accept and what they can filter on, so nothing is inherited silently.
"""

from dataclasses import replace

from .base import AttributeTemplate, CredentialField
from .scim_defaults import SCIM_GROUP_ATTRIBUTES, SCIM_USER_ATTRIBUTES


def secret_token_fields(tenant_url_help: str, token_help: str) -> tuple[CredentialField, ...]:
    """The Provisioning tab's two fields, as Azure labels them."""
    return (
        CredentialField(
            name="tenant_url", label="Tenant URL", kind="url", help_text=tenant_url_help
        ),
        CredentialField(
            name="secret_token",
            label="Secret Token",
            secret=True,
            kind="password",
            help_text=token_help,
        ),
    )


def _pick(
    defaults: tuple[AttributeTemplate, ...],
    targets: tuple[str, ...],
    matching: str,
    sources: dict[str, str] | None,
) -> tuple[AttributeTemplate, ...]:
    by_target = {attribute.target: attribute for attribute in defaults}
    unknown = [t for t in (*targets, matching) if t not in by_target]
    if unknown:
        raise ValueError(f"not among the default SCIM attributes: {unknown}")
    if matching not in targets:
        targets = (matching, *targets)
    picked = []
    for target in targets:
        attribute = replace(
            by_target[target], matching_precedence=1 if target == matching else None
        )
        if sources and target in sources:
            attribute = replace(attribute, source=sources[target])
        picked.append(attribute)
    return tuple(picked)


def user_attributes(
    *targets: str, matching: str = "userName", sources: dict[str, str] | None = None
) -> tuple[AttributeTemplate, ...]:
    """The default user mappings of ``targets``; ``matching`` gets precedence 1."""
    return _pick(SCIM_USER_ATTRIBUTES, targets, matching, sources)


def group_attributes(
    *targets: str, matching: str = "displayName", sources: dict[str, str] | None = None
) -> tuple[AttributeTemplate, ...]:
    """The default group mappings of ``targets``; ``matching`` gets precedence 1."""
    return _pick(SCIM_GROUP_ATTRIBUTES, targets, matching, sources)
