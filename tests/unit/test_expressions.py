"""The attribute-mapping expression language (F20): syntax, validation and Azure's functions."""

import json
import pickle
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from provisioning.engine.expressions import (
    IGNORE_FLOW,
    REDACTED,
    Expression,
    ExpressionError,
    ExpressionEvaluationError,
    RedactedValue,
    function_names,
    parse,
    reveal,
    validate,
)

NOW = datetime(2021, 8, 25, 17, 41, 18, tzinfo=UTC)


def ev(text, source=None, **kwargs):
    kwargs.setdefault("now", NOW)
    return parse(text).evaluate(source or {}, **kwargs)


def error_of(text, known_attributes=None):
    error = validate(text, known_attributes)
    assert error is not None, f"{text!r} should be invalid"
    return error


# ------------------------------------------------------------------------------------------
# The gallery's defaults
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deleted", "active"),
    [(False, True), (True, False), ("False", True), ("True", False), ("true", False), (None, True)],
)
def test_not_is_soft_deleted_gives_a_real_bool(deleted, active):
    result = ev("Not([IsSoftDeleted])", {"IsSoftDeleted": deleted})
    assert result is active
    assert json.dumps({"active": result}) == json.dumps({"active": active})


def test_join_given_name_surname():
    expression = 'Join(" ", [givenName], [surname])'
    assert ev(expression, {"givenName": "John", "surname": "Doe"}) == "John Doe"
    assert ev(expression, {"givenName": "John"}) == "John"  # a null part is skipped
    assert ev(expression, {"givenName": "", "surname": "Doe"}) == "Doe"
    assert ev(expression, {}) == ""


def test_single_app_role_assignment():
    expression = "SingleAppRoleAssignment([appRoleAssignments])"
    assert ev(expression, {"appRoleAssignments": ["Admin"]}) == "Admin"
    assert ev(expression, {"appRoleAssignments": ["User", "User"]}) == "User"
    assert ev(expression, {"appRoleAssignments": [{"value": "Admin", "id": "1"}]}) == "Admin"
    assert ev(expression, {"appRoleAssignments": []}) is None
    assert ev(expression, {}) is None
    with pytest.raises(ExpressionEvaluationError, match="SingleAppRoleAssignment") as caught:
        ev(expression, {"appRoleAssignments": ["Admin", "User"]})
    assert caught.value.function == "SingleAppRoleAssignment"
    assert caught.value.position == 0


def test_switch_is_soft_deleted():
    expression = 'Switch([IsSoftDeleted], , "False", "True", "True", "False")'
    assert ev(expression, {"IsSoftDeleted": False}) == "True"
    assert ev(expression, {"IsSoftDeleted": True}) == "False"
    assert ev(expression, {"IsSoftDeleted": "True"}) == "False"
    assert ev(expression, {}) is None  # no key matches and the default slot is empty


def test_the_gallery_defaults_parse():
    from provisioning.gallery.scim_defaults import SCIM_USER_ATTRIBUTES

    for attribute in SCIM_USER_ATTRIBUTES:
        if attribute.expression:
            assert validate(attribute.expression) is None, attribute.expression


# ------------------------------------------------------------------------------------------
# Syntax
# ------------------------------------------------------------------------------------------


def test_bare_attribute_and_literals():
    assert ev("[mail]", {"mail": "a@b.c"}) == "a@b.c"
    assert ev("[proxyAddresses]", {"proxyAddresses": ["a", "b"]}) == ["a", "b"]
    assert ev('"text"') == "text"
    assert ev("42") == 42
    assert ev("-1.5") == -1.5
    assert ev("&HF7") == 247
    assert ev("True") is True
    assert ev("false") is False
    assert ev("[missing]") is None
    assert parse("[mail]").is_attribute


def test_case_insensitive_function_and_attribute_names():
    assert ev("tolower([GIVENNAME])", {"givenName": "JOHN"}) == "john"
    assert ev('JOIN("-", [GivenName], [SURNAME])', {"givenname": "a", "Surname": "b"}) == "a-b"
    assert ev("not([isSoftDeleted])", {"IsSoftDeleted": True}) is False


def test_exact_attribute_name_wins_over_case_insensitive_one():
    assert ev("[mail]", {"Mail": "upper", "mail": "lower"}) == "lower"


def test_escaped_quotes_and_backslashes():
    assert ev(r'Append("Company name: \"Contoso\"", "")') == 'Company name: "Contoso"'
    assert ev(r'"a\\b"') == "a\\b"
    assert ev(r'"\d+"') == r"\d+"  # an unknown escape keeps its backslash
    assert ev(r'Replace([p], , "\\d+", , "#", , )', {"p": "a1b22"}) == "a#b#"
    assert ev(r'Replace([p], , "\d+", , "#", , )', {"p": "a1b22"}) == "a#b#"


def test_whitespace_and_newlines_anywhere():
    text = 'Switch( [Active] , ,\n  "1", IIF( DateDiff("d", Now(), CDate([Hire])) > 5, "False", "True"),\n  "0", "False" )'
    assert ev(text, {"Active": "1", "Hire": "2021-09-30"}) == "False"
    assert ev(text, {"Active": "1", "Hire": "2021-08-27"}) == "True"
    assert ev(text, {"Active": "0"}) == "False"


