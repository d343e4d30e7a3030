"""End to end: a signed push to a host's receiver makes the host converge to the new commit.

Slow (a container, the pull agent's venv, real ansible-pull runs): run with
``.venv/bin/pytest tests/e2e`` (not part of the unit suite's testpaths).
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
from fleet.pull import parse_iso

from .fleet_host import ROOT, FleetHost, wait_until

pytestmark = pytest.mark.skipif(shutil.which("podman") is None, reason="needs podman")

NAME = os.environ.get("FLEET_E2E_HOST", "wizard-webhook_receiver-e2e")
PORT = int(os.environ.get("FLEET_E2E_PORT", "19081"))


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("needs a git checkout")
    fleet_host = FleetHost(NAME, PORT, tmp_path_factory.mktemp("e2e"))
    fleet_host.make_origin()
    fleet_host.start()
    try:
        fleet_host.provision()
        yield fleet_host
    finally:
        if not os.environ.get("FLEET_E2E_KEEP"):
            fleet_host.destroy()


def test_a_signed_push_converges_the_host_to_the_new_commit(host):
    commit = host.commit_marker("e2e: first change")
    assert not host.has_marker(host.marker)
    status, delivery = host.send_push(forge="gitea")
    assert status == 202
    record = host.wait_for_delivery(delivery, timeout=240)
    assert record["status"] == "ok", host.exec("tail -40 /var/lib/golden-state/pull/last-run.log")
    assert record["trigger"] == "webhook"
    assert record["commit_after"] == commit  # pulled, not taken from the payload's "after"
    assert record["failed"] == 0 and record["ok"] > 0
    assert host.has_marker(host.marker)
    assert host.exec("git -C /opt/golden-state/checkout rev-parse HEAD").strip() == commit
    # The default pull mode: the venv's pinned mitogen runs the playbook.
    assert "mitogen is not installed" not in host.exec(
        "cat /var/lib/golden-state/pull/last-run.log")


def test_twenty_pushes_at_once_make_at_most_two_runs_that_never_overlap(host):
    before = len(host.history())
    for _ in range(3):  # several commits land; the webhooks for them arrive together
        commit = host.commit_marker(push=False)
    host.push()
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda i: host.send_push(forge="github" if i % 2 else "gitea"),
                                range(20)))
    assert [status for status, _ in results] == [202] * 20
    deliveries = {delivery for _, delivery in results}

    def all_recorded_and_idle() -> bool:
        seen = {d for r in host.history()[before:] for d in r.get("deliveries", [])}
        return deliveries <= seen and host.idle()

    # Idle means nothing runs and nothing is queued: no third run can start now.
    wait_until(all_recorded_and_idle, 300, 1.0, "every delivery recorded, runner idle")
    runs = host.history()[before:]
    assert 1 <= len(runs) <= 2, [(r["start"], r["triggers"]) for r in runs]
    assert sum(r["triggers"] for r in runs) == 20
    spans = sorted((parse_iso(r["start"]), parse_iso(r["end"])) for r in runs)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans))
    assert all(r["status"] == "ok" for r in runs), (
        [r["status"] for r in runs], host.exec("tail -40 /var/lib/golden-state/pull/last-run.log"))
    assert runs[-1]["commit_after"] == commit
    assert host.has_marker(host.marker)


def test_a_paused_host_records_pushes_and_stays_put(host):
    assert "paused" in host.exec("golden-state-pull pause 'e2e: hands off'")
    try:
        commit_before = host.exec("git -C /opt/golden-state/checkout rev-parse HEAD").strip()
        host.commit_marker("e2e: while paused")
        status, delivery = host.send_push()
        assert status == 202
        record = host.wait_for_delivery(delivery, timeout=60)
        assert record["status"] == "paused"
        assert record["paused"]["reason"] == "e2e: hands off"
        assert not host.has_marker(host.marker)
        checkout = host.exec("git -C /opt/golden-state/checkout rev-parse HEAD").strip()
        assert checkout == commit_before
    finally:
        host.exec("golden-state-pull resume")
