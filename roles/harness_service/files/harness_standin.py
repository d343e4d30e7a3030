#!/usr/bin/python3
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stand-in harness: beats a heartbeat stamp and can be told to hang or crash.

The harness_service role runs this program while ``harness_service_command`` is
left at its default; real deployments point that variable at the real harness,
which must touch ``$HARNESS_HEARTBEAT`` at least every ``$HARNESS_BEAT_INTERVAL``
seconds while it is healthy.

Environment:
  HARNESS_HEARTBEAT      stamp file to touch (required)
  HARNESS_BEAT_INTERVAL  seconds between beats (default 5)
  HARNESS_CONTROL        control file (default: "control" next to the stamp)
  HARNESS_REQUEST_LOG    optional: append a JSON line per (pretend) request to this file
  HARNESS_USAGE_LOG      optional: append each request's token usage to this file
  HARNESS_REQUEST_INTERVAL  seconds between two requests while either log is set (default 1)

Request and usage lines carry ``ts`` (UTC, ISO 8601), ``seq`` (1, 2, ... per
process), ``pid`` and, in the usage log, ``tokens`` (the format the request_log
role's metrics read, module_utils/fleet/request_log.py). Each line is one
write to a file opened for that write only, with O_APPEND, so rename-based
rotation (logrotate's ``create``) loses no line: a write that raced a rename
lands in the renamed file. The file is not created while it is missing for
less than a second (between logrotate's rename and its ``create``; creating it
then would make logrotate move the new file aside).

The control file holds one word:
  hang            stop beating but stay alive (one-shot: the file is removed)
  crash           exit with status 3 (one-shot: the file is removed)
  crash-on-start  exit with status 3 at every start (kept, so every restart crashes)
Signals: SIGUSR1 hangs, SIGUSR2 crashes, SIGTERM/SIGINT exit cleanly (status 0).
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

CRASH_STATUS = 3
POLL_SECONDS = 0.25  # how quickly control words and signals take effect
WORDS = ("hang", "crash", "crash-on-start")
REQUEST_TOKENS = 100  # tokens each pretend request uses
RECREATE_AFTER = 1.0  # seconds a log may be missing before it is created afresh


def read_control(path: Path) -> str | None:
    """Return the control word in ``path``, or None when there is none (or it is unknown)."""
    try:
        word = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None
    return word if word in WORDS else None


def consume(path: Path) -> None:
    """Remove a one-shot control file, so the next start behaves normally again."""
    try:
        path.unlink()
    except OSError as error:
        print(f"harness-standin: cannot remove {path}: {error}", file=sys.stderr)


def beat(path: Path, now: float) -> None:
    """Touch the stamp (its mtime is the heartbeat; the content is informational)."""
    path.write_text(f"{now:.3f} {os.getpid()}\n", encoding="utf-8")
    os.utime(path, (now, now))


def append_line(path: Path, record: Mapping[str, object],
                clock: Callable[[], float] = time.monotonic) -> None:
    """Append one JSON line in one write to ``path``, opened (O_APPEND) for this write only."""
    data = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    flags = os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
    deadline = clock() + RECREATE_AFTER
    while True:
        try:
            fd = os.open(path, flags)
            break
        except FileNotFoundError:
            if clock() >= deadline:
                fd = os.open(path, flags | os.O_CREAT, 0o600)
                break
            time.sleep(0.01)
    try:
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


class Standin:
    """The stand-in's state machine; ``step`` is called every poll with the wall-clock time."""

    def __init__(self, heartbeat: Path, control: Path, interval: float,
                 request_log: Path | None = None, usage_log: Path | None = None,
                 request_interval: float = 1.0) -> None:
        self.heartbeat = heartbeat
        self.control = control
        self.interval = interval
        self.last_beat: float | None = None
        self.hanging = False
        self.exit_status: int | None = None
        self.request_log = request_log
        self.usage_log = usage_log
        self.request_interval = request_interval
        self.last_request: float | None = None
        self.requests = 0

    @property
    def poll_seconds(self) -> float:
        """Seconds between two steps: shorter when requests come more often than that."""
        if self.request_log or self.usage_log:
            return min(POLL_SECONDS, self.request_interval)
        return POLL_SECONDS

    def request(self, now: float) -> None:
        """One pretend request: a line in the request log and its usage in the usage log."""
        self.requests += 1
        ts = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat(timespec="milliseconds")
        ts = ts.replace("+00:00", "Z")
        line = {"ts": ts, "seq": self.requests, "pid": os.getpid(), "model": "standin"}
        for path, extra in ((self.request_log, {"status": 200}),
                            (self.usage_log, {"tokens": REQUEST_TOKENS})):
            try:
                if path:
                    append_line(path, {**line, **extra})
            except OSError as error:  # a log problem is reported, never fatal
                print(f"harness-standin: cannot log request {self.requests}: {error}",
                      file=sys.stderr, flush=True)

    def hang(self, reason: str) -> None:
        if not self.hanging:
            print(f"harness-standin: hanging ({reason}): no more beats", flush=True)
        self.hanging = True

    def crash(self, reason: str) -> None:
        print(f"harness-standin: crashing ({reason})", file=sys.stderr, flush=True)
        self.exit_status = CRASH_STATUS

    def start(self) -> None:
        if read_control(self.control) == "crash-on-start":
            self.crash(f"{self.control} says crash-on-start")

    def step(self, now: float) -> None:
        word = read_control(self.control)
        if word in ("crash", "crash-on-start"):
            if word == "crash":
                consume(self.control)
            self.crash(f"{self.control} says {word}")
            return
        if word == "hang":
            consume(self.control)
            self.hang(f"{self.control} says hang")
        if self.hanging:
            return
        if self.last_beat is None or now - self.last_beat >= self.interval or now < self.last_beat:
            beat(self.heartbeat, now)
            self.last_beat = now
        if (self.request_log or self.usage_log) and (
                self.last_request is None or now - self.last_request >= self.request_interval
                or now < self.last_request):
            self.request(now)
            self.last_request = now


def configure(env: Mapping[str, str]) -> Standin:
    """Build a Standin from the environment; ValueError names the bad variable."""
    stamp = env.get("HARNESS_HEARTBEAT", "")
    if not stamp:
        raise ValueError("HARNESS_HEARTBEAT is not set (path of the heartbeat stamp)")
    try:
        interval = float(env.get("HARNESS_BEAT_INTERVAL", "5"))
    except ValueError:
        raise ValueError("HARNESS_BEAT_INTERVAL must be a number of seconds") from None
    if interval <= 0:
        raise ValueError("HARNESS_BEAT_INTERVAL must be positive")
    heartbeat = Path(stamp)
    control = Path(env.get("HARNESS_CONTROL") or heartbeat.with_name("control"))
    try:
        request_interval = float(env.get("HARNESS_REQUEST_INTERVAL", "1"))
    except ValueError:
        raise ValueError("HARNESS_REQUEST_INTERVAL must be a number of seconds") from None
    if request_interval <= 0:
        raise ValueError("HARNESS_REQUEST_INTERVAL must be positive")
    logs = [Path(env[name]) if env.get(name) else None
            for name in ("HARNESS_REQUEST_LOG", "HARNESS_USAGE_LOG")]
    return Standin(heartbeat, control, interval, *logs, request_interval=request_interval)


def run(standin: Standin, clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep, max_steps: int | None = None) -> int:
    """Loop until told to crash or stopped; return the exit status."""
    stop: list[int] = []
    handlers = {
        signal.SIGTERM: lambda *_: stop.append(0),
        signal.SIGINT: lambda *_: stop.append(0),
        signal.SIGUSR1: lambda *_: standin.hang("SIGUSR1"),
        signal.SIGUSR2: lambda *_: standin.crash("SIGUSR2"),
    }
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        # Announced only once the signal handlers are in place.
        print(f"harness-standin: beating {standin.heartbeat} every {standin.interval:g} s; "
              f"control file {standin.control}", flush=True)
        standin.start()
        steps = 0
        while standin.exit_status is None and not stop:
            standin.step(clock())
            steps += 1
            if max_steps is not None and steps >= max_steps:
                break
            if standin.exit_status is None and not stop:
                sleep(standin.poll_seconds)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if standin.request_log or standin.usage_log:
            print(f"harness-standin: made {standin.requests} requests", flush=True)
    return standin.exit_status if standin.exit_status is not None else 0


def main(env: Mapping[str, str] | None = None) -> int:
    try:
        standin = configure(os.environ if env is None else env)
    except ValueError as error:
        print(f"harness-standin: {error}", file=sys.stderr)
        return 2
    try:
        return run(standin)
    except OSError as error:
        print(f"harness-standin: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
