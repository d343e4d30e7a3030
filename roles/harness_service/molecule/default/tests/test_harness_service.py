"""harness.service runs sandboxed as the harness user and keeps its heartbeat fresh.

Tests that need the harness's process ask for ``running``, which (re)starts it
when an earlier test left it stopped; the one that re-converges with other
variables converges back to the scenario's own in any case.
"""

import json
import os
import re
import subprocess

import pytest

from tests.testinfra_helpers import exposure, show, wait_for

STAMP = "/var/lib/harness/heartbeat"


def main_pid(host):
    pid = wait_for(lambda: show(host, "MainPID") != "0" and show(host, "MainPID"))
    assert pid, "harness.service has no main process"
    return pid


@pytest.fixture
def running(host):
    """harness.service active with a main process, started afresh if it was not."""
    if show(host, "ActiveState") != "active":
        host.run_expect([0], "systemctl reset-failed harness.service")
        host.run_expect([0], "systemctl start harness.service")
    assert wait_for(lambda: host.service("harness").is_running, timeout=20)
    return main_pid(host)


def test_unit_is_enabled_and_active(host):
    service = host.service("harness")
    assert service.is_enabled
    assert wait_for(lambda: service.is_running)


def test_runs_as_the_harness_user_in_its_home(host, running):
    pid = main_pid(host)
    assert host.check_output(f"ps -o user=,group= -p {pid}").split() == ["wizard", "wizard"]
    assert show(host, "WorkingDirectory") == "/home/wizard/.hermes"


def test_heartbeat_updates(host, running):
    first = host.run(f"stat -c %Y {STAMP}").stdout  # empty until the first beat
    assert wait_for(lambda: host.run(f"stat -c %Y {STAMP}").stdout != first, timeout=10)
    # The stamp was written by the harness process itself: HARNESS_HEARTBEAT reached it.
    assert host.file(STAMP).user == "wizard"
    assert host.file(STAMP).content_string.split()[1] == main_pid(host)


def test_heartbeat_directory_is_private_to_the_harness(host):
    state_dir = host.file("/var/lib/harness")
    assert state_dir.user == "wizard"
    assert state_dir.mode == 0o750  # nobody else can forge beats
    assert show(host, "StateDirectory") == "harness"


def test_environment_reaches_the_unit(host):
    env = show(host, "Environment").split()
    assert f"HARNESS_HEARTBEAT={STAMP}" in env
    assert "HARNESS_BEAT_INTERVAL=1" in env
    assert show(host, "EnvironmentFiles").startswith("/etc/default/harness ")


def test_environment_file_is_private_and_parses_unmangled(host):
    env_file = host.file("/etc/default/harness")
    assert env_file.user == "root"
    assert env_file.group == "root"
    assert env_file.mode == 0o600
    # systemd reads it back exactly as given (quotes, $ and backslash survive).
    env = host.check_output(
        "systemd-run --quiet --pipe --wait -p EnvironmentFile=/etc/default/harness /usr/bin/env")
    assert 'HARNESS_GREETING=say "hi" to $USER \\o/' in env.splitlines()
    assert "HARNESS_API_TOKEN=not-a-real-token" in env.splitlines()


@pytest.mark.parametrize(("prop", "value"), [
    ("Restart", "on-failure"),
    ("StartLimitBurst", "5"),
    ("StartLimitIntervalUSec", "5min"),
    ("NoNewPrivileges", "yes"),
    ("ProtectSystem", "strict"),
    ("ProtectHome", "read-only"),
    ("PrivateTmp", "yes"),
    ("PrivateDevices", "yes"),
    ("ProtectKernelTunables", "yes"),
    ("ProtectKernelModules", "yes"),
    ("ProtectKernelLogs", "yes"),
    ("ProtectControlGroups", "yes"),
    ("ProtectClock", "yes"),
    ("RestrictSUIDSGID", "yes"),
    ("RestrictRealtime", "yes"),
    ("RestrictNamespaces", "yes"),
    ("LockPersonality", "yes"),
    ("CapabilityBoundingSet", ""),
])
def test_unit_sandbox_properties(host, prop, value):
    assert show(host, prop) == value


