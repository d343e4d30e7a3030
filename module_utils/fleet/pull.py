# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull on webhook: the host-side logic of the pull runner.

A webhook (or the reconcile timer, or an operator) asks for a converge; the
runner takes a lock so runs never overlap, drains every trigger queued so far
into ONE run of ansible-pull (so twenty pushes cost at most two runs: the one
in progress and one after it), and records each run as a JSON line (a run
whose runner was killed is recorded by the next runner, as "interrupted").

Triggers are small files in a spool directory the (unprivileged) webhook user
can write; the runner, as root, treats their content as untrusted: it reads a
bounded number of bytes, never follows symlinks and keeps only a sanitised
delivery id. The payload of a push is never read: the host pulls its branch.

Pure Python (standard library only): imported by cli/pull_runner.py on the
hosts and by the unit tests.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import json
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .files import atomic_write
from .pull_output import failure_reason, parse_recap
from .strict_load import DocumentError, load_file
from .text import printable

TRIGGER_SUFFIX = ".trigger"
MAX_TRIGGER_BYTES = 4096
MAX_DELIVERIES_RECORDED = 100
STALE_AFTER = 10.0  # seconds before a non-trigger entry in the spool is removed
DELIVERY_RE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SOURCES = ("webhook", "timer", "manual")
# ansible-pull prints the checkout step's result as "<host> | CHANGED => {" (or
# SUCCESS/FAILED): the moment the git fetch is over and the playbook starts.
FETCH_DONE_RE = re.compile(r"^\S+ \| (SUCCESS|CHANGED|FAILED!?)\b")


class ConfigError(ValueError):
    """The runner's configuration file is missing a field or has a wrong one."""


@dataclass
class PullConfig:
    """Where to pull from, what to run, and where the runner keeps its state."""

    repo_url: str
    inventory_name: str
    branch: str = "main"
    checkout_dir: str = "/opt/golden-state/checkout"
    venv_dir: str = "/opt/golden-state/venv"
    state_dir: str = "/var/lib/golden-state/pull"
    spool_dir: str = "/var/lib/golden-state/pull/spool"
    inventory: str = "inventory/hosts.yml"
    playbook: str = "playbooks/site.yml"
    timeout: int = 1800
    extra_args: list[str] = field(default_factory=list)
    # Replaces the ansible-pull command line (tests point it at a fake).
    command: list[str] = field(default_factory=list)
    # Run the playbook with Mitogen's strategy when the venv has it (about twice
    # as fast here; docs/pull_on_webhook.md). False: plain Ansible.
    mitogen: bool = False
    # The reconcile timer's period as a systemd time span ("30min"); empty when
    # the timer is off. Read by the metrics collector for the alert rules.
    reconcile_interval: str = ""

    @classmethod
    def from_mapping(cls, data: dict) -> PullConfig:
        if not isinstance(data, dict):
            raise ConfigError("configuration must be a JSON object")
        data = {k: v for k, v in data.items() if not k.startswith("_")}  # _comment etc.
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown field(s): {', '.join(unknown)}")
        for name in ("repo_url", "inventory_name"):
            if not isinstance(data.get(name), str) or not data[name]:
                raise ConfigError(f"field {name!r} must be a non-empty string")
        for name in ("extra_args", "command"):
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"field {name!r} must be a list of strings")
        timeout = data.get("timeout", 1800)
        if not isinstance(timeout, int) or isinstance(timeout, bool) or timeout < 1:
            raise ConfigError("field 'timeout' must be a positive integer (seconds)")
        if not isinstance(data.get("mitogen", False), bool):
            raise ConfigError("field 'mitogen' must be true or false")
        for name in known - {"extra_args", "command", "timeout", "mitogen"}:
            if name in data and not isinstance(data[name], str):
                raise ConfigError(f"field {name!r} must be a string")
        return cls(**data)

    @property
    def lock_path(self) -> str:
        return os.path.join(self.state_dir, "lock")

    @property
    def history_path(self) -> str:
        return os.path.join(self.state_dir, "history.jsonl")

    @property
    def last_run_path(self) -> str:
        return os.path.join(self.state_dir, "last-run.json")

    @property
    def log_path(self) -> str:
        return os.path.join(self.state_dir, "last-run.log")

    @property
    def pause_path(self) -> str:
        return os.path.join(self.state_dir, "paused.json")

    @property
    def pending_path(self) -> str:
        return os.path.join(self.state_dir, "pending")

    @property
    def running_path(self) -> str:
        return os.path.join(self.state_dir, "running.json")


