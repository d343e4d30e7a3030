"""A rollback never restores what today's policy refuses (issue 20), on real hosts.

Each host converges, and its overlay is marked known-good while it carries
something that is refused later: a provider that inventory then bans, or the
signature of a key that inventory then revokes. The next converge applies a
compliant overlay and re-judges the snapshots, so the known-good one becomes
unusable. Then the harness crashes at every start, before the new config is
marked healthy. The deadman restarts it, exhausts its budget, and must raise
its flag without restoring the refused snapshot: the live config.yaml stays
byte-identical to the compliant one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fleet.signing import generate_secret_key, public_key_hex, sign_artifact, write_sig_file

from tests.e2e.podman_host import PodmanHost, ansible_playbook, checkout_copy, write_inventory

CONCERNS = ("--tags", "base,golden_state,harness_service,deadman_switch")
OVERLAY = "roles/golden_state/files/overlay"
CONFIG = "/home/wizard/.hermes/config.yaml"
DEADMAN = "/var/lib/golden-state/deadman"
TOOL = "/usr/local/sbin/golden-state-overlay"
# The deadman scenario's thresholds (a check every 2 s, stale after 4 s, two
# restarts), except that it never marks a config known-good by itself here:
# the test marks it, so the compliant config cannot become known-good first.
HOST_VARS = {
    "ansible_connection": "containers.podman.podman",
    "base_pull_agent_packages": "[setuptools==80.10.2, PyYAML==6.0.3, jsonschema==4.26.0]",
    "base_pull_agent_wheelhouse": "/srv/wheelhouse",
    "harness_service_beat_interval": 1,
    "harness_service_restart_sec": 1,
    "harness_service_start_limit_burst": 3,
    "harness_service_start_limit_interval": 30,
    "deadman_switch_stale_after": 4,
    "deadman_switch_max_restarts": 2,
    "deadman_switch_window": 60,
    "deadman_switch_healthy_after": 86400,
    "deadman_switch_interval": 2,
}


def converge(repo: Path, inventory: Path) -> str:
    done = ansible_playbook(repo, inventory, *CONCERNS)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    return done.stdout


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def sign_overlay(repo: Path, key) -> None:
    for source in sorted((repo / OVERLAY).iterdir()):
        if not source.name.endswith(".sig"):
            write_sig_file(f"{source}.sig",
                           [sign_artifact(source.read_bytes(), key, name=source.name)])


def crash_until_flagged(host: PodmanHost) -> list[dict]:
    """Crash the harness at every start; return the deadman's history once its flag is up."""
    host.sh("echo crash-on-start > /var/lib/harness/control && "
            "systemctl kill --signal=SIGUSR2 harness.service")
    host.wait_until(lambda: host.file_exists(f"{DEADMAN}/deadman_active"),
                    what="the deadman to raise its flag", seconds=180, interval=1)
    lines = host.sh(f"cat {DEADMAN}/history.jsonl").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def assert_refused_not_restored(host: PodmanHost, compliant: str, history: list[dict],
                                why: str) -> None:
    text = json.dumps(history)
    assert "rollback refused" in text and why in text, text[-2000:]
    assert host.sh(f"sha256sum {CONFIG}").split()[0] == compliant
    listed = host.sh(f"{TOOL} list")
    assert "UNUSABLE" in listed and why in listed, listed


@pytest.fixture
def fresh(tmp_path, request):
    hosts = []

    def make(name: str) -> tuple[PodmanHost, Path]:
        host = PodmanHost(name).start()
        hosts.append(host)
        return host, checkout_copy(tmp_path)

    yield make
    for host in hosts:
        host.remove()


def test_known_good_naming_a_since_banned_provider_is_never_restored(fresh):
    host, repo = fresh("wizard-rollback-banned")
    inventory = write_inventory(repo, "rollback-test", host.name, HOST_VARS)
    converge(repo, inventory)
    assert "openai/gpt-4.1" in host.sh(f"cat {CONFIG}")
    host.sh(f"{TOOL} mark-known-good")

    # Inventory bans the provider and drops it from the chain.
    replace(repo / "inventory/group_vars/all.yml", "banned_providers:\n  - anthropic\n",
            "banned_providers:\n  - anthropic\n  - openai\n")
    replace(repo / "inventory/group_vars/wizards.yml",
            "  - name: openrouter\n    base_url: https://openrouter.ai/api/v1\n"
            "    model: openai/gpt-4.1\n", "")
    output = converge(repo, inventory)
    assert "Marked unusable" in output, output[-3000:]
    compliant = host.sh(f"sha256sum {CONFIG}").split()[0]
    assert "openai" not in host.sh(f"cat {CONFIG}")

    history = crash_until_flagged(host)
    assert_refused_not_restored(host, compliant, history, "openai")


def test_known_good_signed_only_by_a_since_revoked_key_is_never_restored(fresh):
    host, repo = fresh("wizard-rollback-revoked")
    old_key, new_key = generate_secret_key(), generate_secret_key()
    old_pub, new_pub = public_key_hex(old_key), public_key_hex(new_key)
    signed = dict(HOST_VARS, golden_state_require_signatures="true",
                  base_pull_agent_packages="[setuptools==80.10.2, PyYAML==6.0.3, "
                                           "jsonschema==4.26.0, coincurve==21.0.0]")
    sign_overlay(repo, old_key)
    inventory = write_inventory(repo, "rollback-test", host.name, dict(
        signed, fleet_trusted_keys=f"[{{name: release-1, pubkey: {old_pub}}}]"))
    converge(repo, inventory)
    host.sh(f"{TOOL} mark-known-good")

    # The old key is revoked; a changed overlay is signed by its successor.
    replace(repo / OVERLAY / "SOUL.md", "- Tell the truth", "- Tell the truth, plainly")
    sign_overlay(repo, new_key)
    inventory = write_inventory(repo, "rollback-test", host.name, dict(
        signed, fleet_trusted_keys=f"[{{name: release-2, pubkey: {new_pub}}}]",
        fleet_revoked_keys=f"[{old_pub}]"))
    output = converge(repo, inventory)
    assert "Marked unusable" in output, output[-3000:]
    compliant = host.sh(f"sha256sum {CONFIG}").split()[0]

    history = crash_until_flagged(host)
    assert_refused_not_restored(host, compliant, history, "signatures")
