"""Directory export (F3): the import format, live objects only, round trips both ways."""

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from provisioning.directory.exporter import export_directory
from provisioning.directory.importer import import_directory
from provisioning.models import DirectoryGroup, DirectoryUser, GroupMembership
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, MembershipFactory

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
FILE_NAMES = ("groups.csv", "users.csv", "memberships.csv")


def exported_files(directory: Path) -> list[tuple[str, bytes]]:
    return [(name, (directory / name).read_bytes()) for name in FILE_NAMES]


def directory_content() -> dict:
    """The directory without ids and timestamps: what an import into another database must match."""
    users = {
        user.user_principal_name: (
            user.display_name,
            user.mail,
            user.given_name,
            user.surname,
            user.job_title,
            user.department,
            user.employee_id,
            user.mobile,
            user.country,
            user.preferred_language,
            user.manager.user_principal_name if user.manager else None,
            user.account_enabled,
            user.extension_attributes,
        )
        for user in DirectoryUser.objects.alive().select_related("manager")
    }
    groups = {
        group.display_name: (
            group.mail,
            group.mail_nickname,
            group.description,
            group.security_enabled,
        )
        for group in DirectoryGroup.objects.alive()
    }
    memberships = set(
        GroupMembership.objects.values_list(
            "group__display_name", "member_user__user_principal_name", "member_group__display_name"
        )
    )
    return {"users": users, "groups": groups, "memberships": memberships}


@pytest.mark.django_db
def test_export_writes_the_import_format_with_extension_columns_sorted(tmp_path):
    boss = DirectoryUserFactory(
        user_principal_name="boss@contoso.example",
        display_name="Boss, The",
        given_name="The",
        surname="Boss",
        job_title="CEO",
        department="",
        extension_attributes={"site": "Oslo", "costCenter": "CC-1"},
    )
    DirectoryUserFactory(
        user_principal_name="ann@contoso.example",
        display_name="Ann",
        given_name="Ann",
        surname="Lee",
        manager=boss,
        account_enabled=False,
        extension_attributes={"badge": 42},
    )
    group = DirectoryGroupFactory(
        display_name="Staff", mail_nickname="staff", description='The "whole" staff'
    )
    MembershipFactory(group=group, member_user=boss)
    MembershipFactory(
        group=group,
        member_user=None,
        member_group=DirectoryGroupFactory(display_name="Board", mail_nickname="board"),
    )

    counts = export_directory(tmp_path)

    assert counts == {"users": 2, "groups": 2, "memberships": 2}
    assert (tmp_path / "users.csv").read_text() == (
        "userPrincipalName,displayName,mail,givenName,surname,jobTitle,department,employeeId,mobile,"
        "country,preferredLanguage,manager,accountEnabled,extension_badge,extension_costCenter,"
        "extension_site\n"
        "ann@contoso.example,Ann,ann@contoso.example,Ann,Lee,Engineer,Engineering,,,,,"
        "boss@contoso.example,false,42,,\n"
        'boss@contoso.example,"Boss, The",boss@contoso.example,The,Boss,CEO,,,,,,,true,,CC-1,Oslo\n'
    )
    assert (tmp_path / "groups.csv").read_text() == (
        "displayName,mail,mailNickname,description,securityEnabled\n"
        "Board,,board,,true\n"
        'Staff,,staff,"The ""whole"" staff",true\n'
    )
    assert (tmp_path / "memberships.csv").read_text() == (
        "group,memberType,member\nStaff,group,Board\nStaff,user,boss@contoso.example\n"
    )


@pytest.mark.django_db
def test_export_then_import_into_an_empty_directory_reproduces_the_data(tmp_path):
    manager = DirectoryUserFactory(extension_attributes={"costCenter": "CC-7"})
    for _ in range(3):
        DirectoryUserFactory(manager=manager, mobile="+47 555 0100", country="Norway")
    DirectoryUserFactory(account_enabled=False, preferred_language="nb-NO", employee_id="E1")
    parent, child = DirectoryGroupFactory(security_enabled=False), DirectoryGroupFactory()
    MembershipFactory(group=parent, member_user=None, member_group=child)
    for user in DirectoryUser.objects.all():
        MembershipFactory(group=child, member_user=user)
    original = directory_content()
    export_directory(tmp_path)
    GroupMembership.objects.all().delete()
    DirectoryUser.objects.all().delete()
    DirectoryGroup.objects.all().delete()

    report = import_directory(exported_files(tmp_path))

    assert (report.users.created, report.groups.created, report.memberships.created) == (5, 2, 6)
    assert directory_content() == original


