# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""This host's golden-state metrics, for node_exporter's textfile collector.

``collect`` reads what the host programs already record (the pull runner's
history and pause flag, the deadman's flag and state, the overlay store's
known-good snapshot) plus ``systemctl is-active`` of the harness, and returns
``fleet.metrics.Family`` objects; golden-state-metrics (cli/metrics_collect.py)
writes them to ``<textfile_dir>/golden_state.prom``. Every metric is a gauge
(docs/metrics.md lists them).

Nothing here raises for a missing or damaged input:

* a source that is not set up on this host (no pull.json, no deadman.json, no
  known-good snapshot yet, a pull runner that has never run) gives no sample,
  or the documented default (not paused, no restarts, flag down);
* a source that cannot be read or makes no sense sets
  ``golden_state_metrics_collector_errors{source="<source>"}`` to 1, gives no
  sample of its own and adds a message to ``Collection.errors`` (the program
  prints them for the journal). Sources: ``SOURCES``.

Pure Python (standard library only).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import deadman as fleet_deadman
from . import pull as fleet_pull
from .metrics import Family
from .overlay import OverlayError, OverlayStore
from .strict_load import DocumentError, load_file

TEXTFILE = "golden_state"  # -> <textfile_dir>/golden_state.prom
PREFIX = "golden_state_"
# Where a collection can go wrong, one error gauge sample each (always all of them).
SOURCES = ("pull_config", "pull_history", "pause_flag", "deadman_config",
           "deadman_state", "overlay", "harness")
COMMIT_RE = re.compile(r"[0-9a-f]{7,64}\Z")
SNAPSHOT_TIME = "%Y-%m-%dT%H:%M:%SZ"
COMMAND_TIMEOUT = 10.0

Runner = Callable[[Sequence[str], float], "subprocess.CompletedProcess[str]"]


class ConfigError(ValueError):
    """The collector's configuration file is missing, unreadable or has a bad field."""


# --------------------------------------------------------------------------- config

_SPAN_UNITS = {
    "us": 1e-6, "usec": 1e-6, "µs": 1e-6,
    "ms": 1e-3, "msec": 1e-3,
    "": 1.0, "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "week": 604800.0, "weeks": 604800.0,
    "M": 2629800.0, "month": 2629800.0, "months": 2629800.0,
    "y": 31557600.0, "year": 31557600.0, "years": 31557600.0,
}
_SPAN_PART = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Zµ]*)")


def parse_timespan(text: str) -> float:
    """Seconds in a systemd time span ("30min", "1h 30min", "90", "2.5s"); ValueError if not one.

    The pull agent's timer interval is written this way (pull_agent_timer_interval),
    so the collector's config may repeat it as is.
    """
    total, pos, parts = 0.0, 0, 0
    text = text.strip()
    while pos < len(text):
        match = _SPAN_PART.match(text, pos)
        if not match or match.group(2) not in _SPAN_UNITS:
            raise ValueError(f"not a systemd time span: {text!r}")
        total += float(match.group(1)) * _SPAN_UNITS[match.group(2)]
        pos, parts = match.end(), parts + 1
    if not parts:
        raise ValueError(f"not a systemd time span: {text!r}")
    return total


