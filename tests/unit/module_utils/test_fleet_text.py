"""fleet.text: the one terminal-safe escaper, for log lines, names, paths and JSON."""

from __future__ import annotations

import json
import os
import unicodedata

import pytest
from fleet.text import is_unsafe, json_text, printable, show, show_lines, show_path
from hypothesis import given, settings
from hypothesis import strategies as st

HOSTILE = [
    ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),  # clear screen, retitle
    ("abc\u202eexe.txt", "abc\\u202eexe.txt"),  # right-to-left override
    ("a\u2066b\u2069", "a\\u2066b\\u2069"),  # bidi isolates
    ("zero\u200bwidth\u200d\ufeff", "zero\\u200bwidth\\u200d\\ufeff"),
    ("c1\x85\x9b31m", "c1\\x85\\x9b31m"),  # NEL and the 8-bit CSI
    ("no\u00a0break", "no\\xa0break"),
    ("thin\u2009space\u3000", "thin\\u2009space\\u3000"),
    ("tab\there\nnewline\r", "tab\\x09here\\x0anewline\\x0d"),
    ("line\u2028para\u2029", "line\\u2028para\\u2029"),
    ("filler\u3164", "filler\\u3164"),
    ("tag\U000e0041", "tag\\U000e0041"),
    ("private\ue000", "private\\ue000"),
]


@pytest.mark.parametrize(("text", "shown"), HOSTILE)
def test_show_escapes_every_unsafe_character(text, shown):
    assert show(text) == shown


@pytest.mark.parametrize("text", ["plain", "café", "日本語", "a b  c", "emoji \U0001f600",
                                  "back\\slash", "quote's"])
def test_show_keeps_readable_text_as_it_is(text):
    assert show(text) == text


def test_show_cuts_with_an_ellipsis_and_never_half_an_escape():
    assert show("abcdef", 4) == "abc…"
    assert show("ab\x1bcd", 7) == "ab\\x1b…"
    assert show("ab\x1bcd", 6) == "ab…"
    assert show("abc", 3) == "abc"


def test_show_lines_keeps_the_newlines_and_escapes_the_rest():
    assert show_lines("one\x1b[31m\ntwo\u202e\n") == "one\\x1b[31m\ntwo\\u202e\n"


def test_show_path_shows_undecodable_bytes_as_bytes():
    name = b"/srv/a\xff\xfeb\x1b.txt"
    assert show_path(name) == "/srv/a\\xff\\xfeb\\x1b.txt"
    assert show_path(os.fsdecode(name)) == "/srv/a\\xff\\xfeb\\x1b.txt"
    show_path(os.fsdecode(name)).encode("ascii")  # prints under any encoding


def test_printable_folds_whitespace_and_escapes_the_rest():
    assert printable("  a\u00a0\u00a0b\n\x1b[0m\u202e ", 40) == "a b \\x1b[0m\\u202e"
    assert printable("abcdef", 4) == "abc…"


def test_json_text_is_valid_json_that_prints_safely():
    value = {"path": os.fsdecode(b"a\xff"), "name": "ev\x1bil\u202e", "ok": "café",
             "nested": [["\u200b", 1, None, True]], "tag": "\U000e0001"}
    text = json_text(value, indent=2)
    assert json.loads(text) == value
    assert not any(is_unsafe(c) for c in text if c not in "\n ")
    assert "café" in text and "\\u202e" in text and "\\udcff" in text
    assert "\\udb40\\udc01" in text  # beyond U+FFFF: a surrogate pair, as JSON writes it


# -- properties --------------------------------------------------------------

def _undo(shown: str) -> str:
    """Decode show's escapes (and the readable non-ASCII it kept)."""
    return shown.encode("ascii", "backslashreplace").decode("unicode_escape")


TEXT = st.text(st.characters(exclude_characters="\\", exclude_categories=("Cs",)))


@given(TEXT, st.one_of(st.none(), st.integers(0, 200)))
@settings(max_examples=400, deadline=None)
def test_show_is_safe_and_bounded(text, limit):
    shown = show(text, limit)
    assert not any(is_unsafe(c) for c in shown)
    assert not any(unicodedata.category(c)[0] in "CZ" for c in shown if c != " ")
    if limit is not None:
        assert len(shown) <= limit


@given(TEXT)
@settings(max_examples=400, deadline=None)
def test_show_loses_nothing(text):
    assert _undo(show(text)) == text


@given(st.binary(max_size=60).filter(lambda b: b"\0" not in b and b"/" not in b))
@settings(max_examples=300, deadline=None)
def test_show_path_of_any_file_name_encodes_anywhere(name):
    shown = show_path(name)
    shown.encode("utf-8")  # strict: no lone surrogate left
    assert not any(is_unsafe(c) for c in shown)
    for char in os.fsdecode(name):
        if 0xDC80 <= ord(char) <= 0xDCFF:  # a byte that is not UTF-8: shown as that byte
            assert f"\\x{ord(char) - 0xDC00:02x}" in shown


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)


@given(JSON)
@settings(max_examples=300, deadline=None)
def test_json_text_round_trips_and_is_safe(value):
    text = json_text(value, indent=1)
    assert json.loads(text) == value
    assert not any(is_unsafe(c) for c in text if c not in "\n ")
