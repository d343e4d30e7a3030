"""The deadman switch heals a hung harness, escalates a crash loop to the flag, then stops.

The tests run in file order against one host (converge.yml: beat 1 s, stale
after 4 s, check every 2 s, 2 restarts per 60 s, healthy after 5 s).
"""

import json
import time

from tests.testinfra_helpers import show, wait_for

STATE = "/var/lib/golden-state/deadman"
FLAG = f"{STATE}/deadman_active"
HISTORY = f"{STATE}/history.jsonl"
STAMP = "/var/lib/harness/heartbeat"
CONTROL = "/var/lib/harness/control"
STUB_LOG = "/var/log/overlay-stub.log"


def history(host):
    result = host.run(f"cat {HISTORY}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def stub_calls(host, word):
    result = host.run(f"cat {STUB_LOG}")
    return [line for line in result.stdout.splitlines() if word in line]


def stamp_age(host):
    result = host.run(f"echo $(( $(date +%s) - $(stat -c %Y {STAMP}) ))")
    return int(result.stdout) if result.rc == 0 and result.stdout.strip() else None


def test_program_config_and_state_are_root_only(host):
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
    first = show(host, "ExecMainStartTimestampMonotonic", "deadman-check.service")
    assert wait_for(lambda: show(host, "ExecMainStartTimestampMonotonic",
                                 "deadman-check.service") != first, timeout=15)
    assert show(host, "Result", "deadman-check.service") == "success"


def test_harness_beats_and_is_marked_known_good_once(host):
    assert host.service("harness").is_running
    assert wait_for(lambda: stamp_age(host) is not None and stamp_age(host) <= 2)
    assert wait_for(lambda: stub_calls(host, "mark-known-good"), timeout=30)
    marked = len(stub_calls(host, "mark-known-good"))
    time.sleep(8)  # three or four more checks of the same healthy period
    assert len(stub_calls(host, "mark-known-good")) == marked


def test_hung_harness_is_restarted(host):
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


def test_crash_loop_escalates_to_rollback_flag_and_alert(host):
    host.run_expect([0], "deadman-check --clear --reason 'test: fresh budget'")
    before = len(history(host))
    host.run_expect([0], f"echo crash-on-start > {CONTROL}")
    host.run("systemctl kill -s SIGUSR2 harness.service")
    assert wait_for(lambda: host.file(FLAG).exists, timeout=120, step=1)
    # (a mark_good of the short healthy spell after --clear may come first)
    events = [e["event"] for e in history(host)[before:] if not e["event"].startswith("mark_good")]
    assert events == ["restart", "restart", "rollback", "restart", "deadman_active"]
    rollback = next(e for e in history(host)[before:] if e["event"] == "rollback")
    assert rollback["outcome"] == "rollback: ok"
    assert len(stub_calls(host, "rollback --to known-good")) == 1
    flag = json.loads(host.file(FLAG).content_string)
    assert flag["event"] == "deadman_active"
    assert "giving up" in flag["reason"]
    alert = host.check_output("journalctl -t deadman -p crit --no-pager -o cat")
    assert "ALERT deadman_active" in alert


def test_no_more_action_while_the_flag_is_up(host):
    # systemd's own start limit ends its restarts; then nothing may move.
    assert wait_for(lambda: show(host, "ActiveState") == "failed", timeout=30)
    restarts = show(host, "NRestarts")
    entries = len(history(host))
    time.sleep(7)  # three timer runs
    for _ in range(2):
        host.run_expect([0], "deadman-check")
    assert show(host, "NRestarts") == restarts
    assert show(host, "ActiveState") == "failed"
    assert len(history(host)) == entries
    assert len(stub_calls(host, "rollback")) == 1
    status = host.check_output("deadman-check --status")
    assert "deadman flag   ACTIVE" in status


def test_second_instance_exits_quietly(host):
    result = host.run(f"flock {STATE}/lock deadman-check")
    assert result.rc == 0
    assert "another deadman-check is running" in result.stderr
    assert "Traceback" not in result.stderr


def test_corrupt_state_is_replaced_and_the_flag_survives(host):
    host.run_expect([0], f"echo '{{broken' > {STATE}/state.json")
    result = host.run("deadman-check")
    assert result.rc == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert host.run(f"ls {STATE}/state.json.corrupt-*").rc == 0
    assert history(host)[-1]["event"] == "state_corrupt"
    json.loads(host.file(f"{STATE}/state.json").content_string)
    assert host.file(FLAG).exists  # the flag is its own file: still no action
    assert show(host, "ActiveState") == "failed"


def test_clearing_the_flag_lets_the_deadman_heal_again(host):
    host.run_expect([0], f"rm -f {CONTROL}")
    cleared = host.run("deadman-check --clear --reason 'test: fixed'")
    assert cleared.rc == 0
    assert "flag cleared" in cleared.stdout
    assert not host.file(FLAG).exists
    assert wait_for(lambda: host.service("harness").is_running, timeout=40)
    assert wait_for(lambda: stamp_age(host) is not None and stamp_age(host) <= 2, timeout=15)
    assert history(host)[-1]["event"] in ("restart", "heartbeat_fresh", "mark_good")