def test_attribute_names_with_extension_and_special_characters():
    source = {"extension_abc_costCenter": "42", "extensionAttribute1": "x", "odd name": 1}
    expression = parse('Join(",", [extension_abc_costCenter], [ extensionAttribute1 ], [odd name])')
    assert expression.evaluate(source) == "42,x,1"
    assert expression.referenced_attributes == {
        "extension_abc_costCenter",
        "extensionAttribute1",
        "odd name",
    }


def test_referenced_attributes_and_functions():
    expression = parse(
        'Coalesce([mail], Join("@", ToLower([givenName]), "contoso.com"), [MAIL], [upn])'
    )
    assert expression.referenced_attributes == {"mail", "givenName", "upn"}
    assert expression.functions == {"Coalesce", "Join", "ToLower"}
    assert parse('"constant"').referenced_attributes == frozenset()


def test_nested_calls():
    expression = (
        'ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], '
        '[PreferredLastName]))), "contoso.com"))'
    )
    source = {"PreferredFirstName": "Zoë Anne", "PreferredLastName": "Smith"}
    assert ev(expression, source) == "zoeanne.smith@contoso.com"
    assert (
        ev(
            "Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))",
            {"givenName": "John", "surname": "Doe"},
        )
        == "JohDoe"
    )


def test_empty_arguments_are_null_and_no_arguments_is_zero():
    assert ev('Coalesce(, , "x")') == "x"
    assert parse("Guid()").root.args == ()
    assert len(parse('Replace([a], "x", , , "y", , )').root.args) == 7


def test_expression_objects_are_cached_and_comparable():
    assert parse("Not([a])") is parse("Not([a])")
    assert parse("Not([a])") == parse("Not([a])")
    assert isinstance(parse("[a]"), Expression)
    assert "Join" in function_names() and len(function_names()) == 43


# ------------------------------------------------------------------------------------------
# Errors with positions
# ------------------------------------------------------------------------------------------


def test_missing_closing_parenthesis_at_end():
    text = 'Join(" ", [givenName], [surname]'
    error = error_of(text)
    assert error.position == len(text)
    assert "Missing ')'" in error.message
    assert (error.line, error.column) == (1, len(text) + 1)


def test_missing_closing_bracket():
    error = error_of("Not([IsSoftDeleted)")
    assert "']'" in error.message


def test_unterminated_string():
    text = 'Append([mail], ".test)'
    error = error_of(text)
    assert error.position == text.index('"')
    assert "Unterminated string" in error.message


def test_single_quoted_string():
    error = error_of("Append([mail], 'x')")
    assert error.position == 15 and "double quotes" in error.message


def test_unknown_function_position():
    text = 'Join(" ", [givenName], ToLowr([surname]))'
    error = error_of(text)
    assert error.position == text.index("ToLowr")
    assert error.message.startswith("Unknown function 'ToLowr'")
    assert "did you mean ToLower" in error.message


def test_unknown_function_on_a_later_line():
    text = 'Join(" ",\n  [a],\n  Fooo([b]))'
    error = error_of(text)
    assert (error.position, error.line, error.column) == (19, 3, 3)
    assert error.caret() == "  Fooo([b]))\n  ^"
    assert "line 3, column 3" in str(error)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Join()", "Join expects at least 1 argument"),
        ("Not()", "Not expects exactly 1 argument"),
        ("Not([a], [b])", "Not expects exactly 1 argument, got 2"),
        ("Guid(1)", "Guid takes no arguments"),
        ("Mid([a], 1)", "Mid expects exactly 3 arguments"),
        ('Replace([a], "x", , , "y")', "Replace expects exactly 7 arguments, got 5"),
        ('Switch([a], , "x")', "Switch expects at least 4 arguments"),
        ('Switch([a], , "x", "y", "z")', "Switch expects an even number of arguments"),
        ('FormatDateTime([a], "x")', "FormatDateTime expects between 3 and 4 arguments"),
        ("SelectUniqueValue([a])", "SelectUniqueValue expects at least 2 arguments"),
    ],
)
def test_wrong_arity(text, message):
    error = error_of(text)
    assert message in error.message
    assert "Usage:" in error.message


def test_wrong_arity_position_is_the_function_name():
    text = 'Join(" ", Left([a]))'
    assert error_of(text).position == text.index("Left")


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty"),
        ("   ", 0, "empty"),
        ('Join(" " [a])', 9, "Unexpected '['"),
        ("Not([a]) [b]", 9, "Unexpected '['"),
        ("Not([])", 4, "Empty attribute name"),
        ("Not(givenName)", 4, "Unknown name 'givenName'"),
        ("([a])", 0, "Unexpected '('"),
        ("IIF([a]=[b]=[c], 1, 2)", 11, "one comparison"),
        ("Not(@)", 4, "Unexpected character '@'"),
        ('Not("a" "b")', 8, 'Unexpected string "b"'),
        ('Join(" ", SelectUniqueValue([a], [b]))', 10, "can't be nested"),
    ],
)
def test_syntax_error_positions(text, position, fragment):
    error = error_of(text)
    assert error.position == position
    assert fragment in error.message


def test_parse_raises_expression_error_which_is_a_value_error():
    with pytest.raises(ExpressionError) as caught:
        parse("Foo([a])")
    assert isinstance(caught.value, ValueError)
    assert caught.value.position == 0
    assert validate("Not([a])") is None


