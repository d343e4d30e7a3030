"""fleet.fleet_report: one record per host from what the report play read, one table."""

from __future__ import annotations

import json

import pytest
from fleet.fleet_report import host_row, render_table
from hypothesis import given
from hypothesis import strategies as st

HEAD = "a" * 40
OLD = "b" * 40


def pull_status(**overrides) -> str:
    status = {
        "host": "ezra", "paused": None, "running": False, "queued": False,
        "last_run": {"status": "ok", "end": "2026-12-01T20:31:05Z", "trigger": "webhook",
                     "commit_after": HEAD, "reason": None, "log": "/var/lib/x/last-run.log"},
        "last_success": {"status": "ok", "end": "2026-12-01T20:31:05Z", "commit_after": HEAD},
        "origin": {"head": HEAD, "error": None},
    }
    status.update(overrides)
    return json.dumps(status)


DEADMAN_OK = json.dumps({"flag": None, "phase": "healthy"})


def test_a_converged_host_is_at_the_origins_head():
    row = host_row("ezra", pull=pull_status(), deadman=DEADMAN_OK, harness="active")
    assert row["commit"] == HEAD and row["at_head"] is True
    assert row["result"] == "ok" and row["reason"] is None
    assert row["paused"] is False and row["deadman"] == "ok" and row["harness"] == "active"
    assert row["problems"] == []


def test_a_failed_run_keeps_the_last_converged_commit_and_gives_the_reason():
    failed = {"status": "failed", "end": "2026-12-01T21:00:00Z", "commit_after": HEAD,
              "reason": "git: repository not found", "log": "/var/log/x"}
    row = host_row("ezra", pull=pull_status(last_run=failed, last_success={
        "commit_after": OLD}), deadman=DEADMAN_OK, harness="active")
    assert row["commit"] == OLD and row["at_head"] is False
    assert row["result"] == "failed" and row["reason"] == "git: repository not found"
    assert row["log"] == "/var/log/x"


def test_pause_and_a_raised_deadman_flag_carry_their_reasons():
    flag = json.dumps({"event": "deadman_active", "reason": "heartbeat stale after 3 restarts"})
    row = host_row("ezra", pull=pull_status(paused={"reason": "disk swap", "since": "x"}),
                   deadman=json.dumps({"flag": flag}), harness="failed")
    assert row["paused"] is True and row["paused_reason"] == "disk swap"
    assert row["deadman"] == "RAISED"
    assert row["deadman_reason"] == "heartbeat stale after 3 restarts"


def test_an_unreachable_host_says_so_and_nothing_else():
    row = host_row("allegro", unreachable="ssh: connect to host allegro port 22: timed out")
    assert row["reachable"] is False and row["commit"] is None
    assert row["reason"].startswith("unreachable: ssh: connect")
    assert "allegro (unreachable)" in render_table([row])


@pytest.mark.parametrize("pull", [None, "", "not json", "[1, 2]", '{"last_run": 7}'])
def test_bad_pull_output_is_a_problem_not_an_exception(pull):
    row = host_row("ezra", pull=pull, deadman=DEADMAN_OK, harness="active")
    assert row["commit"] is None
    if pull in (None, "", "not json", "[1, 2]"):
        assert row["problems"] and row["reason"].startswith("golden-state-pull status:")


def test_the_origin_error_is_the_reason_when_the_run_gave_none():
    row = host_row("ezra", pull=pull_status(origin={"head": None, "error": "timed out"}),
                   deadman=DEADMAN_OK, harness="active")
    assert row["at_head"] is None and row["reason"] == "origin: timed out"


def test_the_table_has_one_line_per_host_under_a_heading():
    rows = [host_row("ezra", pull=pull_status(), deadman=DEADMAN_OK, harness="active"),
            host_row("allegro", unreachable="timed out")]
    lines = render_table(rows).splitlines()
    assert lines[0].split()[:3] == ["HOST", "COMMIT", "HEAD"]
    assert lines[1].startswith("ezra") and HEAD[:12] in lines[1] and " yes " in lines[1]
    assert "2026-12-01 20:31" in lines[1]
    assert lines[2].startswith("allegro (unreachable)")


def test_hostile_strings_cannot_reach_the_terminal_raw():
    reason = "\x1b[2J\u202eevil" + "x" * 500
    failed = {"status": "failed", "end": "2026-12-01T21:00:00Z", "reason": reason}
    table = render_table([host_row("ezra", pull=pull_status(last_run=failed),
                                   deadman=DEADMAN_OK, harness="active")])
    assert "\x1b" not in table and "\u202e" not in table
    assert "\\x1b" in table and "\\u202e" in table
    assert max(len(line) for line in table.splitlines()) < 200


@given(st.one_of(st.none(), st.text(max_size=200),
                 st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                              lambda inner: st.lists(inner, max_size=3)
                              | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                              max_leaves=20).map(json.dumps)),
       st.one_of(st.none(), st.text(max_size=50)))
def test_any_output_gives_a_row_and_a_table(pull, deadman):
    row = host_row("h", pull=pull, deadman=deadman, harness=None)
    assert render_table([row]).startswith("HOST")
