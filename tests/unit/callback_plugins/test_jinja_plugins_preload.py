"""jinja_plugins_preload: filter plugins load once in the controller, not in every task's fork."""

from __future__ import annotations

from pathlib import Path

from tests.unit.callback_plugins.local_playbook import run_local_playbook

# A filter plugin that records the process importing it: one line per load.
FILTER_PLUGIN = """
import os

with open(os.environ["FILTER_LOADS_FILE"], "a") as loads:
    loads.write(f"{os.getpid()}\\n")


class FilterModule:
    def filters(self):
        return {"shout": str.upper}
"""

PLAYBOOK = """
- name: Three tasks, each rendering a filter
  hosts: all
  gather_facts: false
  tasks:
    - name: First
      ansible.builtin.debug:
        msg: "{{ 'one' | shout }}"
    - name: Second
      ansible.builtin.debug:
        msg: "{{ 'two' | shout }}"
    - name: Third
      ansible.builtin.debug:
        msg: "{{ 'three' | shout }}"
"""


def filter_loads(tmp_path: Path, callbacks: str) -> list[str]:
    """The pids that imported the filter plugin during one run with these callbacks."""
    plugins = tmp_path / "filters"
    plugins.mkdir()
    (plugins / "shout.py").write_text(FILTER_PLUGIN)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    loads = tmp_path / "loads.txt"
    done = run_local_playbook(tmp_path / "site.yml", "alpha,", env={
        "ANSIBLE_CALLBACKS_ENABLED": callbacks, "ANSIBLE_FILTER_PLUGINS": str(plugins),
        "FILTER_LOADS_FILE": str(loads)})
    assert "msg: THREE" in done.stdout  # the filter worked in every task
    return loads.read_text().split()


def test_the_filter_loads_once_before_the_workers_fork(tmp_path):
    assert len(filter_loads(tmp_path, "jinja_plugins_preload")) == 1


def test_without_it_every_task_loads_the_filter_again(tmp_path):
    # What the callback saves; and proof the test above can fail.
    loads = filter_loads(tmp_path, "drift_summary")
    assert len(loads) == 3 and len(set(loads)) == 3


def test_the_project_enables_it():
    text = (Path(__file__).resolve().parents[3] / "ansible.cfg").read_text()
    enabled = next(line for line in text.splitlines() if line.startswith("callbacks_enabled"))
    assert "jinja_plugins_preload" in enabled
