# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ansible-pull's output, read: the recap's counts, and why a run failed.

``parse_recap(output)`` gives the PLAY RECAP counts a history record carries.

``failure_reason(output, exit_status, timed_out, timeout)`` is what the runner
records as a history record's ``reason``: the git step's error, a pre-flight
refusal, the failing task and its message, Ansible's error summary, a timeout
or a signal. Bounded and printable (fleet.text.printable).

Pure Python (standard library only) so it imports with or without Ansible.
"""

from __future__ import annotations

import json
import re
import signal
import textwrap
from dataclasses import dataclass

from .text import printable

RECAP_RE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+"
    r"unreachable=(?P<unreachable>\d+)\s+failed=(?P<failed>\d+)"
    r"(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
    r"(?:\s+ignored=(?P<ignored>\d+))?"
)
RECAP_KEYS = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
REASON_MAX = 300  # characters of a history record's ``reason``


def parse_recap(text: str) -> dict | None:
    """Counts from the last PLAY RECAP in ``text``: totals plus one entry per host.

    Returns None when the output has no recap (the run died before the play).
    """
    blocks = text.split("PLAY RECAP")
    if len(blocks) < 2:
        return None
    hosts: dict[str, dict[str, int]] = {}
    for line in blocks[-1].splitlines()[1:]:
        match = RECAP_RE.match(line.strip())
        if match:
            hosts[match["host"]] = {k: int(match[k] or 0) for k in RECAP_KEYS}
        elif hosts and line.strip():
            break  # the recap block ended
    totals = {k: sum(h[k] for h in hosts.values()) for k in RECAP_KEYS}
    return {**totals, "hosts": hosts}


# What ansible-core 2.19's default callback prints under ansible-pull: the git
# step is an ad-hoc task ("localhost | FAILED! => {json}") before the first
# PLAY header; a failed task is "fatal: [host]: FAILED! =>" (in a loop "failed:
# [host] (item=...) =>") under its "TASK [role : name]" header, preceded by an
# "[ERROR]: Task failed: ..." summary, its result as YAML (the checkout's
# ansible.cfg) or JSON. An ignored failure is followed by "...ignoring".

PLAY_RE = re.compile(r"^PLAY \[.*\] \**$")
TASK_RE = re.compile(r"^(?P<kind>TASK|RUNNING HANDLER) \[(?P<name>.*)\] \**$")
INCLUDED_RE = re.compile(r"^included: (?P<what>\S+) for ")
PLAY_FAILURE_RE = re.compile(r"^(?:fatal: \[[^\]]*\]: (?P<kind>FAILED|UNREACHABLE)!"
                             r"|failed: \[[^\]]*\] \(item=.*\)) =>(?P<rest>.*)$")
GIT_FAILURE_RE = re.compile(r"^\S+ \| (?P<kind>FAILED|UNREACHABLE)!? =>(?P<rest>.*)$")
ERROR_RE = re.compile(r"^(?:\[ERROR\]: |ERROR! )(?P<text>.*)$")
EVENT_RES = (PLAY_RE, TASK_RE, PLAY_FAILURE_RE, GIT_FAILURE_RE, ERROR_RE)
TASK_FAILED_PREFIX_RE = re.compile(r"^(?:Task failed: )?(?:(?:Module|Action) failed: )?")
MAX_RESULT_LINES = 400  # of one printed result: any msg fits, a runaway one stays bounded
NOT_PREFLIGHT = ("Gathering Facts",)  # play-level tasks that are not pre-flight checks


@dataclass
class _Failure:
    task: str | None  # "role : name"; None: ansible-pull's git step, before any play
    preflight: bool
    unreachable: bool
    message: str


class _OutputScan:
    """One pass over ansible-pull's output: the last failure that counted, and where.

    The pre-flight is the first play's pre_tasks (playbooks/site.yml): its
    play-level tasks and the tasks of a role one of them includes
    (``include_role``, announced by "included: <role> for <host>"), up to the
    first task of the play's own roles or a handler.
    """

    def __init__(self, output: str):
        self.lines = [line.rstrip() for line in output.splitlines()]
        self.plays = 0
        self.task: str | None = None
        self.in_preflight = False  # the current task is a pre-flight check
        self.preflight_open = False  # the first play has not left its pre_tasks yet
        self.included: str | None = None  # the role a pre-flight task included
        self.failure: _Failure | None = None
        self.before_task: _Failure | None = None  # undoes an ignored task's failures
        self.error: str | None = None  # the last "[ERROR]:" summary, where, in which task
        self.error_origin = ""
        self.error_task: str | None = None

    def scan(self) -> _OutputScan:
        at = 0
        while at < len(self.lines):
            at = self._line(at)
        return self

    def _line(self, at: int) -> int:
        line = self.lines[at]
        if PLAY_RE.match(line):
            self.plays += 1
            self.preflight_open = self.plays == 1
            self.task = self.included = None
        elif match := TASK_RE.match(line):
            self._task(match["kind"], match["name"])
        elif match := INCLUDED_RE.match(line):
            if self.in_preflight and self.task and " : " not in self.task:
                self.included = match["what"]  # a play-level check's include_role
        elif match := ERROR_RE.match(line):
            return self._error(at, match["text"])
        elif match := (PLAY_FAILURE_RE if self.plays else GIT_FAILURE_RE).match(line):
            return self._failure(at, match["kind"] == "UNREACHABLE", match["rest"])
        elif line == "...ignoring":
            self.failure = self.before_task
        return at + 1

    def _task(self, kind: str, name: str) -> None:
        self.task = name
        self.before_task = self.failure
        role, sep = name.partition(" : ")[:2]
        if kind != "TASK" or (sep and role != self.included):
            self.preflight_open = False  # a handler, or the play's own roles: checks are over
        if not sep:
            self.included = None
        self.in_preflight = self.preflight_open and name not in NOT_PREFLIGHT

    def _error(self, at: int, text: str) -> int:
        """Remember an "[ERROR]:" summary (its lines up to "Origin:" or a blank line)."""
        parts, origin = [text], ""
        at += 1
        while at < len(self.lines) and self.lines[at] and len(parts) < MAX_RESULT_LINES:
            line = self.lines[at]
            if any(regex.match(line) for regex in EVENT_RES):
                break
            if line.startswith("Origin: "):
                # A file and line say where; "<adhoc 'git' task>" adds nothing.
                origin = "" if line.startswith("Origin: <") else f" ({line[8:]})"
                break
            parts.append(line)
            at += 1
        self.error = _strip_task_failed(_flatten("\n".join(parts)))
        self.error_origin, self.error_task = origin, self.task
        return at

    def _failure(self, at: int, unreachable: bool, rest: str) -> int:
        block, after = _result_block(self.lines, at + 1, rest)
        git = not self.plays
        message = _result_message(rest, block, first_line=git)
        if not message and self.error and self.error_task == self.task:
            message = self.error
        self.failure = _Failure(None if git else self.task, self.in_preflight and not git,
                                unreachable, message or "")
        return after


def _result_block(lines: list[str], at: int, rest: str) -> tuple[list[str], int]:
    """The lines of a result printed after "=>", and where the scan goes on."""
    rest = rest.strip()
    end = min(len(lines), at + MAX_RESULT_LINES)
    if rest == "{":  # indented JSON (the git step): up to the closing brace
        for stop in range(at, end):
            if lines[stop] == "}":
                return lines[at:stop + 1], stop + 1
        return lines[at:end], end
    if rest:  # JSON on one line
        return [], at
    stop = at  # YAML: the indented lines that follow
    while stop < end and (not lines[stop] or lines[stop][0] in " \t"):
        stop += 1
    return lines[at:stop], stop


def _result_message(rest: str, block: list[str], first_line: bool = False) -> str | None:
    """A failed result's ``msg``, with the first line of its stderr when that adds to it."""
    keys = ("msg", "stderr", "module_stderr")
    if rest.strip().startswith("{"):
        result = _json_object("\n".join([rest, *block]))
        msg, stderr, module_stderr = (_as_text(result.get(key)) for key in keys)
    else:
        lines = textwrap.dedent("\n".join(block)).split("\n")
        msg, stderr, module_stderr = (_yaml_string(lines, key) for key in keys)
    text = _lines(msg)[:1] if first_line else _lines(msg)
    message = _strip_task_failed(_flatten("\n".join(text)))
    # A module's traceback ends with the exception; a command's stderr starts with its error.
    detail = (_lines(stderr)[:1] or _lines(module_stderr)[-1:] or [""])[0]
    if detail and detail not in message:
        message = f"{message} ({detail})" if message else detail
    return message or None


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return value if isinstance(value, dict) else {}


