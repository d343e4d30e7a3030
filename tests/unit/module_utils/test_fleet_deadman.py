"""Decision logic and effects of the deadman switch, with a fake clock and fake commands."""

from __future__ import annotations

import json
import os
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from fleet import deadman as fd
from fleet.deadman import Config, Observation, State, decide

T0 = 1_800_000_000.0  # a fixed wall-clock origin


def cfg(**overrides) -> Config:
    values = {"stale_after": 10, "max_restarts": 2, "window": 100, "healthy_after": 30}
    values.update(overrides)
    return Config(**values)


def seen(now, stamp=None, flag=False, started=None, changed=None) -> Observation:
    return Observation(now=now, stamp_mtime=stamp, flag_active=flag, service_started_at=started,
                       config_changed_at=changed)


def kinds(decision) -> list[str]:
    return [a.kind for a in decision.actions]


# --------------------------------------------------------------------------- decide: fresh

def test_fresh_stamp_does_nothing_before_healthy_after():
    d = decide(State(), seen(T0, stamp=T0 - 1), cfg())
    assert d.status == "fresh"
    assert d.actions == []
    assert d.state.healthy_since == T0
    assert d.age == pytest.approx(1)


def test_fresh_at_exactly_stale_after_is_still_fresh():
    assert decide(State(), seen(T0, stamp=T0 - 10), cfg()).status == "fresh"


def test_stamp_in_the_future_counts_as_fresh():  # wall clock stepped back
    d = decide(State(), seen(T0, stamp=T0 + 500), cfg())
    assert d.status == "fresh"
    assert d.age == 0


def test_mark_good_after_healthy_after_and_only_once_per_period():
    config = cfg()
    state = decide(State(), seen(T0, stamp=T0), config).state
    d = decide(state, seen(T0 + 29, stamp=T0 + 29), config)
    assert d.actions == []
    d = decide(d.state, seen(T0 + 30, stamp=T0 + 30), config)
    assert kinds(d) == ["mark_good"]
    for minute in range(1, 5):
        d = decide(d.state, seen(T0 + 30 + minute * 60, stamp=T0 + 30 + minute * 60), config)
        assert d.actions == [], "marked again within the same healthy period"


def test_restart_of_the_service_starts_a_new_healthy_period():
    config = cfg()
    state = decide(State(), seen(T0, stamp=T0), config).state
    d = decide(state, seen(T0 + 40, stamp=T0 + 40, started=T0 - 5), config)
    assert kinds(d) == ["mark_good"]
    # A converge restarted the harness at T0 + 50.
    d = decide(d.state, seen(T0 + 60, stamp=T0 + 60, started=T0 + 50), config)
    assert d.actions == []
    d = decide(d.state, seen(T0 + 80, stamp=T0 + 80, started=T0 + 50), config)
    assert kinds(d) == ["mark_good"]
    d = decide(d.state, seen(T0 + 90, stamp=T0 + 90, started=T0 + 50), config)
    assert d.actions == []


def test_config_change_starts_a_new_healthy_period():
    config = cfg()
    state = decide(State(), seen(T0, stamp=T0), config).state
    state = decide(state, seen(T0 + 30, stamp=T0 + 30), config).state
    assert state.marked_good_at == T0 + 30
    d = decide(state, seen(T0 + 50, stamp=T0 + 50, changed=T0 + 45), config)
    assert d.actions == []
    d = decide(d.state, seen(T0 + 75, stamp=T0 + 75, changed=T0 + 45), config)
    assert kinds(d) == ["mark_good"]


def test_stale_period_ends_the_healthy_period():
    config = cfg()
    state = decide(State(), seen(T0, stamp=T0), config).state
    state = decide(state, seen(T0 + 30, stamp=T0 + 30), config).state
    stale = decide(state, seen(T0 + 50, stamp=T0 + 30), config)
    assert kinds(stale) == ["restart"]
    assert stale.state.healthy_since is None
    back = decide(stale.state, seen(T0 + 52, stamp=T0 + 52), config)
    assert [a.detail.get("event") for a in back.actions] == ["heartbeat_fresh"]
    assert back.state.stale_since is None
    assert kinds(decide(back.state, seen(T0 + 81, stamp=T0 + 81), config)) == []
    assert kinds(decide(back.state, seen(T0 + 82, stamp=T0 + 82), config)) == ["mark_good"]


