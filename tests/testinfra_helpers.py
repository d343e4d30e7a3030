"""Helpers the roles' testinfra tests share (imported as tests.testinfra_helpers;
pytest's pythonpath in pyproject.toml puts the repository root on sys.path)."""

from __future__ import annotations

import time


def wait_for(predicate, timeout=30.0, step=0.5):
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds pass; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def show(host, prop, unit="harness.service"):
    """One property of a systemd unit on the host (``systemctl show``)."""
    return host.check_output(f"systemctl show {unit} -p {prop} --value")


def exposure(host, unit):
    """``systemd-analyze security`` exposure score of a unit (0 safest, 10 exposed), printed."""
    out = host.check_output(f"systemd-analyze security {unit} --no-pager")
    line = next(line for line in out.splitlines() if "Overall exposure level" in line)
    score = float(line.split(":", 1)[1].split()[0])
    print(f"{unit}: systemd-analyze security exposure {score}")
    return score
