"""The pull runner on a host: units, configuration, systemd-driven coalescing, pause, history.

Tests that count runs ask for ``idle`` (no run in progress, nothing queued) and
count only the runs that started after they did, whatever ran before them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.testinfra_helpers import exposure, wait_for

STATE = "/var/lib/golden-state/pull"
HISTORY = f"{STATE}/history.jsonl"
SPOOL = f"{STATE}/spool"
UNITS = ("golden-state-pull.service", "golden-state-pull-reconcile.service")
PULL_EXPOSURE_MAX = 5.0  # measured 4.7 (9.6 unsandboxed)


def history(host) -> list[dict]:
    out = host.run(f"cat {HISTORY} 2>/dev/null").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def host_time(host) -> float:
    return float(host.check_output("date +%s.%N"))


def started(record: dict) -> float:
    return datetime.strptime(record["start"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=UTC).timestamp()


def runs_since(host, since: float) -> list[dict]:
    """The history records of runs that started at or after ``since`` (host time)."""
    return [r for r in history(host) if started(r) >= since]


def quiet(host) -> bool:
    """No runner unit active, no trigger queued, no pending request left by a busy runner."""
    states = host.check_output(f"systemctl show -p ActiveState --value {' '.join(UNITS)}")
    return all(state in ("inactive", "failed") for state in states.split()) \
        and host.run(f"ls -A {SPOOL}").stdout.strip() == "" \
        and not host.file(f"{STATE}/pending").exists


@pytest.fixture
def idle(host) -> float:
    """Wait (bounded) until earlier runs are over; the host time the test starts from."""
    assert wait_for(lambda: quiet(host), timeout=60), "the pull runner did not settle in 60 s"
    return host_time(host)


def test_runner_is_the_fleet_package_program_on_path(host):
    link = host.file("/usr/local/sbin/golden-state-pull")
    assert link.is_symlink and link.linked_to == "/opt/golden-state/venv/bin/golden-state-pull"
    assert host.run("golden-state-pull --help").rc == 0


def test_configuration_names_the_repository_branch_and_host(host):
    config = json.loads(host.file("/etc/golden-state/pull.json").content_string)
    assert config["repo_url"] == "file:///srv/origin.git"
    assert config["branch"] == "main"
    assert config["inventory_name"] == host.check_output("hostname")
    assert host.file("/etc/golden-state/pull.json").mode == 0o644


def test_path_unit_and_reconcile_timer_are_active(host):
    assert host.service("golden-state-pull.path").is_running
    timer = host.service("golden-state-pull-reconcile.timer")
    assert timer.is_enabled and timer.is_running
    show = "systemctl show -p RandomizedDelayUSec --value golden-state-pull-reconcile.timer"
    assert host.check_output(show) == "7min"


def test_queued_triggers_start_one_coalesced_run_through_systemd(host, idle):
    # Five pokes at once, as the receiver's user would queue them.
    host.run(f"mkdir -p {SPOOL}")
    for i in range(5):
        assert host.run(f"golden-state-pull enqueue molecule-{i}").rc == 0
    expected = {f"molecule-{i}" for i in range(5)}
    assert wait_for(lambda: {d for r in runs_since(host, idle) for d in r["deliveries"]}
                    >= expected, timeout=30, step=0.3)
    runs = runs_since(host, idle)
    assert 1 <= len(runs) <= 2
    assert sum(r["triggers"] for r in runs) == 5
    assert all(r["trigger"] == "webhook" and r["status"] == "ok" for r in runs)
    assert host.run(f"ls -A {SPOOL}").stdout == ""


def test_timer_service_runs_and_records_timer(host, idle):
    assert host.run("systemctl start golden-state-pull-reconcile.service").rc == 0  # oneshot: waits
    (record,) = runs_since(host, idle)
    assert (record["trigger"], record["status"], record["ok"]) == ("timer", "ok", 3)
    last = json.loads(host.file("/var/lib/golden-state/pull/last-run.json").content_string)
    assert last == record
    assert host.file("/var/lib/golden-state/pull/last-run.log").mode == 0o600


def test_pause_stops_runs_and_is_reported(host, idle):
    assert host.run("golden-state-pull pause 'molecule: freeze'").rc == 0
    try:
        assert host.run("golden-state-pull run").rc == 0
        (record,) = runs_since(host, idle)
        assert record["status"] == "paused"
        assert record["paused"]["reason"] == "molecule: freeze"
        status = json.loads(host.check_output("golden-state-pull status --json"))
        assert status["paused"]["reason"] == "molecule: freeze"
    finally:
        assert host.run("golden-state-pull resume").rc == 0


@pytest.mark.parametrize("unit", UNITS)
def test_runner_units_are_as_sandboxed_as_a_root_converge_allows(host, unit):
    # Converging as root needs a writable system and the account capabilities;
    # kernel, clock, devices, tracing and namespaces are taken away (9.6 before).
    assert exposure(host, unit) <= PULL_EXPOSURE_MAX