# --------------------------------------------------------------------------- decide: stale

def test_stale_stamp_restarts_with_reason():
    d = decide(State(created_at=T0 - 100), seen(T0, stamp=T0 - 11), cfg())
    assert d.status == "stale"
    assert kinds(d) == ["restart"]
    assert "11 s old" in d.actions[0].reason
    assert "restart 1 of 2" in d.actions[0].reason
    assert d.state.restarts == [T0]
    assert d.state.last_action_at == T0
    assert d.state.stale_since == T0


def test_missing_stamp_on_a_fresh_state_waits_stale_after_first():
    config = cfg()
    d = decide(State(), seen(T0), config)
    assert d.status == "grace"
    assert d.actions == []
    d = decide(d.state, seen(T0 + 11), config)
    assert kinds(d) == ["restart"]
    assert "missing" in d.actions[0].reason


def test_restarted_harness_gets_a_grace_period():
    config = cfg()
    d = decide(State(created_at=T0 - 100), seen(T0, stamp=T0 - 50), config)
    assert kinds(d) == ["restart"]
    for t in (T0 + 2, T0 + 5, T0 + 10):
        g = decide(d.state, seen(t, stamp=T0 - 50), config)
        assert g.status == "grace"
        assert g.actions == []
    assert kinds(decide(d.state, seen(T0 + 11, stamp=T0 - 50), config)) == ["restart"]


def test_service_start_counts_for_the_grace_period():
    d = decide(State(created_at=T0 - 100), seen(T0, stamp=T0 - 50, started=T0 - 3), cfg())
    assert d.status == "grace"


def test_full_escalation_restart_restart_rollback_flag():
    config = cfg()
    state = State(created_at=T0 - 100)
    steps = []
    t = T0
    for _ in range(4):
        d = decide(state, seen(t, stamp=T0 - 50), config)
        steps.append(kinds(d))
        state = d.state
        t += 11
    assert steps == [["restart"], ["restart"], ["rollback_restart"], ["raise_flag"]]
    assert state.phase == fd.ROLLED_BACK
    assert len(state.restarts) == 3  # the rollback's restart counts too
    reason = d.actions[0].reason
    assert "giving up" in reason


def test_flag_set_means_no_action_at_all():
    config = cfg()
    state = State(created_at=T0 - 1000, restarts=[], phase=fd.ROLLED_BACK)
    for t in range(0, 300, 7):
        d = decide(state, seen(T0 + t, stamp=T0 - 50, flag=True), config)
        assert d.status == "held"
        assert d.actions == []
        state = d.state


def test_recovery_is_recorded_once_while_flag_is_set_and_nothing_is_marked():
    config = cfg()
    state = State(created_at=T0 - 1000, phase=fd.ROLLED_BACK)
    d = decide(state, seen(T0, stamp=T0, flag=True), config)
    assert d.actions == []
    d = decide(d.state, seen(T0 + 30, stamp=T0 + 30, flag=True), config)
    assert kinds(d) == ["record_recovery"]
    assert "stays until a human clears it" in d.actions[0].reason
    for t in (40, 100, 1000):
        d = decide(d.state, seen(T0 + t, stamp=T0 + t, flag=True), config)
        assert d.actions == [], "no repeat recovery, no mark-known-good while the flag is up"
    assert d.state.marked_good_at is None


def test_recovery_is_recorded_again_after_a_new_stale_spell():
    config = cfg()
    state = State(created_at=T0 - 1000, phase=fd.ROLLED_BACK)
    d = decide(state, seen(T0, stamp=T0, flag=True), config)
    d = decide(d.state, seen(T0 + 30, stamp=T0 + 30, flag=True), config)
    assert kinds(d) == ["record_recovery"]
    d = decide(d.state, seen(T0 + 100, stamp=T0 + 30, flag=True), config)
    assert d.status == "held"
    assert d.actions == []
    d = decide(d.state, seen(T0 + 110, stamp=T0 + 110, flag=True), config)
    d = decide(d.state, seen(T0 + 140, stamp=T0 + 140, flag=True), config)
    assert kinds(d) == ["record_recovery"]


