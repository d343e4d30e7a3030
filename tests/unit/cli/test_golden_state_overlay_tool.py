"""golden-state-overlay host tool: status, list, mark-known-good, rollback."""

from __future__ import annotations

import importlib.util
import io
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


# -- judge, verdicts, refused and forced rollbacks (issue #20) ------------------------

def write_policy(tmp_path, home, **overrides) -> str:
    doc = {"banned": ["anthropic"], "config_policy": None, "config_dest": str(home / "config.yaml"),
           "require_signatures": False, "trusted_keys": [], "revoked_keys": [], "threshold": 1}
    doc.update(overrides)
    path = tmp_path / "judge.json"
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.fixture
def judged(env, tmp_path):
    """known-good holds a config naming a provider banned since; a later set is fine."""
    home, state, store, apply = env
    apply("with claude")
    apply("2")
    apply("3")
    known = store.snapshot_ids()[0]  # the "with claude" set, marked while it was fine
    Path(store.known_good_path).write_text(known + "\n")
    return home, state, store, known, write_policy(tmp_path, home)


def test_judge_prints_each_verdict_and_check_writes_nothing(judged, capsys):
    _home, state, store, known, policy = judged
    assert run(state, "judge", "--policy", policy, "--check") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{known} [known-good]: UNUSABLE: ")
    assert "[rule banned_provider]" in out[0] and out[0].endswith("(would become unusable)")
    assert out[1].endswith(": usable")
    assert out[-1] == ("judged 2 snapshot(s): 1 unusable, 1 newly unusable; check mode, "
                       "no verdict written")
    assert all(store.verdict(i) is None for i in store.snapshot_ids())
    assert run(state, "--json", "judge", "--policy", policy) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["changed"] is True and result["newly_unusable"] == [known]
    assert result["known_good"] == known and len(result["verdicts"]) == 2
    assert store.verdict(known)["usable"] is False
    assert run(state, "--json", "judge", "--policy", policy) == 0
    assert json.loads(capsys.readouterr().out)["changed"] is False


def test_judge_with_a_bad_policy_fails_cleanly(judged, tmp_path, capsys):
    _home, state, _store, _known, _policy = judged
    bad = tmp_path / "bad.json"
    bad.write_text('{"threshold": 0}')
    assert run(state, "judge", "--policy", str(bad)) == 1
    err = capsys.readouterr().err
    assert f"{bad}: threshold" in err and "Traceback" not in err
    assert run(state, "judge", "--policy", str(tmp_path / "missing.json")) == 1
    assert "cannot read judge policy" in capsys.readouterr().err


def test_list_and_status_show_verdicts(judged, capsys):
    _home, state, store, known, policy = judged
    assert run(state, "list") == 0
    assert capsys.readouterr().out.count("not judged") == 2
    assert run(state, "judge", "--policy", policy) == 0
    capsys.readouterr()
    assert run(state, "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "[known-good]  UNUSABLE: " in lines[0] and "[rule banned_provider]" in lines[0]
    assert lines[1].endswith("  usable")
    assert run(state, "--json", "list") == 0
    listing = json.loads(capsys.readouterr().out)
    assert [s["usable"] for s in listing["snapshots"]] == [False, True]
    assert run(state, "status") == 0
    out = capsys.readouterr().out
    assert f"known-good: {known} (UNUSABLE: " in out
    assert "snapshots: 2, 1 unusable" in out
    assert run(state, "--json", "status") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["snapshots"][0]["id"] == known and status["snapshots"][0]["usable"] is False
    assert store.verdict_summary(known)["reasons"] == status["snapshots"][0]["reasons"]


def test_rollback_of_an_unusable_snapshot_exits_3(judged, capsys):
    home, state, _store, known, policy = judged
    assert run(state, "judge", "--policy", policy) == 0
    capsys.readouterr()
    before = (home / "config.yaml").read_bytes()
    assert run(state, "rollback", "--to", "known-good") == tool.EXIT_REFUSED == 3
    err = capsys.readouterr().err
    assert err.startswith(f"golden-state-overlay: rollback refused: snapshot {known} is "
                          "unusable")
    assert "[rule banned_provider]" in err and "--force-unusable" in err
    assert "Traceback" not in err
    assert (home / "config.yaml").read_bytes() == before
    assert run(state, "--json", "rollback") == 3
    refusal = json.loads(capsys.readouterr().out)
    assert refusal["refused"] is True and refusal["snapshot"] == known
    assert refusal["rules"] == ["banned_provider", "banned_provider"]  # config.yaml and .env


def test_forced_rollback_is_logged(judged, capsys):
    home, state, store, known, policy = judged
    assert run(state, "judge", "--policy", policy) == 0
    capsys.readouterr()
    assert run(state, "rollback", "--force-unusable", "incident 42: need the old chain") == 0
    captured = capsys.readouterr()
    assert (home / "config.yaml").read_bytes() == b"config with claude\n"
    assert "WARNING: restoring " + known in captured.err
    assert "incident 42: need the old chain" in captured.err and "audit.jsonl" in captured.err
    entry = json.loads(Path(store.audit_path).read_text().splitlines()[-1])
    assert entry["snapshot"] == known and entry["reason"] == "incident 42: need the old chain"
    assert "rolled back to" in captured.out


def test_refusal_through_the_installed_program(judged):
    _home, state, _store, _known, policy = judged
    base = [sys.executable, "-I", "-m", "fleet_cli.golden_state_overlay", "--state-dir",
            str(state)]
    proc = subprocess.run([*base, "judge", "--policy", policy], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    proc = subprocess.run([*base, "rollback", "--to", "known-good"], capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 3 and "rollback refused" in proc.stderr


def test_judge_reads_the_policy_from_stdin(judged, monkeypatch, capsys):
    _home, state, store, known, policy = judged
    monkeypatch.setattr(sys, "stdin", io.StringIO(Path(policy).read_text()))
    assert run(state, "--json", "judge", "--policy", "-", "--check") == 0
    assert json.loads(capsys.readouterr().out)["newly_unusable"] == [known]
    assert store.verdict(known) is None
    monkeypatch.setattr(sys, "stdin", io.StringIO('{"threshold": "1"}'))
    assert run(state, "judge", "--policy", "-") == 1
    assert "<stdin>: threshold: expected an integer" in capsys.readouterr().err


def test_list_and_mark_survive_a_damaged_snapshot(judged, capsys):
    _home, state, store, known, _policy = judged
    (Path(store.snapshot_dir) / known / "manifest.json").write_text("{}")
    assert run(state, "list") == 0
    assert f"{known}  DAMAGED: snapshot {known}: manifest.json is damaged" in \
        capsys.readouterr().out
    assert run(state, "mark-known-good") == 0
    assert store.known_good() != known
