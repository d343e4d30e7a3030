"""task_timings writes every task's wall time, slowest first, for the converge bench."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit.callback_plugins.local_playbook import run_local_playbook

PLAYBOOK = """
- name: Timing demo
  hosts: all
  gather_facts: false
  tasks:
    - name: Quick task
      ansible.builtin.debug:
        msg: quick
    - name: Slow task
      ansible.builtin.command: sleep 1
      changed_when: true
      notify: Handle it
  handlers:
    - name: Handle it
      ansible.builtin.debug:
        msg: handled
"""


def run_playbook(tmp_path: Path, output: Path | None) -> None:
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    run_local_playbook(tmp_path / "site.yml", "alpha,", env={
        "ANSIBLE_CALLBACKS_ENABLED": "task_timings",
        "TASK_TIMINGS_FILE": None if output is None else str(output)})


def test_every_task_and_handler_is_timed_slowest_first(tmp_path):
    output = tmp_path / "timings.json"
    run_playbook(tmp_path, output)
    timings = json.loads(output.read_text())
    assert timings[0]["task"] == "Slow task"
    assert {t["task"] for t in timings} == {"Quick task", "Slow task", "Handle it"}
    slow = timings[0]
    assert slow["action"] == "ansible.builtin.command" and slow["role"] == ""
    assert slow["seconds"] >= 1.0  # it ran `sleep 1`: a lower bound, not a speed target
    assert [t["seconds"] for t in timings] == sorted((t["seconds"] for t in timings), reverse=True)


def test_nothing_is_written_without_an_output_file(tmp_path):
    run_playbook(tmp_path, None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site.yml"]
