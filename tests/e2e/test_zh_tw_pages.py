"""Every page of the portal in Traditional Chinese (issue 15, B6): Chromium with the zh-TW locale
walks them all, saves a screenshot of each, and finds no English word left on them apart from
proper names (products, protocols, the vendors' own labels), technical identifiers (attribute
names, URLs, e-mail addresses, codes) and the test's own data (people, groups, applications).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from provisioning.engine.cycle import run_cycle
from provisioning.models import (
    DirectoryImport,
    DirectoryImportState,
    ProvisioningLogEntry,
)
from provisioning.services.applications import add_application
from tests.e2e.test_directory import WORDS, configured_application, sign_in
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, MembershipFactory, assign

pytestmark = [pytest.mark.django_db(transaction=True)]

# Words that are not English prose: proper names of products, vendors and protocols, units and
# the abbreviations Microsoft's zh-TW portal keeps as they are.
# fmt: off
PROPER_NAMES = {
    "Azure", "Microsoft", "Entra", "SCIM", "GoTo", "GoToMeeting", "Citrix", "LogMeIn", "Asana",
    "Atlassian", "Cloud", "Jira", "Confluence", "Figma", "GitHub", "Miro", "API", "URL", "URI",
    "ID", "CSV", "JSON", "HTTP", "HTTPS", "OAuth", "OpenID", "UPN", "UTC", "PATCH", "POST",
    "PUT", "GET", "DELETE", "RFC", "ms", "AM", "PM", "Django", "PostgreSQL", "SQLite", "Redis",
    "Celery", "ETag", "AND", "OR", "NOT", "IS", "NULL", "TRUE", "FALSE", "True", "False",
    "true", "false", "zip",
}
# Names of several words (products, a file format, an HTTP scheme), taken out first.
PROPER_PHRASES = (
    "Azure Active Directory", "Enterprise Managed Users", "GitHub Enterprise Managed User",
    "GitHub Enterprise Cloud", "Asana Enterprise",
    "GoTo Meeting", "GoTo Connect",
    "JSON Lines", "Bearer",
)
# The test's own data: people, groups, applications, files, the signed-in administrator.
TEST_DATA = {
    "Britta", "Simon", "Megan", "Bowen", "Sales", "Contoso", "Engineer", "Engineering", "users",
    "csv", "alex", "setup",
}
# fmt: on
IDENTIFIER = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"  # UUIDs
    r"|\b[0-9a-f]{16,}\b"  # hexadecimal target ids
    r"|\S+@\S+"  # e-mail addresses, UPNs
    r"|\w+://\S+"  # URLs
    r"|urn:\S+"  # SCIM schema URNs
    r"|/\S*"  # paths
    r"|\S*[\[\]._$:{}=\"<>]\S*"  # attribute paths, expressions, code (words in brackets stay)
    r"|\b[A-Z0-9_]{2,}\b"  # codes and abbreviations: SCIM_409, HTTP
    r"|\b[a-z]+[A-Z]\w*\b"  # camelCase attribute names: userPrincipalName
    r"|\b[A-Z][a-z]+[A-Z]\w*\b"  # PascalCase function names: NormalizeDiacritics
    r"|\b\w*\d\w*\b"  # anything with a digit (ids, versions)
)
WORD = re.compile(r"[A-Za-z][A-Za-z'’]+")


def english_words(text: str, identifiers: set[str]) -> set[str]:
    for phrase in PROPER_PHRASES:
        text = text.replace(phrase, " ")
    text = IDENTIFIER.sub(" ", text)
    allowed = PROPER_NAMES | TEST_DATA | identifiers
    return {w for w in WORD.findall(text) if w not in allowed}


def attribute_names(*applications) -> set[str]:
    """The attribute names of the applications' mappings and target schemas (identifiers such as
    ``title`` or ``members`` that a page shows as they are), with the operators of scoping filters
    and SCIM's ``null``."""
    from provisioning.models import AttributeMapping, TargetAttribute

    names = {"null", "Includes", "locale", "timezone"}  # SCIM core attributes the editor offers
    for application in applications:
        job = application.provisioning_job
        for row in AttributeMapping.objects.filter(object_mapping__job=job).values_list(
            "source_attribute", "target_attribute"
        ):
            for value in row:
                names.update(WORD.findall(value or ""))
        for name in TargetAttribute.objects.filter(job=job).values_list("name", flat=True):
            names.update(WORD.findall(name))
    return names