# --------------------------------------------------------------------------- window arithmetic

def test_restarts_in_window_is_a_sliding_window():
    restarts = [T0, T0 + 10, T0 + 50]
    assert fd.restarts_in_window(restarts, T0 + 99, 100) == restarts
    assert fd.restarts_in_window(restarts, T0 + 100, 100) == [T0 + 10, T0 + 50]
    assert fd.restarts_in_window(restarts, T0 + 150, 100) == []
    # Clock stepped back by less than a window: future entries still count.
    assert fd.restarts_in_window(restarts, T0 - 20, 100) == restarts
    # ...by more than a window: forgotten (at most one needless restart per jump).
    assert fd.restarts_in_window(restarts, T0 - 200, 100) == []


def test_budget_comes_back_as_old_restarts_leave_the_window():
    config = cfg()
    state = State(created_at=T0 - 100, restarts=[T0 - 95, T0 - 20])
    d = decide(state, seen(T0, stamp=T0 - 50), config)
    assert kinds(d) == ["rollback_restart"]  # 2 in window: budget used up
    state = State(created_at=T0 - 100, restarts=[T0 - 100, T0 - 20])
    d = decide(state, seen(T0, stamp=T0 - 50), config)
    assert kinds(d) == ["restart"]  # the older one just left the window
    assert d.state.restarts == [T0 - 20, T0]


def test_zero_max_restarts_goes_straight_to_rollback():
    d = decide(State(created_at=T0 - 100), seen(T0, stamp=T0 - 50), cfg(max_restarts=0))
    assert kinds(d) == ["rollback_restart"]


def test_rolled_back_phase_ends_after_a_healthy_period():
    config = cfg()
    state = State(created_at=T0 - 100, phase=fd.ROLLED_BACK, restarts=[T0 - 5])
    d = decide(state, seen(T0, stamp=T0), config)
    assert d.state.phase == fd.ROLLED_BACK  # briefly fresh is not enough
    d = decide(d.state, seen(T0 + 30, stamp=T0 + 30), config)
    assert d.state.phase == fd.NORMAL
    assert kinds(d) == ["mark_good"]


def test_flapping_after_rollback_raises_the_flag():
    config = cfg()
    state = State(created_at=T0 - 100, phase=fd.ROLLED_BACK, restarts=[T0 - 5],
                  last_action_at=T0 - 5)
    d = decide(state, seen(T0, stamp=T0), config)  # fresh for a moment
    d = decide(d.state, seen(T0 + 11, stamp=T0), config)
    assert kinds(d) == ["raise_flag"]


# --------------------------------------------------------------------------- config

def test_config_from_dict_accepts_strings_and_lists_for_commands():
    c = fd.config_from_dict({"rollback_command": "/x rollback --to 'known good'",
                             "mark_good_command": ["/y", "mark"], "_managed": "comment",
                             "stale_after": 4, "max_restarts": 2})
    assert c.rollback_command == ["/x", "rollback", "--to", "known good"]
    assert c.mark_good_command == ["/y", "mark"]
    assert c.stale_after == 4.0
    assert c.flag_path == "/var/lib/golden-state/deadman/deadman_active"


@pytest.mark.parametrize(("data", "message"), [
    ([], "expected a JSON object"),
    ({"stale_afte": 3}, "unknown field(s) stale_afte"),
    ({"stale_after": "3"}, "stale_after must be a float"),
    ({"stale_after": 0}, "stale_after must be a float >= 1"),
    ({"max_restarts": 1.5}, "max_restarts must be a int"),
    ({"max_restarts": True}, "max_restarts"),
    ({"rollback_command": 3}, "rollback_command: must be a string or a list"),
    ({"rollback_command": "a 'b"}, "rollback_command: No closing quotation"),
    ({"heartbeat_path": "relative"}, "heartbeat_path must be an absolute path"),
    ({"alert_url": "file:///etc/passwd"}, "alert_url must be an http"),
    ({"watch_paths": "x"}, "watch_paths must be a list"),
    ({"service": 1}, "service must be a string"),
])
def test_config_errors_name_the_field(data, message):
    with pytest.raises(fd.ConfigError, match=None) as info:
        fd.config_from_dict(data, "deadman.json")
    assert message in str(info.value)
    assert str(info.value).startswith("deadman.json:")


