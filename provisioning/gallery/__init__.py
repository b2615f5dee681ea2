"""The application gallery: a registry of templates, one module per vendor."""

from . import asana, atlassian_cloud, figma, github_emu, goto, gotomeeting, miro, scim
from .base import GalleryTemplate

_TEMPLATES: dict[str, GalleryTemplate] = {}


def register(template: GalleryTemplate) -> GalleryTemplate:
    if template.slug in _TEMPLATES:
        raise ValueError(f"Duplicate gallery template {template.slug!r}")
    _TEMPLATES[template.slug] = template
    return template


for _module in (gotomeeting, scim, atlassian_cloud, asana, figma, github_emu, miro, goto):
    register(_module.TEMPLATE)


class UnknownTemplate(LookupError):
    pass


def get_template(slug: str) -> GalleryTemplate:
    try:
        return _TEMPLATES[slug]
    except KeyError:
        raise UnknownTemplate(slug) from None


def all_templates() -> list[GalleryTemplate]:
    return sorted(_TEMPLATES.values(), key=lambda t: t.name.lower())


def search_templates(text: str) -> list[GalleryTemplate]:
    needle = text.strip().lower()
    return [
        t
        for t in all_templates()
        if not needle
        or needle in t.name.lower()
        or needle in t.publisher.lower()
        or needle in t.description.lower()
    ]
