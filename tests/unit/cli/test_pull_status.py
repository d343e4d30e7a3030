"""golden-state-pull status / history: tables for people, --json for machines."""

from __future__ import annotations

import json

import pytest
from fleet import pull as fleet_pull
from fleet.pull import PullConfig
from fleet_cli import pull_runner

LOG = "/var/lib/golden-state/pull/last-run.log"
HISTORY = "/var/lib/golden-state/pull/history.jsonl"
REASON = ("pre-flight refused: 1 banned-provider finding(s): inventory/host_vars/ezra.yml:14: "
          "banned provider 'anthropic' in golden_state_providers[1].provider")


def record(**changes) -> dict:
    """A history record as run_once writes it (a run that converged)."""
    base = {
        "host": "ezra", "branch": "main", "trigger": "webhook", "triggers": 1,
        "delivery": "d-1", "deliveries": ["d-1"], "received": "2026-03-02T10:13:59.120000Z",
        "start": "2026-03-02T10:14:07.250000Z", "end": "2026-03-02T10:14:48.500000Z",
        "fetched": "2026-03-02T10:14:09.000000Z", "duration": 41.25, "status": "ok",
        "exit_status": 0, "commit_before": "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e",
        "commit_after": "3f2a9c1d0b8e4f6a7c5d3e1f2a4b6c8d0e2f4a6b", "paused": None,
        "ok": 40, "changed": 2, "failed": 0, "unreachable": 0, "reason": None, "log": LOG,
    }
    return {**base, **changes}


FAILED = record(status="failed", exit_status=2, duration=12.5, reason=REASON, failed=1,
                trigger="webhook+timer", triggers=3,
                commit_before="3f2a9c1d0b8e4f6a7c5d3e1f2a4b6c8d0e2f4a6b")
PAUSED = record(status="paused", exit_status=None, duration=None, commit_after=None,
                reason=None, log=None, trigger="timer",
                paused={"reason": "debugging ezra - alice", "since": "2026-03-02T09:00:00.000000Z"})


def status(**changes) -> dict:
    return {"host": "ezra", "paused": None, "running": False, "queued": False,
            "last_run": None, **changes}


def test_status_of_a_host_that_never_ran():
    assert pull_runner.render_status(status(), LOG) == (
        "host      ezra\n"
        "paused    no\n"
        "running   no\n"
        "queued    no\n"
        "last run  never\n")


def test_status_of_a_failed_run_shows_its_reason_and_log():
    text = pull_runner.render_status(status(last_run=FAILED), LOG)
    assert text == (
        "host      ezra\n"
        "paused    no\n"
        "running   no\n"
        "queued    no\n"
        "last run  2026-03-02 10:14:07 UTC\n"
        "trigger   webhook+timer (3 triggers)\n"
        "commit    3f2a9c1\n"
        "result    failed 2 after 12s\n"
        "reason    pre-flight refused: 1 banned-provider finding(s):\n"
        "          inventory/host_vars/ezra.yml:14: banned provider 'anthropic' in\n"
        "          golden_state_providers[1].provider\n"
        f"log       {LOG} (root only)\n")
    assert max(len(line) for line in text.splitlines()) <= pull_runner.STATUS_WIDTH


def test_status_while_paused_running_and_queued():
    flag = {"reason": "debugging ezra - alice", "since": "2026-03-02T09:00:00.000000Z"}
    text = pull_runner.render_status(
        status(paused=flag, running=True, queued=True, last_run=record()), LOG)
    assert "paused    yes, since 2026-03-02 09:00:00 UTC: debugging ezra - alice\n" in text
    assert "running   yes (a run holds the lock)\n" in text
    assert "queued    yes (triggers wait in the spool)\n" in text
    assert "commit    3f2a9c1 (was 1b2c3d4)\n" in text
    assert "result    ok after 41s\n" in text
    assert "reason" not in text  # nothing to explain


def test_status_of_a_paused_run_and_an_unreadable_flag():
    text = pull_runner.render_status(
        status(paused={"reason": "(unreadable pause flag)", "since": None}, last_run=PAUSED), LOG)
    assert "paused    yes: (unreadable pause flag)\n" in text
    assert "result    paused\n" in text
    assert "reason    paused: debugging ezra - alice\n" in text
    assert "log " not in text  # a paused run ran nothing


def test_long_reasons_wrap_then_end_in_an_ellipsis():
    text = pull_runner.render_status(status(last_run=record(
        status="failed", exit_status=2, reason="word " * 80)), LOG)
    reason_lines = [line for line in text.splitlines()
                    if line.startswith(("reason", "          "))]
    assert len(reason_lines) == 3 and reason_lines[-1].endswith("…")


def test_history_table():
    text = pull_runner.render_history([record(), FAILED, PAUSED], LOG, HISTORY, width=100)
    assert text == (
        "START (UTC)       TRIGGER        COMMIT   RESULT       TIME    REASON\n"
        "2026-03-02 10:14  webhook        3f2a9c1  ok           41s\n"
        "2026-03-02 10:14  webhook+timer  3f2a9c1  failed 2     12s     "
        "pre-flight refused: 1 banned-provide…\n"
        "2026-03-02 10:14  timer          -        paused       -       "
        "paused: debugging ezra - alice\n"
        f"log: {LOG} (latest run, root only)\n")
    assert max(len(line) for line in text.splitlines()) <= 100


