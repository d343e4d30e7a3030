"""content_length_regex: the Content-Length rule of the webhook receiver.

The regex matches exactly the digit strings of at most len(str(limit)) digits
whose value is at most limit (leading zeros within that length included), as
the Jinja expression it replaces did. webhook (Go) searches it unanchored, so
its own ^...$ must do the anchoring: tests use re.search.
"""

from __future__ import annotations

import re

import pytest
from fleet.webhook import content_length_regex
from hypothesis import given, settings
from hypothesis import strategies as st

LIMITS = st.one_of(st.integers(0, 10**18), st.sampled_from([0, 1, 9, 10, 99, 100, 1000,
                                                             65536, 1048576, 10**9]))
# Only what Go's RE2 and Python's re read alike: anchors, a group, alternation,
# digit classes and ranges, counted repetition.
PORTABLE = re.compile(r"\^\((?:[0-9]|\[[0-9]-[0-9]\]|\{[0-9]+(?:,[0-9]+)?\}|\|)+\)\$")


def allowed(value: str, limit: int) -> bool:
    return (value.isascii() and value.isdigit() and len(value) <= len(str(limit))
            and int(value) <= limit)


def matches(limit: int, value: str) -> bool:
    return re.search(content_length_regex(limit), value) is not None


@pytest.mark.parametrize(("limit", "regex"), [
    (0, "^(0)$"),
    (7, "^([0-6]|7)$"),
    (10, "^([0-9]{1,1}|[0-0][0-9]{1}|10)$"),
    (1000, "^([0-9]{1,3}|[0-0][0-9]{3}|1000)$"),
    (65536, "^([0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]{1}"
            "|6553[0-5]|65536)$"),
])
def test_regex_is_the_one_the_role_always_generated(limit, regex):
    assert content_length_regex(limit) == regex


def test_default_limit_accepts_one_mebibyte_and_refuses_one_byte_more():
    assert matches(1048576, "1048576") and matches(1048576, "0")
    assert not matches(1048576, "1048577") and not matches(1048576, "9999999")
    assert not matches(1048576, "") and not matches(1048576, "-1")


def test_leading_zeros_count_within_the_limit_s_length_only():
    assert matches(1000, "0999") and matches(1000, "0001")
    assert not matches(1000, "00999")  # five digits: longer than 1000, whatever the value


@pytest.mark.parametrize("bad", [-1, -1000])
def test_a_negative_limit_is_refused(bad):
    with pytest.raises(ValueError, match=f"limit must be 0 or more, got {bad}"):
        content_length_regex(bad)


@pytest.mark.parametrize("bad", [True, 1.5, "1000", None])
def test_a_limit_that_is_not_an_integer_is_refused(bad):
    with pytest.raises(TypeError, match="limit must be an integer"):
        content_length_regex(bad)


@given(LIMITS, st.integers(0, 10**19))
@settings(max_examples=400, deadline=None)
def test_matches_exactly_the_numbers_up_to_the_limit(limit, number):
    assert matches(limit, str(number)) == (number <= limit)


@given(LIMITS, st.text(alphabet="0123456789", max_size=21))
@settings(max_examples=400, deadline=None)
def test_digit_strings_match_when_short_enough_and_not_larger(limit, value):
    assert matches(limit, value) == allowed(value, limit)


@given(LIMITS, st.text(alphabet="0123456789+- .,xeE\t٣", max_size=12))
@settings(max_examples=300, deadline=None)
def test_anything_but_plain_digits_is_refused(limit, value):
    # No trailing newline: HTTP header values cannot carry one, and Go's $ (unlike
    # Python's) would not match before it anyway.
    assert matches(limit, value) == allowed(value, limit)


@given(LIMITS)
@settings(max_examples=200, deadline=None)
def test_the_regex_is_portable_to_go(limit):
    assert PORTABLE.fullmatch(content_length_regex(limit))
