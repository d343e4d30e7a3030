"""fleet.pull: a pull runner killed in the middle of its run.

A forked child runs ``run_pending`` with the real ``execute`` and a fake
ansible-pull that sends its pid through a FIFO and then blocks until it is
killed. The test waits on that handshake (state, never a sleep), checks that
the run holds the lock and left its running.json, SIGKILLs the runner and then
the fake's process group (what systemd does to the rest of the unit's cgroup,
KillMode=mixed). Then: the lock is free, the next trigger runs, and the history
holds the killed run once, as "interrupted" with its trigger and a reason,
before the new run.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import sys
from pathlib import Path

import pytest
from fleet import pull as fleet_pull
from fleet.pull import PullConfig, RunResult
from fleet_cli.pull_runner import render_history
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.module_utils.forking import fork

CRASHED = 77
HANDSHAKE_SECONDS = 60  # a safety net only: the wait ends on the FIFO, not on time
RECAP = "PLAY RECAP ***\nezra : ok=3 changed=1 unreachable=0 failed=0\n"
# The fake ansible-pull: says "started" with its pid, then waits to be killed.
FAKE = ("import os, signal, sys\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
        "os.write(fd, b'%d\\n' % os.getpid())\n"
        "os.close(fd)\n"
        "while True:\n"
        "    signal.pause()\n")


@pytest.fixture
def cfg(make_pull_config) -> PullConfig:
    return make_pull_config(timeout=600)


def no_head(_checkout: str) -> str | None:
    return None


def ok_runner(cfg: PullConfig) -> RunResult:
    return RunResult(0, RECAP)


def lock_is_free(cfg: PullConfig) -> bool:
    lock = fleet_pull.RunLock(cfg.lock_path)
    if not lock.acquire():
        return False
    lock.release()
    return True


def wait_started(reader: int, runner: int) -> int:
    """The fake ansible-pull's pid, once it has written it; fails if the runner dies first."""
    for _ in range(HANDSHAKE_SECONDS):
        ready, _, _ = select.select([reader], [], [], 1.0)
        if ready:
            return int(os.read(reader, 64).split()[0])
        done, status = os.waitpid(runner, os.WNOHANG)
        if done:
            pytest.fail(f"the runner exited ({os.waitstatus_to_exitcode(status)}) before "
                        f"its ansible-pull started")
    pytest.fail(f"no handshake from the fake ansible-pull in {HANDSHAKE_SECONDS} s")


def test_a_runner_killed_mid_run_frees_the_lock_and_is_recorded(cfg, tmp_path):
    fifo = str(tmp_path / "started")
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    keeper = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # no EOF before the fake writes
    cfg.command = [sys.executable, "-c", FAKE, fifo]
    fleet_pull.enqueue(cfg.spool_dir, "webhook", "delivery-killed")
    runner = fork(lambda: fleet_pull.run_pending(cfg, "webhook", head=no_head))
    fake = None
    try:
        fake = wait_started(reader, runner)
        # the run is under way: it holds the lock and has said so in running.json
        assert not lock_is_free(cfg)
        marker = json.loads(Path(cfg.running_path).read_bytes())
        assert marker["pid"] == runner and marker["delivery"] == "delivery-killed"
        os.kill(runner, signal.SIGKILL)
        _, status = os.waitpid(runner, 0)
        runner = None
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    finally:
        if runner is not None:
            os.kill(runner, signal.SIGKILL)
            os.waitpid(runner, 0)
        if fake is not None:  # systemd kills the rest of the unit's cgroup
            with contextlib.suppress(ProcessLookupError):
                os.killpg(fake, signal.SIGKILL)
        os.close(reader)
        os.close(keeper)

    assert lock_is_free(cfg), "the killed runner's flock did not die with it"
    assert fleet_pull.read_history(cfg) == []  # the killed run wrote nothing itself
    fleet_pull.enqueue(cfg.spool_dir, "webhook", "delivery-next")
    (record,) = fleet_pull.run_pending(cfg, "webhook", ok_runner, head=no_head)
    assert record["status"] == "ok" and record["delivery"] == "delivery-next"
    interrupted, recorded = fleet_pull.read_history(cfg)
    assert recorded == record
    assert interrupted["status"] == "interrupted"
    assert interrupted["trigger"] == "webhook" and interrupted["triggers"] == 1
    assert interrupted["delivery"] == "delivery-killed"
    assert interrupted["start"] == marker["start"] and interrupted["end"] <= record["start"]
    assert interrupted["exit_status"] is None and interrupted["duration"] is None
    assert f"the runner (pid {marker['pid']}) stopped before the run ended" \
        in interrupted["reason"]
    assert not os.path.exists(cfg.running_path)
    # recorded once: a later start finds nothing more to record
    assert fleet_pull.run_pending(cfg, "webhook", ok_runner, head=no_head) == []
    assert len(fleet_pull.read_history(cfg)) == 2
    table = render_history(fleet_pull.read_history(cfg), cfg.log_path, cfg.history_path, 160)
    assert "interrupted: the runner (pid" in table