def test_load_config_reports_missing_and_invalid_files(tmp_path):
    with pytest.raises(fd.ConfigError, match="cannot read"):
        fd.load_config(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(fd.ConfigError, match="invalid JSON at line 1"):
        fd.load_config(str(bad))


# --------------------------------------------------------------------------- Deadman (effects)

class FakeClock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


class FakeRunner:
    """Records commands; answers from a table of argv[0] -> returncode, (returncode,
    stderr) or exception."""

    def __init__(self, outcomes=None):
        self.calls: list[list[str]] = []
        self.outcomes = outcomes or {}

    def __call__(self, argv, timeout):
        argv = list(argv)
        self.calls.append(argv)
        outcome = self.outcomes.get(argv[0], 0)
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, tuple):
            return subprocess.CompletedProcess(argv, outcome[0], "", outcome[1])
        return subprocess.CompletedProcess(argv, outcome, "", "boom\n" if outcome else "")

    def named(self, *words):
        return [c for c in self.calls if c[:len(words)] == list(words)]


@pytest.fixture
def env(tmp_path):
    stamp = tmp_path / "heartbeat"
    tool = tmp_path / "overlay"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    config = Config(heartbeat_path=str(stamp), state_dir=str(tmp_path / "state"),
                    stale_after=10, max_restarts=2, window=100, healthy_after=30,
                    rollback_command=[str(tool), "rollback"],
                    mark_good_command=[str(tool), "mark-known-good"])
    clock = FakeClock()
    runner = FakeRunner()
    logs: list[tuple[str, str]] = []
    posts: list[tuple[str, dict]] = []

    def post(url, body, timeout):
        posts.append((url, body))
        return 204

    def make(**kw):
        return fd.Deadman(kw.pop("config", config), clock=clock, run=runner,
                          log=lambda p, m: logs.append((p, m)), post=post,
                          started_at=lambda now: None, **kw)

    class Env:
        pass

    e = Env()
    e.__dict__.update(stamp=stamp, config=config, clock=clock, runner=runner, logs=logs,
                      posts=posts, make=make, tool=tool)
    return e


def beat(env, when):
    env.stamp.write_text("beat")
    os.utime(env.stamp, (when, when))


def save_state(config, state):
    os.makedirs(config.state_dir)
    Path(config.state_path).write_bytes(state.to_json())


def history(env):
    with open(env.config.history_path) as handle:
        return [json.loads(line) for line in handle]


def test_check_escalates_and_logs_every_action(env):
    beat(env, T0 - 100)
    dm = env.make()
    assert dm.check().actions == []  # first run: grace (state is new)
    actions = []
    for _ in range(5):
        env.clock.now += 11
        dm = env.make()
        actions += dm.check().actions
    events = [h["event"] for h in history(env)]
    assert actions == ["restart", "restart", "rollback_restart", "raise_flag"]
    assert events == ["restart", "restart", "rollback", "restart", "deadman_active"]
    assert env.runner.named("systemctl", "restart", "harness.service") != []
    assert len(env.runner.named("systemctl", "restart")) == 3
    assert len(env.runner.named("systemctl", "reset-failed")) == 3
    assert env.runner.named(str(env.tool), "rollback") == [[str(env.tool), "rollback"]]
    assert os.path.exists(env.config.flag_path)
    flag = json.loads(Path(env.config.flag_path).read_text())
    assert flag["event"] == "deadman_active"
    assert oct(os.stat(env.config.flag_path).st_mode & 0o777) == "0o600"
    crit = [m for p, m in env.logs if p == "crit"]
    assert any("ALERT deadman_active" in m for m in crit)
    # Every history line is also in the journal (syslog), with its reason.
    journal = [json.loads(m) for _, m in env.logs if m.startswith("{")]
    assert [j["event"] for j in journal] == events
    assert all(j["reason"] for j in journal)
    # Flag up: nothing more happens, however long it stays stale.
    calls = len(env.runner.calls)
    for _ in range(5):
        env.clock.now += 11
        assert env.make().check().actions == []
    assert len(env.runner.calls) == calls
    assert len(history(env)) == 5