def _as_text(value: object) -> str | None:
    return None if value is None else value if isinstance(value, str) else json.dumps(value)


def _yaml_string(lines: list[str], key: str) -> str | None:
    """A top-level string of the default callback's YAML result (dedented lines).

    Just the shapes its dumper writes: plain, quoted (folded over indented
    lines) and literal or folded block scalars.
    """
    for at, line in enumerate(lines):
        if not line.startswith(f"{key}:"):
            continue
        head = line[len(key) + 1:].strip()
        more = []
        for follow in lines[at + 1:]:
            if follow and follow[0] not in " \t":
                break
            more.append(follow)
        if head[:1] in ("|", ">"):
            return textwrap.dedent("\n".join(more)).strip("\n")
        return _unquote(" ".join([head, *(m.strip() for m in more if m.strip())]))
    return None


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if len(text) >= 2 and text[0] == text[-1] == '"':
        try:
            value = json.loads(text)  # YAML's double-quoted escapes are mostly JSON's
        except ValueError:
            return text[1:-1]
        return value if isinstance(value, str) else text[1:-1]
    return text


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _flatten(text: str) -> str:
    """Lines joined into one: "summary:" then its items, items separated by "; "."""
    joined = ""
    for line in _lines(text):
        joined += ("" if not joined else " " if joined.endswith(":") else "; ") + line
    return joined