def seconds(value: Any, name: str) -> float:
    """A positive duration given as a number of seconds or a systemd time span."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"{name} must be seconds or a systemd time span, got {value!r}")
    try:
        result = parse_timespan(value) if isinstance(value, str) else float(value)
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from None
    if not result > 0:
        raise ConfigError(f"{name} must be more than 0 seconds, got {value!r}")
    return result


@dataclass
class CollectorConfig:
    """What golden-state-metrics reads and where it writes (the metrics role's metrics.json)."""

    pull_config: str = "/etc/golden-state/pull.json"
    deadman_config: str = "/etc/golden-state/deadman.json"
    overlay_state_dir: str = "/var/lib/golden-state/overlay"
    harness_unit: str = "harness.service"  # empty: no golden_state_harness_up
    textfile_dir: str = "/var/lib/prometheus/node-exporter"
    # The collector's own period (the timer's), exported for the staleness alert.
    collect_interval: float = 30.0


_PATHS = ("pull_config", "deadman_config", "overlay_state_dir", "textfile_dir")


def config_from_dict(data: Any, source: str = "config") -> CollectorConfig:
    """Validate decoded JSON into a CollectorConfig; ConfigError names the bad field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(data).__name__}")
    data = {k: v for k, v in data.items() if not k.startswith("_")}  # _comment, _managed
    known = set(CollectorConfig.__dataclass_fields__)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"{source}: unknown field(s) {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name in (*_PATHS, "harness_unit"):
        if name in data:
            if not isinstance(data[name], str):
                raise ConfigError(f"{source}: {name} must be a string")
            if name in _PATHS and not os.path.isabs(data[name]):
                raise ConfigError(f"{source}: {name} must be an absolute path")
            values[name] = data[name]
    if "collect_interval" in data:
        values["collect_interval"] = seconds(data["collect_interval"],
                                             f"{source}: collect_interval")
    return CollectorConfig(**values)


def load_config(path: str) -> CollectorConfig:
    try:
        data = load_file(path, "host_config", "json")
    except DocumentError as error:
        raise ConfigError(str(error)) from None
    return config_from_dict(data, path)


# --------------------------------------------------------------------------- families

def _families() -> dict[str, Family]:
    specs = [
        ("pull_last_run_timestamp_seconds",
         "When the last pull run (ansible-pull; paused records aside) ended, Unix time."),
        ("pull_last_run_success", "1 if the last pull run succeeded (status ok), else 0."),
        ("pull_last_run_duration_seconds", "How long the last pull run took."),
        ("pull_last_success_timestamp_seconds",
         "When the last successful pull run ended, Unix time."),
        ("pull_reconcile_interval_seconds",
         "Period of the reconcile timer; alert rules count missed convergences in it."),
        ("converged_commit_info",
         "The commit of the last successful pull run (else the checkout's HEAD), as a label."),
        ("pull_paused", "1 while the pull runner is paused (golden-state-pull pause), else 0."),
        ("pull_paused_since_timestamp_seconds", "When the pull runner was paused, Unix time."),
        ("deadman_flag_raised",
         "1 while the deadman_active flag is up (the deadman gave up healing), else 0."),
        ("deadman_restarts_in_window",
         "Harness restarts the deadman made in its current sliding window."),
        ("harness_up", "1 if the harness's unit is active (systemctl is-active), else 0."),
        ("known_good_snapshot_timestamp_seconds",
         "When the known-good overlay snapshot was taken, Unix time."),
        ("known_good_snapshot_age_seconds",
         "Age of the known-good overlay snapshot when the collector ran."),
        ("metrics_collect_interval_seconds",
         "Period of golden-state-metrics; the textfile is stale after a few of them."),
        ("metrics_collector_errors",
         "1 if the named source could not be read or made no sense this run, else 0."),
    ]
    return {name: Family(PREFIX + name, text) for name, text in specs}


@dataclass
class Collection:
    """The families being filled and the errors met, by source."""

    families: dict[str, Family] = field(default_factory=_families)
    failed: dict[str, list[str]] = field(default_factory=dict)

    def set(self, name: str, value: float, **labels: str) -> None:
        self.families[name].add(value, **labels)

    def error(self, source: str, message: str) -> None:
        self.failed.setdefault(source, []).append(f"{source}: {message}")

    @property
    def errors(self) -> list[str]:
        return [message for messages in self.failed.values() for message in messages]

    def result(self) -> list[Family]:
        errors = self.families["metrics_collector_errors"]
        for source in SOURCES:
            errors.add(1 if source in self.failed else 0, source=source)
        return list(self.families.values())


# --------------------------------------------------------------------------- sources

def run_command(argv: Sequence[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run a fixed argument list (never through a shell) with a timeout."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                          check=False)


def read_history_tail(path: str) -> tuple[list[dict], str | None]:
    """The records of a pull history file, and a complaint if its last line is unreadable.

    Older damaged lines are skipped as the runner skips them; only the last one
    matters (it would hide the newest run). A missing file is no runs at all.
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = [line for line in handle.read().splitlines() if line.strip()]
    except FileNotFoundError:
        return [], None
    except OSError as error:
        return [], f"{path}: cannot read: {error.strerror}"
    records, complaint = [], None
    for number, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict):
            records.append(record)
        elif number == len(lines):
            complaint = f"{path}: line {number} (the last) is not a JSON object"
    return records, complaint


def _when(record: dict, key: str) -> float:
    value = record.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} is missing")
    try:
        return fleet_pull.parse_iso(value)
    except ValueError:
        raise ValueError(f"{key!r} is not a timestamp: {value[:40]!r}") from None


def _pull_history(out: Collection, cfg: fleet_pull.PullConfig) -> str | None:
    """Last run, last success; returns the commit of the last successful run."""
    records, complaint = read_history_tail(cfg.history_path)
    if complaint:
        out.error("pull_history", complaint)
        return None
    runs = [r for r in records if r.get("status") != "paused"]
    if runs:
        last = runs[-1]
        try:
            end = _when(last, "end")
            start = _when(last, "start")
        except ValueError as error:
            out.error("pull_history", f"{cfg.history_path}: last run: {error}")
        else:
            duration = last.get("duration")
            if isinstance(duration, bool) or not isinstance(duration, (int, float)):
                duration = max(0.0, end - start)
            out.set("pull_last_run_timestamp_seconds", end)
            out.set("pull_last_run_success", 1 if last.get("status") == "ok" else 0)
            out.set("pull_last_run_duration_seconds", duration)
    good = next((r for r in reversed(runs) if r.get("status") == "ok"), None)
    if good is None:
        return None
    try:
        out.set("pull_last_success_timestamp_seconds", _when(good, "end"))
    except ValueError as error:
        out.error("pull_history", f"{cfg.history_path}: last successful run: {error}")
    commit = good.get("commit_after")
    return commit if isinstance(commit, str) else None


