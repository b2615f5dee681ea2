"""GoTo's creates in batches (issue 16): GoTo's ``POST …/users`` takes a list, so a chunk's new
users are added 100 to a request, read back with one filtered ``GET`` and granted their licence
one ``PUT`` each — about one request per user at GoTo's 10 per second instead of three.

Against the fake GoTo API (virtual clock: nothing waits on wall time). What a create may change
in GoTo stays what it is one by one: an existing user keeps other products' licences and admin
roles; a refused list is sent again one user at a time; a lost answer is never resent blind.
"""

import pytest

from provisioning.choices import CycleState, LinkState, ObjectType
from provisioning.connectors.base import BulkOperation, BulkResult, CreateStarted
from provisioning.connectors.errors import BadRequestError, PartlyCreatedError
from provisioning.connectors.gotomeeting import CREATE_BATCH_SIZE, GrantFailedAfterCreate
from provisioning.engine.cycle import run_cycle
from provisioning.log_text import step_detail
from provisioning.models import ProvisionedObject, ProvisioningLogEntry
from tests.fakes.goto_api import FAKE_ADMIN_EMAIL, FakeLicence
from tests.integration import test_goto_in_flight as in_flight_tests


def posts(email, bulk_id=None, **extra):
    data = {"email": email, "firstName": "New", "lastName": "User", "active": True, "role": "User"}
    data.update(extra)
    return BulkOperation("POST", ObjectType.USER, bulk_id or email, data=data)


def finish(answers):
    """Run what each started create still needs, as the engine does: results by bulk id."""
    results = {}
    for answer in answers:
        if isinstance(answer, CreateStarted):
            answer = answer.complete()
        assert isinstance(answer, BulkResult)
        results[answer.bulk_id] = answer
    return results


def user_posts(fake):
    return [r for r in fake.requests if r.method == "POST" and r.path.endswith("/users")]


# -- the connector ------------------------------------------------------------------------------


def test_a_batch_is_one_post_one_read_back_and_one_put_per_user(fake_goto, goto_connector):
    fake_goto.account.g2m_licence().seats = 100
    goto_connector.license_key()  # sign-in, /me and the licences first
    before = len(fake_goto.requests)
    emails = [f"batch{i:02d}@contoso.example" for i in range(30)]

    results = finish(goto_connector.create_batch([posts(e) for e in emails]))

    sent = fake_goto.requests[before:]
    assert [r.method for r in sent].count("POST") == 1
    assert [r.method for r in sent].count("GET") == 1  # every address read back at once
    assert [r.method for r in sent].count("PUT") == 30
    assert len(sent) == 32
    licence = fake_goto.g2m_licence_key()
    for email in emails:
        held = fake_goto.user_by_email(email)
        assert results[email].ok and results[email].target_id == held["key"]
        assert held["licenseKeys"] == [licence] and held["adminRoles"] == []
    assert fake_goto.welcome_emails == []
    # The read-back used GoTo's documented filter, one (email="…") term per user joined by |.
    query = fake_goto.user_queries[-1]["filter"][0]
    assert query.count('(email="') == 30 and query.count("|") == 29


def test_a_long_read_back_is_split_so_the_url_stays_short(fake_goto, goto_connector):
    fake_goto.account.g2m_licence().seats = 200
    goto_connector.license_key()
    emails = [
        f"a-rather-long-address-number-{i:03d}@the-subsidiary.contoso.example" for i in range(100)
    ]

    results = finish(goto_connector.create_batch([posts(e) for e in emails]))

    assert all(result.ok for result in results.values())
    filters = [q["filter"][0] for q in fake_goto.user_queries if "filter" in q]
    assert len(filters) >= 3 and all(len(f) <= 2_800 for f in filters)
    assert sum(f.count('(email="') for f in filters) == 100
    assert len(user_posts(fake_goto)) == 1