def load_config(path: str) -> PullConfig:
    try:
        data = load_file(path, "host_config", "json")
    except DocumentError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return PullConfig.from_mapping(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def iso(ts: float) -> str:
    """UTC timestamp with microseconds, e.g. 2026-01-02T03:04:05.123456Z."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


def ansible_pull_argv(cfg: PullConfig) -> list[str]:
    """The ansible-pull command line for this host (or the configured override)."""
    if cfg.command:
        return list(cfg.command)
    venv = cfg.venv_dir.rstrip("/")
    return [
        f"{venv}/bin/ansible-pull",
        "-U", cfg.repo_url,
        "-C", cfg.branch,
        "-d", cfg.checkout_dir,
        "-i", cfg.inventory,
        "--limit", cfg.inventory_name,
        "-c", "local",
        "--clean",  # the checkout is ours: discard local edits rather than fail
        # The host's modules run on its system python3 (which has apt's bindings);
        # tasks delegated to localhost run on this venv's python (coincurve, jsonschema).
        *cfg.extra_args,
        cfg.playbook,
    ]


def sanitize_delivery(value: object) -> str | None:
    if isinstance(value, str) and DELIVERY_RE.match(value):
        return value
    return None


@dataclass
class Trigger:
    source: str
    delivery: str | None
    received: float


def enqueue(spool_dir: str, source: str, delivery: str | None = None,
            now: Callable[[], float] = time.time) -> str:
    """Queue one request for a run; returns the trigger file's path.

    Written under a temporary name and renamed, so the runner never reads half
    a trigger (a ``.path`` unit watching the directory may start it at once).
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}, not {source!r}")
    received = now()
    body = json.dumps({"source": source, "delivery": sanitize_delivery(delivery),
                       "received": received}).encode()
    name = f"{int(received * 1e6):020d}-{secrets.token_hex(4)}{TRIGGER_SUFFIX}"
    path = os.path.join(spool_dir, name)
    atomic_write(path, body, mode=0o640)
    return path


