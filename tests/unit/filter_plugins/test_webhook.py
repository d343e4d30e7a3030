"""content_length_regex filter: a thin face over fleet.webhook, with clear errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from fleet.webhook import content_length_regex as logic
from webhook import FilterModule

REGEX = FilterModule().filters()["content_length_regex"]


@pytest.mark.parametrize("limit", [0, 1000, 1048576])
def test_the_filter_is_the_module_utils_function(limit):
    assert REGEX(limit) == logic(limit)


def test_a_string_of_digits_counts_as_its_number():  # e.g. from -e on the command line
    assert REGEX("65536") == logic(65536)


@pytest.mark.parametrize("bad", [-1, "-1", "1e3", "", " 12", True, None, 1.0, [1]])
def test_a_bad_limit_is_a_filter_error_naming_the_filter(bad):
    with pytest.raises(AnsibleFilterError, match=r"^content_length_regex: limit must be"):
        REGEX(bad)
