"""Hostile inputs through the real CLIs: FIFOs, unreadable trees, undecodable names, escapes.

Each class of input gets a clear one-line error or a terminal-safe line, never
a hang, a traceback or raw control characters. The CLIs run as their console
scripts do (``from fleet_cli.<tool> import main``) in a subprocess with a
timeout, so a regression that blocks on a FIFO fails instead of hanging the
suite; their output is read as bytes and must decode as strict UTF-8.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleet import signing as fs
from fleet.text import is_unsafe
from fleet_cli import provider_scan

ROOT = Path(__file__).resolve().parents[3]
TRAIL = ROOT / "tests" / "data" / "trails" / "basic.trail"
BOUND = 120  # seconds before a blocked CLI counts as hung; a pass takes about one
HOSTILE_NAME = "ev\x1b[2J\x1b]0;pwned\x07il\u202eexe.\u200bg\x85pj"
HOSTILE_SHOWN = "ev\\x1b[2J\\x1b]0;pwned\\x07il\\u202eexe.\\u200bg\\x85pj"


class Done:
    def __init__(self, done: subprocess.CompletedProcess):
        self.rc = done.returncode
        # strict: a lone surrogate or a stray byte would fail here
        self.out = done.stdout.decode("utf-8")
        self.err = done.stderr.decode("utf-8")

    def safe(self) -> bool:
        """No raw control, bidi or zero-width character anywhere in the output."""
        return not any(is_unsafe(c) for c in self.out + self.err if c != "\n")


def run(tool: str, *args, cwd=None, encoding: str = "utf-8") -> Done:
    code = f"import sys; from fleet_cli.{tool} import main; sys.exit(main())"
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    argv = [sys.executable, "-c", code, *[os.fsdecode(a) for a in args]]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=BOUND, cwd=cwd, env=env,
                              check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{tool} {' '.join(map(str, args))}: still running after {BOUND}s (blocked)")
    result = Done(done)
    assert "Traceback" not in result.err, result.err
    return result


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    path.chmod(0o600)
    return path


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "signer.key"
    path.write_text(fs.generate_secret_key().secret_hex() + "\n")
    path.chmod(0o600)
    return path


FIFO_ERROR = "not a regular file (a FIFO)"


# -- FIFOs given directly: refused at once, exit 1 (2 for the scan gate) -----

@pytest.mark.parametrize(("tool", "argv", "stream"), [
    ("trailctl", ["verify", "{fifo}"], "out"),
    ("trailctl", ["disasm", "{fifo}"], "err"),
    ("trailctl", ["compile", "{fifo}", "-o", "{tmp}/out.trail"], "err"),
    ("trailctl", ["fingerprint", "{fifo}"], "err"),
    ("trailctl", ["verify", "--trusted-keys", "{fifo}", str(TRAIL)], "err"),
    ("trailctl", ["sign", "--key", "{fifo}", str(TRAIL)], "err"),
    ("trailctl", ["sign", "--key", "{key}", "{fifo}"], "err"),
    ("trailctl", ["verify-sig", "--trusted-keys", "{fifo}", str(TRAIL)], "err"),
    ("trustctl", ["inspect", "{fifo}"], "err"),
    ("trustctl", ["sign", "--key", "{fifo}", "{tmp}/doc.json"], "err"),
    ("trustctl", ["verify-key-list", "--pin", "{fifo}", "{fifo}"], "err"),
    ("trustctl", ["init-root", "--keys", "{fifo}", "--threshold", "1", "-o", "{tmp}/r"], "err"),
    ("overlay_check", ["{fifo}.json"], "out"),
    ("overlay_check", ["--providers", "{fifo}", str(ROOT / "pyproject.toml")], "err"),
    ("overlay_check", ["--policy", "{fifo}", "{tmp}/config.yaml"], "err"),
])
def test_a_fifo_input_is_refused_at_once(tool, argv, stream, tmp_path, fifo, keyfile):
    os.mkfifo(f"{fifo}.json")
    (tmp_path / "config.yaml").write_text("{}\n")
    (tmp_path / "doc.json").write_text("{}")
    args = [a.format(fifo=fifo, tmp=tmp_path, key=keyfile) for a in argv]
    done = run(tool, *args, cwd=tmp_path)
    assert done.rc in (1, 2)
    text = done.out if stream == "out" else done.err
    assert FIFO_ERROR in text, (done.out, done.err)
    assert "pipe" in text  # the message names the file


def test_a_fifo_signature_file_is_refused(tmp_path, fifo, keyfile):
    artifact = tmp_path / "art"
    artifact.write_text("x")
    os.mkfifo(tmp_path / "art.sig")
    keys = tmp_path / "keys.json"
    keys.write_text(json.dumps([{"name": "a", "pubkey": fs.public_key_hex(
        fs.read_secret_key_file(str(keyfile)))}]))
    done = run("trailctl", "verify-sig", "--trusted-keys", keys, artifact)
    assert done.rc == 1
    assert f"art: REJECTED: {tmp_path}/art.sig: cannot read signature file: {FIFO_ERROR}" \
        in done.out


def test_provider_scan_given_a_fifo_fails_closed(fifo):
    done = run("provider_scan", fifo)
    assert done.rc == 2
    assert f"provider-scan: error: {fifo}: {FIFO_ERROR}" in done.err


def test_provider_scan_skips_a_fifo_in_a_tree_and_reports_it(tmp_path):
    tree = tmp_path / "tree"
    (tree / "a").mkdir(parents=True)
    os.mkfifo(tree / "a" / "pipe")
    (tree / "b").mkdir()
    (tree / "b" / "notes.txt").write_text("ask claude\n")
    done = run("provider_scan", tree)
    assert done.rc == 1  # the finding after the FIFO is still found
    assert done.out == f"{tree}/b/notes.txt:1:5: 'claude' (anthropic)\n"
    assert f"provider-scan: skipped {tree}/a/pipe: {FIFO_ERROR}" in done.err
    assert "1 special file(s) skipped" in done.err
    (tree / "b" / "notes.txt").write_text("clean\n")
    clean = run("provider_scan", "--json", tree)
    assert clean.rc == 0
    report = json.loads(clean.out)
    assert report["scanned"]["special"] == [f"{tree}/a/pipe: {FIFO_ERROR}"]
    assert report["errors"] == []


# -- a directory that cannot be listed: reported, the walk goes on, exit 2 --

def test_provider_scan_goes_on_past_an_unlistable_directory(tmp_path, monkeypatch, capsys):
    from fleet import providers
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text("claude\n")
    real = os.scandir

    def scandir(path):
        if os.path.basename(path) == "b":
            raise PermissionError(13, "Permission denied", path)
        return real(path)

    monkeypatch.setattr(providers.os, "scandir", scandir)
    assert provider_scan.main([str(tmp_path)]) == 2  # incomplete: fails closed
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"{tmp_path}/a/f.txt:1:1: 'claude' (anthropic)",
                                f"{tmp_path}/c/f.txt:1:1: 'claude' (anthropic)"]
    assert (f"provider-scan: error: {tmp_path}/b: cannot read directory: Permission denied"
            in err)


@pytest.mark.skipif(os.geteuid() == 0, reason="root lists a mode-000 directory anyway")
def test_provider_scan_goes_on_past_an_unreadable_directory(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "f.txt").write_text("claude\n")
    (tmp_path / "a").chmod(0)
    try:
        done = run("provider_scan", tmp_path)
    finally:
        (tmp_path / "a").chmod(0o700)
    assert done.rc == 2
    assert done.out == f"{tmp_path}/b/f.txt:1:1: 'claude' (anthropic)\n"
    assert f"{tmp_path}/a: cannot read directory: Permission denied" in done.err


# -- file names that are not UTF-8, printed to a strict UTF-8 stdout --------

def test_provider_scan_prints_undecodable_names(tmp_path):
    tree = os.fsencode(tmp_path)
    name = tree + b"/c\xff\xfe.txt"
    with open(name, "wb") as handle:
        handle.write(b"claude\n")
    done = run("provider_scan", tmp_path)
    assert done.rc == 1
    assert done.out == f"{tmp_path}/c\\xff\\xfe.txt:1:1: 'claude' (anthropic)\n"
    as_json = run("provider_scan", "--json", tmp_path)
    (finding,) = json.loads(as_json.out)["findings"]
    assert os.fsencode(finding["file"]) == name  # the JSON keeps the exact name


def test_trailctl_verify_and_fingerprint_print_undecodable_names(tmp_path):
    name = os.fsencode(tmp_path) + b"/t\xff.trail"
    with open(name, "wb") as handle:
        handle.write(b"\x00")
    done = run("trailctl", "verify", os.fsdecode(name))
    assert done.rc == 1
    assert done.out.startswith(f"{tmp_path}/t\\xff.trail:offset 0x0: ")
    assert json.loads(run("trailctl", "verify", "--json", os.fsdecode(name)).out)["valid"] is False
    fingerprint = run("trailctl", "fingerprint", os.fsdecode(name))
    assert fingerprint.rc == 0
    assert fingerprint.out.endswith(f"  {tmp_path}/t\\xff.trail\n")


def test_overlay_check_prints_undecodable_names(tmp_path):
    name = os.fsencode(tmp_path) + b"/x\xff.json"
    with open(name, "wb") as handle:
        handle.write(b"{not json")
    done = run("overlay_check", os.fsdecode(name))
    assert done.rc == 1
    assert done.out.startswith(f"{tmp_path}/x\\xff.json: ")


def test_an_ascii_only_stdout_gets_escapes_not_a_crash(tmp_path, keyfile):
    key_list = tmp_path / "kl.json"
    pub = fs.public_key_hex(fs.read_secret_key_file(str(keyfile)))
    assert run("trustctl", "init-key-list", "--trusted", f"café\u202e={pub}", "-o",
               key_list).rc == 0
    done = run("trustctl", "inspect", key_list, encoding="ascii")
    assert done.rc == 0
    assert f"caf\\xe9\\u202e: {pub}" in done.out


# -- strings from inputs: shown escaped, never obeyed ------------------------

def test_trustctl_inspect_escapes_key_names_and_signer_names(tmp_path, keyfile):
    pub = fs.public_key_hex(fs.read_secret_key_file(str(keyfile)))
    root = tmp_path / "root.json"
    assert run("trustctl", "init-root", "--key", f"{HOSTILE_NAME}={pub}", "--threshold", "1",
               "--expires", "2099-01-01T00:00:00Z", "-o", root).rc == 0
    assert run("trustctl", "sign", root, "--key", keyfile).rc == 0
    done = run("trustctl", "inspect", root)
    assert done.rc == 0
    assert f"    {HOSTILE_SHOWN}: {pub}" in done.out
    assert f"({'enough'}): {HOSTILE_SHOWN}" in done.out
    assert done.safe()


def test_trailctl_disasm_escapes_trail_strings(tmp_path):
    worklog = tmp_path / "log.json"
    worklog.write_text(json.dumps([
        {"op": "TRAIL_BEGIN", "agent": "alice", "trail_id": HOSTILE_NAME, "ts": 1},
        {"op": "file_read", "path": "src/\u2067a.py\u2069"},
        {"op": "TRAIL_END", "status": "success"}]))
    trail = tmp_path / "h.trail"
    assert run("trailctl", "compile", worklog, "-o", trail).rc == 0
    for flags in ([], ["-v"], ["--compact"]):
        done = run("trailctl", "disasm", *flags, trail)
        assert done.rc == 0
        assert done.safe(), done.out
        assert "\\u202e" in done.out and "\\x85" in done.out and "\\u2067" in done.out


def test_trailctl_verify_escapes_signer_names(tmp_path, keyfile):
    trail = tmp_path / "basic.trail"
    trail.write_bytes(TRAIL.read_bytes())
    assert run("trailctl", "sign", "--key", keyfile, trail).rc == 0
    keys = tmp_path / "keys.json"
    pub = fs.public_key_hex(fs.read_secret_key_file(str(keyfile)))
    keys.write_text(json.dumps([{"name": HOSTILE_NAME, "pubkey": pub}]))
    done = run("trailctl", "verify", "--trusted-keys", keys, trail)
    assert done.rc == 0, done.out
    assert done.out.endswith(f", signed by {HOSTILE_SHOWN}\n")
    sig = run("trailctl", "verify-sig", "--trusted-keys", keys, trail)
    assert sig.rc == 0 and f"signed by {HOSTILE_SHOWN}" in sig.out
    assert done.safe() and sig.safe()


def test_provider_scan_escapes_key_paths_and_file_names(tmp_path):
    (tmp_path / "config.yaml").write_text("k\u202ex\u200b:\n  model: claude-3\n")
    (tmp_path / f"n{HOSTILE_NAME}.txt").write_text("anthropic\n")
    done = run("provider_scan", "-v", tmp_path)
    assert done.rc == 1
    assert done.safe(), done.out
    assert f"{tmp_path}/config.yaml:2:10: 'claude' (anthropic) in [\"k\\u202ex\\u200b\"].model" \
        in done.out.splitlines()
    assert f"n{HOSTILE_SHOWN}.txt:1:1" in done.out
    as_json = run("provider_scan", "--json", tmp_path)
    assert as_json.safe()
    files = {f["file"] for f in json.loads(as_json.out)["findings"]}
    assert str(tmp_path / f"n{HOSTILE_NAME}.txt") in files  # JSON keeps the exact name


def test_overlay_check_escapes_what_it_shows(tmp_path):
    bad = tmp_path / f"{HOSTILE_NAME}.json"
    bad.write_text("{")
    done = run("overlay_check", bad)
    assert done.rc == 1
    assert done.out.startswith(f"{tmp_path}/{HOSTILE_SHOWN}.json: ")
    assert done.safe()
