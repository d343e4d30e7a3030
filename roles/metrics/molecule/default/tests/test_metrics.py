"""node_exporter serves the host's golden-state metrics, and they follow the host's state.

converge.yml: node_exporter on 127.0.0.1:9100, the collector's timer every
120 s (so a change seen within seconds came through golden-state-metrics.path),
a pull runner with a fake ansible-pull and no timer. Every test scrapes
node_exporter the way Prometheus does (curl on the host) and waits, bounded,
for the state it caused; none depends on another having run.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.testinfra_helpers import exposure, show, wait_for

URL = "http://127.0.0.1:9100/metrics"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
TEXTFILE = f"{TEXTFILE_DIR}/golden_state.prom"
PULL = "/var/lib/golden-state/pull"
DEADMAN = "/var/lib/golden-state/deadman"
COLLECTOR = "golden-state-metrics.service"
# Well below the timer's 120 s: only the .path unit can be this quick.
PROMPT = 20


def scrape(host) -> dict[str, float]:
    """'name{labels}' -> value for every sample node_exporter serves now."""
    out = host.run(f"curl -sf --max-time 5 {URL}")
    samples = {}
    for line in out.stdout.splitlines() if out.rc == 0 else []:
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def shows(host, name: str, value: float | None = None):
    """The scraped value of ``name`` when it is there (and equals ``value``, if given)."""
    found = scrape(host).get(name)
    if found is None or (value is not None and found != value):
        return None
    return found if found else True  # 0 is a value too


def host_time(host) -> float:
    return float(host.check_output("date +%s.%N"))


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e6):06d}Z"


@pytest.fixture
def idle_pull(host):
    """No pull run in progress, and not paused (a test that pauses resumes in its finally)."""
    assert wait_for(lambda: show(host, "ActiveState", "golden-state-pull.service")
                    in ("inactive", "failed"), timeout=30)
    host.run("golden-state-pull resume")


def test_node_exporter_listens_on_loopback_only(host):
    service = host.service("prometheus-node-exporter")
    assert service.is_enabled and service.is_running
    assert host.socket("tcp://127.0.0.1:9100").is_listening
    assert not host.socket("tcp://0.0.0.0:9100").is_listening
    args = host.file("/etc/default/prometheus-node-exporter").content_string
    assert "--web.listen-address=127.0.0.1:9100" in args
    assert f"--collector.textfile.directory={TEXTFILE_DIR}" in args


def test_only_the_chosen_collectors_run(host):
    samples = scrape(host)
    ran = {name.split('collector="')[1].split('"')[0] for name in samples
           if name.startswith("node_scrape_collector_success{")}
    assert {"textfile", "cpu", "meminfo", "loadavg"} <= ran
    assert not ran & {"netstat", "arp", "sockstat", "nfs"}  # defaults the role trims
    assert samples['node_scrape_collector_success{collector="textfile"}'] == 1


def test_the_textfile_is_written_with_sane_ownership(host):
    directory = host.file(TEXTFILE_DIR)
    assert (directory.user, directory.group, directory.mode) == ("root", "root", 0o755)
    assert wait_for(lambda: host.file(TEXTFILE).exists, timeout=PROMPT)
    textfile = host.file(TEXTFILE)
    assert (textfile.user, textfile.mode) == ("root", 0o644)
    assert host.file("/usr/local/sbin/golden-state-metrics").linked_to == \
        "/opt/golden-state/venv/bin/golden-state-metrics"
    config = json.loads(host.file("/etc/golden-state/metrics.json").content_string)
    assert (config["textfile_dir"], config["collect_interval"]) == (TEXTFILE_DIR, 120)


def test_node_exporter_serves_the_golden_state_metrics(host):
    assert wait_for(lambda: shows(host, "golden_state_metrics_collect_interval_seconds"),
                    timeout=PROMPT)
    samples = scrape(host)
    assert samples["golden_state_metrics_collect_interval_seconds"] == 120
    # pull.json gives the reconcile timer's period; the timer is off here.
    assert "golden_state_pull_reconcile_interval_seconds" not in samples
    assert samples["golden_state_harness_up"] == 0  # no harness in this scenario
    assert samples["node_textfile_scrape_error"] == 0
    assert any(name.startswith("node_textfile_mtime_seconds{") and "golden_state.prom" in name
               for name in samples)
    # The sandboxed collector could read every source it has (systemctl included).
    errors = {name: value for name, value in samples.items()
              if name.startswith("golden_state_metrics_collector_errors{")}
    assert len(errors) == 7 and not any(errors.values()), errors


def test_a_failed_run_in_the_history_shows_within_seconds(host, idle_pull):
    now = host_time(host)
    record = {"status": "failed", "start": iso(now - 5), "end": iso(now), "duration": 5.0,
              "commit_after": None, "trigger": "manual"}
    host.run_expect([0], f"echo '{json.dumps(record)}' >> {PULL}/history.jsonl")
    assert wait_for(lambda: shows(host, "golden_state_pull_last_run_success", 0),
                    timeout=PROMPT, step=0.5), "golden_state_pull_last_run_success 0 never showed"
    samples = scrape(host)
    assert samples["golden_state_pull_last_run_timestamp_seconds"] == pytest.approx(now, abs=0.01)
    assert samples["golden_state_pull_last_run_duration_seconds"] == 5


def test_a_successful_run_shows_within_seconds(host, idle_pull):
    before = host_time(host)
    host.run_expect([0], "golden-state-pull run")  # the fake ansible-pull succeeds
    assert wait_for(lambda: shows(host, "golden_state_pull_last_run_success", 1), timeout=PROMPT)
    last_success = scrape(host)["golden_state_pull_last_success_timestamp_seconds"]
    assert before <= last_success <= host_time(host)


def test_a_pause_shows_with_its_start(host, idle_pull):
    before = host_time(host)
    host.run_expect([0], "golden-state-pull pause 'molecule: metrics'")
    try:
        assert wait_for(lambda: shows(host, "golden_state_pull_paused", 1), timeout=PROMPT)
        since = scrape(host)["golden_state_pull_paused_since_timestamp_seconds"]
        assert before - 1 <= since <= host_time(host)
    finally:
        host.run_expect([0], "golden-state-pull resume")
    assert wait_for(lambda: shows(host, "golden_state_pull_paused", 0), timeout=PROMPT)
    assert "golden_state_pull_paused_since_timestamp_seconds" not in scrape(host)


def test_a_raised_deadman_flag_shows_within_seconds(host):
    # No deadman_switch role here: its configuration and flag, as deadman-check writes them.
    config = json.dumps({"state_dir": DEADMAN})
    host.run_expect([0], f"install -d -m 0700 {DEADMAN} && umask 077 && "
                         f"echo '{config}' > /etc/golden-state/deadman.json")
    try:
        host.run_expect([0], f"echo '{{}}' > {DEADMAN}/deadman_active")
        assert wait_for(lambda: shows(host, "golden_state_deadman_flag_raised", 1),
                        timeout=PROMPT)
        assert scrape(host)["golden_state_deadman_restarts_in_window"] == 0
        host.run_expect([0], f"rm {DEADMAN}/deadman_active")
        assert wait_for(lambda: shows(host, "golden_state_deadman_flag_raised", 0),
                        timeout=PROMPT)
    finally:
        host.run(f"rm -rf /etc/golden-state/deadman.json {DEADMAN}")


def test_timer_and_path_unit_are_armed(host):
    for unit in ("golden-state-metrics.timer", "golden-state-metrics.path"):
        assert host.service(unit).is_enabled and host.service(unit).is_running
    assert "OnUnitActiveUSec=2min" in show(host, "TimersMonotonic", "golden-state-metrics.timer")
    assert show(host, "Unit", "golden-state-metrics.path") == COLLECTOR


def test_collector_runs_clean_and_sandboxed(host):
    result = host.run(f"systemctl start {COLLECTOR}")  # oneshot: returns when it is done
    assert result.rc == 0, result.stderr
    assert show(host, "Result", COLLECTOR) == "success"
    assert exposure(host, COLLECTOR) <= 1.0
