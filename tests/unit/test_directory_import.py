"""Directory import (F3): all-or-nothing, a report of every bad row, idempotent re-import."""

import codecs
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from provisioning.directory.importer import ImportRejected, import_directory
from provisioning.models import DirectoryChange, DirectoryGroup, DirectoryUser, GroupMembership
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, MembershipFactory

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"
SAMPLE_NAMES = ("groups.csv", "users.csv", "memberships.csv")
USERS_HEADER = "userPrincipalName,displayName,mail,jobTitle,manager,accountEnabled"


def sample_files() -> list[tuple[str, bytes]]:
    return [(name, (SAMPLES / name).read_bytes()) for name in SAMPLE_NAMES]


def csv_file(name: str, *lines: str) -> tuple[str, bytes]:
    return name, ("\n".join(lines) + "\n").encode()


def directory_snapshot() -> dict:
    """Every stored value of users, groups and memberships, and the length of the change log."""
    return {
        "users": list(DirectoryUser.objects.order_by("id").values()),
        "groups": list(DirectoryGroup.objects.order_by("id").values()),
        "memberships": list(GroupMembership.objects.order_by("id").values()),
        "changes": DirectoryChange.objects.count(),
    }


@pytest.fixture
def existing_directory():
    """A directory with live and recycle-bin objects for rows to refer to."""
    ada = DirectoryUserFactory(user_principal_name="Ada@contoso.example", display_name="Ada")
    DirectoryUserFactory(user_principal_name="gone@contoso.example").soft_delete()
    engineering = DirectoryGroupFactory(display_name="Engineering")
    MembershipFactory(group=engineering, member_user=ada)
    DirectoryGroupFactory(display_name="Old Team").soft_delete()
    DirectoryGroupFactory(display_name="Twins")
    DirectoryGroupFactory(display_name="Twins")
    return ada


# --- creating ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_import_creates_users_groups_and_memberships_from_the_samples():
    report = import_directory(sample_files())

    assert (report.users.created, report.groups.created, report.memberships.created) == (5, 3, 6)
    adele = DirectoryUser.objects.get(user_principal_name="adele.vance@contoso.example")
    assert adele.manager.user_principal_name == "megan.bowen@contoso.example"
    assert adele.extension_attributes == {"costCenter": "CC-200"}
    assert adele.mobile == "+1 425 555 0102"
    joni = DirectoryUser.objects.get(user_principal_name="joni.sherman@contoso.example")
    assert (joni.display_name, joni.account_enabled, joni.extension_attributes) == (
        "Sherman, Joni",
        False,
        {},
    )
    assert DirectoryUser.objects.get(employee_id="E1005").display_name == "Zoë Müller"
    marketing = DirectoryGroup.objects.get(display_name="All Marketing")
    assert marketing.security_enabled is False
    assert set(
        marketing.memberships.values_list(
            "member_user__user_principal_name", "member_group__display_name"
        )
    ) == {
        (None, "Marketing Leads"),
        ("adele.vance@contoso.example", None),
        ("alex.wilber@contoso.example", None),
    }


@pytest.mark.django_db
def test_manager_may_come_later_in_the_file_or_be_an_existing_user(existing_directory):
    import_directory(
        [
            csv_file(
                "users.csv",
                USERS_HEADER,
                "bo@contoso.example,Bo,,,cy@contoso.example,",
                "cy@contoso.example,Cy,,,ADA@contoso.example,",
            )
        ]
    )

    bo = DirectoryUser.objects.get(user_principal_name="bo@contoso.example")
    assert bo.manager.user_principal_name == "cy@contoso.example"
    assert bo.manager.manager == existing_directory


@pytest.mark.django_db(transaction=True)
def test_import_commits_managers_and_members_created_in_the_same_import():
    # Outside a test transaction, so the deferred foreign-key checks really run at commit.
    import_directory(sample_files())

    assert DirectoryUser.objects.filter(manager__isnull=False).count() == 4
    assert GroupMembership.objects.count() == 6


@pytest.mark.django_db
def test_booleans_accept_true_false_yes_no_1_0_and_default_to_true():
    import_directory(
        [
            csv_file(
                "users.csv",
                "userPrincipalName,displayName,accountEnabled",
                "a@contoso.example,A,yes",
                "b@contoso.example,B,NO",
                "c@contoso.example,C,0",
                "d@contoso.example,D,1",
                "e@contoso.example,E,",
            )
        ]
    )

    enabled = dict(DirectoryUser.objects.values_list("display_name", "account_enabled"))
    assert enabled == {"A": True, "B": False, "C": False, "D": True, "E": True}


