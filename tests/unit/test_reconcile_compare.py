"""How a reconcile compares a target's values with the mappings' (issue 13): the way targets
normalise them, so a value echoed differently is not drift."""

from provisioning.reconcile.compare import differences, member_differences, same_value
from provisioning.security.redaction import REDACTED


def test_case_matters_only_where_the_target_ignores_it():
    assert same_value("alice@contoso.example", "ALICE@Contoso.Example", case_insensitive=True)
    assert not same_value("Alice", "alice")


def test_booleans_compare_as_booleans_and_blanks_as_absence():
    assert same_value(True, "True") and same_value(False, "false")
    assert not same_value(True, False) and not same_value(True, "False")
    assert same_value(None, "") and same_value([], None)
    assert not same_value("x", None)


def test_multi_valued_attributes_compare_as_sets():
    assert same_value(["a", "b"], ["b", "a"])
    assert same_value([{"value": "x", "type": "work"}], [{"type": "work", "value": "x"}])
    assert not same_value(["a", "b"], ["a"])


def test_differences_cover_only_the_mapped_paths_and_mask_secrets():
    desired = {"userName": "a@x", "displayName": "A", "password": "s3cret"}
    actual = {"userName": "A@X", "displayName": "B", "nickName": "not ours", "password": "old"}

    rows = differences(desired, actual, case_insensitive={"userName"}, secret_names=("password",))

    assert rows == [
        {"name": "displayName", "old": "B", "new": "A"},
        {"name": "password", "old": REDACTED, "new": REDACTED},
    ]


def test_member_differences_keep_the_count_and_a_bounded_list():
    rows = member_differences([f"id{n:03d}" for n in range(120)], ["gone"])

    added, removed = rows
    assert added["count"] == 120 and len(added["new"]) == 50
    assert removed == {"name": "members (removed)", "old": ["gone"], "new": None, "count": 1}


def test_a_huge_value_from_the_target_is_stored_cut():
    (row,) = differences({"title": "Engineer"}, {"title": "x" * 100_000})

    assert len(row["old"]) == 1001 and row["old"].endswith("…") and row["new"] == "Engineer"