def _pause(out: Collection, cfg: fleet_pull.PullConfig) -> None:
    flag = fleet_pull.read_pause(cfg)  # the runner's own reading: what it honours
    out.set("pull_paused", 0 if flag is None else 1)
    if flag is None:
        return
    try:
        out.set("pull_paused_since_timestamp_seconds", _when(flag, "since"))
    except ValueError as error:
        out.error("pause_flag", f"{cfg.pause_path}: {error} (the runner treats it as paused)")


def _pull(out: Collection, config: CollectorConfig,
          head: Callable[[str], str | None]) -> None:
    if not os.path.exists(config.pull_config):
        return  # no pull agent on this host: no pull metrics
    try:
        cfg = fleet_pull.load_config(config.pull_config)
    except fleet_pull.ConfigError as error:
        out.error("pull_config", str(error))
        return
    if cfg.reconcile_interval:  # the pull_agent role writes its timer's period; empty: no timer
        try:
            out.set("pull_reconcile_interval_seconds",
                    seconds(cfg.reconcile_interval, "reconcile_interval"))
        except ConfigError as error:
            out.error("pull_config", f"{config.pull_config}: {error}")
    commit = _pull_history(out, cfg)
    if commit is None and "pull_history" not in out.failed:
        commit = head(cfg.checkout_dir)
    if commit and COMMIT_RE.match(commit):
        out.set("converged_commit_info", 1, commit=commit)
    _pause(out, cfg)


def _deadman(out: Collection, config: CollectorConfig, now: float) -> None:
    if not os.path.exists(config.deadman_config):
        return  # no deadman switch on this host
    try:
        cfg = fleet_deadman.load_config(config.deadman_config)
    except fleet_deadman.ConfigError as error:
        out.error("deadman_config", str(error))
        return
    out.set("deadman_flag_raised", 1 if os.path.lexists(cfg.flag_path) else 0)
    try:
        with open(cfg.state_path, "rb") as handle:
            state = fleet_deadman.state_from_dict(json.loads(handle.read()))
    except FileNotFoundError:
        state = fleet_deadman.State()  # never ran: no restarts
    except OSError as error:
        out.error("deadman_state", f"{cfg.state_path}: cannot read: {error.strerror}")
        return
    except (ValueError, UnicodeDecodeError) as error:
        out.error("deadman_state", f"{cfg.state_path}: {error}")
        return
    restarts = fleet_deadman.restarts_in_window(state.restarts, now, cfg.window)
    out.set("deadman_restarts_in_window", len(restarts))


def _known_good(out: Collection, config: CollectorConfig, now: float) -> None:
    store = OverlayStore(config.overlay_state_dir)
    try:
        snap_id = store.known_good()
        if snap_id is None:
            return  # nothing marked known-good yet
        created = store.load_snapshot(snap_id).created
        taken = datetime.strptime(created, SNAPSHOT_TIME).replace(tzinfo=UTC).timestamp()
    except OverlayError as error:
        out.error("overlay", f"known-good: {error}")
        return
    except (OSError, UnicodeDecodeError) as error:
        out.error("overlay", f"{store.known_good_path}: cannot read: {error}")
        return
    except (TypeError, ValueError):
        out.error("overlay", f"snapshot {snap_id}: manifest.json has no valid 'created' time")
        return
    out.set("known_good_snapshot_timestamp_seconds", taken)
    out.set("known_good_snapshot_age_seconds", max(0.0, now - taken))


def _harness(out: Collection, config: CollectorConfig, run: Runner) -> None:
    if not config.harness_unit:
        return
    try:
        result = run(["systemctl", "is-active", config.harness_unit], COMMAND_TIMEOUT)
    except (OSError, subprocess.SubprocessError) as error:
        out.error("harness", f"systemctl is-active {config.harness_unit}: {error}")
        return
    # Exit status 0 and "active": up. Anything else (inactive, failed, activating,
    # a unit that does not exist) is down; no answer at all is an error.
    state = (result.stdout or "").strip()
    if not state:
        out.error("harness", f"systemctl is-active {config.harness_unit}: no answer "
                             f"(exit status {result.returncode})")
        return
    out.set("harness_up", 1 if result.returncode == 0 and state == "active" else 0)


def collect(config: CollectorConfig, *, now: Callable[[], float] = time.time,
            run: Runner = run_command,
            head: Callable[[str], str | None] = fleet_pull.git_head) -> Collection:
    """Every golden-state metric of this host; never raises for a bad input."""
    out = Collection()
    when = now()
    out.set("metrics_collect_interval_seconds", config.collect_interval)
    for source, gather in (("pull_config", lambda: _pull(out, config, head)),
                           ("deadman_config", lambda: _deadman(out, config, when)),
                           ("overlay", lambda: _known_good(out, config, when)),
                           ("harness", lambda: _harness(out, config, run))):
        try:
            gather()
        except Exception as error:  # a bug or a surprise in one source must not hide the others
            out.error(source, f"unexpected {type(error).__name__}: {error}")
    return out