def test_deep_nesting_is_refused_cleanly():
    text = "ToLower(" * 100 + "[a]" + ")" * 100
    assert "nested" in error_of(text).message


def test_unknown_attribute_only_with_known_attributes():
    text = 'Join(" ", [givenName], [sn])'
    assert validate(text) is None
    error = error_of(text, known_attributes=["givenName", "surname"])
    assert error.position == text.index("[sn]")
    assert error.message == "Unknown attribute [sn]"
    assert validate("Not([ISSOFTDELETED])", known_attributes={"IsSoftDeleted"}) is None
    with pytest.raises(ExpressionError):
        parse("[x]", known_attributes=[])


# ------------------------------------------------------------------------------------------
# Comparisons (IIF conditions)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "source", "expected"),
    [
        ('[country]="USA"', {"country": "USA"}, True),
        ('[country]="USA"', {"country": "usa"}, False),
        ('[country]<>"USA"', {"country": "FR"}, True),
        ('[country]=""', {}, True),
        ("[a]=[b]", {"a": "x", "b": "x"}, True),
        ('[enabled]="true"', {"enabled": True}, True),
        ("[enabled]=False", {"enabled": "False"}, True),
        ("[n] > 5", {"n": "7"}, True),
        ("[n] >= 7", {"n": 7}, True),
        ("[n] < 5", {}, False),
        ('[roles] = "Admin"', {"roles": ["User", "Admin"]}, True),
        ('CDate([d]) > CDate("2020-01-01")', {"d": "2021-01-01"}, True),
    ],
)
def test_comparisons(text, source, expected):
    assert ev(text, source) is expected


def test_iif():
    expression = 'IIF([country]="USA",[country],[department])'
    assert ev(expression, {"country": "USA", "department": "Sales"}) == "USA"
    assert ev(expression, {"country": "FR", "department": "Sales"}) == "Sales"
    assert ev(expression, {}) is None
    nested = 'IIF([country]="USA",IIF([state]="CA","True","False"),"False")'
    assert ev(nested, {"country": "USA", "state": "CA"}) == "True"
    # the branch not taken is never evaluated
    assert ev('IIF("True", "ok", SingleAppRoleAssignment([roles]))', {"roles": ["a", "b"]}) == "ok"


# ------------------------------------------------------------------------------------------
# Functions: a normal case and a null case each
# ------------------------------------------------------------------------------------------


def test_append():
    assert (
        ev('Append([userPrincipalName], ".test")', {"userPrincipalName": "John.Doe@contoso.com"})
        == "John.Doe@contoso.com.test"
    )
    assert ev('Append([upn], ".test")', {}) == ".test"
    assert ev("Append([a], [b])", {}) is None


def test_app_role_assignments_complex():
    expression = "AppRoleAssignmentsComplex([appRoleAssignments])"
    assert ev(expression, {"appRoleAssignments": ["Admin", "User"]}) == ["Admin", "User"]
    assert ev(expression, {}) is None


def test_bit_and():
    assert ev("BitAnd(&HF, &HF7)") == 7
    assert ev("BitAnd([flags], 2)", {"flags": "514"}) == 2
    assert ev("BitAnd([flags], 2)", {}) is None


def test_cbool():
    assert ev("CBool([a] = [b])", {"a": "x", "b": "x"}) is True
    assert ev('CBool("False")') is False
    assert ev("CBool(1)") is True
    assert ev("CBool([n])", {"n": "0"}) is False
    assert ev("CBool([missing])") is False
    with pytest.raises(ExpressionEvaluationError, match="CBool"):
        ev('CBool("maybe")')


def test_cdate():
    assert (
        ev("CDate([StatusHireDate])", {"StatusHireDate": "2020-03-16-07:00"})
        == "3/16/2020 7:00:00 AM"
    )
    assert ev('CDate("2021-06-30+08:00")') == "6/29/2021 4:00:00 PM"
    assert ev('CDate("2009-06-15T01:45:30-07:00")') == "6/15/2009 8:45:30 AM"
    assert ev('CDate("6/15/2009 8:45:30 AM")') == "6/15/2009 8:45:30 AM"
    assert ev("CDate([d])", {"d": datetime(2020, 1, 2, 3, 4, 5)}) == "1/2/2020 3:04:05 AM"
    assert ev("CDate([missing])") is None
    with pytest.raises(ExpressionEvaluationError, match="CDate"):
        ev('CDate("next tuesday")')


def test_coalesce():
    assert (
        ev("Coalesce([mail],[userPrincipalName])", {"userPrincipalName": "John.Doe@contoso.com"})
        == "John.Doe@contoso.com"
    )
    assert ev('Coalesce([mail], "default")', {"mail": "m"}) == "m"
    assert ev('Coalesce([mail], "default")', {"mail": []}) == "default"
    assert ev('Coalesce([mail], "")') == ""
    assert ev("Coalesce([a], [b])") is None


def test_convert_to_base64_and_utf8_hex():
    assert ev('ConvertToBase64("Hello world!")') == "SABlAGwAbABvACAAdwBvAHIAbABkACEA"
    assert ev("ConvertToBase64([x])") is None
    assert ev('ConvertToUTF8Hex("Hello world!")') == "48656C6C6F20776F726C6421"
    assert ev("ConvertToUTF8Hex([x])") is None


