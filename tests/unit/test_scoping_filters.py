"""Scoping filters (F19) with Microsoft's documented semantics.

Source: Microsoft Learn, "Scoping users or groups to be provisioned with scoping filters"
(https://learn.microsoft.com/en-us/entra/identity/app-provisioning/define-conditional-rules-for-provisioning-user-accounts):

* EQUALS / NOT EQUALS / Includes / ENDS_WITH / REGEX MATCH are case sensitive;
* "Includes. Clause returns true if the evaluated attribute contains the string value (case
  sensitive) as described [in .NET's String.Contains]" — a substring, not a list of options;
* "NOT REGEX MATCH ... returns false if the attribute is null / empty";
* "Scoping filters will return false if the value is null / empty" (IS NULL and IS NOT NULL are
  the clauses about emptiness);
* Greater_Than…: "the value ... must be an integer and the attribute on the user must be an
  integer";
* clauses within a filter are ANDed, filters are ORed.
"""

import time

import pytest

from provisioning.engine.scope import (
    OPERATORS,
    ScopingFilterError,
    clause_matches,
    matches_scoping_filters,
)


def clause(attribute, operator, value=""):
    return {"attribute": attribute, "operator": operator, "value": value}


NULL, EMPTY = None, ""

# (operator, clause value, attribute value, expected)
TRUTH_TABLE = [
    ("EQUALS", "Sales", "Sales", True),
    ("EQUALS", "Sales", "sales", False),  # case sensitive
    ("EQUALS", "Sales", NULL, False),
    ("EQUALS", "", EMPTY, False),  # null / empty is false, even against an empty value
    ("NOT EQUALS", "Sales", "Marketing", True),
    ("NOT EQUALS", "Sales", "sales", True),
    ("NOT EQUALS", "Sales", "Sales", False),
    ("NOT EQUALS", "Sales", NULL, False),  # was True before: the documented rule is false
    ("NOT EQUALS", "Sales", EMPTY, False),
    ("IS TRUE", "", True, True),
    ("IS TRUE", "", "True", True),
    ("IS TRUE", "", False, False),
    ("IS TRUE", "", NULL, False),
    ("IS FALSE", "", False, True),
    ("IS FALSE", "", "false", True),
    ("IS FALSE", "", True, False),
    ("IS FALSE", "", NULL, False),
    ("IS NULL", "", NULL, True),
    ("IS NULL", "", EMPTY, True),
    ("IS NULL", "", "x", False),
    ("IS NOT NULL", "", NULL, False),
    ("IS NOT NULL", "", EMPTY, False),
    ("IS NOT NULL", "", "x", True),
    ("REGEX MATCH", "([1-9][0-9])", "42", True),
    ("REGEX MATCH", "([1-9][0-9])", "7", False),
    ("REGEX MATCH", "^sales$", "Sales", False),  # case sensitive
    ("REGEX MATCH", ".*", NULL, False),
    ("NOT REGEX MATCH", r".*@contoso\.com$", "ada@fabrikam.com", True),
    ("NOT REGEX MATCH", r".*@contoso\.com$", "ada@contoso.com", False),
    ("NOT REGEX MATCH", r".*@contoso\.com$", NULL, False),  # documented: false on null
    ("NOT REGEX MATCH", r".*@contoso\.com$", EMPTY, False),
    ("Includes", "Research", "Research and Development", True),  # was False before
    ("Includes", "Research", "research and development", False),  # case sensitive
    ("Includes", "Research", "Sales", False),
    ("Includes", "Research", NULL, False),
    ("Excludes", "Research", "Sales", True),
    ("Excludes", "Research", "Research and Development", False),
    ("Excludes", "Research", NULL, False),
    ("ENDS_WITH", "@contoso.com", "ada@contoso.com", True),
    ("ENDS_WITH", "@contoso.com", "ada@CONTOSO.com", False),
    ("ENDS_WITH", "@contoso.com", NULL, False),
    ("Greater_Than", "1000000", "1500000", True),
    ("Greater_Than", "1000000", "1000000", False),
    ("Greater_Than", "1000000", NULL, False),
    ("Greater_Than", "10", "eleven", False),  # the attribute must be an integer
    ("Greater_Than_OR_EQUALS", "1000000", "1000000", True),
    ("Less_Than", "2000000", "1999999", True),
    ("Less_Than", "2000000", "2000000", False),
    ("Less_Than", "2000000", EMPTY, False),
    ("Less_Than_OR_EQUALS", "2000000", "2000000", True),
    ("Less_Than_OR_EQUALS", "2000000", "2000001", False),
    ("&", "4", "5", True),
    ("&", "2", "5", False),
    ("!&", "2", "5", True),
    ("!&", "2", NULL, False),
]


@pytest.mark.parametrize(("operator", "value", "actual", "expected"), TRUTH_TABLE)
def test_clause_truth_table_follows_microsofts_documentation(operator, value, actual, expected):
    assert clause_matches(clause("a", operator, value), {"a": actual}) is expected


def test_every_operator_of_the_issue_is_supported():
    documented = {
        "EQUALS", "NOT EQUALS", "IS TRUE", "IS FALSE", "IS NULL", "IS NOT NULL", "REGEX MATCH",
        "NOT REGEX MATCH", "Greater_Than", "Greater_Than_OR_EQUALS", "Less_Than",
        "Less_Than_OR_EQUALS", "Includes", "Excludes",
    }  # fmt: skip
    assert documented <= set(OPERATORS)


def test_a_missing_attribute_is_null():
    assert clause_matches(clause("department", "NOT EQUALS", "Sales"), {}) is False
    assert clause_matches(clause("department", "IS NULL"), {}) is True


def test_clauses_are_anded_and_filters_ored():
    sales_in_us = [clause("department", "EQUALS", "Sales"), clause("country", "EQUALS", "US")]
    research = [clause("department", "Includes", "Research")]
    filters = [sales_in_us, research]
    assert matches_scoping_filters(filters, {"department": "Sales", "country": "US"})
    assert not matches_scoping_filters(filters, {"department": "Sales", "country": "FR"})
    assert matches_scoping_filters(filters, {"department": "Research and Development"})
    assert matches_scoping_filters([], {"department": "anything"})


def test_a_non_integer_filter_value_is_an_error():
    with pytest.raises(ScopingFilterError):
        clause_matches(clause("a", "Greater_Than", "ten"), {"a": "11"})


def test_a_catastrophic_regex_stops_at_its_time_limit():
    started = time.monotonic()
    with pytest.raises(ScopingFilterError, match="took longer"):
        clause_matches(clause("a", "REGEX MATCH", "^(a|a)+$"), {"a": "a" * 40 + "!"})
    assert time.monotonic() - started < 30  # bounded (the limit is a fraction of a second)


def test_the_regexes_of_one_object_share_a_time_budget(monkeypatch):
    from provisioning.engine import scope

    monkeypatch.setattr(scope, "REGEX_BUDGET_SECONDS", 0.2)
    slow = clause("a", "REGEX MATCH", "^(a|a)+$|x")
    started = time.monotonic()
    with pytest.raises(ScopingFilterError, match="took longer"):
        matches_scoping_filters([[slow]] * 50, {"a": "a" * 19 + "!"})
    assert time.monotonic() - started < 30
