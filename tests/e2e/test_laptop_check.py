"""The laptop path: an operator runs `ansible-playbook --check --diff` over SSH.

A fresh host and a converged host are both checked from a generated operator
key through a port published on 127.0.0.1. A check must fail nothing and
change no byte on the host (manifest of paths, modes, owners and hashes before
and after); after a change in the repository the diff shows exactly that
change and the drift summary names the concern.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.podman_host import PodmanHost, ansible_playbook, checkout_copy, write_inventory

HOST = "wizard-laptop"
SSH_PORT = int(os.environ.get("FLEET_LAPTOP_SSH_PORT", "22522"))


@pytest.fixture(scope="module")
def operator_key(tmp_path_factory) -> Path:
    key = tmp_path_factory.mktemp("ssh") / "operator_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key


@pytest.fixture(scope="module")
def host(operator_key):
    wizard = PodmanHost(HOST, published={22: SSH_PORT}).start()
    wizard.authorize_operator(Path(f"{operator_key}.pub").read_text().strip())
    sshd_up = lambda: wizard.run("systemctl", "is-active", "ssh", check=False).returncode == 0  # noqa: E731
    wizard.wait_until(sshd_up, what="sshd", seconds=30)
    yield wizard
    wizard.remove()


def laptop_inventory(repo: Path, key: Path) -> Path:
    return write_inventory(repo, "laptop-test", HOST, {
        "ansible_host": "127.0.0.1",
        "ansible_port": SSH_PORT,
        "ansible_user": "ops",
        "ansible_ssh_private_key_file": key,
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        "base_pull_agent_wheelhouse": "/srv/wheelhouse",
    })


def playbook(repo: Path, inventory: Path, *flags: str):
    return ansible_playbook(repo, inventory, *flags)


def recap(output: str) -> str:
    return output[output.index("PLAY RECAP"):]


def test_check_on_a_fresh_host_fails_nothing_and_changes_nothing(host, operator_key, tmp_path):
    repo = checkout_copy(tmp_path)
    inventory = laptop_inventory(repo, operator_key)
    before = host.manifest()
    result = playbook(repo, inventory, "--check", "--diff")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "failed=0" in recap(result.stdout)
    assert "would change" in result.stdout  # a fresh host is far from its golden state
    assert host.manifest() == before


def test_check_after_a_repository_change_shows_exactly_that_change(host, operator_key, tmp_path):
    repo = checkout_copy(tmp_path)
    inventory = laptop_inventory(repo, operator_key)
    converge = playbook(repo, inventory)
    assert converge.returncode == 0, converge.stdout[-4000:] + converge.stderr[-2000:]

    clean = playbook(repo, inventory, "--check", "--diff")
    assert clean.returncode == 0, clean.stdout[-4000:]
    assert f"{HOST}: in golden state" in clean.stdout

    soul = repo / "roles/golden_state/files/overlay/SOUL.md"
    soul.write_text(soul.read_text() + "A line the operator just added.\n")
    before = host.manifest()
    drift = playbook(repo, inventory, "--check", "--diff")
    assert drift.returncode == 0, drift.stdout[-4000:]
    assert "+A line the operator just added." in drift.stdout
    changed_lines = [line for line in drift.stdout.splitlines()
                     if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]
    assert changed_lines == ["+A line the operator just added."]
    assert f"{HOST}: would change: golden_state\n" in drift.stdout
    assert host.manifest() == before
