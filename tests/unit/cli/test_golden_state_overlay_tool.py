"""golden-state-overlay host tool: status, list, mark-known-good, rollback."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleet.overlay import FileSpec, OverlayStore

ROOT = Path(__file__).resolve().parents[3]


def _load_tool():
    # by path: library/golden_state_overlay.py (the Ansible module) has the same name
    spec = importlib.util.spec_from_file_location(
        "golden_state_overlay_tool", ROOT / "cli" / "golden_state_overlay.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tool = _load_tool()
UID, GID = os.getuid(), os.getgid()


@pytest.fixture
def env(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    state = tmp_path / "state"
    store = OverlayStore(str(state))

    def apply(version):
        store.apply([FileSpec(str(home / "config.yaml"), f"config {version}\n".encode(),
                              0o640, UID, GID),
                     FileSpec(str(home / ".env"), f"K={version}\n".encode(), 0o600, UID, GID,
                              secret=True)])
    return home, state, store, apply


def run(state, *argv):
    return tool.main(["--state-dir", str(state), *argv])


def test_rollback_without_known_good_fails_clearly(env, capsys):
    _home, state, _, apply = env
    apply("1")
    assert run(state, "rollback", "--to", "known-good") == 1
    err = capsys.readouterr().err
    assert "no known-good snapshot" in err and "Traceback" not in err


def test_mark_then_rollback_restores_byte_for_byte(env, capsys):
    home, state, _store, apply = env
    apply("good")
    good = (home / "config.yaml").read_bytes(), (home / ".env").read_bytes()
    assert run(state, "mark-known-good") == 0
    assert "known-good: 000001-" in capsys.readouterr().out
    apply("bad")
    assert run(state, "rollback", "--to", "known-good") == 0
    assert ((home / "config.yaml").read_bytes(), (home / ".env").read_bytes()) == good
    assert (home / ".env").stat().st_mode & 0o777 == 0o600
    assert run(state, "rollback", "--to", "known-good") == 0  # nothing to do is success
    assert "nothing to do" in capsys.readouterr().out.splitlines()[-1]


def test_list_and_status(env, capsys):
    home, state, _store, apply = env
    apply("1")
    apply("2")
    assert run(state, "mark-known-good") == 0
    capsys.readouterr()
    assert run(state, "--json", "list") == 0
    listing = json.loads(capsys.readouterr().out)
    assert [s["reason"] for s in listing["snapshots"]] == ["converge", "known-good"]
    assert listing["known_good"] == listing["snapshots"][-1]["id"]
    assert run(state, "status") == 0
    out = capsys.readouterr().out
    assert "(known-good)" in out and str(home / "config.yaml") in out


def test_rollback_to_a_named_snapshot(env, capsys):
    home, state, store, apply = env
    apply("1")
    apply("2")
    snap = store.snapshot_ids()[0]
    assert run(state, "rollback", "--to", snap) == 0
    assert (home / "config.yaml").read_bytes() == b"config 1\n"
    assert run(state, "rollback", "--to", "nonsense") == 1
    assert "not a snapshot id" in capsys.readouterr().err


def test_mark_known_good_before_any_apply_fails(tmp_path, capsys):
    assert run(tmp_path / "state", "mark-known-good") == 1
    assert "no overlay has been applied" in capsys.readouterr().err


def test_usage_error_exits_2(tmp_path):
    with pytest.raises(SystemExit) as exc:
        run(tmp_path, "explode")
    assert exc.value.code == 2


def test_runs_as_installed_program(env):
    """The package's console script (the host's golden-state-overlay) in an isolated interpreter."""
    _home, state, store, apply = env
    apply("1")
    proc = subprocess.run([sys.executable, "-I", "-m", "fleet_cli.golden_state_overlay",
                           "--state-dir", str(state), "mark-known-good"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert store.known_good() is not None
