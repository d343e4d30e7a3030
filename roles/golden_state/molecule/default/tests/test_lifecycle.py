"""Drives the instance with ansible-playbook (after test_golden_state.py, which only reads).

A config that breaks the schema fails the play naming the JSON path and leaves
every live file byte-identical; an unchanged converge does not restart the
harness and a changed one restarts it exactly once (counted from the stand-in's
start log); snapshots rotate keeping
known-good; playbooks/rollback.yml restores known-good byte for byte.

The tests run in any order: ``baseline`` records the converged state (live
hashes, harness starts) before the first of them changes anything, and each
test makes the changes it needs itself.
"""

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent.parent
ROOT = HERE.parents[3]
OVERLAY = ROOT / "roles" / "golden_state" / "files" / "overlay"
LIVE = ["/home/wizard/.hermes/config.yaml", "/home/wizard/.timmy/SOUL.md",
        "/home/wizard/.hermes/channel_directory.json", "/home/wizard/.hermes/.env"]
TOOL = "/usr/local/sbin/golden-state-overlay"

pytestmark = pytest.mark.skipif("MOLECULE_INVENTORY_FILE" not in os.environ,
                                reason="needs Molecule's inventory")


def playbook(path, *extra):
    cmd = ["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"], str(path), *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ, check=False,
                          timeout=300)
    return proc.returncode, proc.stdout + proc.stderr


def overlay_with(tmp_path, old, new):
    """A copy of the default overlay dir with one replacement in config.yaml."""
    target = tmp_path / "overlay"
    shutil.copytree(OVERLAY, target, dirs_exist_ok=True)
    text = (OVERLAY / "config.yaml").read_text()
    assert old in text
    (target / "config.yaml").write_text(text.replace(old, new))
    return target


def hashes(host):
    out = host.check_output("sha256sum " + " ".join(LIVE))
    return dict(reversed(line.split()) for line in out.splitlines())


def starts(host):
    return int(host.check_output("wc -l < /var/log/harness-starts"))


def reconverge(tmp_path, turns, *extra):
    """reconverge.yml with an overlay whose only change is ``max_turns: <turns>``."""
    overlay = overlay_with(tmp_path / str(turns), "max_turns: 60", f"max_turns: {turns}")
    return playbook(HERE / "reconverge.yml", "-e", f"golden_state_overlay_dir={overlay}", *extra)


@dataclass(frozen=True)
class Baseline:
    hashes: dict  # live file -> sha256 of the converged (default) set
    starts: int   # harness starts logged before any test here changed anything


@pytest.fixture(scope="module")
def baseline(host):
    """The converged (default) live set, marked known-good as the deadman would.

    Every test asks for it, so it is taken before the first of them changes anything.
    """
    assert host.service("harness.service").is_running
    host.check_output(f"{TOOL} mark-known-good")
    return Baseline(hashes=hashes(host), starts=starts(host))


def test_bad_config_fails_before_any_change(host, baseline, tmp_path):
    overlay = overlay_with(tmp_path, "max_turns: 60", "max_turns: many")
    # Compared with the live set as this test found it (another test may have changed it).
    before = hashes(host), starts(host), host.check_output(f"{TOOL} list")
    rc, out = playbook(HERE / "reconverge.yml", "-e", f"golden_state_overlay_dir={overlay}")
    assert rc != 0
    assert "$.agent.max_turns: 'many' is not of type 'integer'" in out
    assert f"{overlay}/config.yaml" in out
    assert (hashes(host), starts(host), host.check_output(f"{TOOL} list")) == before


def test_converge_restarted_once_and_idempotence_did_not(host, baseline):
    # prepare started the stand-in once; converge changed files (one restart);
    # the idempotence run changed nothing (no restart). Counted as the scenario
    # left it, before the tests here restarted anything.
    assert baseline.starts == 2


def test_changed_config_restarts_once_and_rotates(host, baseline, tmp_path):
    known_id = json.loads(host.check_output(f"{TOOL} --json list"))["known_good"]
    count = starts(host)
    for turns in (61, 62):
        rc, out = reconverge(tmp_path, turns, "-e", "golden_state_snapshot_keep=1")
        assert rc == 0, out
        count += 1
        assert starts(host) == count, "one restart per changed converge"
        assert f"max_turns: {turns}" in host.file(LIVE[0]).content_string
    listing = json.loads(host.check_output(f"{TOOL} --json list"))
    ids = [s["id"] for s in listing["snapshots"]]
    assert listing["known_good"] == known_id
    # known-good (kept although old) + the newest: the set live before max_turns 62
    assert len(ids) == 2 and ids[0] == known_id
    assert listing["snapshots"][1]["reason"] == "converge"


def test_rollback_playbook_restores_known_good(host, baseline, tmp_path):
    # A converge away from known-good first (one restart), whatever ran before.
    rc, out = reconverge(tmp_path, 59)
    assert rc == 0, out
    assert "max_turns: 59" in host.file(LIVE[0]).content_string
    assert hashes(host) != baseline.hashes
    count = starts(host)
    rc, out = playbook(ROOT / "playbooks" / "rollback.yml")
    assert rc == 0, out
    assert hashes(host) == baseline.hashes
    assert host.file(LIVE[3]).mode == 0o600 and host.file(LIVE[3]).user == "wizard"
    assert starts(host) == count + 1
    again = host.run(f"{TOOL} rollback --to known-good")
    assert again.rc == 0 and "nothing to do" in again.stdout