def test_history_of_nothing_and_of_odd_records():
    assert pull_runner.render_history([], LOG, HISTORY) == f"no runs recorded yet ({HISTORY})\n"
    odd = [3, record(start="yesterday", duration=float("inf"), trigger="web\x1b[2Jhook",
                     status="failed", exit_status=1, reason=None, commit_after=None)]
    rows = pull_runner.render_history(odd, LOG, HISTORY, width=80).splitlines()
    assert len(rows) == 3  # heading, the one dict, the log line
    assert rows[1].startswith("yesterday         web\\x1b[2Jho…  -        failed 1     -       ")
    assert rows[1].endswith("no reason record…")
    assert "\x1b" not in "".join(rows)
    assert all(len(row) <= 80 for row in rows[:2])


@pytest.mark.parametrize(("seconds", "shown"), [
    (0.017, "0.0s"), (9.94, "9.9s"), (41.25, "41s"), (62, "1m02s"), (3725, "1h02m"),
    (None, "-"), (-1, "-"), ("41", "-"), (True, "-"), (float("nan"), "-"),
])
def test_durations(seconds, shown):
    assert pull_runner._duration(seconds) == shown


# -- the commands, in process -----------------------------------------------

@pytest.fixture
def cfg(tmp_path, monkeypatch) -> PullConfig:
    state = tmp_path / "state"
    (state / "spool").mkdir(parents=True)
    path = tmp_path / "pull.json"
    path.write_text(json.dumps({"repo_url": "file:///srv/origin.git", "inventory_name": "ezra",
                                "state_dir": str(state), "spool_dir": str(state / "spool")}))
    monkeypatch.setenv("GOLDEN_STATE_PULL_CONFIG", str(path))
    monkeypatch.setenv("COLUMNS", "100")
    return fleet_pull.load_config(str(path))


def test_commands_print_tables_by_default(cfg, capsys):
    fleet_pull.append_history(cfg, record())
    fleet_pull.append_history(cfg, FAILED)
    assert pull_runner.main(["status"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("host      ezra\npaused    no\n")
    assert "reason    pre-flight refused:" in out
    assert pull_runner.main(["history", "-n", "1"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].startswith("START (UTC)")
    assert rows[1].startswith("2026-03-02 10:14  webhook+timer  3f2a9c1  failed 2")
    assert len(rows) == 3


def test_json_keeps_the_machine_forms(cfg, capsys):
    fleet_pull.append_history(cfg, record())
    fleet_pull.append_history(cfg, FAILED)
    assert pull_runner.main(["status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"host", "paused", "running", "queued", "last_run", "last_success"}
    assert (data["host"], data["paused"], data["running"], data["queued"]) == (
        "ezra", None, False, False)
    assert data["last_run"] == FAILED  # the reason in full, not truncated
    assert pull_runner.main(["history", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line) for line in lines] == [record(), FAILED]
    assert lines[1] == json.dumps(FAILED, sort_keys=True)


def test_history_count_must_be_positive(cfg, capsys):
    with pytest.raises(SystemExit) as exc:
        pull_runner.main(["history", "-n", "0"])
    assert exc.value.code == 2
    assert "must be at least 1" in capsys.readouterr().err


# -- the last success and the origin's head (the fleet report reads both) ----------

def test_status_names_the_last_success_and_asks_the_origin_only_when_told(tmp_path, capsys):
    import subprocess as sp

    origin = tmp_path / "origin.git"
    work = tmp_path / "work"
    sp.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    sp.run(["git", "clone", "-q", str(origin), str(work)], check=True, capture_output=True)
    sp.run(["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@localhost",
            "commit", "-q", "--allow-empty", "-m", "one"], check=True)
    sp.run(["git", "-C", str(work), "push", "-q", "origin", "HEAD:main"], check=True,
           capture_output=True)
    head = sp.run(["git", "-C", str(work), "rev-parse", "HEAD"], check=True,
                  capture_output=True, text=True).stdout.strip()
    config = tmp_path / "pull.json"
    state = tmp_path / "state"
    state.mkdir()
    config.write_text(json.dumps({"repo_url": str(origin), "inventory_name": "h",
                                  "state_dir": str(state), "spool_dir": str(tmp_path / "spool"),
                                  "checkout_dir": str(tmp_path / "checkout")}))
    (state / "history.jsonl").write_text(
        json.dumps({"status": "ok", "commit_after": head, "end": "2026-12-01T10:00:00Z"}) + "\n"
        + json.dumps({"status": "failed", "reason": "git step failed: x"}) + "\n")
    assert pull_runner.main(["--config", str(config), "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["last_success"]["commit_after"] == head and "origin" not in status
    assert pull_runner.main(["--config", str(config), "status", "--json", "--origin"]) == 0
    assert json.loads(capsys.readouterr().out)["origin"] == {"head": head, "error": None}
    assert pull_runner.main(["--config", str(config), "status", "--origin"]) == 0
    table = capsys.readouterr().out
    assert f"last ok   {head[:7]}" in table and f"origin    {head[:7]}" in table


def test_an_unreachable_origin_is_an_error_in_the_status_not_a_failure(tmp_path):
    from fleet.pull import PullConfig, origin_head

    cfg = PullConfig(repo_url=str(tmp_path / "missing.git"), inventory_name="h")
    result = origin_head(cfg)
    assert result["head"] is None and "missing.git" in result["error"]