def test_missing_rollback_tool_is_logged_and_the_restart_still_happens(env):
    env.runner.outcomes[str(env.tool)] = FileNotFoundError(2, "No such file")
    state = State(created_at=T0 - 100, restarts=[T0 - 20, T0 - 10])
    save_state(env.config, state)
    beat(env, T0 - 50)
    env.make().check()
    entries = history(env)
    assert [e["event"] for e in entries] == ["rollback", "restart"]
    assert "not found" in entries[0]["outcome"]
    assert len(env.runner.named("systemctl", "restart")) == 1
    assert ("err", json.dumps(entries[0], sort_keys=True)) in env.logs


def test_failing_rollback_and_timeouts_are_reported(env):
    env.runner.outcomes[str(env.tool)] = 4
    env.runner.outcomes["systemctl"] = subprocess.TimeoutExpired("systemctl", 1)
    state = State(created_at=T0 - 100, restarts=[T0 - 20, T0 - 10])
    save_state(env.config, state)
    beat(env, T0 - 50)
    env.make().check()
    entries = history(env)
    assert entries[0]["outcome"] == "rollback: exit status 4: boom"
    assert "timed out" in entries[1]["outcome"]


def test_empty_rollback_command_is_logged_and_the_restart_still_happens(env):
    config = Config(**{**env.config.__dict__, "rollback_command": []})
    state = State(created_at=T0 - 100, restarts=[T0 - 20, T0 - 10])
    save_state(config, state)
    beat(env, T0 - 50)
    env.make(config=config).check()
    entries = history(env)
    assert [e["event"] for e in entries] == ["rollback", "restart"]
    assert entries[0]["outcome"] == "rollback: no command configured"
    assert entries[1]["outcome"] == "restart: ok"


REFUSAL = ("golden-state-overlay: rollback refused: snapshot 000003-20250101T120000Z is "
           "unusable under today's policy: /home/wizard/.hermes/config.yaml:3:12: 'claude' "
           "(anthropic) in model.default [rule banned_provider]. It is kept for forensics\n")


def test_refused_rollback_raises_the_flag_at_once_without_a_restart(env):
    config = Config(**{**env.config.__dict__, "alert_url": "http://127.0.0.1:9/x"})
    env.runner.outcomes[str(env.tool)] = (fd.ROLLBACK_REFUSED_STATUS, REFUSAL)
    save_state(config, State(created_at=T0 - 100, restarts=[T0 - 20, T0 - 10]))
    beat(env, T0 - 50)
    result = env.make(config=config).check()
    assert result.actions == ["rollback_restart", "raise_flag"]
    entries = history(env)
    assert [e["event"] for e in entries] == ["rollback_refused", "deadman_active", "alert_sent"]
    refused = entries[0]
    assert refused["reason"].startswith("rollback refused: known-good snapshot unusable: ")
    assert "[rule banned_provider]" in refused["reason"]
    assert refused["outcome"].startswith("rollback: exit status 3")
    assert refused["command"] == [str(env.tool), "rollback"]
    # No restart for a rollback that did not happen.
    assert env.runner.named("systemctl") == []
    assert env.runner.named(str(env.tool), "rollback") == [[str(env.tool), "rollback"]]
    flag = json.loads(Path(config.flag_path).read_text())
    assert flag["reason"].startswith("rollback refused: known-good snapshot unusable: ")
    assert "000003-20250101T120000Z" in flag["reason"]
    assert entries[1]["reason"] == flag["reason"]
    assert env.posts == [("http://127.0.0.1:9/x", flag)]  # the alert carries the reason
    crit = [m for p, m in env.logs if p == "crit"]
    assert any(m.startswith("ALERT deadman_active") and "rollback refused" in m for m in crit)
    assert any('"rollback_refused"' in m for m in crit)
    # The flag holds: nothing more happens.
    calls = len(env.runner.calls)
    for _ in range(3):
        env.clock.now += 11
        assert env.make(config=config).check().actions == []
    assert len(env.runner.calls) == calls


