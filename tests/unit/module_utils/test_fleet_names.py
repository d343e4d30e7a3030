"""Trail names: plain NAME.trail base names, unique in the list (fleet.names)."""

from __future__ import annotations

import fnmatch
import glob
import re
import string

import pytest
from fleet.names import bad_trail_names, is_trail_name
from hypothesis import given, settings
from hypothesis import strategies as st

ALLOWED = string.ascii_letters + string.digits + "._-"
# The regex the trails role matched with Jinja's `match` test before (re.match).
JINJA_REGEX = r"^[A-Za-z0-9][A-Za-z0-9._-]*\.trail$"
NAME_CHARS = ALLOWED + "*?[]/ \t\n~$é٣"
NAMES = st.one_of(st.text(alphabet=NAME_CHARS, max_size=12),
                  st.text(alphabet=NAME_CHARS, max_size=8).map(lambda s: s + ".trail"))
PATHS = st.builds(lambda d, n: d + n, st.sampled_from(["", "x/", "/srv/t/", "~/", "a/b/"]), NAMES)


def plain(name: str) -> bool:
    return (name.endswith(".trail") and len(name) > len(".trail")
            and name[0] in string.ascii_letters + string.digits
            and all(c in ALLOWED for c in name))


@pytest.mark.parametrize("name", ["welcome.trail", "a.trail", "0.trail", "on-board_2.v1.trail",
                                  "a..trail"])
def test_plain_names_pass(name):
    assert is_trail_name(name)


@pytest.mark.parametrize("name", ["no suffix", ".trail", ".hidden.trail", "-a.trail", "_a.trail",
                                  "*.trail", "a?.trail", "[a].trail", "a b.trail", "a.trail\n",
                                  "a.trail.sig", "a.TRAIL", "é.trail", "x/a.trail", "", None, 3])
def test_anything_else_fails(name):
    assert not is_trail_name(name)


def test_bad_names_are_base_names_in_listed_order():
    assert bad_trail_names(["roles/x/welcome.trail", "/srv/no suffix", "~/*.trail"]) == [
        "no suffix", "*.trail"]


def test_a_repeated_base_name_is_bad_once_even_in_another_directory():
    assert bad_trail_names(["x/a.trail", "y/a.trail", "z/a.trail", "b.trail"]) == ["a.trail"]
    assert bad_trail_names(["x/no suffix", "y/no suffix"]) == ["no suffix"]


def test_an_empty_list_has_no_bad_names():
    assert bad_trail_names([]) == []


def test_a_path_that_is_not_a_string_is_refused_naming_it():
    with pytest.raises(TypeError, match=r"expects file paths \(strings\), got int 3"):
        bad_trail_names(["a.trail", 3])


@given(NAMES)
@settings(max_examples=500, deadline=None)
def test_a_name_passes_exactly_when_it_is_plain(name):
    assert is_trail_name(name) == plain(name)


@given(NAMES.filter(lambda s: not s.endswith("\n")))
@settings(max_examples=500, deadline=None)
def test_same_verdict_as_the_role_s_former_jinja_regex(name):
    # Python's $ also matches before a final newline, so the former regex let
    # "a.trail\n" through; fullmatch refuses it (tested above).
    assert is_trail_name(name) == (re.match(JINJA_REGEX, name) is not None)


@given(NAMES.filter(is_trail_name))
@settings(max_examples=300, deadline=None)
def test_a_passing_name_is_safe_to_deploy_and_prune_by(name):
    assert not glob.has_magic(name) and "/" not in name and name.strip() == name
    assert fnmatch.fnmatchcase(name, "*.trail")


@given(st.lists(PATHS, max_size=8))
@settings(max_examples=400, deadline=None)
def test_bad_names_are_exactly_the_unplain_and_the_repeated(paths):
    names = [path.rsplit("/", 1)[-1] for path in paths]
    bad = bad_trail_names(paths)
    expected = {n for n in names if not plain(n)} | {n for n in names if names.count(n) > 1}
    assert set(bad) == expected and len(bad) == len(expected)
    assert bad == sorted(bad, key=lambda n: names.index(n) if not plain(n)
                         else names.index(n, names.index(n) + 1))  # where each is first bad
    assert (bad == []) == (all(map(plain, names)) and len(set(names)) == len(names))