def test_count():
    assert ev("Count([proxyAddresses])", {"proxyAddresses": ["a", "b", "c"]}) == 3
    assert ev("Count([mail])", {"mail": "m"}) == 1
    assert ev("Count([proxyAddresses])") == 0


def test_cstr():
    assert ev("CStr([dn])", {"dn": "cn=Joe,dc=contoso,dc=com"}) == "cn=Joe,dc=contoso,dc=com"
    assert ev("CStr(42)") == "42"
    assert ev("CStr([b])", {"b": True}) == "True"
    assert (
        ev("CStr([d])", {"d": datetime(2021, 7, 2, 15, 33, 38, tzinfo=UTC)})
        == "7/2/2021 3:33:38 PM"
    )
    assert ev("CStr([x])") is None


@pytest.mark.parametrize(
    ("interval", "value", "expected"),
    [
        ("d", 7, "3/23/2012 7:00:00 AM"),
        ("d", -10, "3/6/2012 7:00:00 AM"),
        ("ww", 2, "3/30/2012 7:00:00 AM"),
        ("m", 10, "1/16/2013 7:00:00 AM"),
        ("yyyy", 2, "3/16/2014 7:00:00 AM"),
        ("q", 1, "6/16/2012 7:00:00 AM"),
        ("y", 1, "3/17/2012 7:00:00 AM"),
        ("w", 1, "3/17/2012 7:00:00 AM"),
        ("h", 5, "3/16/2012 12:00:00 PM"),
        ("n", -30, "3/16/2012 6:30:00 AM"),
        ("s", 61, "3/16/2012 7:01:01 AM"),
    ],
)
def test_date_add(interval, value, expected):
    expression = f'DateAdd("{interval}", {value}, CDate([StatusHireDate]))'
    assert ev(expression, {"StatusHireDate": "2012-03-16-07:00"}) == expected


def test_date_add_clamps_the_day_and_handles_null():
    assert ev('DateAdd("m", 1, CDate("1996-01-31"))') == "2/29/1996 12:00:00 AM"
    assert ev('DateAdd("d", 1, CDate([missing]))') is None
    with pytest.raises(ExpressionEvaluationError, match="DateAdd: unknown interval"):
        ev('DateAdd("fortnight", 1, Now())')


@pytest.mark.parametrize(
    ("interval", "date1", "date2", "expected"),
    [
        ("d", "2021-08-18+08:00", "2021-08-31+08:00", 13),
        ("d", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -3449),
        ("ww", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -493),
        ("m", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -113),
        ("yyyy", "8/25/2021 5:41:18 PM", "2012-03-16-07:00", -9),
        ("d", "2021-08-31+08:00", "2021-08-31+08:00", 0),
        ("h", "2021-08-24", "2021-08-25", 24),
        ("n", "2021-08-24", "2021-08-25", 1440),
        ("s", "2021-08-24", "2021-08-25", 86400),
    ],
)
def test_date_diff(interval, date1, date2, expected):
    assert ev(f'DateDiff("{interval}", CDate("{date1}"), CDate("{date2}"))') == expected


def test_date_diff_with_now_and_null():
    assert ev('DateDiff("d", Now(), CDate([hire]))', {"hire": "2021-08-30"}) == 5
    assert ev('DateDiff("d", Now(), CDate([hire]))') is None


def test_date_from_num_and_num_from_date():
    assert ev("DateFromNum(129699324000000000)") == "1/1/2012 11:00:00 PM"
    assert (
        ev("DateFromNum([lastLogonTimestamp])", {"lastLogonTimestamp": "129699324000000000"})
        == "1/1/2012 11:00:00 PM"
    )
    assert ev("DateFromNum([lastLogonTimestamp])") is None
    assert ev('NumFromDate("2012-01-01T23:00:00Z")') == 129699324000000000
    assert ev("NumFromDate([x])") is None
    workday = 'NumFromDate(Join("", FormatDateTime([ContractEndDate], ,"yyyy-MM-ddzzz", "yyyy-MM-dd"), " 23:59:59-08:00"))'
    expected = ev('NumFromDate("2021-01-01T07:59:59Z")')
    assert ev(workday, {"ContractEndDate": "2020-12-31-08:00"}) == expected


