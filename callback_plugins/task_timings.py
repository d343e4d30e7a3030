# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: task_timings
type: aggregate
short_description: Wall time of every task, written as JSON (a bench option)
description:
  - Records when each task (and handler) starts; a task's time is the wall
    time until the next one starts, so it includes the controller's own work
    for it (templating, loops, delegation), not only the module's run.
  - At the end of the playbook it writes a JSON list of
    C({"task", "role", "action", "seconds"}) objects, slowest first, to
    C(TASK_TIMINGS_FILE). C(bench/site_converge.py --profile) enables it and
    prints the slowest tasks.
  - C(ansible.posix.profile_tasks) prints a similar table, but the pull agent's
    virtualenv holds ansible-core only, and a bench needs the figures as data.
options:
  output:
    description: Where to write the JSON list. Nothing is written when unset.
    type: path
    env:
      - name: TASK_TIMINGS_FILE
    ini:
      - section: task_timings
        key: output
"""

import json
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Time each task from its start to the next task's start."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "task_timings"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._timings: list[dict] = []
        self._current: dict | None = None

    def _close(self) -> None:
        if self._current is not None:
            self._current["seconds"] = round(time.monotonic() - self._current.pop("_start"), 3)
            self._timings.append(self._current)
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        role = task._role.get_name() if task._role else ""
        self._current = {"task": task.get_name().strip(), "role": role, "action": task.action,
                         "_start": time.monotonic()}

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_playbook_on_stats(self, stats):
        self._close()
        output = self.get_option("output")
        if output:
            self._timings.sort(key=lambda timing: timing["seconds"], reverse=True)
            with open(output, "w", encoding="utf-8") as out:
                json.dump(self._timings, out, indent=1)