@pytest.mark.django_db
def test_byte_order_mark_and_whitespace_around_headers_and_values_are_accepted():
    raw = (
        codecs.BOM_UTF8
        + b" userPrincipalName , displayName \r\n carol@contoso.example , Carol \r\n"
    )

    import_directory([("users.csv", raw)])

    assert DirectoryUser.objects.get().user_principal_name == "carol@contoso.example"
    assert DirectoryUser.objects.get().display_name == "Carol"


# --- re-importing --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reimporting_the_same_files_changes_and_writes_nothing():
    import_directory(sample_files())
    before = directory_snapshot()

    report = import_directory(sample_files())

    assert vars(report.users) == {"created": 0, "updated": 0, "unchanged": 5}
    assert vars(report.groups) == {"created": 0, "updated": 0, "unchanged": 3}
    assert vars(report.memberships) == {"created": 0, "updated": 0, "unchanged": 6}
    assert directory_snapshot() == before  # also: no row added to the change log


@pytest.mark.django_db
def test_reimport_updates_only_the_changed_rows_matching_users_case_insensitively():
    import_directory(sample_files())
    before = directory_snapshot()
    users = (SAMPLES / "users.csv").read_text().replace("Paralegal", "Lawyer")
    users = users.replace(
        "alex.wilber@contoso.example,Alex Wilber", "Alex.Wilber@contoso.example,Alex Wilber"
    )
    groups = (
        (SAMPLES / "groups.csv").read_text().replace("Everyone in Marketing", "All of Marketing")
    )

    report = import_directory([("groups.csv", groups.encode()), ("users.csv", users.encode())])

    assert vars(report.users) == {"created": 0, "updated": 2, "unchanged": 3}
    assert vars(report.groups) == {"created": 0, "updated": 1, "unchanged": 2}
    assert (
        DirectoryUser.objects.get(user_principal_name="joni.sherman@contoso.example").job_title
        == "Lawyer"
    )
    assert DirectoryUser.objects.filter(user_principal_name="Alex.Wilber@contoso.example").exists()
    assert DirectoryUser.objects.count() == 5
    assert (
        DirectoryGroup.objects.get(display_name="All Marketing").description == "All of Marketing"
    )
    assert DirectoryChange.objects.count() == before["changes"] + 3
    untouched = DirectoryUser.objects.get(user_principal_name="megan.bowen@contoso.example")
    assert (
        untouched.updated_at
        == next(u for u in before["users"] if u["id"] == untouched.pk)["updated_at"]
    )


@pytest.mark.django_db
def test_absent_columns_and_empty_booleans_keep_values_while_empty_cells_clear_them():
    ada = DirectoryUserFactory(
        user_principal_name="ada@contoso.example",
        department="Research",
        job_title="Engineer",
        account_enabled=False,
        extension_attributes={"costCenter": "CC-1", "site": "Oslo"},
    )

    import_directory(
        [
            csv_file(
                "users.csv",
                "userPrincipalName,displayName,jobTitle,accountEnabled,extension_costCenter",
                "ada@contoso.example,Ada L.,,,",
            )
        ]
    )

    ada.refresh_from_db()
    assert (ada.display_name, ada.job_title, ada.department) == ("Ada L.", "", "Research")
    assert ada.account_enabled is False
    assert ada.extension_attributes == {"site": "Oslo"}


@pytest.mark.django_db
def test_import_never_deletes_users_groups_or_memberships(existing_directory):
    before = directory_snapshot()

    import_directory(sample_files())

    assert DirectoryUser.objects.count() == len(before["users"]) + 5
    assert GroupMembership.objects.filter(member_user=existing_directory).exists()
    assert DirectoryGroup.objects.filter(display_name="Engineering").exists()


