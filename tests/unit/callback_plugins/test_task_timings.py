"""task_timings writes every task's wall time, slowest first, for the converge bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
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


def run_playbook(tmp_path: Path, output: Path | None) -> subprocess.CompletedProcess:
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_CALLBACKS_ENABLED="task_timings")
    env.pop("TASK_TIMINGS_FILE", None)
    if output is not None:
        env["TASK_TIMINGS_FILE"] = str(output)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "alpha,", "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", str(tmp_path / "site.yml")],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


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
