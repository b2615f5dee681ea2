"""Every directory change is findable from a monotonic watermark (F16), bulk writes included."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from provisioning.directory.changes import changes_between, current_watermark
from provisioning.models import (
    Assignment,
    DirectoryGroup,
    DirectoryUser,
    GroupMembership,
)
from tests.factories import (
    DirectoryGroupFactory,
    DirectoryUserFactory,
    MembershipFactory,
    assign,
    make_application,
)


def changes_since(mark: int) -> list[tuple[str, str, object]]:
    return [
        (c.changed_object, c.operation, c.user_id or c.group_id)
        for c in changes_between(mark, current_watermark())
    ]


@pytest.mark.django_db
def test_watermark_sees_an_update_made_through_save():
    user = DirectoryUserFactory()
    mark = current_watermark()
    user.department = "Legal"
    user.save()
    assert changes_since(mark) == [("user", "U", user.pk)]
    assert current_watermark() > mark


@pytest.mark.django_db
def test_watermark_sees_bulk_create_queryset_update_and_bulk_update():
    mark = current_watermark()
    created = DirectoryUser.objects.bulk_create(
        [
            DirectoryUser(user_principal_name=f"bulk{i}@x.example", display_name="B")
            for i in range(3)
        ]
    )
    assert [c for c in changes_since(mark)] == [("user", "I", u.pk) for u in created]

    mark = current_watermark()
    DirectoryUser.objects.filter(pk__in=[u.pk for u in created]).update(account_enabled=False)
    assert sorted(changes_since(mark)) == sorted(("user", "U", u.pk) for u in created)

    mark = current_watermark()
    for user in created:
        user.job_title = "Bulk"
    DirectoryUser.objects.bulk_update(created, ["job_title"])
    assert len(changes_since(mark)) == 3


@pytest.mark.django_db
def test_watermark_sees_membership_changes_with_group_and_member():
    group = DirectoryGroupFactory()
    user = DirectoryUserFactory()
    mark = current_watermark()
    membership = GroupMembership.objects.create(group=group, member_user=user)
    change = changes_between(mark, current_watermark()).get()
    assert (change.changed_object, change.operation) == ("membership", "I")
    assert (change.group_id, change.user_id) == (group.pk, user.pk)

    mark = current_watermark()
    GroupMembership.objects.filter(pk=membership.pk).delete()
    change = changes_between(mark, current_watermark()).get()
    assert (change.changed_object, change.operation, change.group_id, change.user_id) == (
        "membership",
        "D",
        group.pk,
        user.pk,
    )


@pytest.mark.django_db
def test_watermark_sees_assignment_changes_including_bulk_deletes():
    app = make_application("scim", "Watermarked")
    user = DirectoryUserFactory()
    group = DirectoryGroupFactory()
    mark = current_watermark()
    assign(app, user)
    assign(app, group)
    inserted = list(changes_between(mark, current_watermark()))
    assert [(c.changed_object, c.operation, c.application_id) for c in inserted] == [
        ("assignment", "I", app.pk),
        ("assignment", "I", app.pk),
    ]
    assert inserted[0].user_id == user.pk and inserted[1].group_id == group.pk

    mark = current_watermark()
    Assignment.objects.filter(application=app).delete()
    deleted = list(changes_between(mark, current_watermark()))
    assert {(c.operation, c.user_id, c.group_id) for c in deleted} == {
        ("D", user.pk, None),
        ("D", None, group.pk),
    }


@pytest.mark.django_db
def test_watermark_sees_soft_delete_restore_and_hard_delete_with_its_cascades():
    user = DirectoryUserFactory()
    membership = MembershipFactory(member_user=user)
    mark = current_watermark()
    user.soft_delete()
    user.restore()
    assert changes_since(mark) == [("user", "U", user.pk), ("user", "U", user.pk)]

    mark = current_watermark()
    DirectoryUser.objects.filter(pk=user.pk).delete()
    seen = [
        (c.changed_object, c.operation, c.user_id, c.group_id)
        for c in changes_between(mark, current_watermark())
    ]
    assert ("user", "D", user.pk, None) in seen
    assert ("membership", "D", user.pk, membership.group_id) in seen
    mark = current_watermark()
    DirectoryGroup.objects.filter(pk=membership.group_id).delete()
    assert changes_since(mark) == [("group", "D", membership.group_id)]


@pytest.mark.django_db
def test_a_rolled_back_change_leaves_no_change_row():
    mark = current_watermark()
    with pytest.raises(RuntimeError), transaction.atomic():
        DirectoryUserFactory()
        raise RuntimeError
    assert changes_since(mark) == []


def lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_commit_in_sequence_order_on_postgresql():
    """A second writer waits for the first to commit, so no smaller seq can appear later."""
    first = DirectoryUserFactory(display_name="First")
    second = DirectoryUserFactory(display_name="Second")
    mark = current_watermark()
    holding = threading.Event()
    release = threading.Event()
    second_done = threading.Event()

    def first_writer():
        try:
            with transaction.atomic():
                DirectoryUser.objects.filter(pk=first.pk).update(job_title="1")
                holding.set()
                release.wait(timeout=20)
        finally:
            connections.close_all()

    def second_writer():
        try:
            holding.wait(timeout=20)
            with transaction.atomic():
                DirectoryUser.objects.filter(pk=second.pk).update(job_title="2")
            second_done.set()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_writer), threading.Thread(target=second_writer)]
    for thread in threads:
        thread.start()
    assert holding.wait(timeout=20)
    # The second writer is blocked on the change-log lock while the first transaction is open.
    deadline = time.monotonic() + 20
    while not lock_waiters() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_waiters() == 1
    assert not second_done.is_set()
    assert changes_since(mark) == []
    release.set()
    for thread in threads:
        thread.join(timeout=20)
    assert second_done.is_set()
    assert changes_since(mark) == [("user", "U", first.pk), ("user", "U", second.pk)]
    assert connection.vendor == "postgresql"