def _strip_task_failed(text: str) -> str:
    return TASK_FAILED_PREFIX_RE.sub("", text, count=1)


def kill_signal(exit_status: int | None) -> str | None:
    """The signal that ended ansible-pull (or the ansible-playbook it ran), if one did.

    Negative: Popen's "killed by signal N"; 128+N: a shell's way; 256-N: ansible-pull
    passing on its child's negative status through sys.exit (SIGKILL, SIGTERM only:
    ansible's own statuses include 250).
    """
    if exit_status is None:
        return None
    if exit_status < 0:
        number = -exit_status
    elif 128 < exit_status <= 128 + 64:
        number = exit_status - 128
    elif exit_status in (256 - signal.SIGKILL, 256 - signal.SIGTERM):
        number = 256 - exit_status
    else:
        return None
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def failure_reason(output: str, exit_status: int | None, timed_out: bool = False,
                   timeout: int | None = None) -> str | None:
    """Why a run failed, in one printable line of at most REASON_MAX characters.

    None when it did not (exit status 0). Reads the run's own output: ansible-pull's
    git step, the failing task and its message (a pre-flight check's: "pre-flight
    refused: ..."), Ansible's error summary; else the timeout, the signal, the last line.
    """
    if exit_status == 0 and not timed_out:
        return None
    return printable(_describe(_OutputScan(output).scan(), output, exit_status, timed_out,
                               timeout), REASON_MAX)


def _describe(scan: _OutputScan, output: str, exit_status: int | None, timed_out: bool,
              timeout: int | None) -> str:
    during = f" during [{scan.task}]" if scan.task else ""
    if timed_out:
        return f"timeout: killed after {timeout} s{during}" if timeout else f"timeout{during}"
    if signal_name := kill_signal(exit_status):
        return f"killed by {signal_name}{during}"
    if scan.failure:
        return _describe_failure(scan.failure)
    if scan.error:
        where = f" [{scan.error_task}]" if scan.error_task else ""
        return f"ansible{where}: {scan.error}{scan.error_origin}"
    last = (_lines(output)[-1:] or [""])[0]
    if exit_status is None:
        return last or "ansible-pull did not start"
    recap = parse_recap(output)
    if recap is not None:
        return (f"exit status {exit_status} (failed={recap['failed']}, "
                f"unreachable={recap['unreachable']}; see the log)")
    return f"exit status {exit_status}: {last}" if last else f"exit status {exit_status}"


def _describe_failure(failure: _Failure) -> str:
    message = failure.message or "no message; see the log"
    if failure.task is None:
        return f"git step failed: {message}"
    if failure.unreachable:
        return f"host unreachable at [{failure.task}]: {message}"
    if failure.preflight:
        return f"pre-flight refused: {message}"
    return f"[{failure.task}] failed: {message}"
