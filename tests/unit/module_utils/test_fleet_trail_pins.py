"""expected_for: the one pin lookup, for the trail_verify module and the trails role."""

from __future__ import annotations

import os

import pytest
from fleet.trail_verify import expected_for
from hypothesis import given, settings
from hypothesis import strategies as st

A, B, C, D = ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
SRC = "/srv/repo/roles/trails/files/welcome.trail"
LISTED = "roles/trails/files/welcome.trail"


def test_nothing_pinned_is_none():
    assert expected_for(None, SRC, LISTED) is None


def test_one_fingerprint_pins_every_trail():
    assert expected_for(A, SRC, LISTED) == A and expected_for(A, "/x/other.trail") == A


def test_the_entry_as_listed_wins_then_the_path_then_the_base_name():
    pins = {LISTED: A, SRC: B, "welcome.trail": C}
    assert expected_for(pins, SRC, LISTED) == A
    del pins[LISTED]
    assert expected_for(pins, SRC, LISTED) == B
    del pins[SRC]
    assert expected_for(pins, SRC, LISTED) == C
    del pins["welcome.trail"]
    assert expected_for(pins, SRC, LISTED) is None


def test_the_absolute_path_is_a_key_too(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert expected_for({str(tmp_path / "w.trail"): D}, "w.trail") == D
    assert expected_for({"/srv/w.trail": D}, "/srv/./x/../w.trail") == D


def test_without_listed_the_keys_are_the_module_s_own():
    pins = {LISTED: A}
    assert expected_for(pins, SRC) is None  # the module never sees the entry as listed
    assert expected_for(pins, SRC, LISTED) == A


def test_a_pin_that_is_present_but_empty_is_returned_as_it_is():
    assert expected_for({"welcome.trail": ""}, SRC, LISTED) == ""


@pytest.mark.parametrize("bad", [["a" * 64], 3, b"aa"])
def test_pins_of_another_type_are_refused(bad):
    with pytest.raises(TypeError, match="must be a string or a mapping"):
        expected_for(bad, SRC)


KEYS = st.sampled_from(["listed", "path", "abs", "base", "other"])


@given(st.dictionaries(KEYS, st.sampled_from([A, B, C, D]), max_size=5), st.booleans())
@settings(max_examples=300, deadline=None)
def test_the_first_present_key_in_order_wins(chosen, with_listed):
    path = "trails/./w.trail"
    names = {"listed": "inv/w.trail", "path": path, "abs": os.path.abspath(path),
             "base": "w.trail", "other": "x.trail"}
    pins = {names[key]: value for key, value in chosen.items()}
    order = (["listed"] if with_listed else []) + ["path", "abs", "base"]
    wanted = next((chosen[key] for key in order if key in chosen), None)
    assert expected_for(pins, path, names["listed"] if with_listed else None) == wanted
