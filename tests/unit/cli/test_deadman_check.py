"""deadman-check's command line: check, --status, --clear, lock contention, bad config."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleet import deadman as fd
from fleet_cli import deadman_check

SCRIPT = Path(__file__).resolve().parents[3] / "cli" / "deadman_check.py"
T0 = 1_800_000_000.0


@pytest.fixture
def setup(tmp_path):
    """A config file, a stamp, and a factory building Deadman with fakes and a fake clock."""
    state_dir = tmp_path / "state"
    stamp = tmp_path / "heartbeat"
    config_path = tmp_path / "deadman.json"
    config_path.write_text(json.dumps({
        "heartbeat_path": str(stamp), "state_dir": str(state_dir), "stale_after": 10,
        "max_restarts": 1, "window": 100, "healthy_after": 30,
        "rollback_command": "/nonexistent/overlay rollback --to known-good",
        "mark_good_command": "/nonexistent/overlay mark-known-good"}))
    calls: list[list[str]] = []
    clock = {"now": T0}

    def run(argv, timeout):
        calls.append(list(argv))
        if argv[0].startswith("/nonexistent"):
            raise FileNotFoundError(argv[0])
        return subprocess.CompletedProcess(argv, 0, "", "")

    def factory(config):
        return fd.Deadman(config, clock=lambda: clock["now"], run=run, log=lambda p, m: None,
                          post=lambda *a: 204, started_at=lambda now: None)

    def cli(*args):
        return deadman_check.main(["--config", str(config_path), *args], deadman_factory=factory)

    def beat(when):
        stamp.write_text("x")
        os.utime(stamp, (when, when))

    class Setup:
        pass

    s = Setup()
    s.__dict__.update(cli=cli, beat=beat, clock=clock, calls=calls, state_dir=state_dir,
                      config_path=config_path, factory=factory)
    return s


def test_fresh_heartbeat_is_silent(setup, capsys):
    setup.beat(T0)
    assert setup.cli() == 0
    assert capsys.readouterr().out == ""
    assert setup.cli("-v") == 0
    assert "heartbeat 0.0 s, fresh" in capsys.readouterr().out


def test_escalation_through_the_cli(setup, capsys):
    setup.beat(T0 - 100)
    assert setup.cli() == 0  # grace: the state is new
    assert capsys.readouterr().out == ""
    outputs = []
    for _ in range(4):
        setup.clock["now"] += 11
        assert setup.cli() == 0
        outputs.append(capsys.readouterr().out)
    assert "stale: restart: heartbeat 111 s old" in outputs[0]
    assert "rollback: heartbeat" in outputs[1]
    assert "restart: final restart after rollback" in outputs[1]
    assert "deadman_active: heartbeat" in outputs[2]
    assert outputs[3] == ""  # flag up: silent, nothing done
    assert (setup.state_dir / "deadman_active").exists()
    assert ["/nonexistent/overlay", "rollback", "--to", "known-good"] in setup.calls
    history = [json.loads(line) for line in (setup.state_dir / "history.jsonl").open()]
    assert [h["event"] for h in history] == ["restart", "rollback", "restart", "deadman_active"]
    assert "not found" in history[1]["outcome"]  # missing overlay tool: logged, continued


def test_status_human_and_json(setup, capsys):
    setup.beat(T0 - 3)
    assert setup.cli("--status") == 0
    out = capsys.readouterr().out
    assert "age 3.0 s (stale after 10 s)" in out
    assert "deadman flag   not set" in out
    assert "restarts       0 of 1 in the last 100 s" in out
    assert setup.cli("--status", "--json") == 0
    assert json.loads(capsys.readouterr().out)["flag"] is None


def test_status_shows_flag_history_and_corrupt_state(setup, capsys):
    setup.state_dir.mkdir()
    (setup.state_dir / "deadman_active").write_text('{"reason": "test"}')
    (setup.state_dir / "state.json").write_text("not json")
    (setup.state_dir / "history.jsonl").write_text(
        json.dumps({"time": "t", "event": "restart", "reason": "stale"}) + "\nbroken\n")
    assert setup.cli("--status") == 0
    out = capsys.readouterr().out
    assert 'ACTIVE: {"reason": "test"}' in out
    assert "state file     unreadable" in out
    assert "restart          stale" in out


def test_clear(setup, capsys):
    setup.state_dir.mkdir()
    (setup.state_dir / "deadman_active").write_text("{}")
    assert setup.cli("--clear", "--reason", "fixed the API key") == 0
    assert "flag cleared" in capsys.readouterr().out
    assert not (setup.state_dir / "deadman_active").exists()
    last = json.loads((setup.state_dir / "history.jsonl").read_text().splitlines()[-1])
    assert (last["event"], last["reason"]) == ("cleared", "fixed the API key")
    assert setup.cli("--clear") == 0
    assert "no flag was set" in capsys.readouterr().out


def test_lock_contention_exits_quietly(setup, capsys):
    setup.beat(T0 - 100)
    holder = setup.factory(fd.load_config(str(setup.config_path)))
    with holder.lock():
        assert setup.cli() == 0
    err = capsys.readouterr().err
    assert "another deadman-check is running" in err
    assert not (setup.state_dir / "state.json").exists()  # the second instance did nothing


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot read"),
    ("{", "invalid JSON at line 1"),
    ('{"stale_after": -1}', "stale_after must be"),
])
def test_bad_config_is_exit_1_without_traceback(setup, capsys, content, message):
    if content is None:
        setup.config_path.unlink()
    else:
        setup.config_path.write_text(content)
    assert setup.cli() == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_usage_errors_exit_2(setup):
    with pytest.raises(SystemExit) as info:
        setup.cli("--status", "--clear")
    assert info.value.code == 2


def test_unwritable_state_dir_is_exit_1(setup, capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    config = json.loads(setup.config_path.read_text())
    config["state_dir"] = str(blocker / "state")
    setup.config_path.write_text(json.dumps(config))
    assert setup.cli() == 1
    assert "Traceback" not in capsys.readouterr().err


def test_runs_as_a_program_from_the_checkout(tmp_path):
    config = tmp_path / "deadman.json"
    config.write_text(json.dumps({"heartbeat_path": str(tmp_path / "hb"),
                                  "state_dir": str(tmp_path / "state")}))
    result = subprocess.run([sys.executable, str(SCRIPT), "--config", str(config), "--status"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "age missing" in result.stdout