@pytest.mark.parametrize(
    ("value", "input_format", "output_format", "expected"),
    [
        ("20150123105347.1Z", "yyyyMMddHHmmss.fZ", "yyyy-MM-dd", "2015-01-23"),
        ("2020-12-31-08:00", "yyyy-MM-ddzzz", "yyyy-MM-dd", "2020-12-31"),
        ("12/31/2020 11:59:00 PM", "M/d/yyyy hh:mm:ss tt", "yyyy-MM-dd HH:mm", "2020-12-31 23:59"),
        ("05.03.21", "dd.MM.yy", "dddd d MMMM yyyy", "Friday 5 March 2021"),
        (
            "2021-03-05T10:20:30.1234567Z",
            "o",
            "yyyy-MM-ddTHH:mm:ss.fffK",
            "2021-03-05T10:20:30.123Z",
        ),
        ("2021-03-05 10:20:30", "yyyy-MM-dd HH:mm:ss", "ss.FFF", "30"),
        (
            "2021-03-05 10:20:30",
            "yyyy-MM-dd HH:mm:ss",
            "'Day' d 'of' MMM, h tt zzz",
            "Day 5 of Mar, 10 AM +00:00",
        ),
        ("2021-03-05", "yyyy-MM-dd", "s", "2021-03-05T00:00:00"),
        ("2021-03-05 10 +5", "yyyy-MM-dd HH z", "HH:mm K", "05:00 Z"),
        ("2021-03-05 10 -05", "yyyy-MM-dd HH zz", "HH", "15"),
        ("  2021-03-05 ", "yyyy-MM-dd", r"yyyy\/MM", "2021/03"),
    ],
)
def test_format_date_time(value, input_format, output_format, expected):
    expression = f'FormatDateTime([d], , "{input_format}", "{output_format}")'
    assert ev(expression, {"d": value}) == expected


def test_format_date_time_three_argument_form_datetime_input_and_null():
    assert ev('FormatDateTime([d], "yyyyMMdd", "dd/MM/yyyy")', {"d": "20200131"}) == "31/01/2020"
    assert ev('FormatDateTime(CDate([d]), , "ignored", "yyyy")', {"d": "2020-01-31"}) == "2020"
    assert ev('FormatDateTime([d], , "yyyyMMdd", "yyyy")') is None
    assert (
        ev('FormatDateTime([d], "AssumeUniversal", "yyyyMMdd", "yyyy")', {"d": "20200131"})
        == "2020"
    )


def test_format_date_time_errors():
    with pytest.raises(ExpressionEvaluationError, match="FormatDateTime") as caught:
        ev('FormatDateTime([d], , "yyyyMMdd", "yyyy")', {"d": "2020-01-01"})
    assert caught.value.function == "FormatDateTime"
    with pytest.raises(ExpressionEvaluationError, match="DateTimeStyles"):
        ev('FormatDateTime([d], "Sideways", "yyyyMMdd", "yyyy")', {"d": "20200101"})
    with pytest.raises(ExpressionEvaluationError, match="invalid date"):
        ev('FormatDateTime([d], , "yyyyMMdd", "yyyy")', {"d": "20201341"})


def test_guid():
    value = ev("Guid()")
    assert len(value) == 36 and value.count("-") == 4 and value[14] == "4"
    assert ev("Guid()", random=random.Random(1)) == ev("Guid()", random=random.Random(1))
    assert ev("Guid()") != ev("Guid()")


def test_ignore_flow_if_null_or_empty():
    assert ev("IgnoreFlowIfNullOrEmpty([department])") is IGNORE_FLOW
    assert ev("IgnoreFlowIfNullOrEmpty([department])", {"department": ""}) is IGNORE_FLOW
    assert ev("IgnoreFlowIfNullOrEmpty([department])", {"department": "Sales"}) == "Sales"
    expression = 'IgnoreFlowIfNullOrEmpty(Switch([prefix], "", "3443", "Dr.", "3444", "Prof."))'
    assert ev(expression, {"prefix": "3443"}) == "Dr."
    assert ev(expression, {"prefix": "9999"}) is IGNORE_FLOW
    assert not IGNORE_FLOW and repr(IGNORE_FLOW) == "IGNORE_FLOW"
    assert pickle.loads(pickle.dumps(IGNORE_FLOW)) is IGNORE_FLOW


def test_instr():
    assert ev('InStr("The quick brown fox","quick")') == 5
    assert ev('InStr("repEated","e",3,vbBinaryCompare)') == 7
    assert ev('InStr("repEated","e",3,vbTextCompare)') == 4
    assert ev('InStr("abc","z")') == 0
    assert ev('InStr([mail],"@")') is None


def test_is_null_is_null_or_empty_is_present_is_string():
    source = {"empty": "", "name": "x", "list": [], "flag": False}
    assert ev("IsNull([missing])", source) is True
    assert ev("IsNull([list])", source) is True
    assert ev("IsNull([empty])", source) is False
    assert ev("IsNullOrEmpty([empty])", source) is True
    assert ev("IsNullOrEmpty([missing])", source) is True
    assert ev("IsNullOrEmpty([name])", source) is False
    assert ev("IsPresent([name])", source) is True
    assert ev("IsPresent([empty])", source) is False
    assert ev("IsString([name])", source) is True
    assert ev("IsString([flag])", source) is False
    assert ev("IsString([missing])", source) is False


def test_item():
    source = {"proxyAddresses": ["SMTP:a@x", "smtp:b@x"]}
    assert ev("Item([proxyAddresses], 1)", source) == "SMTP:a@x"
    assert ev("Item([proxyAddresses], 2)", source) == "smtp:b@x"
    assert ev("Item([proxyAddresses], 3)", source) is None
    assert ev("Item([proxyAddresses], 0)", source) is None
    assert ev("Item([missing], 1)") is None


def test_join_flattens_multi_valued_attributes_and_skips_empties():
    assert (
        ev('Join(", ", "", [surname], [givenName])', {"givenName": "John", "surname": "Doe"})
        == "Doe, John"
    )
    assert (
        ev('Join(";", [proxyAddresses], [mail])', {"proxyAddresses": ["a", "b"], "mail": "c"})
        == "a;b;c"
    )
    assert ev('Join("", 1000, True)') == "1000True"
    assert ev("Join([sep], [a], [b])", {"a": "x", "b": "y"}) == "xy"


