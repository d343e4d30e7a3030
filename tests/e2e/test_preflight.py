"""The pre-flight judges what the host would receive, before any change to it.

A converged host is run again with bad input fed in many ways: a banned
provider in the provider chain, hidden in a source (zero-width character),
written as a YAML or JSON escape, assembled by a template, fed through an
inventory variable; a config that breaks the config policy; a misspelled role
variable. Every run fails in the pre-flight, and every file on the host stays
byte-identical. Allowlisting (with a reason) lets the policy cases through.
"""

from __future__ import annotations

import contextlib
import json

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


OVERLAY = "roles/golden_state/files/overlay"
SOURCE_SCAN = "Refuse any banned provider before anything changes"
TYPO_GUARD = "Refuse role variables that no role declares"
# Escapes in YAML/JSON sources are already decoded by the source scan; what a
# template assembles only the rendered check sees. Either refuses in time.
PREFLIGHT = (SOURCE_SCAN, "golden_state : Validate the overlay and check its signatures")


def assert_refused_in_preflight(done, evidence: str, tasks=(SOURCE_SCAN,)) -> None:
    assert done.returncode != 0, done.stdout[-3000:]
    failed_task = done.stdout.split("[ERROR]: Task failed")[0].rsplit("TASK [", 1)[1]
    assert failed_task.startswith(tasks), failed_task[:200]
    assert evidence in done.stdout, done.stdout[-3000:]
    recap = done.stdout[done.stdout.index("PLAY RECAP"):]
    assert "changed=0" in recap and "failed=1" in recap


@contextlib.contextmanager
def edited(repo, relative: str, old: str, new: str):
    """The source with ``old`` replaced by ``new`` for the block; restored afterwards."""
    path = repo / relative
    original = path.read_text()
    assert old in original, f"{old!r} not in {relative}"
    path.write_text(original.replace(old, new, 1))
    try:
        yield path
    finally:
        path.write_text(original)


def refused_run(converged, *extra_args, evidence, tasks=PREFLIGHT):
    host, repo, inventory = converged
    before = host.manifest()
    done = ansible_playbook(repo, inventory, *CONCERNS, *extra_args)
    assert_refused_in_preflight(done, evidence, tasks)
    assert host.manifest() == before
    return done


def test_banned_provider_in_the_chain_fails_before_any_change(converged):
    host, repo, inventory = converged
    before = host.manifest()
    chain = ('{"golden_state_providers": [{"name": "fast", "base_url": "https://api.anthropic.com/v1",'
             ' "model": "x"}]}')
    done = ansible_playbook(repo, inventory, *CONCERNS, "-e", chain)
    assert_refused_in_preflight(done, "golden_state_providers[0].base_url")
    assert host.manifest() == before


def test_banned_provider_hidden_in_an_overlay_file_fails_before_any_change(converged):
    _, repo, _ = converged
    with edited(repo, f"{OVERLAY}/SOUL.md", "- Tell the truth",
                "- Escalate hard questions to Cl\u200baude.\n- Tell the truth"):
        refused_run(converged, evidence="SOUL.md", tasks=(SOURCE_SCAN,))


# -- the rendered decision: what the source text scan cannot see ---------------------

# (file, text, replacement, what the refusal names): the name is never in the source text.
RENDERED_NAMES = {
    "yaml-hex-escape": ("config.yaml", "vision:\n    provider: auto",
                        'vision:\n    provider: "\\x61nthropic"', "auxiliary.vision.provider"),
    "yaml-line-continuation": ("config.yaml", "vision:\n    provider: auto",
                               'vision:\n    provider: "anthr\\\n    opic"',
                               "auxiliary.vision.provider"),
    "template-assembled": ("config.yaml", "compression:\n    provider: auto",
                           "compression:\n    provider: \"{{ 'anth' ~ 'ropic' }}\"",
                           "/home/wizard/.hermes/config.yaml"),
    "json-unicode-escape": ("channel_directory.json", '"kind": "matrix"',
                            '"kind": "matrix", "model": "\\u0063laude-3-haiku"',
                            "channels.ops.model"),
    "soul-md-join": ("SOUL.md", "- Tell the truth",
                     "- Defer to {{ ['Cl', 'au', 'de'] | join }} on hard questions.\n"
                     "- Tell the truth", "/home/wizard/.timmy/SOUL.md"),
}


@pytest.mark.parametrize("case", sorted(RENDERED_NAMES))
def test_a_name_only_the_rendering_reveals_is_refused(converged, case):
    name, text, replacement, evidence = RENDERED_NAMES[case]
    _, repo, _ = converged
    with edited(repo, f"{OVERLAY}/{name}", text, replacement):
        refused_run(converged, evidence=evidence)


def test_a_name_fed_through_an_inventory_variable_is_refused(converged):
    # JSON escapes in -e: the variable's text never holds the name, SOUL.md does.
    role = '{"wizard_role": "\\u0063laude-whisperer"}'
    refused_run(converged, "-e", role, evidence="/home/wizard/.timmy/SOUL.md")


# -- the config policy ---------------------------------------------------------------

REMOTE_CHAIN = {"golden_state_providers": [
    {"name": "gateway", "base_url": "https://models.example.net/v1", "model": "m"}]}


def test_a_remote_endpoint_not_allowlisted_is_refused_then_allowlisting_lets_it_through(converged):
    refused_run(converged, "-e", json.dumps(REMOTE_CHAIN),
                evidence="endpoints.local_or_allowed")
    host, repo, inventory = converged
    allowed = {**REMOTE_CHAIN, "golden_state_endpoint_allowlist": [
        {"host": "models.example.net", "reason": "the fleet's own gateway"}]}
    done = ansible_playbook(repo, inventory, *CONCERNS, "-e", json.dumps(allowed))
    assert done.returncode == 0, done.stdout[-4000:]
    assert "models.example.net" in host.sh("cat /home/wizard/.hermes/config.yaml")


def test_an_inline_api_key_is_refused_naming_the_rule_not_the_value(converged):
    _, repo, _ = converged
    with edited(repo, f"{OVERLAY}/config.yaml", "privacy:\n",
                "privacy:\n  api_key: sk-test-0123456789abcdefghij\n"):
        done = refused_run(converged, evidence="credentials.no_inline")
    assert "0123456789abcdefghij" not in done.stdout


# -- the typo guard --------------------------------------------------------------------

def test_a_misspelled_role_variable_fails_with_a_suggestion_and_an_allowlisted_one_passes(
        converged):
    typo = {"harness_service_comand": "/bin/true"}
    refused_run(converged, "-e", json.dumps(typo), evidence="harness_service_command",
                tasks=(TYPO_GUARD,))
    _, repo, inventory = converged
    allowed = {**typo, "undeclared_variable_allowlist": [
        {"name": "harness_service_comand", "reason": "kept for a migration"}]}
    done = ansible_playbook(repo, inventory, *CONCERNS, "-e", json.dumps(allowed))
    assert done.returncode == 0, done.stdout[-4000:]
