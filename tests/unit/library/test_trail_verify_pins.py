"""trail_verify looks pins up through fleet.trail_verify.expected_for, as the trails role does."""

from __future__ import annotations

import pytest
import trail_verify
from fleet import trail_verify as fv


@pytest.mark.parametrize("expected", [None, "a" * 64, {}, {"w.trail": "b" * 64},
                                      {"/srv/t/w.trail": "c" * 64, "w.trail": "b" * 64}])
def test_the_module_asks_module_utils(expected):
    assert trail_verify._expected_for(expected, "/srv/t/w.trail") == fv.expected_for(
        expected, "/srv/t/w.trail")


def test_the_module_uses_the_shared_function(monkeypatch):
    monkeypatch.setattr(trail_verify, "expected_for", lambda expected, path: ("asked", path))
    assert trail_verify._expected_for({}, "/x.trail") == ("asked", "/x.trail")