def test_refused_rollback_pure_decision():
    action = fd.refused_rollback("snapshot X is unusable: reason [rule signatures]")
    assert action.kind == "raise_flag"
    assert action.reason.startswith("rollback refused: known-good snapshot unusable: snapshot X")
    assert "[rule signatures]" in action.reason and "not restarted" in action.reason


def test_other_rollback_failures_keep_restarting(env):
    env.runner.outcomes[str(env.tool)] = (1, "golden-state-overlay: no known-good snapshot\n")
    save_state(env.config, State(created_at=T0 - 100, restarts=[T0 - 20, T0 - 10]))
    beat(env, T0 - 50)
    assert env.make().check().actions == ["rollback_restart"]
    assert [e["event"] for e in history(env)] == ["rollback", "restart"]
    assert len(env.runner.named("systemctl", "restart")) == 1
    assert not os.path.exists(env.config.flag_path)


def test_a_long_refusal_message_is_bounded(env):
    env.runner.outcomes[str(env.tool)] = (3, "x" * 10_000)
    save_state(env.config, State(created_at=T0 - 100, restarts=[T0 - 20, T0 - 10]))
    beat(env, T0 - 50)
    env.make().check()
    assert len(history(env)[0]["reason"]) < fd.TOOL_MESSAGE_MAX + 100


def test_webhook_alert_and_its_failure(env):
    config = Config(**{**env.config.__dict__, "alert_url": "http://127.0.0.1:9/x"})
    state = State(created_at=T0 - 100, phase=fd.ROLLED_BACK, last_action_at=T0 - 50)
    save_state(config, state)
    beat(env, T0 - 50)
    env.make(config=config).check()
    assert env.posts[0][0] == "http://127.0.0.1:9/x"
    assert env.posts[0][1]["event"] == "deadman_active"
    assert [e["event"] for e in history(env)] == ["deadman_active", "alert_sent"]

    def failing(url, body, timeout):
        raise OSError("connection refused")

    os.unlink(config.flag_path)
    dm = fd.Deadman(config, clock=env.clock, run=env.runner, log=lambda p, m: None,
                    post=failing, started_at=lambda now: None)
    dm.raise_flag("test", 3.0)
    assert history(env)[-1]["event"] == "alert_failed"
    assert "connection refused" in history(env)[-1]["reason"]


def test_post_json_really_posts(tmp_path):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers["Content-Length"])
            received.append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    try:
        status = fd.post_json(f"http://127.0.0.1:{server.server_port}/hook", {"a": 1}, 5)
    finally:
        thread.join(5)
        server.server_close()
    assert status == 204
    assert received == [("application/json", {"a": 1})]


def test_mark_good_runs_once_and_is_skipped_when_not_installed(env):
    dm = env.make()
    beat(env, T0)
    dm.check()
    env.clock.now = T0 + 30
    beat(env, T0 + 30)
    env.make().check()
    env.clock.now = T0 + 60
    beat(env, T0 + 60)
    env.make().check()
    marks = env.runner.named(str(env.tool), "mark-known-good")
    assert marks == [[str(env.tool), "mark-known-good"]]
    assert [e["event"] for e in history(env)] == ["mark_good"]

    missing = Config(**{**env.config.__dict__, "mark_good_command": ["/nonexistent/overlay"]})
    dm = env.make(config=missing)
    dm.mark_good("healthy")
    assert history(env)[-1]["event"] == "mark_good_skipped"
    assert "not installed" in history(env)[-1]["reason"]


def test_corrupt_state_is_set_aside_and_replaced(env):
    os.makedirs(env.config.state_dir)
    with open(env.config.state_path, "w") as handle:
        handle.write('{"version": 1, "restarts": "lots"')
    beat(env, T0)
    result = env.make().check()
    assert result.status == "fresh"
    aside = [n for n in os.listdir(env.config.state_dir) if ".corrupt-" in n]
    assert aside == [f"state.json.corrupt-{int(T0)}"]
    assert history(env)[0]["event"] == "state_corrupt"
    replaced = fd.state_from_dict(json.loads(Path(env.config.state_path).read_text()))
    assert replaced.healthy_since == T0