def test_an_existing_user_met_in_a_batch_keeps_other_licences_and_roles_and_gets_its_names(
    fake_goto, goto_connector
):
    webinar = FakeLicence(9_000_001, "GoToWebinar", ["G2W"], 5)
    fake_goto.account.licences[webinar.key] = webinar
    existing = fake_goto.add_user(
        fake_goto.account,
        "ada@contoso.example",
        "Old",
        "Name",
        licence_keys=(webinar.key,),
        admin_roles=("RUN_REPORTS",),
    )

    results = finish(
        goto_connector.create_batch(
            [posts("ada@contoso.example", firstName="Ada", lastName="Lovelace"), posts("b@x.io")]
        )
    )

    held = fake_goto.user_by_email("ada@contoso.example")
    assert results["ada@contoso.example"].target_id == existing["key"]
    assert sorted(held["licenseKeys"]) == sorted([webinar.key, fake_goto.g2m_licence_key()])
    assert held["adminRoles"] == ["RUN_REPORTS"]
    assert (held["firstName"], held["lastName"]) == ("Ada", "Lovelace")
    assert len([u for u in fake_goto.users() if u["email"] == "ada@contoso.example"]) == 1


def test_a_user_with_nothing_left_to_grant_needs_no_put(fake_goto, goto_connector):
    licence = fake_goto.g2m_licence_key()
    fake_goto.add_user(
        fake_goto.account, "done@contoso.example", "New", "User", licence_keys=(licence,)
    )
    goto_connector.license_key()
    before = len(fake_goto.requests)

    answers = goto_connector.create_batch([posts("done@contoso.example")])

    assert isinstance(answers[0], BulkResult) and answers[0].ok
    assert [r.method for r in fake_goto.requests[before:]] == ["POST", "GET"]


def test_a_refused_list_is_sent_again_in_halves_so_only_the_bad_one_fails(
    fake_goto, goto_connector
):
    operations = [posts("good1@contoso.example"), posts("not-an-email"), posts("good2@x.io")]

    results = finish(goto_connector.create_batch(operations))

    assert results["good1@contoso.example"].ok and results["good2@x.io"].ok
    assert isinstance(results["not-an-email"].error, BadRequestError)
    assert not results["not-an-email"].error.stops_job
    assert fake_goto.user_by_email("good1@contoso.example")["licenseKeys"]
    # The list (refused), [good1] and [bad, good2] (refused), then [bad] and [good2].
    assert len(user_posts(fake_goto)) == 5
    assert sorted(u["email"] for u in fake_goto.users() if u["email"] != FAKE_ADMIN_EMAIL) == [
        "good1@contoso.example",
        "good2@x.io",
    ]


def test_one_bad_address_in_a_list_of_100_costs_a_few_lists_not_one_request_per_user(
    fake_goto, goto_connector
):
    fake_goto.account.g2m_licence().seats = 200
    emails = [f"fine{i:03d}@contoso.example" for i in range(100)]
    emails[37] = "broken-address"

    results = finish(goto_connector.create_batch([posts(e) for e in emails]))

    assert [e for e in emails if not results[e].ok] == ["broken-address"]
    assert len(user_posts(fake_goto)) <= 2 * 7 + 1  # halves down to the bad one
    assert fake_goto.count("PUT") == 99


def test_an_address_missing_is_refused_before_anything_is_sent(fake_goto, goto_connector):
    results = finish(goto_connector.create_batch([posts(""), posts("fine@contoso.example")]))

    assert results[""].error.code == "MissingEmail"
    assert results["fine@contoso.example"].ok
    assert len(user_posts(fake_goto)) == 1


