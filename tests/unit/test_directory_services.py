"""services.directory (issue 15): the directory writes the portal pages and the API share."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from provisioning.choices import AuditActivity
from provisioning.models import (
    AuditEvent,
    DirectoryChange,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
    ProvisionedObject,
)
from provisioning.services import directory
from tests.factories import DirectoryGroupFactory, DirectoryUserFactory, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def actor():
    return get_user_model().objects.create_user(username="ada")


def test_create_user_writes_the_user_and_an_audit_event_with_its_channel(actor):
    manager = DirectoryUserFactory()
    user = directory.create_user(
        {
            "user_principal_name": "Britta.Simon@contoso.example",
            "display_name": "Britta Simon",
            "department": "Sales",
            "manager": manager,
        },
        actor=actor,
        channel="api:ci-token",
    )
    user.refresh_from_db()
    assert user.manager_id == manager.pk and user.department == "Sales"
    event = AuditEvent.objects.get(activity=AuditActivity.ADD_USER)
    assert event.actor == actor and event.channel == "api:ci-token"
    assert event.target == "Britta.Simon@contoso.example"
    assert event.after["manager"] == manager.user_principal_name


def test_create_user_refuses_a_duplicate_upn_in_any_case_and_changes_nothing(actor):
    DirectoryUserFactory(user_principal_name="b.simon@contoso.example")
    with pytest.raises(ValidationError) as error:
        directory.create_user(
            {"user_principal_name": "B.SIMON@contoso.example", "display_name": "B"}, actor=actor
        )
    assert "user_principal_name" in error.value.message_dict
    assert DirectoryUser.objects.count() == 1
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "data, field",
    [
        ({"user_principal_name": "not an upn", "display_name": "X"}, "user_principal_name"),
        ({"user_principal_name": "x@contoso.example", "display_name": ""}, "display_name"),
        ({"user_principal_name": "x@contoso.example", "display_name": "X", "mail": "no"}, "mail"),
        ({"user_principal_name": "x@c.example", "display_name": "X", "colour": "red"}, "colour"),
        ({"user_principal_name": "x@c.example", "display_name": "X", "manager": "nope"}, "manager"),
        (
            {"user_principal_name": "x@c.example", "display_name": "X", "account_enabled": "y"},
            "account_enabled",
        ),
    ],
)
def test_create_user_reports_bad_input_by_field(actor, data, field):
    with pytest.raises(ValidationError) as error:
        directory.create_user(data, actor=actor)
    assert field in error.value.message_dict
    assert not DirectoryUser.objects.exists()


def test_update_user_refuses_a_manager_loop(actor):
    boss = DirectoryUserFactory()
    report = DirectoryUserFactory(manager=boss)
    with pytest.raises(ValidationError) as error:
        directory.update_user(boss, {"manager": report}, actor=actor)
    assert "manager" in error.value.message_dict
    boss.refresh_from_db()
    assert boss.manager_id is None


def test_update_user_writes_only_what_changed_and_nothing_when_nothing_did(actor):
    user = DirectoryUserFactory(department="Sales")
    seq_before = DirectoryChange.objects.count()
    assert directory.update_user(user, {"department": "Sales"}, actor=actor) is False
    assert DirectoryChange.objects.count() == seq_before  # no UPDATE reached the change log
    assert directory.update_user(user, {"department": "Finance"}, actor=actor) is True
    event = AuditEvent.objects.get(activity=AuditActivity.UPDATE_USER)
    assert event.before == {"department": "Sales"} and event.after == {"department": "Finance"}


def test_disable_enable_soft_delete_and_restore_are_audited(actor):
    user = DirectoryUserFactory()
    assert directory.disable_user(user, actor=actor) is True
    assert directory.disable_user(user, actor=actor) is False
    assert user.account_enabled is False
    assert directory.enable_user(user, actor=actor) is True
    directory.soft_delete_user(user, actor=actor)
    assert DirectoryUser.objects.in_recycle_bin().filter(pk=user.pk).exists()
    with pytest.raises(ValidationError):
        directory.update_user(user, {"department": "X"}, actor=actor)
    directory.restore_user(user, actor=actor)
    assert DirectoryUser.objects.alive().filter(pk=user.pk).exists()
    activities = list(AuditEvent.objects.order_by("id").values_list("activity", flat=True))
    assert activities == [
        AuditActivity.DISABLE_ACCOUNT,
        AuditActivity.ENABLE_ACCOUNT,
        AuditActivity.DELETE_USER,
        AuditActivity.RESTORE_USER,
    ]


def test_restore_is_refused_after_30_days(actor):
    user = DirectoryUserFactory()
    DirectoryUser.objects.filter(pk=user.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    user.refresh_from_db()
    with pytest.raises(ValidationError):
        directory.restore_user(user, actor=actor)
    assert DirectoryUser.objects.in_recycle_bin().filter(pk=user.pk).exists()


def test_purge_hard_deletes_only_objects_past_the_recycle_bin_and_keeps_links(actor):
    old = DirectoryUserFactory()
    recent = DirectoryUserFactory()
    old_group = DirectoryGroupFactory()
    app = make_application("scim", "Contoso")
    ProvisionedObject.objects.create(
        job=app.provisioning_job, object_type="user", source_id=old.pk, target_id="t-1"
    )
    now = timezone.now()
    DirectoryUser.objects.filter(pk=old.pk).update(deleted_at=now - timedelta(days=30, hours=1))
    DirectoryUser.objects.filter(pk=recent.pk).update(deleted_at=now - timedelta(days=29))
    DirectoryGroup.objects.filter(pk=old_group.pk).update(deleted_at=now - timedelta(days=40))
    counts = directory.purge_deleted_directory_objects(now=now)
    assert counts == {"users": 1, "groups": 1, "imports": 0}
    assert not DirectoryUser.objects.filter(pk=old.pk).exists()
    assert DirectoryUser.objects.filter(pk=recent.pk).exists()
    # The engine still knows the account, to delete it in the application.
    assert ProvisionedObject.objects.filter(source_id=old.pk).exists()
    assert (
        AuditEvent.objects.filter(activity=AuditActivity.HARD_DELETE_USER, channel="system").count()
        == 1
    )


def test_groups_create_update_delete_and_unique_live_names(actor):
    group = directory.create_group({"display_name": "Sales", "description": "All"}, actor=actor)
    with pytest.raises(ValidationError) as error:
        directory.create_group({"display_name": "Sales"}, actor=actor)
    assert "display_name" in error.value.message_dict
    assert directory.update_group(group, {"description": "Everyone in sales"}, actor=actor)
    directory.delete_group(group, actor=actor)
    assert DirectoryGroup.objects.in_recycle_bin().filter(pk=group.pk).exists()
    # A deleted group's name is free again.
    directory.create_group({"display_name": "Sales"}, actor=actor)


def test_members_users_and_nested_groups_with_loops_and_duplicates_refused(actor):
    outer, inner = DirectoryGroupFactory(), DirectoryGroupFactory()
    user = DirectoryUserFactory()
    directory.add_group_member(outer, inner, actor=actor)
    directory.add_group_member(inner, user, actor=actor)
    with pytest.raises(ValidationError):
        directory.add_group_member(inner, user, actor=actor)
    with pytest.raises(ValidationError):
        directory.add_group_member(inner, outer, actor=actor)  # would be a loop
    with pytest.raises(ValidationError):
        directory.add_group_member(outer, outer, actor=actor)
    directory.remove_group_member(inner, user, actor=actor)
    with pytest.raises(ValidationError):
        directory.remove_group_member(inner, user, actor=actor)
    assert list(GroupMembership.objects.values_list("group_id", "member_group_id")) == [
        (outer.pk, inner.pk)
    ]
    assert AuditEvent.objects.filter(activity=AuditActivity.ADD_MEMBER).count() == 2
    assert AuditEvent.objects.filter(activity=AuditActivity.REMOVE_MEMBER).count() == 1


def test_purge_cancels_uploads_never_confirmed_and_drops_their_files(actor):
    from provisioning.models import DirectoryImport, DirectoryImportFile, DirectoryImportState

    old = DirectoryImport.objects.create(state=DirectoryImportState.READY)
    DirectoryImportFile.objects.create(directory_import=old, position=0, name="u.csv", content=b"x")
    fresh = DirectoryImport.objects.create(state=DirectoryImportState.READY)
    DirectoryImportFile.objects.create(
        directory_import=fresh, position=0, name="u.csv", content=b"x"
    )
    DirectoryImport.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert directory.purge_deleted_directory_objects()["imports"] == 1
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.state == DirectoryImportState.CANCELLED and not old.files.exists()
    assert fresh.state == DirectoryImportState.READY and fresh.files.exists()


def test_the_purge_runs_daily_from_beat_and_its_task_is_registered():
    from django.conf import settings

    from portal.celery import app
    from provisioning import tasks

    entry = settings.CELERY_BEAT_SCHEDULE["purge-deleted-directory-objects-daily"]
    assert entry["task"] == tasks.purge_deleted_directory_objects.name
    assert entry["schedule"].hour == {3}
    assert entry["task"] in app.tasks
    assert tasks.check_directory_import.name in app.tasks
    assert tasks.run_directory_import.name in app.tasks
