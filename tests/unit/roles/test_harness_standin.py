"""The stand-in harness beats, hangs and crashes on command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import harness_standin as hs
import pytest

SCRIPT = (Path(__file__).resolve().parents[3]
          / "roles" / "harness_service" / "files" / "harness_standin.py")


@pytest.fixture
def standin(tmp_path):
    return hs.Standin(tmp_path / "heartbeat", tmp_path / "control", interval=5)


def test_beats_at_the_interval(standin):
    standin.step(1000.0)
    assert standin.heartbeat.stat().st_mtime == 1000.0
    standin.step(1004.0)
    assert standin.heartbeat.stat().st_mtime == 1000.0
    standin.step(1005.0)
    assert standin.heartbeat.stat().st_mtime == 1005.0
    assert standin.heartbeat.read_text().split()[1] == str(os.getpid())


def test_beats_again_when_the_clock_steps_back(standin):
    standin.step(1000.0)
    standin.step(900.0)
    assert standin.heartbeat.stat().st_mtime == 900.0


def test_hang_is_one_shot_and_stops_the_beats(standin):
    standin.step(1000.0)
    standin.control.write_text("hang\n")
    standin.step(1010.0)
    assert standin.hanging
    assert not standin.control.exists()  # the next start beats again
    standin.step(1100.0)
    assert standin.heartbeat.stat().st_mtime == 1000.0
    assert standin.exit_status is None


def test_crash_is_one_shot(standin):
    standin.control.write_text("crash")
    standin.step(1000.0)
    assert standin.exit_status == hs.CRASH_STATUS
    assert not standin.control.exists()


def test_crash_on_start_persists(standin):
    standin.control.write_text("crash-on-start\n")
    standin.start()
    assert standin.exit_status == hs.CRASH_STATUS
    assert standin.control.exists()
    assert not standin.heartbeat.exists()


def test_crash_on_start_written_later_crashes_too(standin):
    standin.start()
    standin.step(1000.0)
    standin.control.write_text("crash-on-start")
    standin.step(1001.0)
    assert standin.exit_status == hs.CRASH_STATUS


def test_unknown_control_words_are_ignored(standin):
    standin.control.write_text("dance")
    standin.start()
    standin.step(1000.0)
    assert standin.exit_status is None
    assert standin.heartbeat.exists()
    assert hs.read_control(standin.control.with_name("missing")) is None


def test_configure_from_environment(tmp_path):
    s = hs.configure({"HARNESS_HEARTBEAT": str(tmp_path / "hb"), "HARNESS_BEAT_INTERVAL": "0.5"})
    assert s.interval == 0.5
    assert s.control == tmp_path / "control"
    s = hs.configure({"HARNESS_HEARTBEAT": "/x/hb", "HARNESS_CONTROL": "/y/ctl"})
    assert s.control == Path("/y/ctl")
    assert s.interval == 5


@pytest.mark.parametrize(("env", "message"), [
    ({}, "HARNESS_HEARTBEAT is not set"),
    ({"HARNESS_HEARTBEAT": "/x", "HARNESS_BEAT_INTERVAL": "soon"}, "must be a number"),
    ({"HARNESS_HEARTBEAT": "/x", "HARNESS_BEAT_INTERVAL": "0"}, "must be positive"),
])
def test_configure_rejects_bad_environment(env, message):
    with pytest.raises(ValueError, match=message):
        hs.configure(env)
    assert hs.main(env) == 2


def test_run_loop_with_fake_clock(standin):
    times = iter(float(t) for t in range(1000, 1100))
    sleeps = []
    status = hs.run(standin, clock=lambda: next(times), sleep=sleeps.append, max_steps=12)
    assert status == 0
    assert standin.heartbeat.stat().st_mtime == 1010.0
    assert sleeps == [hs.POLL_SECONDS] * 11


def _start(tmp_path, interval="0.2"):
    env = {**os.environ, "HARNESS_HEARTBEAT": str(tmp_path / "hb"),
           "HARNESS_BEAT_INTERVAL": interval}
    return subprocess.Popen([sys.executable, str(SCRIPT)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_process_signals_hang_crash_and_term(tmp_path):
    stamp = tmp_path / "hb"
    proc = _start(tmp_path)
    try:
        assert _wait(stamp.exists)
        proc.send_signal(signal.SIGUSR1)  # hang
        # Wait for the stand-in to say it hangs (not for a guessed time), then
        # let a beat already past its check land (two intervals) before reading.
        assert _wait(lambda: "hanging" in (proc.stdout.readline() or ""))
        time.sleep(0.4)
        frozen = stamp.stat().st_mtime
        time.sleep(0.6)
        assert stamp.stat().st_mtime == frozen
        assert proc.poll() is None  # alive
        proc.send_signal(signal.SIGUSR2)  # crash
        assert proc.wait(10) == hs.CRASH_STATUS
    finally:
        proc.kill()
        proc.wait()
    proc = _start(tmp_path)
    assert _wait(lambda: "beating" in (proc.stdout.readline() or ""))
    proc.terminate()
    assert proc.wait(10) == 0


def test_process_crashes_on_start_when_told(tmp_path):
    (tmp_path / "control").write_text("crash-on-start")
    proc = _start(tmp_path)
    assert proc.wait(10) == hs.CRASH_STATUS
    assert "crash-on-start" in proc.stderr.read()
    assert not (tmp_path / "hb").exists()