def test_a_read_back_refused_as_too_long_is_split_and_the_shorter_length_kept(
    fake_goto, goto_connector
):
    goto_connector.license_key()
    fake_goto.fail_next(414, method="GET", path="/users")  # URI too long
    before = len(fake_goto.requests)
    long_name = "a-long-mailbox-name-" * 4

    results = finish(goto_connector.create_batch([posts(f"{long_name}{i}@x.io") for i in range(4)]))

    assert all(result.ok for result in results.values())
    methods = [r.method for r in fake_goto.requests[before:]]
    assert methods.count("GET") == 3 and methods.count("PUT") == 4  # refused, then two halves
    halves = [q["filter"][0] for q in fake_goto.user_queries if "filter" in q][-2:]
    assert [half.count('(email="') for half in halves] == [2, 2]
    refused = "|".join(halves)  # what the refused GET asked for
    first = len([q for q in fake_goto.user_queries if "filter" in q])
    finish(goto_connector.create_batch([posts(f"{long_name}again{i}@x.io") for i in range(4)]))
    later = [q["filter"][0] for q in fake_goto.user_queries if "filter" in q][first:]
    # Not refused again: the next read-backs are no longer than half the refused one.
    assert len(later) >= 2 and all(len(f) <= len(refused) // 2 for f in later)


def test_a_read_back_refused_with_400_is_split_but_the_length_is_kept(fake_goto, goto_connector):
    goto_connector.license_key()
    fake_goto.fail_next(400, method="GET", path="/users")  # not a length problem
    before = len(fake_goto.requests)

    results = finish(goto_connector.create_batch([posts(f"b{i}@x.io") for i in range(4)]))

    assert all(result.ok for result in results.values())
    assert [r.method for r in fake_goto.requests[before:]].count("GET") == 3  # two halves
    first = len([q for q in fake_goto.user_queries if "filter" in q])
    finish(goto_connector.create_batch([posts(f"again{i}@x.io") for i in range(4)]))
    later = [q["filter"][0] for q in fake_goto.user_queries if "filter" in q][first:]
    assert len(later) == 1 and later[0].count('(email="') == 4


def test_a_read_back_failing_otherwise_reads_each_user_on_its_own(fake_goto, goto_connector):
    goto_connector.license_key()
    fake_goto.fail_next(503, method="GET", path="/users", times=4)  # every attempt
    before = len(fake_goto.requests)

    results = finish(goto_connector.create_batch([posts("r1@x.io"), posts("r2@x.io")]))

    assert results["r1@x.io"].ok and results["r2@x.io"].ok
    methods = [r.method for r in fake_goto.requests[before:]]
    assert methods.count("PUT") == 2
    gets = [r for r in fake_goto.requests[before:] if r.method == "GET"]
    assert [r.path.endswith("/users") for r in gets].count(False) == 2  # one each, by key


def test_a_seat_shortage_in_a_batch_names_each_added_user_without_a_licence(
    fake_goto, goto_connector
):
    fake_goto.account.g2m_licence().seats = 2  # the admin holds none

    results = finish(goto_connector.create_batch([posts(f"s{i}@x.io") for i in range(3)]))

    refused = [r for r in results.values() if not r.ok]
    assert len(refused) == 1 and isinstance(refused[0].error, GrantFailedAfterCreate)
    error = refused[0].error
    assert isinstance(error, PartlyCreatedError) and error.reason == "SEATS_EXCEEDED"
    assert error.created_id == refused[0].target_id
    assert fake_goto.user_by_email(refused[0].bulk_id)["key"] == error.created_id


def test_a_lost_answer_to_the_list_is_sent_again_and_adds_no_one_twice(fake_goto, goto_connector):
    goto_connector.license_key()
    fake_goto.lose_answer_next(method="POST", path="/users")

    results = finish(goto_connector.create_batch([posts("l1@x.io"), posts("l2@x.io")]))

    # GoTo answers an address it has with that user: sending the list again is safe.
    assert all(r.ok for r in results.values())
    assert len(user_posts(fake_goto)) == 2
    for email in ("l1@x.io", "l2@x.io"):
        assert len([u for u in fake_goto.users() if u["email"] == email]) == 1
        assert results[email].target_id == fake_goto.user_by_email(email)["key"]


def test_answers_lost_every_time_fail_the_batch_and_the_engine_looks_each_user_up(
    fake_goto, goto_connector
):
    goto_connector.license_key()
    fake_goto.lose_answer_next(method="POST", path="/users", times=10)

    results = finish(goto_connector.create_batch([posts("l1@x.io"), posts("l2@x.io")]))

    assert all(r.error is not None and r.error.outcome_unknown for r in results.values())
    assert not any(r.error.stops_job for r in results.values())
    assert len(user_posts(fake_goto)) <= 4  # the client's bounded attempts
    assert len([u for u in fake_goto.users() if u["email"] == "l1@x.io"]) == 1


def test_dry_run_batches_withhold_every_write(fake_goto, make_goto_connector):
    connector = make_goto_connector(dry_run=True)

    results = finish(connector.create_batch([posts("d1@x.io"), posts("d2@x.io")]))

    assert all(r.ok and r.target_id.startswith("dry-run-") for r in results.values())
    assert fake_goto.user_by_email("d1@x.io") is None
    assert [r.method for r in connector.recorded_requests] == ["POST", "PUT", "PUT"]


# -- the engine ---------------------------------------------------------------------------------


def goto_job(fake, users, *, in_flight=8):
    job, people = in_flight_tests.goto_job(users, in_flight)
    fake.account.g2m_licence().seats = users + 10
    # Requests are counted exactly here; the rate limit is tested in test_goto_in_flight.py.
    fake.rate_limit = None
    return job, people


def assert_provisioned_once(fake, job, people):
    users = [u for u in fake.users() if u["email"] != FAKE_ADMIN_EMAIL]
    emails = [u["email"] for u in users]
    assert len(emails) == len(set(emails)), "a user was added twice"
    assert sorted(emails) == sorted(p.user_principal_name for p in people)
    licence = fake.g2m_licence_key()
    assert all(u["licenseKeys"] == [licence] for u in users)
    links = ProvisionedObject.objects.filter(job=job, object_type=ObjectType.USER)
    assert links.count() == len(people)
    by_email = {u["email"]: u["key"] for u in users}
    for link in links.select_related():
        person = next(p for p in people if p.pk == link.source_id)
        assert link.target_id == by_email[person.user_principal_name]
        assert link.state == LinkState.PROVISIONED


@pytest.mark.django_db
@pytest.mark.parametrize("in_flight", [1, 8])
def test_an_initial_cycle_adds_users_in_lists_about_one_request_each(
    fake_goto, make_goto_connector, in_flight
):
    count = CREATE_BATCH_SIZE + 30  # two lists
    job, people = goto_job(fake_goto, count, in_flight=in_flight)

    report = run_cycle(job, connector=make_goto_connector(), initial=True)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert_provisioned_once(fake_goto, job, people)
    # One list per chunk's 100 new users (small cycles are cut in several chunks, for progress).
    assert len(user_posts(fake_goto)) <= 8
    assert fake_goto.count("PUT") == count
    # About one request per user: the PUTs, two lists, their read-backs, the sign-in and the
    # listing — not the three per user of one-by-one creates.
    assert len(fake_goto.requests) <= count + 20
    assert ProvisioningLogEntry.objects.filter(action="Create", status="Success").count() == count
    assert fake_goto.throttled == 0


@pytest.mark.django_db
def test_answers_to_a_list_lost_every_time_are_looked_up_and_linked_never_added_twice(
    fake_goto, make_goto_connector
):
    job, people = goto_job(fake_goto, 12)
    fake_goto.lose_answer_next(method="POST", path="/users", times=4)  # every attempt

    report = run_cycle(job, connector=make_goto_connector(), initial=True)

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert_provisioned_once(fake_goto, job, people)
    assert ProvisioningLogEntry.objects.filter(action="Create", status="Success").count() == 12
    for entry in ProvisioningLogEntry.objects.filter(action="Create", status="Success"):
        assert any(
            step["status"] == "Warning" and "The answer to the create was lost" in step_detail(step)
            for step in entry.steps
        ), entry.steps


@pytest.mark.django_db
def test_a_cycle_stopped_between_a_list_and_its_licences_links_the_added_users(
    fake_goto, make_goto_connector
):
    job, people = goto_job(fake_goto, 5, in_flight=1)
    # The list is added and read back; then GoTo refuses the admin (403 stops the job).
    fake_goto.fail_next(
        403, method="PUT", body={"errorCode": "FORBIDDEN", "message": "admin role removed"}
    )

    report = run_cycle(job, connector=make_goto_connector(), initial=True)

    assert report.cycle.state == CycleState.FAILED
    added = [u for u in fake_goto.users() if u["email"] != FAKE_ADMIN_EMAIL]
    assert len(added) == 5
    links = ProvisionedObject.objects.filter(job=job, object_type=ObjectType.USER)
    # Every added user is linked (never added again); the ones without a licence are escrowed.
    assert sorted(link.target_id for link in links) == sorted(u["key"] for u in added)
    assert links.filter(failure_count__gt=0).count() >= 1
    stopped = ProvisioningLogEntry.objects.filter(status="Failure", action="Update").first()
    assert "the cycle stopped before the rest of its create was sent" in stopped.reason
    assert "GoTo does not allow this admin to manage users" in stopped.reason
    assert ProvisioningLogEntry.objects.filter(action="Create", status="Success").count() == 5

    ProvisionedObject.objects.filter(job=job).update(next_retry_at=None)
    report = run_cycle(job, connector=make_goto_connector())

    assert report.cycle.state == CycleState.SUCCEEDED, report.cycle.error
    assert_provisioned_once(fake_goto, job, people)
    assert len(user_posts(fake_goto)) == 1
