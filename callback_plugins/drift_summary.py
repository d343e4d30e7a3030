# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
name: drift_summary
type: aggregate
short_description: Per host, which concerns changed (or would change in check mode)
description:
  - Adds a short table after the play recap, one line per host, naming the
    concerns (roles) that changed, or would change under C(--check), and the
    tasks behind them. An operator reads the fleet's drift at a glance
    without scrolling through the diff.
  - The concern of a task is the role it belongs to; tasks outside roles are
    grouped under the play's name.
  - Under C(--check) handlers do not run, so a line per host also names the
    restarts the changes would trigger (the handlers the changed tasks
    notify, C(Restart X) shown as C(X)) and the concerns that notify them.
  - Enabled in ansible.cfg through C(callbacks_enabled); it prints nothing
    else and does not replace the stdout callback.
options:
  show_tasks:
    description: List the changed tasks under each concern.
    type: bool
    default: true
    env:
      - name: DRIFT_SUMMARY_SHOW_TASKS
    ini:
      - section: drift_summary
        key: show_tasks
"""

from collections import defaultdict

from ansible.playbook.handler import Handler
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    """Collect changed results per host and concern; print them at the end."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "drift_summary"
    CALLBACK_NEEDS_ENABLED = True
    _THEN = "then"  # pseudo-concern for handlers

    def __init__(self):
        super().__init__()
        self._changes: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._hosts: set[str] = set()
        self._failed: set[str] = set()  # failed or unreachable: their drift is unknown
        # host -> handler notified by a changed task -> the concerns that notified it
        self._notified: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._play_name = "play"
        self._check_mode = False

    def v2_playbook_on_play_start(self, play):
        self._play_name = play.get_name().strip() or "play"
        self._check_mode = bool(getattr(play, "check_mode", False)) or self._check_mode

    def v2_runner_on_ok(self, result):
        self._hosts.add(result._host.get_name())
        if result._result.get("changed"):
            self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._hosts.add(result._host.get_name())
        if not ignore_errors:
            self._failed.add(result._host.get_name())

    def v2_runner_on_unreachable(self, result):
        self._hosts.add(result._host.get_name())
        self._failed.add(result._host.get_name())

    def v2_runner_on_skipped(self, result):
        self._hosts.add(result._host.get_name())

    def v2_runner_item_on_ok(self, result):
        # Loop items report here; the task's own result carries changed too,
        # so recording it once there is enough.
        pass

    def _record(self, result):
        task = result._task
        name = (task.name or task.action).strip()
        if isinstance(task, Handler):
            # A handler is the consequence of drift (a restart), not drift itself.
            concern = self._THEN
        else:
            role = getattr(task, "_role", None)
            concern = role.get_name(include_role_fqcn=False) if role else self._play_name
        tasks = self._changes[result._host.get_name()][concern]
        if name not in tasks:
            tasks.append(name)
        if concern != self._THEN:
            for handler in task.notify or []:
                concerns = self._notified[result._host.get_name()][handler]
                if concern not in concerns:
                    concerns.append(concern)

    @staticmethod
    def _consequence(handler: str, concerns: list[str]) -> str:
        what = handler[len("restart "):] if handler.lower().startswith("restart ") else handler
        return f"{what} (from {', '.join(concerns)})"

    def v2_playbook_on_stats(self, stats):
        from ansible import context

        check = bool(context.CLIARGS.get("check")) if context.CLIARGS else False
        verb = "would change" if check else "changed"
        lines = [f"DRIFT SUMMARY ({verb}) " + "*" * 40]
        for host in sorted(self._hosts | set(stats.processed)):
            concerns = self._changes.get(host)
            if host in self._failed:
                lines.append(f"{host}: FAILED or UNREACHABLE, drift unknown")
            elif not concerns:
                lines.append(f"{host}: in golden state")
                continue
            else:
                drifting = [concern for concern in concerns if concern != self._THEN]
                lines.append(f"{host}: {verb}: {', '.join(drifting) or 'handlers only'}")
            notified = self._notified.get(host)
            if check and notified and host not in self._failed:
                lines.append("    would restart: " + "; ".join(
                    self._consequence(handler, by) for handler, by in notified.items()))
            if concerns and self.get_option("show_tasks"):
                for concern, tasks in concerns.items():
                    for name in tasks:
                        lines.append(f"    {concern}: {name}")
        self._display.display("\n".join(lines))
