"""trailctl: exit codes, outputs, compile from YAML, disasm modes, plugin hook."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from fleet import trail as ft
from fleet_cli import trailctl

ROOT = Path(__file__).resolve().parents[3]
WORKLOG_YAML = """\
- op: TRAIL_BEGIN
  agent: alice
  trail_id: run-7
  ts: 1700000000
- {op: file_read, path: src/a.py}
- {op: TRUST_UPDATE, target: bob, delta: -2}
- {op: NOP}
- {op: TRAIL_END, status: success}
"""


@pytest.fixture
def trail(tmp_path):
    src = tmp_path / "log.yaml"
    src.write_text(WORKLOG_YAML)
    out = tmp_path / "run.trail"
    assert trailctl.main(["compile", str(src), "-o", str(out)]) == 0
    return out


def test_compile_from_yaml(trail, tmp_path, capsys):
    data = trail.read_bytes()
    assert data == ft.compile_bytes(ft.load_worklog(WORKLOG_YAML))
    assert trailctl.main(["compile", str(tmp_path / "log.yaml"), "-o", str(trail)]) == 0
    assert hashlib.sha256(data).hexdigest() in capsys.readouterr().err
    assert trail.read_bytes() == data  # same input, same bytes


def test_compile_from_json_stdin_to_stdout(monkeypatch, capsysbinary):
    entries = ft.load_worklog(WORKLOG_YAML)
    fake_stdin = types.SimpleNamespace(buffer=__import__("io").BytesIO(
        json.dumps(entries).encode()))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    assert trailctl.main(["compile", "-", "-o", "-"]) == 0
    assert capsysbinary.readouterr().out == ft.compile_bytes(entries)


@pytest.mark.parametrize(("text", "words"), [
    ("- op: [oops\n", "neither JSON nor valid YAML"),
    ("- {op: FILE_READ}\n- {op: TRAIL_END, status: 0}\n", "entry 0"),
    ('[{"op": "TRAIL_BEGIN", "agent": "a", "trail_id": "t", "ts": 1},'
     ' {"op": "LEVEL_UP", "level": 70000}, {"op": "TRAIL_END", "status": 0}]',
     "entry 1 (LEVEL_UP): field 'level' = 70000 is out of range"),
])
def test_compile_bad_input_exit_1(tmp_path, capsys, text, words):
    src = tmp_path / "bad.yaml"
    src.write_text(text)
    assert trailctl.main(["compile", str(src), "-o", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert words in err and "bad.yaml" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_compile_missing_input(tmp_path, capsys):
    assert trailctl.main(["compile", str(tmp_path / "nope"), "-o", "x"]) == 1
    assert "No such file" in capsys.readouterr().err


def test_verify_ok_human(trail, capsys):
    assert trailctl.main(["verify", str(trail)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{trail}: OK 5 steps, sha256 ")


def test_verify_invalid_human(trail, capsys):
    trail.write_bytes(trail.read_bytes() + b"\x00")
    assert trailctl.main(["verify", str(trail)]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{trail}:offset 0x")
    assert "TRAILING_BYTES" in out


def test_verify_step_in_human_line(trail, capsys):
    data = bytearray(trail.read_bytes())
    data[10] = 0x42  # first step after TRAIL_BEGIN
    trail.write_bytes(bytes(data))
    assert trailctl.main(["verify", str(trail)]) == 1
    assert f"{trail}:offset 0xa: step 1: UNKNOWN_OPCODE" in capsys.readouterr().out


def test_verify_json(trail, tmp_path, capsys):
    assert trailctl.main(["verify", "--json", str(trail), str(tmp_path / "gone")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    first, second = report["trails"]
    assert first["valid"] is True and first["histogram"]["NOP"] == 1
    assert first["agent"] == "alice" and first["status"] == "success"
    assert second["findings"][0]["code"] == "READ_ERROR"


def test_verify_expect(trail, capsys):
    fp = hashlib.sha256(trail.read_bytes()).hexdigest()
    assert trailctl.main(["verify", "--expect", fp, str(trail)]) == 0
    assert trailctl.main(["verify", "--expect", "1" * 64, str(trail)]) == 1
    assert "FINGERPRINT_MISMATCH" in capsys.readouterr().out


def test_verify_max_size(trail, capsys):
    assert trailctl.main(["verify", "--max-size", "8", str(trail)]) == 1
    assert "TOO_LARGE" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [
    [],
    ["frobnicate"],
    ["verify"],
    ["verify", "--max-size", "zero", "x"],
    ["compile", "in.yaml"],  # -o is required
    ["verify", "--expect", "a", "--expect", "b", "f1", "f2", "f3"],
    ["verify", "--threshold", "1", "f"],  # threshold without trusted keys
])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        trailctl.main(argv)
    assert info.value.code == 2


def test_disasm_modes(trail, capsys):
    assert trailctl.main(["disasm", str(trail)]) == 0
    plain = capsys.readouterr().out
    assert '    10  FILE_READ path="src/a.py"' in plain
    assert "TRUST_UPDATE target=\"bob\" delta=-2" in plain
    assert trailctl.main(["disasm", "--hex", str(trail)]) == 0
    assert '0x000a  FILE_READ path="src/a.py"' in capsys.readouterr().out
    assert trailctl.main(["disasm", "--verbose", str(trail)]) == 0
    verbose = capsys.readouterr().out
    assert f"{ft.key_hex(ft.string_key('alice'))} len=5 \"alice\"" in verbose
    assert trailctl.main(["disasm", "--compact", str(trail)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"TRAIL_BEGIN {ft.agent_id_for('alice')} \"run-7\" 1700000000",
        'FILE_READ "src/a.py"', 'TRUST_UPDATE "bob" -2', "NOP", "TRAIL_END 5 success"]


def test_disasm_invalid_exit_1(trail, capsys):
    trail.write_bytes(trail.read_bytes()[:-3])
    assert trailctl.main(["disasm", str(trail)]) == 1
    assert "TRUNCATED" in capsys.readouterr().out


def test_fingerprint(trail, tmp_path, capsys):
    assert trailctl.main(["fingerprint", str(trail)]) == 0
    assert capsys.readouterr().out == (
        f"{hashlib.sha256(trail.read_bytes()).hexdigest()}  {trail}\n")
    assert trailctl.main(["fingerprint", str(tmp_path / "nope")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_signature_policy_options(trail, tmp_path, capsys):
    from fleet import signing as signing
    secret = signing.generate_secret_key()
    keys = tmp_path / "trusted.yaml"
    keys.write_text(f"- name: ops\n  pubkey: {signing.public_key_hex(secret)}\n")
    assert trailctl.main(["verify", "--trusted-keys", str(keys), str(trail)]) == 1
    assert "SIGNATURE_MISSING" in capsys.readouterr().out
    signing.write_sig_file(f"{trail}.sig", [signing.sign_artifact(trail.read_bytes(), secret)])
    assert trailctl.main(["verify", "--trusted-keys", str(keys), str(trail)]) == 0
    assert "signed by ops" in capsys.readouterr().out
    revoked = tmp_path / "revoked.yaml"
    revoked.write_text(f"- {signing.public_key_hex(secret)}\n")
    assert trailctl.main(["verify", "--trusted-keys", str(keys), "--revoked-keys",
                          str(revoked), str(trail)]) == 1
    assert "SIGNATURE_REJECTED" in capsys.readouterr().out
    assert trailctl.main(["verify", "--trusted-keys", str(tmp_path / "none.yaml"),
                          str(trail)]) == 1
    assert "none.yaml" in capsys.readouterr().err


def test_plugin_hook_registers_subcommands(monkeypatch, capsys):
    plugin = types.ModuleType("trailctl_signing")

    def register(subparsers):
        hello = subparsers.add_parser("hello")
        hello.set_defaults(func=lambda args: 0)

    plugin.register = register
    monkeypatch.setitem(sys.modules, "fleet_cli.trailctl_signing", plugin)
    assert trailctl.main(["hello"]) == 0


def test_plugin_absent_is_skipped(monkeypatch):
    monkeypatch.setitem(sys.modules, "fleet_cli.trailctl_signing", None)  # import fails
    parser = trailctl.build_parser()
    assert parser.parse_args(["fingerprint", "x"]).command == "fingerprint"


def test_runs_from_checkout_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "fleet_cli.trailctl", "verify",
                             str(tmp_path / "missing.trail")], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 1
    assert "READ_ERROR" in result.stdout and "Traceback" not in result.stderr
    helped = subprocess.run([sys.executable, "-m", "fleet_cli.trailctl", "--help"],
                            capture_output=True, text=True, check=False)
    assert helped.returncode == 0 and "fingerprint" in helped.stdout
