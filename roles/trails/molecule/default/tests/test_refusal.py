"""Runs after test_trails.py: drives the instance with ansible-playbook.

A tampered, mis-pinned or unsigned trail fails the play with trail_verify's
finding and leaves the host's trail directory exactly as it was (a valid trail
listed beside it is not deployed, unlisted trails are not pruned). Pruning
removes only unlisted *.trail files, and not under --check.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[5]
SAMPLE = ROOT / "roles" / "trails" / "files" / "welcome.trail"
SAMPLE_SHA256 = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
TRAILS = "/home/wizard/.hermes/trails"
# A syntactically valid x-only public key nobody here holds the secret for.
STRANGER = "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"

pytestmark = pytest.mark.skipif("FLEET_TEST_HOST" not in os.environ,
                                reason="needs the Molecule instance (FLEET_TEST_HOST)")


@pytest.fixture
def run(tmp_path):
    """ansible-playbook running the trails role against the instance with extra vars."""
    (tmp_path / "group_vars").symlink_to(ROOT / "inventory" / "group_vars")
    (tmp_path / "hosts.yml").write_text(json.dumps({"wizards": {"hosts": {
        os.environ["FLEET_TEST_HOST"]: {"ansible_connection": "containers.podman.podman"}}}}))
    (tmp_path / "play.yml").write_text(json.dumps([{
        "name": "Deploy trails", "hosts": "all", "roles": [{"role": "trails"}]}]))
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               ANSIBLE_ROLES_PATH=str(ROOT / "roles"), ANSIBLE_LIBRARY=str(ROOT / "library"),
               ANSIBLE_MODULE_UTILS=str(ROOT / "module_utils"),
               ANSIBLE_FILTER_PLUGINS=str(ROOT / "filter_plugins"), ANSIBLE_NOCOLOR="1")
    binary = ROOT / ".venv" / "bin" / "ansible-playbook"
    command = str(binary) if binary.exists() else "ansible-playbook"

    def _run(extra_vars, *options):
        cmd = [command, "-i", str(tmp_path / "hosts.yml"), str(tmp_path / "play.yml"),
               "-e", json.dumps(extra_vars), *options]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False,
                              timeout=300)
        return proc.returncode, proc.stdout + proc.stderr

    return _run


def manifest(host):
    """Name, inode, mode, owner, size, mtime, ctime and sha256 of everything in the directory."""
    listing = host.check_output(f"find {TRAILS} -printf '%P %i %m %u %g %s %T@ %C@\\n' | sort")
    sums = host.check_output(f"cd {TRAILS} && find . -type f -exec sha256sum {{}} + | sort")
    return listing, sums


def valid_copy(tmp_path, name="second.trail"):
    path = tmp_path / name
    shutil.copyfile(SAMPLE, path)
    return str(path)


def signed_copies(tmp_path, names):
    """Sample copies signed by a fresh key (trailctl keygen + sign); returns (paths, pubkey)."""
    trailctl = [sys.executable, str(ROOT / "cli" / "trailctl.py")]
    key = tmp_path / "signing.key"
    out = subprocess.run([*trailctl, "keygen", "-o", str(key)], capture_output=True, text=True,
                         check=True).stdout
    pubkey = next(line.split()[-1] for line in out.splitlines() if line.startswith("public key:"))
    paths = [valid_copy(tmp_path, name) for name in names]
    subprocess.run([*trailctl, "sign", "--key", str(key), *paths], capture_output=True, check=True)
    return paths, pubkey


def signature_vars(tmp_path, names=("signed.trail",), trusted_self=True, revoke_self=False):
    paths, pubkey = signed_copies(tmp_path, names)
    return {"trails_files": paths, "trails_require_signatures": True,
            "trails_trust": trust([{"name": "op", "pubkey": pubkey if trusted_self else STRANGER}],
                                  [pubkey] if revoke_self else [])}


def trust(trusted, revoked=()):
    """A trust decision as the site pre-flight passes it (filter trust_decision)."""
    return {"source": "inventory", "trusted_keys": trusted, "revoked_keys": list(revoked),
            "threshold": 1}


def tampered_copy(tmp_path):
    """The sample with one table-string byte flipped (same length: only the key check sees it)."""
    data = SAMPLE.read_bytes()
    at = data.index(b"Greet the new wizard") + len("Greet the new wizar")
    tampered = data[:at] + b"D" + data[at + 1:]
    assert len(tampered) == len(data) and tampered != data
    path = tmp_path / "tampered.trail"
    path.write_bytes(tampered)
    return str(path)


def banned_name_trail(tmp_path):
    """A well-formed trail whose string table names a banned provider (spelled as a YAML escape)."""
    worklog = tmp_path / "banned.yml"
    worklog.write_text('- {op: TRAIL_BEGIN, agent: timmy, trail_id: banned-1, ts: 1700000000}\n'
                       '- {op: COMMENT, text: "escalate to Cl\\u0061ude"}\n'
                       '- {op: TRAIL_END, status: success}\n')
    path = tmp_path / "banned.trail"
    subprocess.run([sys.executable, str(ROOT / "cli" / "trailctl.py"), "compile", str(worklog),
                    "-o", str(path)], capture_output=True, check=True)
    return str(path)


CASES = {
    # A valid trail listed first would be deployed, and welcome.trail pruned,
    # if the role touched the host before every trail verified.
    "tampered": (lambda tmp: {"trails_files": [valid_copy(tmp), tampered_copy(tmp)]},
                 "KEY_MISMATCH"),
    "wrong-pin": (lambda tmp: {"trails_files": [valid_copy(tmp)],
                               "trails_expected_fingerprints": {"second.trail": "0" * 64}},
                  "FINGERPRINT_MISMATCH"),
    "unpinned": (lambda tmp: {"trails_files": [valid_copy(tmp), str(SAMPLE)],
                              "trails_expected_fingerprints": {"welcome.trail": SAMPLE_SHA256}},
                 "expected_fingerprint has no entry for this trail"),
    "unsigned": (lambda tmp: {"trails_files": [valid_copy(tmp)], "trails_require_signatures": True,
                              "trails_trust": trust([{"name": "stranger", "pubkey": STRANGER}])},
                 "SIGNATURE_MISSING"),
    "untrusted-signer": (lambda tmp: signature_vars(tmp, trusted_self=False),
                         "unknown-key"),
    "revoked-signer": (lambda tmp: signature_vars(tmp, revoke_self=True), "revoked-key"),
    "banned-provider-string": (
        lambda tmp: {"trails_files": [valid_copy(tmp), banned_name_trail(tmp)]},
        "BANNED_PROVIDER"),
}


@pytest.mark.parametrize("case", CASES)
def test_invalid_trail_fails_before_the_host_changes(host, run, tmp_path, case):
    make_vars, finding = CASES[case]
    before = manifest(host)
    rc, out = run(make_vars(tmp_path))
    assert rc != 0, out
    assert finding in out
    assert "Verify the listed trails (format, fingerprint, signatures)" in out
    assert "Create the trail directory" not in out  # the play stopped at the verification
    assert manifest(host) == before


def test_bad_trail_name_is_refused(host, run, tmp_path):
    before = manifest(host)
    rc, out = run({"trails_files": [valid_copy(tmp_path, "no suffix")]})
    assert rc != 0
    assert "offending names: ['no suffix']" in out
    assert manifest(host) == before


def test_signed_trail_is_deployed_when_signatures_are_required(host, run, tmp_path):
    # Every listed trail needs the signatures, the sample too: a signed copy of it.
    variables = signature_vars(tmp_path, names=("welcome.trail", "signed.trail"))
    welcome = manifest(host)[1]
    try:
        rc, out = run(variables)
        assert rc == 0, out
        signed = host.file(f"{TRAILS}/signed.trail")
        assert (signed.user, signed.group, signed.mode) == ("wizard", "wizard", 0o640)
        assert signed.sha256sum == SAMPLE_SHA256
    finally:
        rc, out = run({"trails_files": [str(SAMPLE)]})  # prunes signed.trail again
        assert rc == 0, out
    assert manifest(host)[1] == welcome


def test_prune_removes_only_unlisted_trails(host, run):
    host.check_output(f"cd {TRAILS} && printf x > stale.trail && printf x > notes.txt"
                      " && mkdir -p keep.trail")
    try:
        rc, out = run({"trails_files": [str(SAMPLE)]}, "--check")
        assert rc == 0, out
        assert host.file(f"{TRAILS}/stale.trail").exists  # --check removed nothing
        assert "changed=1" in out

        welcome = host.file(f"{TRAILS}/welcome.trail").sha256sum
        rc, out = run({"trails_files": [str(SAMPLE)]})
        assert rc == 0, out
        assert "changed=1" in out
        assert not host.file(f"{TRAILS}/stale.trail").exists
        assert host.file(f"{TRAILS}/notes.txt").exists
        assert host.file(f"{TRAILS}/keep.trail").is_directory
        assert host.file(f"{TRAILS}/welcome.trail").sha256sum == welcome
    finally:
        host.check_output(f"rm -rf {TRAILS}/stale.trail {TRAILS}/notes.txt {TRAILS}/keep.trail")
