"""Property tests: entry checks never crash, and plan -> apply -> plan converges."""

from __future__ import annotations

import base64
import os
import stat
import tempfile

import pytest
from fleet import file_tree as ft
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40),
                    st.floats(allow_nan=False), st.text(max_size=20))
JSON_LIKE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=20)
KEYS = [*sorted(ft.KEYS), "src"]
# Values that are sometimes plausible for some key, so the checks past the first one run.
PLAUSIBLE = st.one_of(
    st.sampled_from(["file", "directory", "link", "/etc/x", "/etc/../x", "0644", "999", "root",
                     "a:b", "YQ==", "not base64", "check %s", "", "/", "//x", "/x\0"]),
    st.text(max_size=12), st.integers(-5, 0o20000), st.booleans(), st.none(),
    st.lists(st.text(max_size=3), max_size=2))
ENTRY_LIKE = st.dictionaries(st.sampled_from(KEYS), PLAUSIBLE, max_size=len(KEYS))
# Unprivileged tests cannot read a file without the owner's read bit.
MODES = st.integers(0, 0o777).map(lambda mode: mode if os.geteuid() == 0 else mode | 0o600)
NAMES = st.text(alphabet="abcxyz-_.0", min_size=1, max_size=8).filter(
    lambda name: name not in (".", ".."))


@given(st.one_of(JSON_LIKE, st.lists(st.one_of(ENTRY_LIKE, JSON_LIKE), max_size=5)))
@settings(max_examples=100, deadline=None)
def test_parse_entries_raises_only_file_tree_errors(raw):
    try:
        parsed = ft.parse_entries(raw)
    except ft.FileTreeError as error:
        assert error.errors and all(isinstance(line, str) and line for line in error.errors)
        assert all(line.startswith("entries") for line in error.errors)
    else:
        assert isinstance(raw, list) and len(parsed) == len(raw)
        assert len({entry.path for entry in parsed}) == len(parsed)


@given(st.one_of(JSON_LIKE, st.lists(st.one_of(st.text(max_size=12), SCALARS), max_size=4)))
@settings(max_examples=100, deadline=None)
def test_parse_purge_raises_only_file_tree_errors(raw):
    try:
        patterns = ft.parse_purge(raw)
    except ft.FileTreeError as error:
        assert error.errors and all(line.startswith("purge") for line in error.errors)
    else:
        assert patterns == (raw or [])


@st.composite
def trees(draw):
    """Declared files (some over existing ones with other content or mode) and a purge glob."""
    names = draw(st.lists(NAMES, min_size=1, max_size=6, unique=True))
    declared, existing = {}, {}
    for name in names:
        content = draw(st.one_of(st.text(max_size=40),
                                 st.binary(max_size=40)))
        declared[name] = (content, draw(MODES))
        if draw(st.booleans()):
            existing[name] = (draw(st.binary(max_size=20)), draw(MODES))
    strays = draw(st.lists(NAMES.map(lambda name: name + ".stray"), max_size=3, unique=True))
    return declared, existing, strays


def entry_for(directory, name, content, mode):
    raw = {"path": os.path.join(directory, name), "mode": f"{mode:o}"}
    if isinstance(content, bytes):
        raw["content_base64"] = base64.b64encode(content).decode()
    else:
        raw["content"] = content
    return raw


@given(trees())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_plan_apply_then_plan_again_is_empty(tree):
    declared, existing, strays = tree
    with tempfile.TemporaryDirectory() as directory:
        for name, (data, mode) in existing.items():
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(data)
            os.chmod(os.path.join(directory, name), mode)
        for name in strays:
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(b"stray")
        entries = ft.parse_entries([entry_for(directory, name, *spec)
                                    for name, spec in declared.items()])
        purge = [os.path.join(directory, "*.stray")]
        first = ft.plan(entries, purge, manage_owner=False)
        assert first.conflicts == [] and first.unknown_ids == []
        assert sorted(c.path for c in first.changes if c.action == "remove") == sorted(
            os.path.join(directory, name) for name in strays if name not in declared)
        for change in first.changes:
            ft.apply_change(change, manage_owner=False)
        again = ft.plan(entries, purge, manage_owner=False)
        assert again.changes == [] and again.conflicts == []
        assert sorted(again.unchanged) == sorted(entry.path for entry in entries)
        for entry in entries:
            with open(entry.path, "rb") as handle:
                assert handle.read() == entry.content
            assert stat.S_IMODE(os.lstat(entry.path).st_mode) == entry.mode
        assert sorted(os.listdir(directory)) == sorted(declared)  # no strays, no temp files


@pytest.mark.parametrize("raw", [
    [{"path": "/x", "content": "", 1: 2}],  # a non-string key still gives a message
    [{"path": "/x", "state": ["file"]}],
    [{"path": "/x", "state": {"a": 1}, "mode": [1]}],
])
def test_odd_shapes_found_earlier_stay_file_tree_errors(raw):
    with pytest.raises(ft.FileTreeError):
        ft.parse_entries(raw)