def test_a_runner_killed_after_recording_its_run_is_not_recorded_twice(cfg, monkeypatch):
    """Killed between the history line and the marker's removal: the run was recorded."""
    def die(_cfg: PullConfig) -> None:
        os._exit(CRASHED)

    def killed_late() -> None:
        fleet_pull._clear_running = die  # in the child only
        fleet_pull.run_pending(cfg, "timer", ok_runner, head=no_head)

    child = fork(killed_late)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == CRASHED
    (first,) = fleet_pull.read_history(cfg)
    assert first["status"] == "ok" and os.path.exists(cfg.running_path)
    (second,) = fleet_pull.run_pending(cfg, "timer", ok_runner, head=no_head)
    assert second["status"] == "ok"
    assert [r["status"] for r in fleet_pull.read_history(cfg)] == ["ok", "ok"]
    assert not os.path.exists(cfg.running_path)


def test_a_marker_that_is_a_fifo_is_recorded_without_blocking(cfg):
    os.mkfifo(cfg.running_path)
    record = fleet_pull.record_interrupted(cfg)
    assert record["status"] == "interrupted" and "was unreadable" in record["reason"]
    assert not os.path.exists(cfg.running_path)


def test_a_marker_that_cannot_be_written_does_not_stop_the_run(cfg, monkeypatch):
    def full(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fleet_pull, "atomic_write", full)  # the marker (and last-run.json)
    record = fleet_pull.run_once(cfg, [], ["manual"], ok_runner, head=no_head)
    assert record["status"] == "ok" and not os.path.exists(cfg.running_path)


MARKER_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
MARKER_KEYS = st.sampled_from(["host", "branch", "trigger", "triggers", "delivery", "deliveries",
                               "received", "start", "commit_before", "pid", "other"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(marker=st.one_of(
    st.binary(max_size=200),
    st.dictionaries(MARKER_KEYS, MARKER_VALUES, max_size=11).map(
        lambda d: json.dumps(d).encode())))
def test_any_marker_gives_one_well_formed_interrupted_record(cfg, marker):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(cfg.history_path)
    with open(cfg.running_path, "wb") as handle:
        handle.write(marker)
    record = fleet_pull.record_interrupted(cfg, now=lambda: 1_700_000_000.0)
    assert fleet_pull.read_history(cfg) == [record]
    assert record["status"] == "interrupted" and record["reason"].startswith("interrupted: ")
    assert isinstance(record["host"], str) and isinstance(record["branch"], str)
    fleet_pull.parse_iso(record["start"])  # a timestamp the metrics can read
    assert record["end"] == "2023-11-14T22:13:20.000000Z"
    assert record["triggers"] is None or isinstance(record["triggers"], int)
    assert all(fleet_pull.sanitize_delivery(d) for d in record["deliveries"])
    assert len(json.dumps(record)) < 4096  # bounded, whatever the marker held
    assert not os.path.exists(cfg.running_path)
