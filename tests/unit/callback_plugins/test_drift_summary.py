"""The drift summary names, per host, the concerns that changed or would change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.callback_plugins.local_playbook import run_local_playbook

PLAYBOOK = """
- name: Drift demo
  hosts: all
  gather_facts: false
  tasks:
    - name: Include the drifting role
      ansible.builtin.include_role:
        name: drifting
    - name: Include the steady role
      ansible.builtin.include_role:
        name: steady
"""
ROLE_TASKS = {
    "drifting": "- name: Report a change\n  ansible.builtin.debug:\n    msg: x\n"
                "  changed_when: true\n  notify: Restart drifting\n",
    "steady": "- name: Report no change\n  ansible.builtin.debug:\n    msg: y\n",
}


def run_playbook(tmp_path: Path, *extra: str) -> str:
    for role, tasks in ROLE_TASKS.items():
        (tmp_path / "roles" / role / "tasks").mkdir(parents=True)
        (tmp_path / "roles" / role / "tasks" / "main.yml").write_text(tasks)
    (tmp_path / "roles" / "drifting" / "handlers").mkdir()
    (tmp_path / "roles" / "drifting" / "handlers" / "main.yml").write_text(
        "- name: Restart drifting\n  ansible.builtin.debug:\n    msg: z\n  changed_when: true\n")
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    done = run_local_playbook(tmp_path / "site.yml", "alpha,beta,", *extra,
                              env={"ANSIBLE_ROLES_PATH": str(tmp_path / "roles")})
    return done.stdout[done.stdout.index("DRIFT SUMMARY"):]


@pytest.mark.parametrize(("flags", "verb"), [((), "changed"), (("--check",), "would change")])
def test_summary_names_the_drifting_concern_per_host(tmp_path, flags, verb):
    summary = run_playbook(tmp_path, *flags)
    assert summary.startswith(f"DRIFT SUMMARY ({verb})")
    for host in ("alpha", "beta"):
        assert f"{host}: {verb}: drifting\n" in summary
    assert "    drifting: Report a change" in summary
    # The restart a change triggers is listed as its consequence, not as a concern.
    assert "    then: Restart drifting" in summary
    assert "steady" not in summary


def test_check_mode_names_the_restarts_the_changes_would_trigger(tmp_path):
    summary = run_playbook(tmp_path, "--check")
    for host in ("alpha", "beta"):
        block = summary[summary.index(f"{host}: would change"):]
        assert block.splitlines()[1] == "    would restart: drifting (from drifting)"


def test_a_real_run_lists_the_restarts_that_ran_and_no_prediction(tmp_path):
    summary = run_playbook(tmp_path)
    assert "would restart" not in summary
    assert "    then: Restart drifting" in summary
