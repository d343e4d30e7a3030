"""The deadman switch heals a hung harness, escalates a crash loop to the flag, then stops.

converge.yml: beat 1 s, stale after 4 s, check every 2 s, 2 restarts per 60 s,
healthy after 5 s. No test counts on another having run before it: each asks
for the state it needs, ``healthy`` (no flag, no control word, a fresh beat, a
fresh restart budget) or ``flag_raised`` (the crash loop was escalated to the
flag and systemd gave up on the harness), and the fixture establishes it. In
file order the crash loop is driven once, by the test that checks it.
"""

import json

import pytest

from tests.testinfra_helpers import show, wait_for

STATE = "/var/lib/golden-state/deadman"
FLAG = f"{STATE}/deadman_active"
HISTORY = f"{STATE}/history.jsonl"
STAMP = "/var/lib/harness/heartbeat"
CONTROL = "/var/lib/harness/control"
STUB_LOG = "/var/log/overlay-stub.log"
CHECK = "deadman-check.service"


def history(host):
    result = host.run(f"cat {HISTORY}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def stub_calls(host, word):
    result = host.run(f"cat {STUB_LOG}")
    return [line for line in result.stdout.splitlines() if word in line]


def stamp_age(host):
    result = host.run(f"echo $(( $(date +%s) - $(stat -c %Y {STAMP}) ))")
    return int(result.stdout) if result.rc == 0 and result.stdout.strip() else None


def beating(host):
    return host.service("harness").is_running and \
        (age := stamp_age(host)) is not None and age <= 2


def control_word(host):
    result = host.run(f"cat {CONTROL}")
    return result.stdout.strip() if result.rc == 0 else None


def wait_for_checks(host, count, timeout=30):
    """Wait (bounded) until the timer has started ``count`` more checks and the last has ended."""
    seen = [show(host, "ExecMainStartTimestampMonotonic", CHECK)]

    def more():
        now = show(host, "ExecMainStartTimestampMonotonic", CHECK)
        if now != seen[-1]:
            seen.append(now)
        return len(seen) > count and show(host, "ActiveState", CHECK) != "activating"

    assert wait_for(more, timeout=timeout, step=0.3), \
        f"deadman-check ran {len(seen) - 1} of {count} times in {timeout} s"


def run_check(host):
    """One deadman-check run of our own (bounded retry while a timer run holds the lock)."""
    def ran():
        result = host.run("deadman-check")
        assert result.rc == 0, result.stderr
        assert "Traceback" not in result.stderr
        return "another deadman-check is running" not in result.stderr

    assert wait_for(ran, timeout=20, step=0.2), "deadman-check never got its lock"


def harness_started_at(host):
    """Wall time (whole seconds, rounded down) of the harness's current start."""
    return int(host.check_output(
        'date -d "$(systemctl show harness.service -p ExecMainStartTimestamp --value)" +%s'))


def current_period_marked(host):
    """The deadman has marked the harness's current healthy period known-good."""
    state = host.run(f"cat {STATE}/state.json")
    if state.rc != 0 or not host.service("harness").is_running:
        return False
    state = json.loads(state.stdout)
    marked, since = state.get("marked_good_at"), state.get("healthy_since")
    # A mark of this period comes >= healthy_after (5 s) after the harness's start.
    return marked is not None and since is not None and marked >= since and \
        marked >= harness_started_at(host) + 1


def make_healthy(host):
    """No control word, the harness running and beating, no flag and a fresh restart budget."""
    host.run_expect([0], f"rm -f {CONTROL}")
    if not beating(host):
        # Crashed past systemd's start limit, hung, or stopped: start it afresh.
        host.run_expect([0], "systemctl reset-failed harness.service")
        host.run_expect([0], "systemctl restart harness.service")
    assert wait_for(lambda: beating(host), timeout=20), "the harness does not beat"
    # Last, so that any action the deadman took meanwhile is forgotten too.
    host.run_expect([0], "deadman-check --clear --reason 'test: healthy fixture'")
    assert not host.file(FLAG).exists


def drive_crash_loop(host):
    """From a healthy harness: make every start crash; return the history length before."""
    before = len(history(host))
    host.run_expect([0], f"echo crash-on-start > {CONTROL}")
    host.run("systemctl kill -s SIGUSR2 harness.service")
    assert wait_for(lambda: host.file(FLAG).exists, timeout=120, step=1)
    return before


@pytest.fixture
def healthy(host):
    make_healthy(host)


@pytest.fixture
def flag_raised(host):
    """The crash loop has been escalated to the flag (driven here unless it already was)."""
    if not (host.file(FLAG).exists and control_word(host) == "crash-on-start"):
        make_healthy(host)
        drive_crash_loop(host)
    # systemd's own start limit ends its restarts (burst 3 in 30 s).
    assert wait_for(lambda: show(host, "ActiveState") == "failed", timeout=30)


def test_program_config_and_state_are_root_only(host, healthy):
    assert host.file("/usr/local/sbin/deadman-check").linked_to == \
        "/opt/golden-state/venv/bin/deadman-check"
    config = host.file("/etc/golden-state/deadman.json")
    assert (config.user, config.mode) == ("root", 0o600)
    assert json.loads(config.content_string)["stale_after"] == 4
    state = host.file(STATE)
    assert (state.user, state.mode) == ("root", 0o700)
    status = host.run("deadman-check --status")
    assert status.rc == 0, status.stderr
    assert "deadman flag   not set" in status.stdout


def test_timer_runs_the_check_every_few_seconds(host):
    timer = host.service("deadman-check.timer")
    assert timer.is_enabled
    assert timer.is_running
    first = show(host, "ExecMainStartTimestampMonotonic", CHECK)
    assert wait_for(lambda: show(host, "ExecMainStartTimestampMonotonic", CHECK) != first,
                    timeout=15)
    assert wait_for(lambda: show(host, "ActiveState", CHECK) != "activating", timeout=15)
    assert show(host, "Result", CHECK) == "success"


def test_harness_beats_and_is_marked_known_good_once(host, healthy):
    assert host.service("harness").is_running
    assert wait_for(lambda: stamp_age(host) is not None and stamp_age(host) <= 2)
    # This healthy period is marked once, healthy_after (5 s) into it...
    assert wait_for(lambda: current_period_marked(host), timeout=30)
    assert stub_calls(host, "mark-known-good")
    marked = len(stub_calls(host, "mark-known-good"))
    # ...and not again by the next checks of the same period.
    wait_for_checks(host, 3)
    run_check(host)
    assert len(stub_calls(host, "mark-known-good")) == marked


def test_hung_harness_is_restarted(host, healthy):
    pid = show(host, "MainPID")
    before = len(history(host))
    host.run_expect([0], f"echo hang > {CONTROL}")
    # It stays alive but stops beating; the deadman notices and restarts it.
    assert wait_for(lambda: any(e["event"] == "restart" for e in history(host)[before:]),
                    timeout=40)
    restart = next(e for e in history(host)[before:] if e["event"] == "restart")
    assert "old (> 4 s)" in restart["reason"]
    assert restart["outcome"] == "restart: ok"
    assert wait_for(lambda: show(host, "MainPID") not in ("0", pid))
    assert wait_for(lambda: stamp_age(host) is not None and stamp_age(host) <= 2, timeout=15)
    journal = host.check_output("journalctl -t deadman --no-pager -o cat")
    assert '"event": "restart"' in journal


def test_crash_loop_escalates_to_rollback_flag_and_alert(host, healthy):
    rollbacks = len(stub_calls(host, "rollback --to known-good"))
    before = drive_crash_loop(host)
    # (a mark_good of the short healthy spell after --clear may come first)
    events = [e["event"] for e in history(host)[before:] if not e["event"].startswith("mark_good")]
    assert events == ["restart", "restart", "rollback", "restart", "deadman_active"]
    rollback = next(e for e in history(host)[before:] if e["event"] == "rollback")
    assert rollback["outcome"] == "rollback: ok"
    assert len(stub_calls(host, "rollback --to known-good")) == rollbacks + 1
    flag = json.loads(host.file(FLAG).content_string)
    assert flag["event"] == "deadman_active"
    assert "giving up" in flag["reason"]
    alert = host.check_output("journalctl -t deadman -p crit --no-pager -o cat")
    assert "ALERT deadman_active" in alert


def test_no_more_action_while_the_flag_is_up(host, flag_raised):
    restarts = show(host, "NRestarts")
    entries = len(history(host))
    rollbacks = len(stub_calls(host, "rollback"))
    wait_for_checks(host, 3)
    for _ in range(2):
        run_check(host)
    assert show(host, "NRestarts") == restarts
    assert show(host, "ActiveState") == "failed"
    assert len(history(host)) == entries
    assert len(stub_calls(host, "rollback")) == rollbacks
    status = host.check_output("deadman-check --status")
    assert "deadman flag   ACTIVE" in status


def test_second_instance_exits_quietly(host):
    result = host.run(f"flock {STATE}/lock deadman-check")
    assert result.rc == 0
    assert "another deadman-check is running" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_state_is_replaced_and_the_flag_survives(host, flag_raised):
    def set_aside():
        return set(host.run(f"ls {STATE}/state.json.corrupt-* 2>/dev/null").stdout.split())

    earlier = set_aside()
    entries = len(history(host))
    # Under the lock, so that no check in progress writes its state over the broken file.
    host.run_expect([0], f"flock {STATE}/lock sh -c \"echo '{{broken' > {STATE}/state.json\"")
    run_check(host)
    # Our run, or a timer run just before it, found the broken file: kept aside, reported once.
    assert len(set_aside() - earlier) == 1
    assert [e["event"] for e in history(host)[entries:]] == ["state_corrupt"]
    json.loads(host.file(f"{STATE}/state.json").content_string)
    assert host.file(FLAG).exists  # the flag is its own file: still no action
    assert show(host, "ActiveState") == "failed"


def test_clearing_the_flag_lets_the_deadman_heal_again(host, flag_raised):
    entries = len(history(host))  # nothing is recorded while the flag is up
    host.run_expect([0], f"rm -f {CONTROL}")
    cleared = host.run("deadman-check --clear --reason 'test: fixed'")
    assert cleared.rc == 0
    assert "flag cleared" in cleared.stdout
    assert not host.file(FLAG).exists
    # systemd gave up on the harness: only the deadman (restart budget renewed) starts it.
    assert wait_for(lambda: host.service("harness").is_running, timeout=40)
    assert wait_for(lambda: stamp_age(host) is not None and stamp_age(host) <= 2, timeout=15)
    events = history(host)[entries:]
    assert events[0]["event"] == "cleared"
    restart = next(e for e in events if e["event"] == "restart")
    assert restart["outcome"] == "restart: ok"
    assert history(host)[-1]["event"] in ("restart", "heartbeat_fresh", "mark_good")