def test_left():
    assert ev('Left("John Doe", 3)') == "Joh"
    assert ev('Left("John Doe", 0)') == ""
    assert ev('Left("John Doe", -1)') == "John Doe"
    assert ev('Left("Jo", 5)') == "Jo"
    assert ev("Left([missing], 3)") == ""


def test_mid():
    assert ev("Mid([givenName], 1, 3)", {"givenName": "John"}) == "Joh"
    assert ev("Mid([givenName], 3, 10)", {"givenName": "John"}) == "hn"
    assert ev("Mid([givenName], 9, 1)", {"givenName": "John"}) == ""
    assert ev("Mid([givenName], 1, 3)") is None
    with pytest.raises(ExpressionEvaluationError, match="Mid: start") as caught:
        ev('ToLower(Mid("abc", 0, 2))')
    assert caught.value.position == len("ToLower(")


def test_normalize_diacritics():
    assert ev("NormalizeDiacritics([givenName])", {"givenName": "Zoë"}) == "Zoe"
    assert (
        ev('NormalizeDiacritics("Łukasz Ærøskøbing Straße Ğül Şık Ñoño")')
        == "Lukasz AEroeskoebing Strasse Gul Sik Nono"
    )
    assert ev('NormalizeDiacritics("東京")') == "東京"
    assert ev("NormalizeDiacritics([missing])") is None


def test_not_with_other_values():
    assert ev('Not("True")') is False
    assert ev("Not(1)") is False
    assert ev("Not(0)") is True
    assert ev('Not("anything")') is True
    assert ev("Not(IsPresent([mail]))", {"mail": "m"}) is False


def test_now():
    assert ev("Now()") == "8/25/2021 5:41:18 PM"
    assert (
        ev("Now()", now=datetime(2021, 7, 2, 8, 33, 38, tzinfo=timezone(timedelta(hours=-7))))
        == "7/2/2021 3:33:38 PM"
    )
    assert ev("Now()", now=datetime(2021, 7, 2, 15, 33, 38)) == "7/2/2021 3:33:38 PM"
    unpinned = parse("Now()").evaluate({})
    assert unpinned.endswith(("AM", "PM"))


def test_pcase():
    assert (
        ev("PCase([firstName])", {"firstName": "PABLO GONSALVES (SECOND)"})
        == "Pablo Gonsalves (Second)"
    )
    assert ev('PCase([lastName]," \'-")', {"lastName": "PINTO-DE'SILVA"}) == "Pinto-De'Silva"
    assert (
        ev('PCase(Join(" ",[firstName],[lastName]))', {"firstName": "GREGORY", "lastName": "JAMES"})
        == "Gregory James"
    )
    assert ev('PCase("o\'neil mc-donald_jr")') == "O'neil Mc-Donald_Jr"
    assert ev("PCase([missing])") is None


def test_random_string():
    value = ev('RandomString(10,2,2,2,1,"?,")', random=random.Random(7))
    assert len(value) == 10
    assert sum(c.isdigit() for c in value) >= 2
    assert sum(c.isupper() for c in value) >= 2
    assert sum(c.islower() for c in value) >= 1
    assert sum(not c.isalnum() for c in value) >= 2
    assert "?" not in value and "," not in value
    six = ev("RandomString(6,3,0,0,3)", random=random.Random(1))
    assert (
        len(six) == 6 and sum(c.isdigit() for c in six) == 3 and sum(c.islower() for c in six) == 3
    )
    assert ev("RandomString(8,1,1,1,1)", random=random.Random(3)) == ev(
        "RandomString(8,1,1,1,1)", random=random.Random(3)
    )
    with pytest.raises(ExpressionEvaluationError, match="RandomString"):
        ev("RandomString(3,2,2,0,0)")
    with pytest.raises(ExpressionEvaluationError, match="RandomString: length"):
        ev("RandomString([missing],0,0,0,0)")


def test_redact_masks_but_keeps_the_value():
    result = ev("Redact([userPrincipalName])", {"userPrincipalName": "john@contoso.com"})
    assert result == REDACTED == "[Redact]"
    assert isinstance(result, RedactedValue)
    assert reveal(result) == "john@contoso.com"
    assert json.dumps(result) == '"[Redact]"'
    assert "john" not in repr(result)
    assert reveal(pickle.loads(pickle.dumps(result))) == "john@contoso.com"
    # what is built from a redacted value stays redacted
    joined = ev('Join("@", Redact([user]), "contoso.com")', {"user": "john"})
    assert joined == REDACTED and reveal(joined) == "john@contoso.com"
    assert ev("IsPresent(Redact([user]))", {"user": "john"}) is True
    assert ev("Redact([missing])") is None
    assert reveal("plain") == "plain"


def test_remove_duplicates():
    source = {"proxyAddresses": ["smtp:a", "smtp:b", "smtp:a", "SMTP:a"]}
    assert ev("RemoveDuplicates([proxyAddresses])", source) == ["smtp:a", "smtp:b", "SMTP:a"]
    assert ev("RemoveDuplicates([mail])", {"mail": "m"}) == ["m"]
    assert ev("RemoveDuplicates([missing])") is None


