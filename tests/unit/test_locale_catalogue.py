"""The Traditional Chinese catalogue (B6, issue 15): every entry translated, none fuzzy, and the
compiled catalogue the portal loads matches it."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

CATALOGUE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


def read_catalogue(path: Path) -> list[dict]:
    """The entries of a .po file: {"flags", "msgctxt", "msgid", "msgid_plural", "msgstr": [...]}."""
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry = {"flags": set(), "msgctxt": None, "msgid": None, "msgid_plural": None}
        strings: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#,"):
                entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            elif line.startswith("#"):
                continue
            elif match := KEYWORD.match(line):
                key = match.group(1)
                strings[key] = ast.literal_eval(match.group(2))
            elif line.startswith('"') and key:
                strings[key] += ast.literal_eval(line)
        if "msgid" not in strings:
            continue
        entry.update(
            msgctxt=strings.get("msgctxt"),
            msgid=strings["msgid"],
            msgid_plural=strings.get("msgid_plural"),
            msgstr=[value for name, value in strings.items() if name.startswith("msgstr")],
        )
        entries.append(entry)
    return [e for e in entries if e["msgid"] and not e.get("obsolete")]


ENTRIES = read_catalogue(CATALOGUE)


def test_the_catalogue_has_entries():
    assert len(ENTRIES) > 600


def test_no_entry_is_empty_or_fuzzy():
    empty = [e["msgid"] for e in ENTRIES if not all(e["msgstr"]) or not e["msgstr"]]
    fuzzy = [e["msgid"] for e in ENTRIES if "fuzzy" in e["flags"]]
    assert not empty, f"{len(empty)} untranslated entries, e.g. {empty[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy entries, e.g. {fuzzy[:5]}"


def test_placeholders_are_kept():
    placeholder = re.compile(r"%(?:\([a-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdfxXr]")
    # Chinese has one plural form, used for every count: it carries the plural's placeholders
    # (the English singular may spell the number out, as in "lowered once").
    wrong = [
        e["msgid"]
        for e in ENTRIES
        if sorted(placeholder.findall(e["msgid_plural"] or e["msgid"]))
        != sorted(placeholder.findall(e["msgstr"][0]))
    ]
    assert not wrong, wrong[:5]


def test_the_compiled_catalogue_matches_the_source():
    """A .po edited without compilemessages leaves the portal in English."""
    stale = []
    with translation.override("zh-hant"):
        for e in ENTRIES:
            if e["msgid_plural"] is not None:
                got = translation.ngettext(e["msgid"], e["msgid_plural"], 1)
            elif e["msgctxt"] is not None:
                got = translation.pgettext(e["msgctxt"], e["msgid"])
            else:
                got = translation.gettext(e["msgid"])
            if got != e["msgstr"][0]:
                stale.append(e["msgid"])
    assert not stale, f"run compilemessages: {stale[:5]}"


@pytest.mark.parametrize("text", ["untranslated", "fuzzy"])
def test_the_check_fails_on_an_empty_or_fuzzy_entry(tmp_path, text):
    bad = tmp_path / "django.po"
    flag = "#, fuzzy\n" if text == "fuzzy" else ""
    msgstr = "舊的" if text == "fuzzy" else ""
    bad.write_text(f'{flag}msgid "Hello"\nmsgstr "{msgstr}"\n', encoding="utf-8")
    (entry,) = read_catalogue(bad)
    assert (not entry["msgstr"][0]) or "fuzzy" in entry["flags"]


def _gallery_texts() -> set[str]:
    from provisioning.gallery import all_templates

    texts = set()
    for template in all_templates():
        texts.add(template.description)
        texts.update(template.categories)
        texts.add(template.test_connection_hint)
        texts.add(template.notice)
        for credential in template.credential_fields:
            texts.update((credential.label, credential.help_text))
        for role in template.app_roles:
            texts.update((role.name, role.description))
    return {text for text in texts if text and not text.startswith("http")}


def test_every_gallery_text_is_marked_and_translated():
    from provisioning.gallery.messages import GALLERY_TEXTS

    translated = {e["msgid"] for e in ENTRIES}
    texts = _gallery_texts()
    assert not texts - set(GALLERY_TEXTS), "add them to provisioning/gallery/messages.py"
    assert not texts - translated, "run makemessages and translate them"


@pytest.mark.django_db
def test_gallery_texts_and_mapping_names_are_shown_in_the_pages_language(client):
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from provisioning.roles import ensure_roles
    from tests.factories import make_application

    administrators, _auditors = ensure_roles()
    admin = get_user_model().objects.create_user(username="tw-admin")
    admin.groups.add(administrators)
    client.force_login(admin)
    app = make_application("gotomeeting", "GoToMeeting")
    client.cookies["django_language"] = "zh-hant"
    html = client.get(reverse("provisioning", args=[app.pk])).content.decode()
    assert "Citrix GoToMeeting 管理員使用者名稱" in html
    assert "將 Azure Active Directory 使用者同步至 GoToMeeting" in html
    assert "Synchronize Azure Active Directory" not in html
    overview = client.get(reverse("application-overview", args=[app.pk])).content.decode()
    assert "線上會議。" in overview
    mapping = client.get(reverse("attribute-mappings", args=[app.pk, "users"])).content.decode()
    assert "Synchronize Azure Active Directory" not in mapping
    add = client.get(reverse("assignment-add", args=[app.pk])).content.decode()
    assert ">系統管理員</option>" in add and ">預設存取</option>" in add
