"""Log step texts are stored as message ids and shown in the reader's language (issue 15).

A cycle runs in English (the worker's language); the log detail page read in Traditional Chinese
shows every step in Chinese — only the parameters (user names, target ids, attribute names) stay
as they are — and read in English shows the English text.
"""

import html
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import translation

from provisioning.choices import ProvisioningMode
from provisioning.engine.cycle import run_cycle
from provisioning.log_text import LogText, english, render, step_detail
from provisioning.models import Assignment, ProvisioningLogEntry
from provisioning.roles import ensure_roles
from provisioning.services.applications import add_application
from tests.factories import DirectoryUserFactory, assign

pytestmark = pytest.mark.django_db


@pytest.fixture
def app(scim):
    application = add_application("scim", "Target app")
    job = application.provisioning_job
    job.credentials = scim.credentials
    job.mode = ProvisioningMode.AUTOMATIC
    job.save()
    return application


def admin(client, language):
    administrators, _auditors = ensure_roles()
    user, _created = get_user_model().objects.get_or_create(username="admin-reader")
    user.groups.add(administrators)
    client.force_login(user)
    client.cookies["django_language"] = language


def run_in_english(app, make_connector, **kwargs):
    job = app.provisioning_job
    job.refresh_from_db()
    with translation.override("en"):
        return run_cycle(job, connector=make_connector(), **kwargs)


def parameters(data) -> list[str]:
    """Every plain parameter value of a stored message, nested ones included."""
    if isinstance(data, dict):
        values = data.get("join", []) if "join" in data else (data.get("params") or {}).values()
        return [text for value in values for text in parameters(value)]
    return [str(data)] if data is not None and not isinstance(data, dict) else []


def shown_steps(page: str) -> list[str]:
    steps = page.split('<ol class="steps">')[1].split("</ol>")[0]
    items = re.findall(r"<li[^>]*>(.*?)</li>", steps, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", " ", item)) for item in items]


def cycles_in_english(app, make_connector):
    """Creates, an update and a disable, all written by cycles running in English."""
    ada = DirectoryUserFactory(user_principal_name="ada@contoso.example", display_name="Ada")
    carl = DirectoryUserFactory(user_principal_name="carl@contoso.example", display_name="Carl")
    assign(app, ada)
    assign(app, carl)
    run_in_english(app, make_connector, initial=True)
    ada.display_name = "Ada Lovelace"
    ada.save()
    Assignment.objects.filter(user=carl).delete()
    run_in_english(app, make_connector)
    entries = list(ProvisioningLogEntry.objects.filter(application_id=app.pk))
    assert {e.action for e in entries} >= {"Create", "Update", "Disable"}
    return entries


def test_a_cycle_run_in_english_reads_in_chinese_on_the_log_page(app, scim, make_connector, client):
    entries = cycles_in_english(app, make_connector)
    admin(client, "zh-hant")
    for entry in entries:
        assert all(step.get("text") for step in entry.steps), entry.steps
        url = reverse("provisioning-log-detail", args=[app.pk, entry.pk])
        page = client.get(url).content.decode()
        shown = shown_steps(page)
        assert len(shown) == len(entry.steps)
        for text, step in zip(shown, entry.steps, strict=True):
            for value in sorted(parameters(step["text"]), key=len, reverse=True):
                text = text.replace(value, "")
            assert not re.search(r"[A-Za-z]{2,}", text), (text, step)
            assert re.search(r"[\u4e00-\u9fff]", text), (text, step)
        if entry.reason:  # the disable's reason in Chinese too
            assert entry.texts.get("reason")
            assert entry.reason not in page


def test_the_same_log_page_reads_in_english(app, scim, make_connector, client):
    entries = cycles_in_english(app, make_connector)
    admin(client, "en")
    for entry in entries:
        page = client.get(reverse("provisioning-log-detail", args=[app.pk, entry.pk]))
        shown = shown_steps(page.content.decode())
        for text, step in zip(shown, entry.steps, strict=True):
            assert step["detail"] in " ".join(text.split()), (text, step)
    create = next(e for e in entries if e.action == "Create")
    scope = next(s for s in create.steps if s["name"] == "Scope")
    assert scope["detail"] == "In scope"


def test_rows_written_before_keep_showing_their_text():
    assert step_detail({"name": "Scope", "status": "Success", "detail": "Im Geltungsbereich"}) == (
        "Im Geltungsbereich"
    )


def test_a_step_text_survives_pickle_and_copy():
    import copy
    import pickle

    text = LogText("Created 42", {"id": "Created %(id)s", "params": {"id": "42"}})
    for clone in (pickle.loads(pickle.dumps(text)), copy.deepcopy(text)):
        assert clone == "Created 42" and clone.data == text.data


def test_a_step_text_keeps_its_message_through_formatting_and_joining():
    with translation.override("zh-hant"):
        text = LogText("x", {"id": "In scope"}) + "; " + LogText("y", {"id": "Created %(id)s"})
        assert text.data == {"join": [{"id": "In scope"}, "; ", {"id": "Created %(id)s"}]}
        assert english(text) == "In scope; Created %(id)s"
        assert render({"id": "Created %(id)s", "params": {"id": "42"}}).endswith("42")
        assert "Created" not in render({"id": "Created %(id)s", "params": {"id": "42"}})
        # a translation that does not fit its placeholders falls back to the English text
        assert render({"id": "Created %(id)s", "params": {}}) == "Created %(id)s"


def test_a_cycle_error_and_quarantine_detail_read_in_the_readers_language(
    app, scim, make_connector, client
):
    from provisioning.models import ProvisioningJob, SyncCycle

    job = app.provisioning_job
    job.credentials = {**scim.credentials, "secret_token": "wrong"}
    job.save()
    assign(app, DirectoryUserFactory(user_principal_name="ada@contoso.example"))
    with translation.override("en"):
        run_cycle(job, connector=make_connector(token="wrong"), initial=True)
    cycle = SyncCycle.objects.get(job=job)
    job = ProvisioningJob.objects.get(pk=job.pk)
    assert cycle.error and cycle.error_message, cycle.error
    assert job.quarantine_detail == cycle.error and job.quarantine_message
    code = cycle.error.split(":")[0]
    admin(client, "zh-hant")
    page = client.get(reverse("sync-details", args=[app.pk])).content.decode()
    assert cycle.error not in page
    with translation.override("zh-hant"):
        chinese = cycle.error_text
        assert job.quarantine_detail_text == chinese
    assert chinese.startswith(f"{code}: ") and re.search(r"[\u4e00-\u9fff]", chinese)
    assert html.escape(chinese) in page or chinese in page
    with translation.override("en"):
        assert cycle.error_text == cycle.error


def test_engine_and_listing_errors_keep_their_message_to_translate():
    """The lease-lost error and the reconcile listing's paging errors are stored as messages, so
    a cycle that ended with one reads in the reader's language (they were English for all)."""
    from provisioning.connectors.errors import BadRequestError
    from provisioning.engine.cycle import LeaseLost
    from provisioning.engine.cycle import _ as engine_gettext
    from provisioning.log_text import error_text
    from provisioning.reconcile.reader import _ as reader_gettext

    with translation.override("en"):
        lost = LeaseLost(engine_gettext("The job's lease was lost; another worker took over."))
        paging = BadRequestError(
            reader_gettext("Listing stopped after too many pages."), code="PagingLimit"
        )
    for error in (lost, paging):
        stored, message = error_text(error)
        assert message is not None, stored
        with translation.override("zh-hant"):
            chinese = render(message)
        assert re.search(r"[\u4e00-\u9fff]", chinese), chinese
        assert render(message, translate=False) == stored