class TestReplace:
    def test_old_value_and_replacement_value(self):
        expression = 'Replace([BusinessTitle],"Product Developer", , , "Software Engineer", , )'
        assert ev(expression, {"BusinessTitle": "Product Developer"}) == "Software Engineer"
        assert (
            ev('Replace([mail], "@contoso.com", , ,"", ,)', {"mail": "john.doe@contoso.com"})
            == "john.doe"
        )
        assert ev('Replace([a], "x", , , "y", , )', {"a": "xXx"}) == "yXy"  # case-sensitive
        assert ev('Replace([mail], "@contoso.com", , ,"", ,)') is None

    def test_old_value_and_template(self):
        expression = 'Replace([UserID],"<username>", , , , , "<username>@contoso.com")'
        assert ev(expression, {"UserID": "jsmith"}) == "jsmith@contoso.com"
        assert ev(expression) is None

    def test_regex_and_replacement_value(self):
        expression = r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", , "${phoneNumber}", , )'
        assert ev(expression, {"telephoneNumber": "+91 9998887777"}) == "9998887777"
        assert (
            ev(r'Replace([mobile], , "[()\\s-]+", , "", , )', {"mobile": "+1 (999) 888-7777"})
            == "+19998887777"
        )
        assert (
            ev('Replace([mailNickname], , "[a-zA-Z_]*", , "", , )', {"mailNickname": "john_doe72"})
            == "72"
        )
        assert (
            ev(r'Replace([n], , "(\\w+) (\\w+)", , "$2, $1 $$", , )', {"n": "John Doe"})
            == "Doe, John $"
        )
        assert ev(expression) is None

    def test_regex_group_and_replacement_value(self):
        expression = (
            r'Replace([AddressLineData], ,"(?<streetNumber>^\\d*)","streetNumber", "888", , )'
        )
        assert ev(expression, {"AddressLineData": "545 Tremont Street"}) == "888 Tremont Street"
        expression = 'Replace([userPrincipalName], , "(?<Suffix>@(.)*)", "Suffix", "", , )'
        assert ev(expression, {"userPrincipalName": "jsmith@contoso.com"}) == "jsmith"

    def test_regex_group_and_replacement_attribute(self):
        expression = r'Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>\\d{10})", "phoneNumber" , , [mobile], )'
        assert ev(expression, {"telephoneNumber": "", "mobile": "+91 8887779999"}) == "8887779999"
        assert ev(expression, {"mobile": "+91 8887779999"}) == "8887779999"
        assert (
            ev(expression, {"telephoneNumber": "+1 5550100", "mobile": "+91 8887779999"})
            == "+1 5550100"
        )
        assert ev(expression, {}) is None
        assert parse(expression).referenced_attributes == {"telephoneNumber", "mobile"}

    def test_applies_to_each_value_of_a_multi_valued_attribute(self):
        source = {"proxyAddresses": ["smtp:a@old.com", "SMTP:b@old.com"]}
        assert ev('Replace([proxyAddresses], "old.com", , , "new.com", , )', source) == [
            "smtp:a@new.com",
            "SMTP:b@new.com",
        ]

    def test_errors(self):
        with pytest.raises(
            ExpressionEvaluationError, match="Replace: invalid regular expression"
        ) as caught:
            ev('Replace([a], , "(unclosed", , "", , )', {"a": "x"})
        assert caught.value.function == "Replace"
        with pytest.raises(ExpressionEvaluationError, match="no group named 'nope'"):
            ev('Replace([a], , "(?<x>a)", "nope", "", , )', {"a": "a"})
        with pytest.raises(ExpressionEvaluationError, match="oldValue or a regexPattern"):
            ev("Replace([a], , , , , , )", {"a": "a"})


def test_select_unique_value():
    expression = (
        'SelectUniqueValue(Join("@", Join(".", [first], [last]), "contoso.com"), '
        'Join("@", Join(".", Mid([first], 1, 1), [last]), "contoso.com"))'
    )
    source = {"first": "John", "last": "Smith"}
    assert ev(expression, source) == "John.Smith@contoso.com"
    taken = {"John.Smith@contoso.com"}
    assert (
        ev(expression, source, is_unique=lambda value: value not in taken) == "J.Smith@contoso.com"
    )
    taken.add("J.Smith@contoso.com")
    with pytest.raises(ExpressionEvaluationError, match="already exist"):
        ev(expression, source, is_unique=lambda value: value not in taken)
    assert ev("SelectUniqueValue([a], [b])", {"b": "second"}) == "second"
    assert ev("SelectUniqueValue([a], [b])") is None


def test_split():
    assert ev(
        'Split([extensionAttribute5], ",")',
        {"extensionAttribute5": "PermissionSetOne, PermissionSetTwo"},
    ) == ["PermissionSetOne", "PermissionSetTwo"]
    assert ev('Split([x], ";")', {"x": "solo"}) == ["solo"]
    assert ev('Split([x], ",")') is None


def test_strip_spaces():
    assert ev("StripSpaces([n])", {"n": " John  Smith "}) == "JohnSmith"
    assert ev("StripSpaces([n])") is None


