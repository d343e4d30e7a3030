"""bad_trail_names filter: a thin face over fleet.names, with clear errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from names import FilterModule

BAD = FilterModule().filters()["bad_trail_names"]


def test_names_the_unplain_and_the_repeated_base_names():
    assert BAD(["roles/trails/files/welcome.trail", "/srv/no suffix", "x/welcome.trail"]) == [
        "no suffix", "welcome.trail"]


def test_plain_unique_names_give_an_empty_list():
    assert BAD(("a.trail", "/srv/b.trail")) == []


@pytest.mark.parametrize("bad", ["a.trail", {"a": 1}, None, 3])
def test_anything_but_a_list_is_a_filter_error(bad):
    with pytest.raises(AnsibleFilterError, match=r"^bad_trail_names: expects a list of file paths"):
        BAD(bad)


def test_an_entry_that_is_not_a_string_is_a_filter_error_naming_it():
    with pytest.raises(AnsibleFilterError, match=r"^bad_trail_names: .*got int 7"):
        BAD(["a.trail", 7])
