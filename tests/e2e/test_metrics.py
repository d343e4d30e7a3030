"""End to end: a real Prometheus scrapes a host's node_exporter and fires the shipped alert.

The host (container wizard-metrics-e2e) is provisioned with base, pull_agent,
webhook_receiver and metrics; node_exporter listens on 0.0.0.0:9100 inside the
container, published on 127.0.0.1 only. Its pull agent points at a repository
that does not exist, so `golden-state-pull run` fails for real (ansible-pull's
git step). The controller's Prometheus (Debian's /usr/bin/prometheus, a
temporary config and TSDB, 1 s scrape and evaluation) loads
monitoring/golden_state.rules.yml; the test asks its HTTP API whether
GoldenStateLastRunFailed fires. Every wait is bounded; Prometheus is killed in
the fixture's finally.

Slow (a container, the pull agent's venv): `.venv/bin/pytest tests/e2e/test_metrics.py`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

from .fleet_host import ROOT, FleetHost, wait_until

PROMETHEUS = os.environ.get("FLEET_PROMETHEUS", "/usr/bin/prometheus")
NAME = os.environ.get("FLEET_METRICS_E2E_HOST", "wizard-metrics-e2e")
RULES = ROOT / "monitoring" / "golden_state.rules.yml"
ALERT = "GoldenStateLastRunFailed"

pytestmark = [
    pytest.mark.skipif(shutil.which("podman") is None, reason="needs podman"),
    pytest.mark.skipif(not os.access(PROMETHEUS, os.X_OK), reason=f"needs {PROMETHEUS}"),
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prometheus:
    """A throwaway Prometheus on 127.0.0.1 scraping one target with the shipped rules."""

    def __init__(self, workdir: Path, target: str, instance: str):
        self.port = free_port()
        self.workdir = workdir
        self.config = workdir / "prometheus.yml"
        self.config.write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "wizard", "static_configs": [
                {"targets": [target], "labels": {"instance": instance}}]}],
        }))
        self.log = workdir / "prometheus.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.config}",
                 f"--storage.tsdb.path={self.workdir / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        wait_until(self.ready, 60, 0.5, "Prometheus ready")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=20)

    def ready(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited {self.process.returncode}:\n{self.logs()}")
        url = f"http://127.0.0.1:{self.port}/-/ready"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
        return False

    def api(self, path: str, **params: str) -> object:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}{query}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict]:
        return self.api("query", query=expr)["result"]

    def alerts(self, name: str) -> list[dict]:
        return [a for a in self.api("alerts")["alerts"] if a["labels"]["alertname"] == name]

    def logs(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    metrics_port = free_port()
    fleet_host = FleetHost(NAME, free_port(), tmp_path_factory.mktemp("metrics-e2e"),
                           published={9100: metrics_port})
    fleet_host.metrics_port = metrics_port
    fleet_host.make_origin()
    fleet_host.start()
    try:
        fleet_host.provision(extra_roles=("metrics",), extra_vars={
            # Nothing there: every run fails at ansible-pull's git step.
            "pull_agent_repo_url": "file:///srv/no-such-repository.git",
            "metrics_listen_address": "0.0.0.0:9100",
        })
        yield fleet_host
    finally:
        if not os.environ.get("FLEET_E2E_KEEP"):
            fleet_host.destroy()


@pytest.fixture
def prometheus(host, tmp_path):
    server = Prometheus(tmp_path, f"127.0.0.1:{host.metrics_port}", host.name)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_prometheus_fires_last_run_failed_after_a_real_failed_run(host, prometheus):
    # Scraped, the rules loaded, and nothing to alert about yet: no run on record.
    wait_until(lambda: prometheus.query(
        f'golden_state_metrics_collect_interval_seconds{{instance="{host.name}"}}'),
        60, 1.0, "Prometheus scrapes the host's golden_state_ metrics")
    groups = prometheus.api("rules")["groups"]
    assert ALERT in {rule["name"] for group in groups for rule in group["rules"]}
    assert prometheus.alerts(ALERT) == []

    run = host.exec("golden-state-pull run", check=False, timeout=300)
    (record,) = host.history()
    assert record["status"] == "failed", run

    def firing() -> list[dict]:
        return [a for a in prometheus.alerts(ALERT) if a["state"] == "firing"]

    (alert,) = wait_until(firing, 60, 1.0, f"{ALERT} firing")
    assert alert["labels"]["instance"] == host.name
    assert alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["summary"] == f"{host.name}: the last pull run failed"
    # The same through the ALERTS series Prometheus records for firing alerts.
    (series,) = prometheus.query(f'ALERTS{{alertname="{ALERT}", alertstate="firing"}}')
    assert series["metric"]["instance"] == host.name
    # The textfile's other metrics say the same story.
    (success,) = prometheus.query("golden_state_pull_last_run_success")
    assert success["value"][1] == "0"
    assert not prometheus.query("golden_state_metrics_collector_errors > 0")
