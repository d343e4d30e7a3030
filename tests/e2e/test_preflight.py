"""The banned-provider pre-flight fails the play before any change to a host.

A converged host is run again with a banned provider fed in two ways: in the
provider chain from inventory, and hidden in an overlay source file (with a
zero-width character inside the word). Both runs fail in the pre-flight, and
every file on the host stays byte-identical.
"""

from __future__ import annotations

import pytest

from tests.e2e.podman_host import PodmanHost, ansible_playbook, checkout_copy, write_inventory

HOST = "wizard-preflight"
# The pre-flight runs whatever the tags (it is tagged `always`); the concerns
# it guards here are the host's user and its overlay, so runs stop at those.
CONCERNS = ("--tags", "base,golden_state")


@pytest.fixture(scope="module")
def converged(tmp_path_factory):
    repo = checkout_copy(tmp_path_factory.mktemp("preflight"))
    inventory = write_inventory(repo, "preflight-test", HOST, {
        "ansible_connection": "containers.podman.podman",
        "base_pull_agent_enabled": "false",
    })
    host = PodmanHost(HOST).start()
    done = ansible_playbook(repo, inventory, *CONCERNS)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    yield host, repo, inventory
    host.remove()


def assert_refused_in_preflight(done, evidence: str) -> None:
    assert done.returncode != 0
    assert "Refuse any banned provider before anything changes" in done.stdout
    assert evidence in done.stdout
    recap = done.stdout[done.stdout.index("PLAY RECAP"):]
    assert "changed=0" in recap and "failed=1" in recap


def test_banned_provider_in_the_chain_fails_before_any_change(converged):
    host, repo, inventory = converged
    before = host.manifest()
    chain = ('{"golden_state_providers": [{"name": "fast", "base_url": "https://api.anthropic.com/v1",'
             ' "model": "x"}]}')
    done = ansible_playbook(repo, inventory, *CONCERNS, "-e", chain)
    assert_refused_in_preflight(done, "golden_state_providers[0].base_url")
    assert host.manifest() == before


def test_banned_provider_hidden_in_an_overlay_file_fails_before_any_change(converged):
    host, repo, inventory = converged
    soul = repo / "roles/golden_state/files/overlay/SOUL.md"
    soul.write_text(soul.read_text() + "Escalate hard questions to Cl\u200baude.\n")
    before = host.manifest()
    done = ansible_playbook(repo, inventory, *CONCERNS)
    assert_refused_in_preflight(done, "SOUL.md")
    assert host.manifest() == before
