"""Directory pages (issue 15): users, deleted users, groups and the CSV import, as a browser
drives them; auditors read everything and change nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from provisioning.choices import AuditActivity, LogAction, LogStatus, ObjectType
from provisioning.models import (
    AuditEvent,
    DirectoryGroup,
    DirectoryImport,
    DirectoryImportState,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
    ProvisioningLogEntry,
)
from provisioning.roles import ensure_roles
from provisioning.services import directory
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    MembershipFactory,
    assign,
    make_application,
)

pytestmark = pytest.mark.django_db


def login(client, role: str):
    administrators, auditors = ensure_roles()
    user = get_user_model().objects.create_user(username=f"{role}-user")
    user.groups.add(administrators if role == "admin" else auditors)
    client.force_login(user)
    return user


def test_users_list_searches_filters_and_pages_with_a_keyset(client):
    login(client, "auditor")
    boss = DirectoryUserFactory(display_name="Boss", department="Board")
    for n in range(60):
        DirectoryUserFactory(display_name=f"Person {n:02d}", department="Sales", manager=boss)
    DirectoryUserFactory(display_name="Zed", employee_id="E-77", account_enabled=False)
    page1 = client.get(reverse("directory-users")).content.decode()
    assert "Boss" in page1 and "Person 48" in page1 and "Person 49" not in page1
    assert "after=" in page1
    after = page1.split("after=")[1].split('"')[0].replace("&amp;", "&")
    page2 = client.get(reverse("directory-users") + "?after=" + after).content.decode()
    assert "Person 49" in page2 and "Zed" in page2 and "Person 48" not in page2
    found = client.get(reverse("directory-users"), {"q": "person 0"}).content.decode()
    assert "Person 00" in found and "Person 09" in found and "Person 10" not in found
    assert ">Boss</a>" not in found
    found = client.get(reverse("directory-users"), {"q": boss.user_principal_name[:6].upper()})
    assert ">Boss</a>" in found.content.decode()
    found = client.get(reverse("directory-users"), {"q": "E-77"}).content.decode()
    assert "Zed" in found and "Boss" not in found
    disabled = client.get(reverse("directory-users"), {"enabled": "no"}).content.decode()
    assert "Zed" in disabled and "Person 01" not in disabled
    no_manager = client.get(reverse("directory-users"), {"has_manager": "no"}).content.decode()
    assert "Boss" in no_manager and "Zed" in no_manager and "Person 01" not in no_manager
    board = client.get(reverse("directory-users"), {"department": "board"}).content.decode()
    assert "Boss" in board and "Zed" not in board
    assert client.get(reverse("directory-users") + "?after=garbage").status_code == 200


def test_user_page_shows_where_the_person_is_provisioned_and_why_not(client):
    login(client, "auditor")
    boss = DirectoryUserFactory(display_name="Boss Person")
    person = DirectoryUserFactory(display_name="Britta Simon", manager=boss)
    report = DirectoryUserFactory(display_name="Report Person", manager=person)
    group = DirectoryGroupFactory(display_name="Sales Team")
    MembershipFactory(group=group, member_user=person)
    provisioned = make_application("scim", "Contoso SCIM")
    provisioned.provisioning_job.mode = "Automatic"
    provisioned.provisioning_job.save()
    assign(provisioned, group)
    ProvisionedObject.objects.create(
        job=provisioned.provisioning_job,
        object_type=ObjectType.USER,
        source_id=person.pk,
        target_id="scim-id-42",
        last_exported={"userName": "britta@contoso.example"},
        failure_count=2,
        last_error="400 invalidValue",
    )
    ProvisioningLogEntry.objects.create(
        created_at=person.created_at,
        job=provisioned.provisioning_job,
        application_id=provisioned.pk,
        application_name=provisioned.name,
        object_type=ObjectType.USER,
        source_id=person.pk,
        source_display=person.display_name,
        action=LogAction.UPDATE,
        status=LogStatus.FAILURE,
        reason="The value is invalid.",
    )
    default_only = make_application("scim", "Default Only App")
    assign(default_only, person, role_name="Default Access")
    html = client.get(reverse("directory-user", args=[person.pk])).content.decode()
    assert "Boss Person" in html and "Report Person" in html and "Sales Team" in html
    assert "scim-id-42" in html and "britta@contoso.example" in html
    assert "through group Sales Team" in html
    assert "The value is invalid." in html and "2 failures in a row" in html
    assert "Default Only App" in html and "Default Access, which is not valid" in html
    assert "Provisioning status is Off." in html
    # Auditors see no commands.
    assert "Provision on demand" not in html and "Delete user" not in html
    assert report.manager_id == person.pk


def test_admin_creates_edits_disables_deletes_and_restores_a_user(client):
    admin = login(client, "admin")
    response = client.post(
        reverse("directory-user-create"),
        {
            "user_principal_name": "new@contoso.example",
            "display_name": "New Person",
            "account_enabled": "on",
        },
    )
    user = DirectoryUser.objects.get(user_principal_name="new@contoso.example")
    assert response.status_code == 302 and response["Location"].endswith(f"/users/{user.pk}/")
    bad = client.post(
        reverse("directory-user-edit", args=[user.pk]),
        {
            "user_principal_name": "new@contoso.example",
            "display_name": "New Person",
            "manager": "nobody@contoso.example",
        },
    )
    assert "No user has this user principal name." in bad.content.decode()
    client.post(
        reverse("directory-user-edit", args=[user.pk]),
        {
            "user_principal_name": "new@contoso.example",
            "display_name": "Renamed",
            "department": "Ops",
        },
    )
    client.post(reverse("directory-user-action", args=[user.pk, "disable"]))
    user.refresh_from_db()
    assert (user.display_name, user.department, user.account_enabled) == ("Renamed", "Ops", False)
    deleted = client.post(reverse("directory-user-action", args=[user.pk, "delete"]))
    assert deleted["Location"] == reverse("directory-deleted-users")
    listing = client.get(reverse("directory-deleted-users")).content.decode()
    assert "Renamed" in listing
    assert "Renamed" not in client.get(reverse("directory-users")).content.decode()
    client.post(reverse("directory-user-action", args=[user.pk, "restore"]))
    user.refresh_from_db()
    assert user.deleted_at is None
    changes = AuditEvent.objects.filter(actor=admin).exclude(activity=AuditActivity.SIGN_IN)
    assert set(changes.values_list("activity", flat=True)) == {
        AuditActivity.ADD_USER,
        AuditActivity.UPDATE_USER,
        AuditActivity.DISABLE_ACCOUNT,
        AuditActivity.DELETE_USER,
        AuditActivity.RESTORE_USER,
    }


def test_auditors_cannot_change_the_directory(client):
    login(client, "auditor")
    user = DirectoryUserFactory()
    group = DirectoryGroupFactory()
    assert client.get(reverse("directory-user-create")).status_code == 403
    assert client.get(reverse("directory-import-upload")).status_code == 403
    assert (
        client.post(reverse("directory-user-action", args=[user.pk, "delete"])).status_code == 403
    )
    assert client.post(reverse("directory-group-delete", args=[group.pk])).status_code == 403
    member = {"member": f"user:{user.pk}"}
    assert (
        client.post(reverse("directory-group-member-add", args=[group.pk]), member).status_code
        == 403
    )
    assert client.get(reverse("directory-groups")).status_code == 200
    assert client.get(reverse("directory-group", args=[group.pk])).status_code == 200
    user.refresh_from_db()
    assert user.deleted_at is None and not GroupMembership.objects.exists()


def test_admin_manages_groups_and_nested_members(client):
    login(client, "admin")
    client.post(
        reverse("directory-group-create"), {"display_name": "Engineering", "security_enabled": "on"}
    )
    group = DirectoryGroup.objects.get(display_name="Engineering")
    nested = DirectoryGroupFactory(display_name="Platform")
    person = DirectoryUserFactory(display_name="Ada Lovelace")
    page = client.get(reverse("directory-group", args=[group.pk]), {"q": "a"}).content.decode()
    assert f"user:{person.pk}" in page and f"group:{nested.pk}" in page
    client.post(
        reverse("directory-group-member-add", args=[group.pk]), {"member": f"user:{person.pk}"}
    )
    client.post(
        reverse("directory-group-member-add", args=[group.pk]), {"member": f"group:{nested.pk}"}
    )
    loop = client.post(
        reverse("directory-group-member-add", args=[nested.pk]),
        {"member": f"group:{group.pk}"},
        follow=True,
    ).content.decode()
    assert "cannot contain itself" in loop
    html = client.get(reverse("directory-group", args=[group.pk])).content.decode()
    assert "Ada Lovelace" in html and "Platform" in html
    client.post(
        reverse("directory-group-member-remove", args=[group.pk]), {"member": f"user:{person.pk}"}
    )
    assert list(GroupMembership.objects.values_list("member_group_id", flat=True)) == [nested.pk]
    client.post(reverse("directory-group-edit", args=[group.pk]), {"display_name": "Eng"})
    group.refresh_from_db()
    assert group.display_name == "Eng"
    client.post(reverse("directory-group-delete", args=[group.pk]))
    assert client.get(reverse("directory-group", args=[group.pk])).status_code == 404


USERS_CSV = (
    "userPrincipalName,displayName,mail,department,manager\n"
    "alex@contoso.example,Alex Wilber,alex@contoso.example,Sales,\n"
    "megan@contoso.example,Megan Bowen,megan@contoso.example,Sales,alex@contoso.example\n"
)
BAD_USERS_CSV = (
    "userPrincipalName,displayName,mail\n"
    "alex@contoso.example,Alex Wilber,not-a-mail\n"
    "no-at-sign,Nobody,\n"
)


def upload(client, name, text, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            reverse("directory-import-upload"),
            {"files": [SimpleUploadedFile(name, text.encode())]},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1  # the check is queued for a worker, not run here
    return DirectoryImport.objects.get()


def test_import_with_bad_rows_reports_each_and_changes_nothing(
    client, django_capture_on_commit_callbacks
):
    login(client, "admin")
    upload_row = upload(client, "users.csv", BAD_USERS_CSV, django_capture_on_commit_callbacks)
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "Checking the files" in page and "hx-trigger" in page
    directory.check_directory_import(str(upload_row.pk))  # what the worker runs
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "Rejected" in page and "nothing was changed" in page
    assert "users.csv, line 2, column mail" in page and "not-a-mail" in page
    assert "users.csv, line 3" in page and "no-at-sign" in page
    assert not DirectoryUser.objects.exists()
    assert client.post(reverse("directory-import-confirm", args=[upload_row.pk])).status_code == 302
    upload_row.refresh_from_db()
    assert upload_row.state == DirectoryImportState.REJECTED
    assert not upload_row.files.exists()


def test_good_import_is_checked_confirmed_run_and_audited(
    client, django_capture_on_commit_callbacks
):
    admin = login(client, "admin")
    upload_row = upload(client, "users.csv", USERS_CSV, django_capture_on_commit_callbacks)
    directory.check_directory_import(str(upload_row.pk))
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "Users: 2 created, 0 updated, 0 unchanged." in page and "Confirm import" in page
    assert not DirectoryUser.objects.exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("directory-import-confirm", args=[upload_row.pk]))
    assert len(callbacks) == 1
    upload_row.refresh_from_db()
    assert upload_row.state == DirectoryImportState.IMPORTING
    directory.run_directory_import(str(upload_row.pk), admin.pk)
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "The import is complete." in page and "hx-trigger" not in page
    megan = DirectoryUser.objects.get(user_principal_name="megan@contoso.example")
    assert megan.manager.user_principal_name == "alex@contoso.example"
    event = AuditEvent.objects.get(activity=AuditActivity.IMPORT_DIRECTORY)
    assert event.actor == admin and event.after["users"]["created"] == 2
    # A second confirmation does nothing.
    client.post(reverse("directory-import-confirm", args=[upload_row.pk]))
    assert AuditEvent.objects.filter(activity=AuditActivity.IMPORT_DIRECTORY).count() == 1


def test_the_import_report_is_written_in_the_uploaders_language(
    client, django_capture_on_commit_callbacks
):
    login(client, "admin")
    client.cookies["django_language"] = "zh-hant"
    upload_row = upload(client, "users.csv", BAD_USERS_CSV, django_capture_on_commit_callbacks)
    assert upload_row.rows == 2 and upload_row.language == "zh-hant"
    directory.check_directory_import(str(upload_row.pk))  # the worker, in English by default
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "已拒絕匯入 (2 個錯誤)；未變更任何內容。" in page
    assert "users.csv，第 2 行，資料行 mail：not-a-mail 不是有效的電子郵件地址" in page


def test_a_running_import_shows_its_progress_bar_and_json(
    client, django_capture_on_commit_callbacks
):
    login(client, "admin")
    upload_row = upload(client, "users.csv", USERS_CSV, django_capture_on_commit_callbacks)
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "<progress" in page and "Waiting for a worker" in page
    DirectoryImport.objects.filter(pk=upload_row.pk).update(
        phase="reading", progress_done=250, progress_total=1000
    )
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert 'max="1000" value="250"' in page and "Reading the rows: 250 of 1000 (25 %)" in page
    fragment = client.get(
        reverse("directory-import", args=[upload_row.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-testid="import-progress"' in fragment
    assert " style=" not in fragment and "<script" not in fragment and "<style" not in fragment
    answer = client.get(reverse("directory-import-progress", args=[upload_row.pk])).json()
    assert answer == {
        "state": "Checking",
        "running": True,
        "phase": "reading",
        "done": 250,
        "total": 1000,
        "percent": 25,
        "summary": [],
    }
    directory.check_directory_import(str(upload_row.pk))  # the worker's check ends it
    page = client.get(reverse("directory-import", args=[upload_row.pk])).content.decode()
    assert "<progress" not in page


def test_users_search_has_the_same_matches_on_every_database():
    """Prefix of a name, UPN or mail (any case, accents too), or the exact employee id; ``%``
    and ``_`` are plain characters; the recycle bin is searched apart."""
    from django.utils import timezone

    from provisioning.directory.search import search_users

    emile = DirectoryUserFactory(
        given_name="Émile", surname="Müller", display_name="Émile Müller", employee_id="E100"
    )
    megan = DirectoryUserFactory(
        given_name="Megan",
        surname="Bowen",
        display_name="Megan Bowen",
        user_principal_name="megan.b@contoso.example",
        mail="mb_1%@contoso.example",
        employee_id="E1000",
    )
    gone = DirectoryUserFactory(given_name="Megan", surname="Gone", display_name="Megan Gone")
    DirectoryUser.objects.filter(pk=gone.pk).update(deleted_at=timezone.now())

    def found(text, deleted=False):
        return set(search_users(text, deleted=deleted).values_list("pk", flat=True))

    assert found("émile") == found("ÉMILE") == found("müll") == {emile.pk}
    assert found("MEGAN.B@") == found("megan") == found("bow") == {megan.pk}
    assert found("mb_1%") == {megan.pk}
    assert found("mb%") == found("m_") == set()  # not wildcards
    assert found("E100") == {emile.pk}  # the employee id is matched whole, not as a prefix
    assert found("contoso") == set()  # a prefix, not a substring
    assert found("megan", deleted=True) == {gone.pk}
    assert found("") == {emile.pk, megan.pk}


def test_users_search_reads_indexes_on_sqlite_too():
    from django.db import connection

    from provisioning.directory.search import search_users

    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL's prefix indexes are migration 0011's")
    sql, params = search_users("megan").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row[3]) for row in cursor.fetchall())
    assert "MULTI-INDEX OR" in plan and "user_fold_display_name" in plan, plan
    assert "SCAN" not in plan, plan