@pytest.mark.django_db
def test_memberships_may_refer_to_existing_users_and_groups(existing_directory):
    report = import_directory(
        [
            csv_file(
                "memberships.csv", "group,memberType,member", "Engineering,user,ada@CONTOSO.example"
            )
        ]
    )

    assert vars(report.memberships) == {"created": 0, "updated": 0, "unchanged": 1}
    report = import_directory(
        [
            csv_file("groups.csv", "displayName", "Platform"),
            csv_file("memberships.csv", "group,memberType,member", "Engineering,group,Platform"),
        ]
    )
    assert report.memberships.created == 1
    assert GroupMembership.objects.filter(
        group__display_name="Engineering", member_group__display_name="Platform"
    ).exists()


@pytest.mark.django_db
def test_dry_run_reports_the_counts_and_changes_nothing(existing_directory):
    before = directory_snapshot()

    report = import_directory(sample_files(), dry_run=True)

    assert (report.users.created, report.groups.created, report.memberships.created) == (5, 3, 6)
    assert report.dry_run
    assert directory_snapshot() == before


@pytest.mark.django_db
def test_a_large_import_batches_its_queries_instead_of_one_per_row(django_assert_max_num_queries):
    users = [
        f"user{n}@contoso.example,User {n},user{n}@contoso.example,,user0@contoso.example,"
        for n in range(1, 600)
    ]
    members = [f"Everyone,user,user{n}@contoso.example" for n in range(600)]
    files = [
        csv_file("groups.csv", "displayName", "Everyone"),
        csv_file("users.csv", USERS_HEADER, "user0@contoso.example,User 0,,,,", *users),
        csv_file("memberships.csv", "group,memberType,member", *members),
    ]

    # 1,200 rows; SQLite's 999-parameter limit makes its insert batches small.
    with django_assert_max_num_queries(30):
        report = import_directory(files)

    assert (report.users.created, report.memberships.created) == (600, 600)
    with django_assert_max_num_queries(10):
        assert import_directory(files).users.unchanged == 600


# --- rejecting -----------------------------------------------------------------------------------