def pages(application, goto_app, person, group, entry, upload) -> list[tuple[str, str]]:
    app = application.pk
    user_type = "users"
    return [
        ("home", reverse("home")),
        ("application-list", reverse("application-list")),
        ("gallery", reverse("application-add")),
        ("gallery-scim", reverse("application-add") + "?template=scim"),
        ("gallery-search", reverse("application-add") + "?q=go"),
        ("overview", reverse("application-overview", args=[app])),
        ("users-and-groups", reverse("users-and-groups", args=[app])),
        ("assignment-add", reverse("assignment-add", args=[app])),
        ("single-sign-on", reverse("single-sign-on", args=[app])),
        ("provisioning", reverse("provisioning", args=[app])),
        ("provisioning-goto", reverse("provisioning", args=[goto_app.pk])),
        ("restart", reverse("restart-provisioning", args=[app])),
        ("on-demand", reverse("provision-on-demand", args=[app])),
        ("mappings-user", reverse("attribute-mappings", args=[app, user_type])),
        ("mappings-group", reverse("attribute-mappings", args=[app, "groups"])),
        ("attribute-editor-new", reverse("attribute-editor-new", args=[app, user_type])),
        ("attribute-editor", reverse("attribute-editor", args=[app, user_type, 0])),
        ("scoping-filters", reverse("scoping-filters", args=[app, user_type])),
        ("target-schema", reverse("target-schema", args=[app, user_type])),
        ("schema-document", reverse("schema-document", args=[app])),
        ("provisioning-logs", reverse("provisioning-logs", args=[app])),
        ("provisioning-log-detail", reverse("provisioning-log-detail", args=[app, entry.pk])),
        ("audit-logs", reverse("audit-logs", args=[app])),
        ("reconcile", reverse("reconcile", args=[app])),
        ("insights", reverse("insights", args=[app])),
        ("monitoring-logs", reverse("monitoring-provisioning-logs")),
        ("monitoring-log-detail", reverse("monitoring-provisioning-log-detail", args=[entry.pk])),
        ("monitoring-insights", reverse("monitoring-insights")),
        ("monitoring-audit-logs", reverse("monitoring-audit-logs")),
        ("users", reverse("directory-users")),
        ("users-search", reverse("directory-users") + "?q=britta"),
        ("user-create", reverse("directory-user-create")),
        ("deleted-users", reverse("directory-deleted-users")),
        ("user", reverse("directory-user", args=[person.pk])),
        ("user-edit", reverse("directory-user-edit", args=[person.pk])),
        ("groups", reverse("directory-groups")),
        ("group-create", reverse("directory-group-create")),
        ("group", reverse("directory-group", args=[group.pk])),
        ("group-edit", reverse("directory-group-edit", args=[group.pk])),
        ("import-upload", reverse("directory-import-upload")),
        ("import", reverse("directory-import", args=[upload.pk])),
        ("api-tokens", reverse("api-tokens")),
    ]


def test_every_page_in_traditional_chinese_has_no_english_left(
    open_page, engine, scim, goto, make_login, screenshot
):
    application = configured_application("Contoso SCIM", scim)
    goto_app = add_application("gotomeeting", "Contoso 會議")
    manager = DirectoryUserFactory(
        display_name="Megan Bowen", user_principal_name="megan@contoso.example"
    )
    person = DirectoryUserFactory(
        display_name="Britta Simon",
        given_name="Britta",
        surname="Simon",
        user_principal_name="britta@contoso.example",
        manager=manager,
        department="Sales",
        job_title="Engineer",
    )
    group = DirectoryGroupFactory(display_name="Sales")
    MembershipFactory(group=group, member_user=person)
    assign(application, group)
    run_cycle(application.provisioning_job, initial=True)
    entry = ProvisioningLogEntry.objects.filter(application_id=application.pk).first()
    assert entry is not None
    upload = DirectoryImport.objects.create(
        file_names=["users.csv"], rows=2, state=DirectoryImportState.READY, language="zh-hant"
    )
    make_login("alex", "admin")
    page = open_page("zh-TW")
    sign_in(page, "alex", WORDS["zh-TW"])

    identifiers = attribute_names(application, goto_app)
    left: dict[str, set[str]] = {}
    for name, url in pages(application, goto_app, person, group, entry, upload):
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.locator("html").get_attribute("lang") == "zh-hant", name
        text = page.locator("body").inner_text() + "\n" + page.title()
        words = english_words(text, identifiers)
        if words:
            left[name] = words
        screenshot(page, f"zh-TW-{name}")
    assert not left, "\n".join(f"{name}: {sorted(words)}" for name, words in left.items())