@pytest.mark.django_db
def test_import_then_export_reproduces_canonical_files_byte_for_byte(tmp_path):
    import_directory([(name, (SAMPLES / name).read_bytes()) for name in FILE_NAMES])

    export_directory(tmp_path)

    for name in FILE_NAMES:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


@pytest.mark.django_db
def test_export_leaves_out_the_recycle_bin(tmp_path):
    gone_manager = DirectoryUserFactory(user_principal_name="gone@contoso.example")
    kept = DirectoryUserFactory(user_principal_name="kept@contoso.example", manager=gone_manager)
    gone_manager.soft_delete()
    live_group = DirectoryGroupFactory(display_name="Live")
    gone_group = DirectoryGroupFactory(display_name="Gone")
    MembershipFactory(group=live_group, member_user=kept)
    MembershipFactory(group=live_group, member_user=gone_manager)
    MembershipFactory(group=live_group, member_user=None, member_group=gone_group)
    MembershipFactory(group=gone_group, member_user=kept)
    gone_group.soft_delete()

    counts = export_directory(tmp_path)

    assert counts == {"users": 1, "groups": 1, "memberships": 1}
    users = (tmp_path / "users.csv").read_text().splitlines()
    assert users[1].startswith("kept@contoso.example,") and ",,true" in users[1]  # no manager
    assert (tmp_path / "memberships.csv").read_text().splitlines()[1:] == [
        "Live,user,kept@contoso.example"
    ]
    # The export imports cleanly into the directory it came from, changing nothing but the
    # manager link to the user in the recycle bin.
    report = import_directory(exported_files(tmp_path))
    assert (report.users.updated, report.groups.unchanged, report.memberships.unchanged) == (
        1,
        1,
        1,
    )


@pytest.mark.django_db
def test_export_orders_rows_by_code_point_on_every_database(tmp_path):
    for upn in (
        "b@contoso.example",
        "a@contoso.example",
        "C@contoso.example",
        "_x@contoso.example",
    ):
        DirectoryUserFactory(user_principal_name=upn)
    for name in ("beta", "Zulu", "alpha", "Émile"):
        DirectoryGroupFactory(display_name=name)

    export_directory(tmp_path)

    users = [line.split(",")[0] for line in (tmp_path / "users.csv").read_text().splitlines()[1:]]
    assert (
        users
        == sorted(users)
        == [
            "C@contoso.example",
            "_x@contoso.example",
            "a@contoso.example",
            "b@contoso.example",
        ]
    )
    groups = [line.split(",")[0] for line in (tmp_path / "groups.csv").read_text().splitlines()[1:]]
    assert groups == ["Zulu", "alpha", "beta", "Émile"]


@pytest.mark.django_db
def test_export_command_writes_the_files_and_prints_the_counts(tmp_path):
    DirectoryUserFactory()
    out = StringIO()

    call_command("export_directory", "--output", str(tmp_path / "export"), stdout=out)

    assert out.getvalue().strip() == (
        f"Exported to {tmp_path / 'export'}: users 1, groups 0, memberships 0."
    )
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(FILE_NAMES)


@pytest.mark.django_db
def test_export_command_defaults_to_var_export(tmp_path, settings):
    settings.VAR_DIR = tmp_path

    call_command("export_directory", stdout=StringIO())

    assert (tmp_path / "export" / "users.csv").read_text().startswith("userPrincipalName,")


@pytest.mark.django_db(transaction=True)
def test_export_outside_a_transaction_reads_one_snapshot(tmp_path):
    # The command's own path: its transaction (REPEATABLE READ on PostgreSQL) holds the snapshot.
    import_directory([(name, (SAMPLES / name).read_bytes()) for name in FILE_NAMES])

    call_command("export_directory", "--output", str(tmp_path), stdout=StringIO())

    for name in FILE_NAMES:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


@pytest.mark.django_db
def test_export_neutralises_formula_cells_and_the_import_restores_them(tmp_path):
    DirectoryUserFactory(
        user_principal_name="mallory@contoso.example",
        display_name='=cmd|" /C calc"!A0',
        mobile="+47 555 0100",
        department="@SUM(1+1)",
        job_title="'=already quoted",
    )
    export_directory(tmp_path)
    text = (tmp_path / "users.csv").read_text(encoding="utf-8")
    assert "'=cmd|" in text and "'+47 555 0100" in text and "'@SUM(1+1)" in text
    for line in text.splitlines()[1:]:
        for cell in next(csv.reader([line])):
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell

    DirectoryUser.objects.all().delete()
    import_directory(exported_files(tmp_path))
    user = DirectoryUser.objects.get(user_principal_name="mallory@contoso.example")
    assert user.display_name == '=cmd|" /C calc"!A0'
    assert user.mobile == "+47 555 0100" and user.department == "@SUM(1+1)"
    assert user.job_title == "'=already quoted"