def test_switch():
    expression = 'Switch([state], "Australia/Sydney", "NSW", "Australia/Sydney","QLD", "Australia/Brisbane", "SA", "Australia/Adelaide")'
    assert ev(expression, {"state": "QLD"}) == "Australia/Brisbane"
    assert ev(expression, {"state": "qld"}) == "Australia/Sydney"  # case-sensitive
    assert ev(expression, {}) == "Australia/Sydney"
    assert ev('Switch([statusFlag], "Default Value", "true", "1", "", "0")', {}) == "0"
    assert (
        ev('Switch(ToLower([statusFlag]), "0", "true", "1", "false", "0")', {"statusFlag": "TRUE"})
        == "1"
    )
    # only the matching value is evaluated
    assert (
        ev('Switch("a", , "a", "ok", "b", SingleAppRoleAssignment([r]))', {"r": ["x", "y"]}) == "ok"
    )


def test_to_lower_and_to_upper():
    assert ev('ToLower("JOHN.Smith@Contoso.com")') == "john.smith@contoso.com"
    assert ev('ToLower([x], "en-US")', {"x": "ABC"}) == "abc"
    assert ev('ToUpper("john", "tr-TR")') == "JOHN"
    assert ev("ToUpper([proxyAddresses])", {"proxyAddresses": ["smtp:a"]}) == ["SMTP:A"]
    assert ev("ToLower([x])") is None
    assert ev("ToUpper([x])") is None


def test_word():
    assert ev('Word("The quick brown fox",3," ")') == "brown"
    assert ev('Word("This,string!has&many separators",3,",!&#")') == "has"
    assert ev('Word("a,,b", 2, ",")') == "b"
    assert ev('Word("one two", 5, " ")') == ""
    assert ev('Word("one two", 0, " ")') == ""
    assert ev('Word([missing], 1, " ")') == ""


def test_every_function_is_tested_here():
    import pathlib

    text = pathlib.Path(__file__).read_text()
    for name in function_names():
        assert f"{name}(" in text, name


# ------------------------------------------------------------------------------------------
# Evaluation errors
# ------------------------------------------------------------------------------------------


def test_evaluation_errors_are_value_errors_naming_the_function():
    with pytest.raises(ValueError, match=r"^DateAdd: ") as caught:
        ev('Join(" ", DateAdd("d", "many", Now()))')
    assert isinstance(caught.value, ExpressionEvaluationError)
    assert caught.value.function == "DateAdd"
    assert caught.value.position == len('Join(" ", ')


def test_multi_valued_attribute_where_one_value_is_needed():
    with pytest.raises(ExpressionEvaluationError, match="Left: string must be a single value"):
        ev("Left([proxyAddresses], 2)", {"proxyAddresses": ["a", "b"]})
    assert ev("Left([proxyAddresses], 2)", {"proxyAddresses": ["abc"]}) == "ab"


# --------------------------------------------------------------------------------------------
# Limits (issue 10): an expression can't stall or exhaust a worker
# --------------------------------------------------------------------------------------------


def test_a_catastrophic_regex_fails_within_its_time_limit():
    import time

    started = time.monotonic()
    with pytest.raises(ExpressionEvaluationError, match="took longer"):
        ev('Replace([displayName], , "^(a|a)+$", , "x", , )', {"displayName": "a" * 40 + "!"})
    assert time.monotonic() - started < 30  # bounded; without the limit it runs for minutes


def test_nested_replace_with_the_whole_input_stops_at_the_size_cap():
    text = "[displayName]"
    for _ in range(6):
        text = f'Replace({text}, , ".", , "$_", , )'
    with pytest.raises(ExpressionEvaluationError, match="longer than"):
        ev(text, {"displayName": "a" * 29})


def test_plain_replace_and_join_have_size_caps_too():
    big = "x" * 40_000
    with pytest.raises(ExpressionEvaluationError, match="limit"):
        ev('Join("", [a], [a])', {"a": big})
    with pytest.raises(ExpressionEvaluationError, match="limit"):
        ev('Replace([a], "x", , , "xx", , )', {"a": big})
    assert ev('Join("", [a], [a])', {"a": "ab"}) == "abab"


def test_regex_replacements_still_work_with_the_limits():
    assert ev('Replace([a], , "(\\d+)", , "<$1>", , )', {"a": "ab12c3"}) == "ab<12>c<3>"
    assert ev('Replace([a], , "(?<n>\\d+)", "n", "#", , )', {"a": "ab12"}) == "ab#"


def test_the_regexes_of_one_evaluation_share_a_time_budget(monkeypatch):
    import time

    from provisioning.engine import expression_functions

    monkeypatch.setattr(expression_functions, "REGEX_BUDGET_SECONDS", 0.3)
    monkeypatch.setattr(expression_functions, "REGEX_TIMEOUT_SECONDS", 0.2)
    # Each value alone stays under the per-regex limit; all of them together do not.
    values = ["a" * 21 + "!"] * 400
    started = time.monotonic()
    with pytest.raises(ExpressionEvaluationError, match="in all|took longer"):
        ev('Replace([v], , "^(a|a)+$", , "x", , )', {"v": values})
    assert time.monotonic() - started < 30
    # The budget is per evaluation: the next one starts afresh.
    assert ev('Replace([v], , "b", , "c", , )', {"v": "abc"}) == "acc"
