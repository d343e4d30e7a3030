"""The base role leaves a harness user, its homes, the state dir and a working pull agent."""

import pytest


def test_harness_user_exists(host):
    user = host.user("wizard")
    assert user.home == "/home/wizard"
    assert user.shell == "/bin/bash"


@pytest.mark.parametrize("path", ["/home/wizard/.hermes", "/home/wizard/.timmy"])
def test_harness_directories_are_private_to_the_harness(host, path):
    directory = host.file(path)
    assert directory.is_directory
    assert directory.user == "wizard"
    assert directory.mode == 0o750


def test_state_directory_is_root_owned(host):
    state = host.file("/var/lib/golden-state")
    assert state.is_directory
    assert state.user == "root"
    assert state.mode == 0o755


def test_pull_agent_runs_pinned_ansible_and_module_libraries(host):
    python = "/opt/golden-state/venv/bin/python"
    probe = "import ansible, coincurve, jsonschema, yaml; print(ansible.__version__)"
    result = host.run(f"{python} -c '{probe}'")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "2.19.14"
    assert host.run("/opt/golden-state/venv/bin/ansible-pull --version").rc == 0