def test_read_write_paths_are_the_homes_only(host):
    assert show(host, "ReadWritePaths").split() == ["/home/wizard/.hermes", "/home/wizard/.timmy"]


def test_unit_exposure_score_stays_low(host):
    assert exposure(host, "harness.service") <= 2.0


def test_sandbox_is_in_effect_for_the_process(host, running):
    status = host.check_output(f"cat /proc/{main_pid(host)}/status")
    assert "NoNewPrivs:\t1" in status
    assert "Seccomp:\t2" in status  # SystemCallFilter=/Restrict*=/LockPersonality= filters
    assert "CapBnd:\t0000000000000000" in status
    assert "CapEff:\t0000000000000000" in status


def test_mount_sandbox_where_the_host_can_do_it(host, running):
    probe = host.run("systemd-run --quiet --pipe --wait -p ProtectSystem=strict "
                     "grep -c ' / / ro,' /proc/self/mountinfo")
    if probe.stdout.strip() != "1":
        pytest.skip("this container cannot set up mount namespaces (no CAP_SYS_ADMIN): "
                    "ProtectSystem=/ProtectHome= are accepted but not applied here")
    mounts = host.check_output(f"cat /proc/{main_pid(host)}/mountinfo")
    assert " / / ro," in mounts


def test_crash_is_restarted_by_systemd(host, running):
    before = int(show(host, "NRestarts"))
    old = main_pid(host)
    host.run("systemctl kill -s SIGUSR2 harness.service")
    assert wait_for(lambda: int(show(host, "NRestarts")) > before, timeout=20)
    assert wait_for(lambda: host.service("harness").is_running and show(host, "MainPID") != old,
                    timeout=20)


def test_clean_stop_is_not_a_failure(host, running):
    try:
        host.run("systemctl kill -s SIGTERM harness.service")
        assert wait_for(lambda: show(host, "ActiveState") == "inactive", timeout=20)
        assert show(host, "Result") == "success"
    finally:
        host.run("systemctl start harness.service")
    assert wait_for(lambda: host.service("harness").is_running)


def _converge(extra_vars=None):
    """Re-run this scenario's converge.yml with Molecule's inventory; return (changed, output)."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    scenario = os.environ.get("MOLECULE_SCENARIO_DIRECTORY")
    if not inventory or not scenario:
        pytest.skip("re-converging needs Molecule's inventory: run through tests/molecule")
    command = ["ansible-playbook", "-i", inventory, f"{scenario}/converge.yml"]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)
    assert result.returncode == 0, output[-4000:]
    recap = output.rsplit("PLAY RECAP", 1)[-1]
    return int(re.search(r"changed=(\d+)", recap).group(1)), output


def _starts(host):
    return len(host.check_output("journalctl -u harness.service -o cat --no-pager | "
                                 "grep '^Started harness.service' || true").splitlines())


def test_changing_the_environment_restarts_the_harness_once(host):
    rotated = {"harness_service_environment": {
        "HARNESS_GREETING": 'say "hi" to $USER \\o/', "HARNESS_API_TOKEN": "rotated-token"}}
    starts, restarts = _starts(host), show(host, "NRestarts")
    try:
        changed, output = _converge(rotated)
        assert changed == 2  # the environment file and the restart handler, nothing else
        assert output.count("RUNNING HANDLER [harness_service : Restart harness]") == 1
        assert "rotated-token" not in output  # no_log: the value never reaches the log
        assert wait_for(lambda: _starts(host) == starts + 1)
        assert show(host, "NRestarts") == restarts  # a handler restart, not a crash
        env = host.check_output(
            "systemd-run --quiet --pipe --wait -p EnvironmentFile=/etc/default/harness "
            "/usr/bin/env")
        assert "HARNESS_API_TOKEN=rotated-token" in env.splitlines()
        # Same variables again: nothing changes, no restart. The handler's restart
        # would have finished before the play did: the same invocation still runs.
        invocation = show(host, "InvocationID")
        changed, _ = _converge(rotated)
        assert changed == 0
        assert show(host, "InvocationID") == invocation
        assert _starts(host) == starts + 1
    finally:
        # Back to the scenario's own variables (one more restart), whatever failed above.
        changed, _ = _converge()
    assert changed == 2
    assert wait_for(lambda: _starts(host) == starts + 2)