REJECTED_CASES = {
    "unknown column": (
        [csv_file("users.csv", "userPrincipalName,displayName,nickname", "a@contoso.example,A,a")],
        [(1, "", "unknown column(s) in the header of a users file: 'nickname'")],
    ),
    "column names are case-sensitive": (
        [csv_file("users.csv", "userprincipalname,displayName", "a@contoso.example,A")],
        [
            (
                1,
                "",
                "unknown column(s) in the header of a groups file: 'userprincipalname' (userPrincipalName?)",
            )
        ],
    ),
    "users header without displayName": (
        [csv_file("users.csv", "userPrincipalName,mail", "a@contoso.example,a@contoso.example")],
        [(1, "", "lacks the column(s) displayName")],
    ),
    "memberships header not exact": (
        [csv_file("memberships.csv", "group,member", "Engineering,ada@contoso.example")],
        [(1, "", "header must be exactly group,memberType,member")],
    ),
    "header of no kind": (
        [csv_file("users.csv", "name,email", "a,a@contoso.example")],
        [(1, "", "cannot tell the kind of file")],
    ),
    "repeated column": (
        [csv_file("users.csv", "userPrincipalName,displayName,mail,mail", "a@contoso.example,A,,")],
        [(1, "", "repeated column(s) in the header: mail")],
    ),
    "empty file": ([("users.csv", b"")], [(1, "", "the file is empty")]),
    "duplicate userPrincipalName, any case": (
        [
            csv_file(
                "users.csv",
                USERS_HEADER,
                "a@contoso.example,A,,,,",
                "x@contoso.example,X,,,,",
                "A@Contoso.example,A2,,,,",
            )
        ],
        [
            (
                4,
                "userPrincipalName",
                "duplicate userPrincipalName A@Contoso.example, first given on line 2 of users.csv",
            )
        ],
    ),
    "duplicate group": (
        [csv_file("more-groups.csv", "displayName", "Legal")],
        [(2, "displayName", "duplicate group Legal, first given on line 3 of groups.csv")],
    ),
    "unknown manager": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,,,nobody@contoso.example,")],
        [(2, "manager", "manager nobody@contoso.example does not exist")],
    ),
    "manager in the recycle bin": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,,,gone@contoso.example,")],
        [(2, "manager", "manager gone@contoso.example is in the recycle bin")],
    ),
    "own manager": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,,,A@contoso.example,")],
        [(2, "manager", "a user cannot be their own manager")],
    ),
    "user in the recycle bin": (
        [csv_file("users.csv", USERS_HEADER, "Gone@contoso.example,Back,,,,")],
        [(2, "userPrincipalName", "user Gone@contoso.example is in the recycle bin")],
    ),
    "group in the recycle bin": (
        [csv_file("more-groups.csv", "displayName,description", "Old Team,revived")],
        [(2, "displayName", "group Old Team is in the recycle bin")],
    ),
    "ambiguous group": (
        [csv_file("memberships.csv", "group,memberType,member", "Twins,user,ada@contoso.example")],
        [(2, "group", "group Twins is ambiguous: 2 objects in the directory have that name")],
    ),
    "unknown group": (
        [csv_file("memberships.csv", "group,memberType,member", "Nope,user,ada@contoso.example")],
        [(2, "group", "group Nope does not exist")],
    ),
    "unknown member": (
        [
            csv_file(
                "memberships.csv",
                "group,memberType,member",
                "Legal,user,nobody@contoso.example",
                "Legal,group,Nope",
                "Legal,group,Old Team",
            )
        ],
        [
            (2, "member", "user nobody@contoso.example does not exist"),
            (3, "member", "group Nope does not exist"),
            (4, "member", "group Old Team is in the recycle bin"),
        ],
    ),
    "group member of itself": (
        [csv_file("memberships.csv", "group,memberType,member", "Legal,group,Legal")],
        [(2, "member", "a group cannot be a member of itself")],
    ),
    "bad member type": (
        [csv_file("memberships.csv", "group,memberType,member", "Legal,robot,ada@contoso.example")],
        [(2, "memberType", "robot is not a member type")],
    ),
    "duplicate membership": (
        [
            csv_file(
                "memberships.csv",
                "group,memberType,member",
                "Legal,user,ada@contoso.example",
                "Legal,user,ADA@contoso.example",
            )
        ],
        [(3, "member", "duplicate membership, first given on line 2 of memberships.csv")],
    ),
    "invalid e-mail": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,not-an-address,,,")],
        [(2, "mail", "not-an-address is not a valid e-mail address")],
    ),
    "invalid group e-mail": (
        [csv_file("more-groups.csv", "displayName,mail", "Sales,sales@")],
        [(2, "mail", "sales@ is not a valid e-mail address")],
    ),
    "invalid user principal name": (
        [csv_file("users.csv", USERS_HEADER, "a b@contoso.example,A,,,,")],
        [(2, "userPrincipalName", "a b@contoso.example is not a valid user principal name")],
    ),
    "missing display name": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,,,,,")],
        [(2, "displayName", "a value is required")],
    ),
    "bad boolean": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,,,,maybe")],
        [(2, "accountEnabled", "maybe is not true/false, yes/no or 1/0")],
    ),
    "over-long field": (
        [csv_file("users.csv", USERS_HEADER, f"a@contoso.example,A,,{'x' * 129},,")],
        [(2, "jobTitle", "is 129 characters long; at most 128 are allowed")],
    ),
    "over-long employeeId": (
        [
            csv_file(
                "users.csv",
                "userPrincipalName,displayName,employeeId",
                "a@contoso.example,A,E12345678901234567",
            )
        ],
        [(2, "employeeId", "is 18 characters long; at most 16 are allowed")],
    ),
    "latin-1 instead of UTF-8": (
        [
            (
                "users.csv",
                "userPrincipalName,displayName\nzoe@contoso.example,Zoë\n".encode("latin-1"),
            )
        ],
        [(2, "", "the file is not valid UTF-8: byte 0xEB at byte offset 52")],
    ),
    "UTF-16": (
        [("users.csv", "userPrincipalName,displayName\n".encode("utf-16"))],
        [(1, "", "the file is not valid UTF-8: byte 0xFF at byte offset 0")],
    ),
    "wrong number of cells": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,,,")],
        [(2, "", "the row has 5 cells but the header has 6")],
    ),
    "unterminated quote": (
        [csv_file("users.csv", USERS_HEADER, 'a@contoso.example,"A,,,,')],
        [(2, "", "the file is not valid CSV")],
    ),
    "NUL in a userPrincipalName": (
        [csv_file("users.csv", USERS_HEADER, "a\x00@contoso.example,A,,,,")],
        [(2, "userPrincipalName", "contains the control character U+0000 (control character)")],
    ),
    "NUL in a membership": (
        [
            csv_file(
                "memberships.csv", "group,memberType,member", "Le\x00gal,user,a\x00@contoso.example"
            )
        ],
        [
            (2, "group", "contains the control character U+0000 (control character)"),
            (2, "member", "contains the control character U+0000 (control character)"),
        ],
    ),
    "invalid member userPrincipalName": (
        [csv_file("memberships.csv", "group,memberType,member", "Legal,user,Joni Sherman")],
        [(2, "member", "Joni Sherman is not a valid user principal name")],
    ),
    "NUL character": (
        [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A\x00,,,,")],
        [(2, "displayName", "contains the control character U+0000 (control character)")],
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("bad_files, expected", REJECTED_CASES.values(), ids=REJECTED_CASES.keys())
def test_a_bad_file_is_rejected_with_its_bad_rows_and_changes_nothing(
    existing_directory, bad_files, expected
):
    # Good files go along with the bad one: the whole import is refused, not only the bad file.
    files = sample_files() + bad_files
    before = directory_snapshot()

    with pytest.raises(ImportRejected) as rejected:
        import_directory(files)

    found = [
        (error.file, error.line, error.column, error.message) for error in rejected.value.errors
    ]
    assert len(found) == len(expected), found
    for (file, line, column, message), (expected_line, expected_column, fragment) in zip(
        found, expected, strict=True
    ):
        assert (file, line, column) == (bad_files[0][0], expected_line, expected_column)
        assert fragment in message
    assert directory_snapshot() == before


@pytest.mark.django_db
def test_every_bad_row_is_reported_at_once():
    files = [
        csv_file(
            "users.csv",
            USERS_HEADER,
            "a@contoso.example,A,not-mail,,nobody@contoso.example,",
            "b@contoso.example,B,,,,",
            "c@contoso.example,C,,,c@contoso.example,perhaps",
        ),
        csv_file("memberships.csv", "group,memberType,member", "Nope,user,b@contoso.example"),
    ]

    with pytest.raises(ImportRejected) as rejected:
        import_directory(files)

    assert [str(error) for error in rejected.value.errors] == [
        "users.csv, line 2, column mail: not-mail is not a valid e-mail address",
        "users.csv, line 2, column manager: manager nobody@contoso.example does not exist",
        "users.csv, line 4, column accountEnabled: perhaps is not true/false, yes/no or 1/0",
        "users.csv, line 4, column manager: a user cannot be their own manager",
        "memberships.csv, line 2, column group: group Nope does not exist",
    ]
    assert not DirectoryUser.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_rejects_bad_files_too():
    with pytest.raises(ImportRejected):
        import_directory(
            [csv_file("users.csv", USERS_HEADER, "a@contoso.example,A,bad,,,")], dry_run=True
        )


# --- the command ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_command_imports_files_and_prints_the_counts():
    out = StringIO()

    call_command("import_directory", *(str(SAMPLES / name) for name in SAMPLE_NAMES), stdout=out)

    assert out.getvalue().splitlines() == [
        "Users: 5 created, 0 updated, 0 unchanged.",
        "Groups: 3 created, 0 updated, 0 unchanged.",
        "Memberships: 6 created, 0 unchanged.",
    ]
    assert DirectoryUser.objects.count() == 5


@pytest.mark.django_db
def test_command_dry_run_changes_nothing():
    out = StringIO()

    call_command("import_directory", str(SAMPLES / "users.csv"), "--dry-run", stdout=out)

    assert "Dry run: nothing was changed." in out.getvalue()
    assert not DirectoryUser.objects.exists()


@pytest.mark.django_db
def test_command_prints_the_rejected_rows_on_stderr_and_fails(tmp_path, existing_directory):
    bad = tmp_path / "users.csv"
    bad.write_text(f"{USERS_HEADER}\nnew@contoso.example,New,,,,\nb@contoso.example,B,oops,,,\n")
    before = directory_snapshot()
    err = StringIO()

    with pytest.raises(CommandError, match=r"rejected \(1 error\); nothing was changed"):
        call_command("import_directory", str(bad), stderr=err)

    assert err.getvalue().splitlines() == [
        f"{bad}, line 3, column mail: oops is not a valid e-mail address"
    ]
    assert directory_snapshot() == before


@pytest.mark.django_db
def test_command_fails_on_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_directory", str(tmp_path / "missing.csv"))
