"""trail_pin filter: the module's own pin lookup, with clear errors."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from trail_pins import FilterModule

PIN = FilterModule().filters()["trail_pin"]
SRC = "/srv/repo/roles/trails/files/welcome.trail"
LISTED = "roles/trails/files/welcome.trail"


def test_finds_the_pin_by_the_entry_as_listed_first():
    assert PIN({LISTED: "a" * 64, "welcome.trail": "b" * 64}, SRC, LISTED) == "a" * 64


def test_falls_back_to_the_base_name_and_then_to_none():
    assert PIN({"welcome.trail": "b" * 64}, SRC, LISTED) == "b" * 64
    assert PIN({"other.trail": "b" * 64}, SRC, LISTED) is None
    assert PIN({}, SRC) is None and PIN(None, SRC) is None


@pytest.mark.parametrize(("args", "message"), [
    ((["a" * 64], SRC), "the pins must be a dictionary"),
    (({}, ""), "path must be a non-empty string"),
    (({}, None), "path must be a non-empty string"),
    (({}, SRC, 3), "listed must be a string"),
])
def test_bad_arguments_are_filter_errors_naming_the_argument(args, message):
    with pytest.raises(AnsibleFilterError, match=f"^trail_pin: {message}"):
        PIN(*args)