def _read_trigger(path: str, fallback_time: float) -> Trigger:
    """Read one untrusted trigger file; anything odd becomes an anonymous webhook trigger."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return Trigger("webhook", None, fallback_time)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return Trigger("webhook", None, fallback_time)
        data = json.loads(os.read(fd, MAX_TRIGGER_BYTES))
    except (OSError, ValueError):
        return Trigger("webhook", None, fallback_time)
    finally:
        os.close(fd)
    if not isinstance(data, dict):
        return Trigger("webhook", None, fallback_time)
    source = data.get("source") if data.get("source") in SOURCES else "webhook"
    received = data.get("received")
    if not isinstance(received, int | float) or isinstance(received, bool):
        received = fallback_time
    return Trigger(source, sanitize_delivery(data.get("delivery")), float(received))


def drain(spool_dir: str, now: Callable[[], float] = time.time) -> list[Trigger]:
    """Take every queued trigger out of the spool, oldest first.

    Everything else is removed too (stale temporary files, directories, links):
    the .path unit starts the runner while the spool is not empty, so leftovers
    would start it again and again.
    """
    try:
        names = sorted(os.listdir(spool_dir))
    except FileNotFoundError:
        return []
    triggers = []
    for name in names:
        path = os.path.join(spool_dir, name)
        if name.startswith(".") or not name.endswith(TRIGGER_SUFFIX):
            _remove_stale(path, now())
            continue
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(info.st_mode):
            _remove_stale(path, float("inf"))
            continue
        trigger = _read_trigger(path, now())
        try:
            os.unlink(path)
        except FileNotFoundError:
            continue  # another runner took it
        triggers.append(trigger)
    return triggers


def _remove_stale(path: str, now: float, grace: float = STALE_AFTER) -> None:
    """Remove a non-trigger entry once it is older than ``grace`` seconds.

    A writer's temporary file lives for microseconds before its rename; give it
    time. shutil.rmtree never follows symlinks (fd-based on Linux), so the
    unprivileged writer cannot point root at anything outside the spool.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if now - info.st_mtime < grace:
        return
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISDIR(info.st_mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def spool_has_triggers(spool_dir: str) -> bool:
    try:
        return any(n.endswith(TRIGGER_SUFFIX) and not n.startswith(".")
                   for n in os.listdir(spool_dir))
    except FileNotFoundError:
        return False


# -- pause -----------------------------------------------------------------

def read_pause(cfg: PullConfig) -> dict | None:
    try:
        with open(cfg.pause_path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"reason": "(unreadable pause flag)", "since": None}
    return data if isinstance(data, dict) else {"reason": str(data), "since": None}


def pause(cfg: PullConfig, reason: str, now: Callable[[], float] = time.time) -> dict:
    reason = reason.strip()
    if not reason:
        raise ValueError("a pause needs a reason (who and why), e.g. 'debugging ezra - alice'")
    flag = {"reason": reason, "since": iso(now())}
    atomic_write(cfg.pause_path, json.dumps(flag).encode() + b"\n", mode=0o644)
    return flag


def resume(cfg: PullConfig) -> bool:
    """Clear the pause flag; False when the host was not paused."""
    try:
        os.unlink(cfg.pause_path)
    except FileNotFoundError:
        return False
    return True


# -- history ---------------------------------------------------------------

def append_history(cfg: PullConfig, record: dict) -> None:
    """One JSON line per run, appended in one write so lines never interleave."""
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(cfg.history_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    atomic_write(cfg.last_run_path, json.dumps(record, indent=2, sort_keys=True).encode()
                 + b"\n", mode=0o644)


def read_history(cfg: PullConfig, limit: int | None = None) -> list[dict]:
    try:
        with open(cfg.history_path, encoding="utf-8") as handle:
            lines = handle.readlines()
    except FileNotFoundError:
        return []
    records = []
    for line in lines[-limit:] if limit else lines:
        with contextlib.suppress(ValueError):
            records.append(json.loads(line))
    return records


# -- lock ------------------------------------------------------------------

class RunLock:
    """An exclusive, non-blocking flock: held for as long as a runner runs."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    @contextlib.contextmanager
    def held(self) -> Iterator[bool]:
        got = self.acquire()
        try:
            yield got
        finally:
            if got:
                self.release()


def _mark_pending(cfg: PullConfig, source: str) -> None:
    atomic_write(cfg.pending_path, source.encode(), mode=0o644)


def _take_pending(cfg: PullConfig) -> str | None:
    """The source of a request left by a runner that found the lock busy, if any."""
    try:
        with open(cfg.pending_path, encoding="utf-8") as handle:
            source = handle.read(16).strip()
        os.unlink(cfg.pending_path)
    except FileNotFoundError:
        return None
    return source if source in SOURCES else "manual"


# -- one run ---------------------------------------------------------------

@dataclass
class RunResult:
    exit_status: int | None
    output: str
    fetched: float | None = None
    timed_out: bool = False


def git_head(checkout_dir: str) -> str | None:
    if not os.path.isdir(os.path.join(checkout_dir, ".git")):
        return None
    try:
        out = subprocess.run(["git", "-C", checkout_dir, "rev-parse", "HEAD"],
                             capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


ORIGIN_TIMEOUT = 15  # seconds for git ls-remote: a report must not hang on one host


def origin_head(cfg: PullConfig, timeout: float = ORIGIN_TIMEOUT,
                run: Callable[..., subprocess.CompletedProcess] = subprocess.run) -> dict:
    """The origin's head of the tracked branch: ``{"head": sha | None, "error": str | None}``.

    Asks the repository the runner pulls from (``git ls-remote``), never prompting
    for credentials; the error is git's first fatal line, made printable.
    """
    argv = ["git", "ls-remote", "--heads", "--", cfg.repo_url, f"refs/heads/{cfg.branch}"]
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_SSH_COMMAND="ssh -o BatchMode=yes")
    try:
        out = run(argv, capture_output=True, text=True, timeout=timeout, check=False, env=env)
    except subprocess.TimeoutExpired:
        return {"head": None, "error": f"git ls-remote timed out after {timeout:.0f} s"}
    except OSError as exc:
        return {"head": None, "error": f"git ls-remote: {exc.strerror or exc}"}
    if out.returncode != 0:
        lines = [line for line in (out.stderr or "").splitlines() if line.strip()]
        fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
        detail = (fatal or lines or [f"exit status {out.returncode}"])[0]
        return {"head": None, "error": printable(detail, 200)}
    fields = (out.stdout or "").split()
    if not fields:
        return {"head": None, "error": f"branch {cfg.branch} not found at the origin"}
    return {"head": fields[0], "error": None}


def last_success(cfg: PullConfig) -> dict | None:
    """The newest history record of a successful run, or None."""
    return next((r for r in reversed(read_history(cfg)) if r.get("status") == "ok"), None)


def mitogen_strategy_dir(venv_dir: str) -> str | None:
    """Mitogen's strategy plugins in the venv (any Python version), or None."""
    found = sorted(glob.glob(os.path.join(venv_dir, "lib", "python3*", "site-packages",
                                          "ansible_mitogen", "plugins", "strategy")))
    return found[-1] if found else None


def strategy_env(cfg: PullConfig, find: Callable[[str], str | None] = mitogen_strategy_dir
                 ) -> tuple[dict[str, str], str | None]:
    """Environment that selects the playbook's strategy, and a note when Mitogen is
    wanted but missing (a venv from before it was pinned: plain Ansible then, and
    this run's base role installs it for the next one)."""
    if not cfg.mitogen:
        return {}, None
    plugins = find(cfg.venv_dir)
    if plugins is None:
        return {}, (f"golden-state-pull: mitogen is not installed in {cfg.venv_dir}; "
                    "this run uses Ansible's linear strategy\n")
    # By path, not through the checkout's ansible.cfg: ansible-pull's git step runs
    # before there is a checkout, under the same strategy.
    return {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_STRATEGY_PLUGINS": plugins}, None


def execute(cfg: PullConfig, echo: Callable[[str], None] | None = None,
            now: Callable[[], float] = time.time) -> RunResult:
    """Run ansible-pull, streaming its output; killed (whole process group) after the timeout."""
    argv = ansible_pull_argv(cfg)
    env = {
        "PATH": f"{cfg.venv_dir}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
        "LC_ALL": "C.UTF-8",
        "LANG": "C.UTF-8",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PYTHONUNBUFFERED": "1",
        # Controller plugins (filters) import the fleet package: from the checkout
        # being converged, not the copy an earlier run installed in the venv.
        "PYTHONPATH": os.path.join(cfg.checkout_dir, "module_utils"),
    }
    strategy, note = strategy_env(cfg)
    env.update(strategy)
    lines: list[str] = [note] if note else []
    if note and echo:
        echo(note)
    fetched = None
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, text=True, errors="replace",
                                env=env, cwd=cfg.state_dir, start_new_session=True)
    except OSError as exc:
        return RunResult(None, f"cannot start {argv[0]}: {exc.strerror}\n")
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)

    timer = threading.Timer(cfg.timeout, kill)
    timer.start()
    try:
        if proc.stdout is None:  # stdout=PIPE above always gives one
            raise AssertionError("run: the child's output pipe is missing")
        for line in proc.stdout:
            if fetched is None and FETCH_DONE_RE.match(line):
                fetched = now()
            lines.append(line)
            if echo:
                echo(line)
        status = proc.wait()
    finally:
        timer.cancel()
    return RunResult(None if timed_out.is_set() else status, "".join(lines), fetched,
                     timed_out.is_set())


def _status(result: RunResult) -> str:
    if result.timed_out:
        return "timeout"
    if result.exit_status == 0:
        return "ok"
    return "failed"


def run_once(cfg: PullConfig, triggers: list[Trigger], extra_sources: list[str],
             runner: Callable[[PullConfig], RunResult],
             now: Callable[[], float] = time.time,
             head: Callable[[str], str | None] = git_head) -> dict:
    """One ansible-pull for every trigger in ``triggers``; returns its history record."""
    sources = sorted({t.source for t in triggers} | set(extra_sources)) or ["manual"]
    deliveries = [t.delivery for t in triggers if t.delivery]
    record: dict = {
        "host": cfg.inventory_name,
        "branch": cfg.branch,
        "trigger": "+".join(sources),
        "triggers": len(triggers),
        "delivery": deliveries[-1] if deliveries else None,
        "deliveries": deliveries[-MAX_DELIVERIES_RECORDED:],
        "received": iso(min(t.received for t in triggers)) if triggers else None,
    }
    paused = read_pause(cfg)
    start = now()
    record["start"] = iso(start)
    if paused is not None:
        record.update(status="paused", paused=paused, end=iso(now()), exit_status=None,
                      commit_before=head(cfg.checkout_dir), commit_after=None,
                      fetched=None, ok=None, changed=None, failed=None, unreachable=None,
                      reason=None, log=None)
        return record
    before = head(cfg.checkout_dir)
    _mark_running(cfg, dict(record, commit_before=before))
    result = runner(cfg)
    end = now()
    recap = parse_recap(result.output)
    counts = {k: (recap or {}).get(k) for k in ("ok", "changed", "failed", "unreachable")}
    record.update(
        status=_status(result),
        exit_status=result.exit_status,
        end=iso(end),
        fetched=iso(result.fetched) if result.fetched else None,
        duration=round(end - start, 3),
        commit_before=before,
        commit_after=head(cfg.checkout_dir),
        paused=None,
        reason=failure_reason(result.output, result.exit_status, result.timed_out, cfg.timeout),
        log=_write_log(cfg, result.output),
        **counts,
    )
    return record


# -- a run whose runner died ------------------------------------------------
#
# run_once writes running.json (the run's trigger fields, its start and the
# runner's pid) just before ansible-pull starts; run_pending deletes it once
# the run's record is in the history. A runner killed meanwhile (SIGKILL, the
# OOM killer, a power cut) leaves it behind: its flock dies with it, and the
# next runner to take the lock records that run as status "interrupted".

MAX_MARKER_BYTES = 65536
MAX_MARKER_TEXT = 256  # longest string taken from a marker field


def _mark_running(cfg: PullConfig, record: dict) -> None:
    """Best effort: a marker that cannot be written (a full disk) does not stop the run."""
    marker = dict(record, pid=os.getpid())
    with contextlib.suppress(OSError):
        atomic_write(cfg.running_path, json.dumps(marker, sort_keys=True).encode() + b"\n",
                     mode=0o644)


def _clear_running(cfg: PullConfig) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(cfg.running_path)


def _read_marker(path: str) -> dict | None:
    """running.json as a dict; {} when it is unreadable or odd; None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return {}
        data = json.loads(os.read(fd, MAX_MARKER_BYTES))
    except (OSError, ValueError, RecursionError):
        return {}
    finally:
        os.close(fd)
    return data if isinstance(data, dict) else {}


def record_interrupted(cfg: PullConfig, now: Callable[[], float] = time.time) -> dict | None:
    """Record the run a dead runner left unfinished (see above); call with the lock held.

    Returns the history record, or None when no run was left unfinished (none
    started, or it was recorded and only the marker's removal was cut short).
    """
    marker = _read_marker(cfg.running_path)
    if marker is None:
        return None
    last = read_history(cfg, 1)
    if marker.get("start") and last and last[-1].get("start") == marker.get("start"):
        _clear_running(cfg)  # the run's own record made it: nothing was lost
        return None
    found = iso(now())
    record = _marker_fields(cfg, marker)
    record["start"] = record["start"] or found  # a damaged marker: when it was found
    pid = marker.get("pid")
    known = isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 1 << 32
    who = f"the runner (pid {pid})" if known else "the runner"
    if not marker:
        who += f" (its marker {cfg.running_path} was unreadable)"
    record.update(
        status="interrupted", exit_status=None, end=found, fetched=None, duration=None,
        commit_after=None, paused=None, ok=None, changed=None, failed=None, unreachable=None,
        log=None,
        reason=f"interrupted: {who} stopped before the run ended (killed, out of memory "
               f"or a reboot); found by the next run")
    append_history(cfg, record)
    _clear_running(cfg)
    return record


def _marker_fields(cfg: PullConfig, marker: dict) -> dict:
    """The interrupted run's fields, each taken from its marker only if it has the type
    (and size) run_once writes: a damaged marker gives a well-formed record all the same."""
    def text(key: str, default: str | None = None) -> str | None:
        value = marker.get(key)
        return value if isinstance(value, str) and len(value) <= MAX_MARKER_TEXT else default

    def when(key: str) -> str | None:
        value = text(key)
        try:
            return iso(parse_iso(value)) if value else None
        except (ValueError, OverflowError, OSError):
            return None

    triggers = marker.get("triggers")
    deliveries = marker.get("deliveries")
    deliveries = [d for d in (deliveries if isinstance(deliveries, list) else [])
                  if sanitize_delivery(d)][-MAX_DELIVERIES_RECORDED:]
    return {"host": text("host", cfg.inventory_name), "branch": text("branch", cfg.branch),
            "trigger": text("trigger"),
            "triggers": triggers if isinstance(triggers, int) and not isinstance(triggers, bool)
            and 0 <= triggers < 1 << 31 else None,
            "delivery": sanitize_delivery(marker.get("delivery")), "deliveries": deliveries,
            "received": when("received"), "start": when("start"),
            "commit_before": text("commit_before")}


def _write_log(cfg: PullConfig, output: str) -> str | None:
    """Keep the run's full output (mode 0600, root only); its path, or None if not written."""
    try:
        atomic_write(cfg.log_path, output.encode(), mode=0o600)
    except OSError:
        return None
    return cfg.log_path


def run_pending(cfg: PullConfig, default_source: str,
                runner: Callable[[PullConfig], RunResult] | None = None,
                now: Callable[[], float] = time.time,
                head: Callable[[str], str | None] = git_head,
                max_rounds: int = 3) -> list[dict] | None:
    """Run until nothing is queued; None when another runner holds the lock.

    The first round always runs for a timer or manual request; a webhook start
    runs only for what it finds queued. Triggers that arrive during a
    run are drained together afterwards into exactly one more run. When the
    lock is busy this call returns at once: webhook triggers already wait in
    the spool for the holder; a timer or manual request leaves a pending mark.
    After releasing the lock we look once more, so a trigger that slipped in
    between the last drain and the release is not lost.
    """
    runner = runner or execute
    lock = RunLock(cfg.lock_path)
    records: list[dict] = []
    for round_no in range(max_rounds):
        with lock.held() as got:
            if not got:
                if default_source != "webhook":
                    _mark_pending(cfg, default_source)
                return records or None
            first = round_no == 0
            record_interrupted(cfg, now)  # into the history, not this call's records
            while True:
                pending = _take_pending(cfg)
                triggers = drain(cfg.spool_dir, now)
                # A webhook start with an empty spool: its trigger was already
                # taken by the run that just ended; nothing to do.
                wanted = first and default_source != "webhook"
                if not (wanted or pending or triggers):
                    break
                extra = [pending] if pending else []
                if first and not (triggers and default_source == "webhook"):
                    extra.append(default_source)
                first = False
                record = run_once(cfg, triggers, extra, runner, now, head)
                append_history(cfg, record)
                _clear_running(cfg)
                records.append(record)
        if not (spool_has_triggers(cfg.spool_dir) or os.path.exists(cfg.pending_path)):
            break
    return records