@pytest.mark.parametrize("content", [
    b"", b"\xff\xfe", b"[]", b'{"version": 2}', b'{"version": 1, "phase": "boom"}',
    b'{"version": 1, "restarts": [true]}', b'{"version": 1, "healthy_since": "x"}',
])
def test_every_kind_of_corrupt_state_is_handled(env, content):
    os.makedirs(env.config.state_dir)
    with open(env.config.state_path, "wb") as handle:
        handle.write(content)
    env.make().check()
    assert history(env)[0]["event"] == "state_corrupt"


def test_lock_contention_raises_lockbusy(env):
    dm = env.make()
    with dm.lock(), pytest.raises(fd.LockBusy), env.make().lock():
        pass
    with env.make().lock():  # released again
        pass


def test_clear_lowers_the_flag_and_resets_the_budget(env):
    state = State(created_at=T0 - 100, restarts=[T0 - 1, T0 - 2], phase=fd.ROLLED_BACK,
                  marked_good_at=T0 - 500)
    save_state(env.config, state)
    Path(env.config.flag_path).write_text("{}")
    dm = env.make()
    assert dm.clear("by test") is True
    assert not os.path.exists(env.config.flag_path)
    fresh = fd.state_from_dict(json.loads(Path(env.config.state_path).read_text()))
    assert fresh.restarts == []
    assert fresh.phase == fd.NORMAL
    assert fresh.marked_good_at == T0 - 500
    assert history(env)[-1] == {"event": "cleared", "reason": "by test", "time": fd._iso(T0),
                                "ts": T0}
    assert dm.clear("again") is False
    assert "no flag was set" in history(env)[-1]["reason"]


def test_status_summarises_without_taking_the_lock(env):
    beat(env, T0 - 3)
    dm = env.make()
    with dm.lock():
        status = env.make().status()
    assert status["age"] == pytest.approx(3)
    assert status["flag"] is None
    assert status["restarts_in_window"] == 0
    os.makedirs(env.config.state_dir, exist_ok=True)
    Path(env.config.state_path).write_text("garbage")
    Path(env.config.flag_path).write_text('{"reason": "x"}')
    status = env.make().status()
    assert status["state_error"]
    assert status["flag"] == '{"reason": "x"}'


def test_history_rotates_and_skips_unreadable_lines(env, monkeypatch):
    monkeypatch.setattr(fd, "HISTORY_MAX_BYTES", 200)
    dm = env.make()
    os.makedirs(env.config.state_dir)
    for n in range(10):
        dm.record("note", f"entry {n}")
    assert os.path.exists(env.config.history_path + ".1")
    assert os.path.getsize(env.config.history_path) < 400
    with open(env.config.history_path, "a") as handle:
        handle.write("not json\n")
    dm.record("note", "last")
    assert dm.history(50)[-1]["reason"] == "last"


def test_systemd_start_time_converts_the_monotonic_timestamp(monkeypatch):
    monkeypatch.setattr(fd.time, "monotonic", lambda: 1000.0)

    def run(argv, timeout):
        return subprocess.CompletedProcess(argv, 0, "990000000\n", "")

    assert fd.systemd_start_time("harness.service", T0, run) == pytest.approx(T0 - 10)

    def stopped(argv, timeout):
        return subprocess.CompletedProcess(argv, 0, "0\n", "")

    assert fd.systemd_start_time("harness.service", T0, stopped) is None

    def missing(argv, timeout):
        raise FileNotFoundError("systemctl")

    assert fd.systemd_start_time("harness.service", T0, missing) is None


def test_latest_mtime_ignores_missing_paths(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    os.utime(a, (T0, T0))
    assert fd.latest_mtime([str(a), str(tmp_path / "missing")]) == T0
    assert fd.latest_mtime([str(tmp_path / "missing")]) is None
