"""trail_fingerprint / trail_summary filters."""

from __future__ import annotations

import hashlib

import pytest
from ansible.errors import AnsibleFilterError
from fleet import trail as ft
from trail import FilterModule

DATA = ft.compile_bytes([
    {"op": "TRAIL_BEGIN", "agent": "bot", "trail_id": "t", "ts": 9},
    {"op": "NOP"}, {"op": "NOP"},
    {"op": "TRAIL_END", "status": "error"},
])
FILTERS = FilterModule().filters()


def test_fingerprint_of_bytes_and_path(tmp_path):
    path = tmp_path / "t.trail"
    path.write_bytes(DATA)
    expected = hashlib.sha256(DATA).hexdigest()
    assert FILTERS["trail_fingerprint"](DATA) == expected
    assert FILTERS["trail_fingerprint"](str(path)) == expected


def test_summary(tmp_path):
    path = tmp_path / "t.trail"
    path.write_bytes(DATA)
    summary = FILTERS["trail_summary"](str(path))
    assert summary["valid"] is True
    assert summary["steps"] == 4 and summary["status"] == "error" and summary["agent"] == "bot"
    assert summary["histogram"] == {"NOP": 2, "TRAIL_BEGIN": 1, "TRAIL_END": 1}
    broken = FILTERS["trail_summary"](DATA[:-1])
    assert broken["valid"] is False and broken["findings"][0]["code"] == "TRUNCATED"


def test_errors_are_filter_errors(tmp_path):
    with pytest.raises(AnsibleFilterError, match="cannot read"):
        FILTERS["trail_fingerprint"](str(tmp_path / "missing"))
    with pytest.raises(AnsibleFilterError, match="bytes or a file path"):
        FILTERS["trail_summary"](42)
