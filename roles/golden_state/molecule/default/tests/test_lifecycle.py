"""Runs after test_golden_state.py: drives the instance with ansible-playbook.

A config that breaks the schema fails the play naming the JSON path and leaves
every live file byte-identical; an unchanged converge does not restart the
harness and a changed one restarts it exactly once; snapshots rotate keeping
known-good; playbooks/rollback.yml restores known-good byte for byte.
"""

import json
import os
import shutil
import subprocess
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


@pytest.fixture(scope="module")
def baseline(host):
    """The converged (default) live set, marked known-good as the deadman would."""
    assert host.service("harness.service").is_running
    host.check_output(f"{TOOL} mark-known-good")
    return hashes(host)


def test_bad_config_fails_before_any_change(host, baseline, tmp_path):
    overlay = overlay_with(tmp_path, "max_turns: 60", "max_turns: many")
    before = starts(host), host.check_output(f"{TOOL} list")
    rc, out = playbook(HERE / "reconverge.yml", "-e", f"golden_state_overlay_dir={overlay}")
    assert rc != 0
    assert "$.agent.max_turns: 'many' is not of type 'integer'" in out
    assert f"{overlay}/config.yaml" in out
    assert hashes(host) == baseline
    assert (starts(host), host.check_output(f"{TOOL} list")) == before


def test_unchanged_converge_does_not_restart(host, baseline):
    count = starts(host)
    rc, out = playbook(HERE / "reconverge.yml")
    assert rc == 0, out
    assert "changed=0" in out
    assert starts(host) == count
    assert hashes(host) == baseline


def test_changed_config_restarts_once_and_rotates(host, baseline, tmp_path):
    known = host.check_output(f"{TOOL} --json list")
    count = starts(host)
    for turns in (61, 62, 63):
        overlay = overlay_with(tmp_path / str(turns), "max_turns: 60", f"max_turns: {turns}")
        rc, out = playbook(HERE / "reconverge.yml", "-e", f"golden_state_overlay_dir={overlay}",
                           "-e", "golden_state_snapshot_keep=2")
        assert rc == 0, out
        assert starts(host) == count + 1, "one restart per changed converge"
        count += 1
        assert f"max_turns: {turns}" in host.file(LIVE[0]).content_string
    listing = json.loads(host.check_output(f"{TOOL} --json list"))
    ids = [s["id"] for s in listing["snapshots"]]
    known_id = json.loads(known)["known_good"]
    assert listing["known_good"] == known_id
    assert known_id in ids  # rotation never drops the known-good snapshot
    assert len(ids) == 3  # the newest two plus known-good


def test_rollback_playbook_restores_known_good(host, baseline):
    assert hashes(host) != baseline
    count = starts(host)
    rc, out = playbook(ROOT / "playbooks" / "rollback.yml")
    assert rc == 0, out
    assert hashes(host) == baseline
    assert host.file(LIVE[3]).mode == 0o600 and host.file(LIVE[3]).user == "wizard"
    assert starts(host) == count + 1
    rc, out = playbook(ROOT / "playbooks" / "rollback.yml")
    assert rc == 0 and "changed=0" in out
