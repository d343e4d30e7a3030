# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deadman switch: decide what to do about a stale harness heartbeat, and do it.

Pure Python (standard library only): the face is deadman-check
(cli/deadman_check.py), a console script of the fleet package.

The decision (``decide``) is a pure function of the persisted state, what was
observed (stamp age, flag, service start time) and the time, so every branch
is unit tested with a fake clock. ``Deadman`` wires it to files, commands, the
journal and an optional webhook, each replaceable in tests.

A rollback the overlay tool refuses (exit status 3: the known-good snapshot
is judged unusable under today's policy, see fleet.snapshot_judge) is not
followed by a restart: ``refused_rollback`` turns it into raising the flag at
once, with the tool's message in the history, the flag and the alert.

Clocks: all persisted times are wall-clock seconds (time.time()), because the
state survives reboots and the monotonic clock restarts at boot. Wall time can
jump: a stamp "in the future" (clock stepped back) counts as fresh, restart
times more than one window away in either direction are forgotten, so a jump
costs at most one needless restart and never an unbounded number.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import json
import os
import shlex
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .files import atomic_write
from .strict_load import DocumentError, load_file

STATE_VERSION = 1
HISTORY_MAX_BYTES = 1 << 20  # rotate history.jsonl to history.jsonl.1 beyond this

# golden-state-overlay rollback's exit status when the snapshot is judged unusable.
ROLLBACK_REFUSED_STATUS = 3
ROLLBACK_REFUSED = "rollback refused: known-good snapshot unusable"
TOOL_MESSAGE_MAX = 2000  # characters of the tool's message kept in history and alert

# Phases of one stale episode.
NORMAL = "normal"            # restarts allowed while the window has room
ROLLED_BACK = "rolled_back"  # known-good restored, restarted once more: next stale raises the flag


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or has a bad field."""


class LockBusy(RuntimeError):
    """Another deadman-check holds the lock."""


@dataclass
class Config:
    """Thresholds and commands (the role writes them to /etc/golden-state/deadman.json)."""

    heartbeat_path: str = "/var/lib/harness/heartbeat"
    state_dir: str = "/var/lib/golden-state/deadman"
    service: str = "harness.service"
    stale_after: float = 300.0
    max_restarts: int = 3
    window: float = 3600.0
    healthy_after: float = 900.0
    restart_command: list[str] = field(default_factory=list)  # empty: systemctl restart <service>
    rollback_command: list[str] = field(default_factory=lambda: [
        "/usr/local/sbin/golden-state-overlay", "rollback", "--to", "known-good"])
    mark_good_command: list[str] = field(default_factory=lambda: [
        "/usr/local/sbin/golden-state-overlay", "mark-known-good"])
    alert_url: str = ""
    alert_timeout: float = 5.0
    command_timeout: float = 120.0
    watch_paths: list[str] = field(default_factory=list)

    @property
    def flag_path(self) -> str:
        return os.path.join(self.state_dir, "deadman_active")

    @property
    def state_path(self) -> str:
        return os.path.join(self.state_dir, "state.json")

    @property
    def history_path(self) -> str:
        return os.path.join(self.state_dir, "history.jsonl")

    @property
    def lock_path(self) -> str:
        return os.path.join(self.state_dir, "lock")


_NUMBERS = {"stale_after": (float, 1), "window": (float, 1), "healthy_after": (float, 0),
            "alert_timeout": (float, 0.1), "command_timeout": (float, 1), "max_restarts": (int, 0)}
_STRINGS = ("heartbeat_path", "state_dir", "service", "alert_url")
_COMMANDS = ("restart_command", "rollback_command", "mark_good_command")


def config_from_dict(data: Any, source: str = "config") -> Config:
    """Validate a decoded JSON object into a Config; ConfigError names the bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    known = {f.name for f in dataclasses.fields(Config)}
    unknown = sorted(k for k in set(data) - known if not k.startswith("_"))  # "_managed": comment
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, (kind, minimum) in _NUMBERS.items():
        if name in data:
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    (kind is int and not isinstance(value, int)) or value < minimum:
                raise ConfigError(f"{source}: {name} must be a {kind.__name__} >= {minimum}, "
                                  f"got {value!r}")
            values[name] = kind(value)
    for name in _STRINGS:
        if name in data:
            if not isinstance(data[name], str):
                raise ConfigError(f"{source}: {name} must be a string")
            values[name] = data[name]
    for name in _COMMANDS:
        if name in data:
            values[name] = _command(data[name], f"{source}: {name}")
    if "watch_paths" in data:
        paths = data["watch_paths"]
        if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
            raise ConfigError(f"{source}: watch_paths must be a list of paths")
        values["watch_paths"] = paths
    config = Config(**values)
    for name in ("heartbeat_path", "state_dir"):
        if not os.path.isabs(getattr(config, name)):
            raise ConfigError(f"{source}: {name} must be an absolute path")
    if config.alert_url and not config.alert_url.startswith(("http://", "https://")):
        raise ConfigError(f"{source}: alert_url must be an http:// or https:// URL")
    return config


def _command(value: Any, where: str) -> list[str]:
    """A command is a list of words or a shell-like string (split, never run by a shell)."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as error:
            raise ConfigError(f"{where}: {error}") from None
    if isinstance(value, list) and all(isinstance(word, str) for word in value):
        return list(value)
    raise ConfigError(f"{where}: must be a string or a list of strings")


def load_config(path: str) -> Config:
    try:
        data = load_file(path, "host_config", "json")
    except DocumentError as error:
        raise ConfigError(str(error)) from None
    return config_from_dict(data, path)


# --------------------------------------------------------------------------- state

@dataclass
class State:
    """What the check remembers between runs (state.json)."""

    restarts: list[float] = field(default_factory=list)  # wall times of our restarts
    last_action_at: float | None = None  # last restart we did: the harness gets a grace period
    phase: str = NORMAL
    stale_since: float | None = None
    healthy_since: float | None = None   # first fresh observation of this healthy period
    marked_good_at: float | None = None  # last mark-known-good attempt
    recovery_recorded_at: float | None = None  # recovery noted while the flag was up
    created_at: float | None = None

    def to_json(self) -> bytes:
        data = dataclasses.asdict(self)
        data["version"] = STATE_VERSION
        return (json.dumps(data, sort_keys=True, indent=1) + "\n").encode()


def state_from_dict(data: Any) -> State:
    """Validate decoded JSON into a State; ValueError says what is wrong."""
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise ValueError(f"not a version {STATE_VERSION} state object")
    state = State()
    for f in dataclasses.fields(State):
        if f.name not in data:
            continue
        value = data[f.name]
        if f.name == "restarts":
            if not isinstance(value, list) or not all(_is_number(t) for t in value):
                raise ValueError("restarts must be a list of times")
            value = [float(t) for t in value]
        elif f.name == "phase":
            if value not in (NORMAL, ROLLED_BACK):
                raise ValueError(f"unknown phase {value!r}")
        elif value is not None and not _is_number(value):
            raise ValueError(f"{f.name} must be a time or null")
        setattr(state, f.name, value)
    return state


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --------------------------------------------------------------------------- decision

@dataclass
class Observation:
    """What one run saw; times are wall-clock seconds, None when unknown."""

    now: float
    stamp_mtime: float | None
    flag_active: bool
    service_started_at: float | None = None
    config_changed_at: float | None = None


@dataclass
class Action:
    kind: str  # restart, rollback_restart, raise_flag, mark_good, record_recovery, note
    reason: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Decision:
    status: str  # fresh, grace, stale, held (flag up)
    age: float | None
    actions: list[Action]
    state: State


def restarts_in_window(restarts: Sequence[float], now: float, window: float) -> list[float]:
    """The sliding window: restarts less than ``window`` s from now (either side: clock jumps)."""
    return sorted(t for t in restarts if abs(now - t) < window)


def _latest(*times: float | None) -> float | None:
    known = [t for t in times if t is not None]
    return max(known) if known else None


def decide(state: State, seen: Observation, config: Config) -> Decision:
    """Return the actions for this run and the state to persist after them."""
    new = dataclasses.replace(state, restarts=restarts_in_window(state.restarts, seen.now,
                                                                 config.window))
    if new.created_at is None:
        new.created_at = seen.now
    age = None if seen.stamp_mtime is None else max(0.0, seen.now - seen.stamp_mtime)
    fresh = age is not None and age <= config.stale_after
    # A missing or old stamp only counts as stale once the harness has had
    # stale_after seconds since its last (re)start to beat.
    reference = _latest(seen.stamp_mtime, new.last_action_at, seen.service_started_at,
                        new.created_at)
    waited = seen.now - reference if reference is not None else 0.0
    if fresh:
        return _fresh(new, seen, config, age)
    new.healthy_since = None
    new.recovery_recorded_at = None  # a later recovery is recorded again
    if seen.flag_active:
        return Decision("held", age, [], new)
    if waited <= config.stale_after:
        return Decision("grace", age, [], new)
    return _stale(new, seen, config, age)


def _fresh(new: State, seen: Observation, config: Config, age: float | None) -> Decision:
    actions: list[Action] = []
    if new.stale_since is not None:
        actions.append(Action("note", f"heartbeat fresh again (age {age:.0f} s) after being "
                                      f"stale since {_iso(new.stale_since)}",
                              {"event": "heartbeat_fresh"}))
        new.stale_since = None
    if new.healthy_since is None:
        new.healthy_since = seen.now
    # A healthy period starts at the latest of: first fresh observation, the
    # harness's (re)start, and the last change of the watched config files.
    start = _latest(new.healthy_since, seen.service_started_at, seen.config_changed_at)
    if start is None:  # healthy_since was set just above
        raise AssertionError("decide: no start for the healthy period")
    healthy_for = seen.now - start
    if healthy_for < config.healthy_after:
        return Decision("fresh", age, actions, new)
    if seen.flag_active:
        if new.recovery_recorded_at is None:
            actions.append(Action("record_recovery",
                                  f"harness healthy for {healthy_for:.0f} s while "
                                  "deadman_active is set; the flag stays until a human clears it "
                                  "(deadman-check --clear) or a converge does"))
            new.recovery_recorded_at = seen.now
        return Decision("held", age, actions, new)
    new.phase = NORMAL
    if new.marked_good_at is None or new.marked_good_at < start:
        actions.append(Action("mark_good", f"harness healthy for {healthy_for:.0f} s "
                                           f"(>= {config.healthy_after:g} s) since {_iso(start)}"))
        new.marked_good_at = seen.now
    return Decision("fresh", age, actions, new)


def _stale(new: State, seen: Observation, config: Config, age: float | None) -> Decision:
    if new.stale_since is None:
        new.stale_since = seen.now
    what = "missing" if age is None else f"{age:.0f} s old"
    used = len(new.restarts)
    if new.phase == ROLLED_BACK:
        action = Action("raise_flag", f"heartbeat {what} after {used} restart(s) in "
                                      f"{config.window:g} s and a rollback to known-good; "
                                      "giving up until a human clears the flag")
        return Decision("stale", age, [action], new)
    new.last_action_at = seen.now
    new.restarts = [*new.restarts, seen.now]
    if used < config.max_restarts:
        reason = (f"heartbeat {what} (> {config.stale_after:g} s): restart {used + 1} of "
                  f"{config.max_restarts} in {config.window:g} s")
        return Decision("stale", age, [Action("restart", reason, {"attempt": used + 1})], new)
    new.phase = ROLLED_BACK
    reason = (f"heartbeat {what} and {used} restart(s) in the last {config.window:g} s "
              f"(limit {config.max_restarts}): rolling back to known-good and restarting once more")
    return Decision("stale", age, [Action("rollback_restart", reason)], new)


def refused_rollback(message: str) -> Action:
    """What follows a rollback the overlay tool refused (the known-good snapshot is judged
    unusable): no restart for a rollback that did not happen; raise the flag at once."""
    return Action("raise_flag", f"{ROLLBACK_REFUSED}: {message}; the harness was not "
                                "restarted for a rollback; giving up until a human clears the "
                                "flag", {"event": "rollback_refused"})


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


# --------------------------------------------------------------------------- effects

Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


def run_command(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a fixed argument list (never through a shell) with a timeout."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False)


def syslog_logger(priority: str, message: str) -> None:
    """Log to syslog/the journal as 'deadman' (facility daemon)."""
    import syslog  # imported late: unit tests replace the logger
    levels = {"info": syslog.LOG_INFO, "notice": syslog.LOG_NOTICE,
              "warning": syslog.LOG_WARNING, "err": syslog.LOG_ERR, "crit": syslog.LOG_CRIT}
    syslog.openlog("deadman", syslog.LOG_PID, syslog.LOG_DAEMON)
    syslog.syslog(levels.get(priority, syslog.LOG_INFO), message)


def post_json(url: str, body: dict[str, Any], timeout: float) -> int:
    """POST ``body`` as JSON; return the HTTP status (raises OSError on failure).

    Plain urllib with its default opener: deadman-check runs without Ansible,
    so Ansible's open_url is not there (and no module posts anything).
    """
    request = urllib.request.Request(  # noqa: S310 - http(s) enforced by config_from_dict
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "deadman-check"})
    with urllib.request.build_opener().open(request, timeout=timeout) as response:
        return int(response.status)


def systemd_start_time(service: str, now: float, run: Runner = run_command) -> float | None:
    """Wall time of the service's last start, from systemd's monotonic timestamp.

    Converting through the monotonic clock keeps it right even when the wall
    clock was stepped since the start; None when the service is not running.
    """
    try:
        result = run(["systemctl", "show", service, "-p", "ExecMainStartTimestampMonotonic",
                      "--value"], 10)
        started = int(result.stdout.strip() or "0")
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    if result.returncode != 0 or started <= 0:
        return None
    return now - (time.monotonic() - started / 1e6)


def latest_mtime(paths: Sequence[str]) -> float | None:
    times = []
    for path in paths:
        with contextlib.suppress(OSError):
            times.append(os.stat(path).st_mtime)
    return max(times) if times else None


@dataclass
class RunResult:
    status: str
    age: float | None
    actions: list[str]
    messages: list[str]


class Deadman:
    """One host's deadman switch: state files under ``config.state_dir``."""

    def __init__(self, config: Config, *, clock: Callable[[], float] = time.time,
                 run: Runner = run_command, log: Callable[[str, str], None] = syslog_logger,
                 post: Callable[[str, dict[str, Any], float], int] = post_json,
                 started_at: Callable[[float], float | None] | None = None) -> None:
        self.config = config
        self.clock = clock
        self.run = run
        self.log = log
        self.post = post
        self.started_at = started_at or (lambda now: systemd_start_time(config.service, now, run))
        self.messages: list[str] = []

    # -- files
    @contextlib.contextmanager
    def lock(self, wait: float = 0.0):
        """Hold the lock file; LockBusy when another instance has it after ``wait`` seconds."""
        os.makedirs(self.config.state_dir, mode=0o700, exist_ok=True)
        fd = os.open(self.config.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise LockBusy(self.config.lock_path) from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def load_state(self) -> State:
        """Read state.json; a corrupt one is set aside, reported and replaced by a fresh state."""
        path = self.config.state_path
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return State()
        try:
            return state_from_dict(json.loads(raw))
        except (ValueError, UnicodeDecodeError) as error:
            aside = f"{path}.corrupt-{int(self.clock())}"
            os.replace(path, aside)
            self.record("state_corrupt", f"{path} is corrupt ({error}); kept as {aside}, "
                                         "starting from a fresh state", "err")
            return State()

    def save_state(self, state: State) -> None:
        atomic_write(self.config.state_path, state.to_json(), mode=0o600)

    def flag_active(self) -> bool:
        return os.path.lexists(self.config.flag_path)

    def stamp_mtime(self) -> float | None:
        try:
            return os.stat(self.config.heartbeat_path).st_mtime
        except OSError:
            return None

    def record(self, event: str, reason: str, priority: str = "info", **detail: Any) -> None:
        """One JSON line in history.jsonl, the same in the journal."""
        now = self.clock()
        entry = {"time": _iso(now), "ts": round(now, 3), "event": event, "reason": reason, **detail}
        line = json.dumps(entry, sort_keys=True)
        self.messages.append(f"{event}: {reason}")
        try:
            os.makedirs(self.config.state_dir, mode=0o700, exist_ok=True)
            self._rotate_history()
            fd = os.open(self.config.history_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
        except OSError as error:
            self.log("err", f"cannot write {self.config.history_path}: {error}")
        self.log(priority, line)

    def _rotate_history(self) -> None:
        path = self.config.history_path
        with contextlib.suppress(FileNotFoundError):
            if os.path.getsize(path) > HISTORY_MAX_BYTES:
                os.replace(path, path + ".1")

    def history(self, limit: int = 20) -> list[dict[str, Any]]:
        """The last ``limit`` readable history entries (unreadable lines are skipped)."""
        try:
            with open(self.config.history_path, encoding="utf-8", errors="replace") as handle:
                lines = handle.readlines()
        except OSError:
            return []
        entries = []
        for line in lines[-limit:]:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if isinstance(entry, dict):
                    entries.append(entry)
        return entries

    # -- commands
    def _execute(self, argv: Sequence[str], what: str
                 ) -> tuple[bool, str, subprocess.CompletedProcess[str] | None]:
        """Run a command; (ok, summary, result or None when it did not run). Never raises
        for a missing or failing command."""
        if not argv:
            return False, f"{what}: no command configured", None
        try:
            result = self.run(argv, self.config.command_timeout)
        except FileNotFoundError:
            return False, f"{what}: {argv[0]} not found", None
        except subprocess.TimeoutExpired:
            return False, f"{what}: timed out after {self.config.command_timeout:g} s", None
        except OSError as error:
            return False, f"{what}: {error}", None
        output = (result.stderr or result.stdout or "").strip().splitlines()
        tail = f": {output[-1][:200]}" if output else ""
        if result.returncode != 0:
            return False, f"{what}: exit status {result.returncode}{tail}", result
        return True, f"{what}: ok", result

    def _run(self, argv: Sequence[str], what: str) -> tuple[bool, str]:
        """Run a command; (ok, summary). Never raises for a missing or failing command."""
        ok, summary, _result = self._execute(argv, what)
        return ok, summary

    def restart(self) -> tuple[bool, str]:
        argv = self.config.restart_command or ["systemctl", "restart", self.config.service]
        if not self.config.restart_command:
            # systemd's own start limit may have given up on the unit: our budget rules now.
            self._run(["systemctl", "reset-failed", self.config.service], "reset-failed")
        return self._run(argv, "restart")

    # -- one run
    def check(self) -> RunResult:
        """Observe, decide, act, persist. The caller holds the lock."""
        os.makedirs(self.config.state_dir, mode=0o700, exist_ok=True)
        now = self.clock()
        state = self.load_state()
        seen = Observation(now=now, stamp_mtime=self.stamp_mtime(), flag_active=self.flag_active(),
                           service_started_at=self.started_at(now),
                           config_changed_at=latest_mtime(self.config.watch_paths))
        decision = decide(state, seen, self.config)
        # Persist first: a crash half-way through an action must not grant a new budget.
        self.save_state(decision.state)
        done: list[str] = []
        pending = list(decision.actions)
        while pending:
            action = pending.pop(0)
            done.append(action.kind)
            # An action's outcome may call for a follow-up (a refused rollback raises the flag).
            pending[:0] = self._act(action, decision)
        return RunResult(decision.status, decision.age, done, self.messages)

    def _act(self, action: Action, decision: Decision) -> list[Action]:
        """Carry out one action; return the follow-up actions its outcome calls for."""
        age = None if decision.age is None else round(decision.age, 1)
        if action.kind == "note":
            self.record(action.detail.get("event", "note"), action.reason, age=age)
        elif action.kind == "restart":
            ok, outcome = self.restart()
            self.record("restart", action.reason, "warning" if ok else "err", age=age,
                        outcome=outcome, attempt=action.detail.get("attempt"))
        elif action.kind == "rollback_restart":
            return self.rollback_restart(action, age)
        elif action.kind == "raise_flag":
            self.raise_flag(action.reason, age)
        elif action.kind == "mark_good":
            self.mark_good(action.reason)
        elif action.kind == "record_recovery":
            self.record("recovered", action.reason, "info", age=age)
        return []

    def rollback_restart(self, action: Action, age: float | None) -> list[Action]:
        """Roll back to known-good and restart once more; a refused rollback restarts nothing
        and returns the flag-raising follow-up (a failing one still restarts: today's way)."""
        ok, outcome, result = self._execute(self.config.rollback_command, "rollback")
        if result is not None and result.returncode == ROLLBACK_REFUSED_STATUS:
            message = " ".join((result.stderr or result.stdout or "").split())
            message = message[:TOOL_MESSAGE_MAX] or "(the tool gave no message)"
            self.record("rollback_refused", f"{ROLLBACK_REFUSED}: {message}", "crit", age=age,
                        outcome=outcome, command=self.config.rollback_command,
                        stale=action.reason)
            return [refused_rollback(message)]
        self.record("rollback", action.reason, "warning" if ok else "err", age=age,
                    outcome=outcome, command=self.config.rollback_command)
        ok, outcome = self.restart()
        self.record("restart", "final restart after rollback", "warning" if ok else "err",
                    age=age, outcome=outcome)
        return []

    def mark_good(self, reason: str) -> None:
        argv = self.config.mark_good_command
        if not argv:
            return
        program = argv[0]
        if shutil.which(program) is None:
            self.record("mark_good_skipped", f"{reason}; {program} is not installed")
            return
        ok, outcome = self._run(argv, "mark-known-good")
        self.record("mark_good", reason, "info" if ok else "err", outcome=outcome)

    def raise_flag(self, reason: str, age: float | None) -> None:
        now = self.clock()
        body = {"event": "deadman_active", "host": os.uname().nodename,
                "service": self.config.service, "time": _iso(now), "heartbeat_age": age,
                "reason": reason}
        atomic_write(self.config.flag_path, (json.dumps(body, sort_keys=True) + "\n").encode(),
                     mode=0o600)
        self.record("deadman_active", reason, "crit", age=age, flag=self.config.flag_path)
        self.log("crit", f"ALERT deadman_active on {body['host']}: {reason}. "
                         f"Investigate, then run: deadman-check --clear")
        if self.config.alert_url:
            try:
                status = self.post(self.config.alert_url, body, self.config.alert_timeout)
                self.record("alert_sent", f"webhook answered HTTP {status}")
            except (OSError, ValueError) as error:
                self.record("alert_failed", f"webhook POST failed: {error}", "err")

    def clear(self, reason: str) -> bool:
        """Lower the flag and start over with a fresh budget; False when no flag was set."""
        was_set = self.flag_active()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.config.flag_path)
        state = self.load_state()
        self.save_state(State(marked_good_at=state.marked_good_at, created_at=self.clock(),
                              last_action_at=state.last_action_at))
        self.record("cleared", reason if was_set else f"{reason} (no flag was set)", "notice")
        return was_set

    def status(self) -> dict[str, Any]:
        """A read-only summary for humans (does not take the lock)."""
        now = self.clock()
        mtime = self.stamp_mtime()
        try:
            with open(self.config.state_path, "rb") as handle:
                state = state_from_dict(json.loads(handle.read()))
            state_error = None
        except FileNotFoundError:
            state, state_error = State(), None
        except (OSError, ValueError, UnicodeDecodeError) as error:
            state, state_error = State(), str(error)
        flag = None
        if self.flag_active():
            try:
                with open(self.config.flag_path, encoding="utf-8") as handle:
                    flag = handle.read().strip()
            except OSError as error:
                flag = f"(unreadable: {error})"
        return {
            "heartbeat": self.config.heartbeat_path,
            "age": None if mtime is None else max(0.0, now - mtime),
            "stale_after": self.config.stale_after,
            "flag": flag,
            "phase": state.phase,
            "restarts_in_window": len(restarts_in_window(state.restarts, now, self.config.window)),
            "max_restarts": self.config.max_restarts,
            "window": self.config.window,
            "state_error": state_error,
            "history": self.history(10),
        }
