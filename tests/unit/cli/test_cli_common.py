"""Tests for cli_common, the helpers the console scripts share, in both ways they run."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleet import signing as fs
from fleet_cli import cli_common

ROOT = Path(__file__).resolve().parents[3]


def test_error_prints_prog_command_and_returns_status(capsys):
    assert cli_common.error("trustctl", "sign", "bad key") == 1
    assert cli_common.error("trustctl", "init-root", "usage", 2) == 2
    assert capsys.readouterr().err == ("trustctl sign: error: bad key\n"
                                       "trustctl init-root: error: usage\n")


@pytest.mark.parametrize(("func", "text", "value"), [
    (cli_common.positive_int, "1", 1), (cli_common.positive_int, " 7 ", 7),
    (cli_common.non_negative_int, "0", 0), (cli_common.non_negative_int, "3", 3),
])
def test_int_types_accept(func, text, value):
    assert func(text) == value


@pytest.mark.parametrize(("func", "text", "message"), [
    (cli_common.positive_int, "0", "must be at least 1"),
    (cli_common.positive_int, "x", "not an integer: 'x'"),
    (cli_common.non_negative_int, "-1", "must be 0 or more"),
    (cli_common.non_negative_int, "1.5", "not an integer: '1.5'"),
])
def test_int_types_reject(func, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        func(text)


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / "k.key"
    path.write_text(fs.generate_secret_key().secret_hex() + "\n")
    path.chmod(0o600)
    return path


def _sign_files(key_path, paths):
    return cli_common.sign_files(
        lambda command, message: cli_common.error("tool", command, message),
        str(key_path), [str(p) for p in paths],
        lambda path, key: fs.sign_file(path, key),
        lambda path, pubkey, plan: f"{path}: signed ({len(plan.after)})")


def test_sign_files_signs_reports_and_keeps_going(tmp_path, key_file, capsys):
    good = tmp_path / "a.txt"
    good.write_text("a")
    missing = tmp_path / "missing.txt"
    assert _sign_files(key_file, [missing, good]) == 1
    out, err = capsys.readouterr()
    assert out == f"{good}: signed (1)\n"
    assert err == f"tool sign: error: {missing}: cannot read artifact: No such file or directory\n"
    assert _sign_files(key_file, [good]) == 0
    pubkey = fs.public_key_hex(fs.read_secret_key_file(str(key_file)))
    assert capsys.readouterr().out == (f"{good}: already signed by {pubkey} in {good}.sig; "
                                       f"unchanged\n")


def test_sign_files_refuses_bad_key_files(tmp_path, key_file, capsys):
    key_file.chmod(0o644)
    assert _sign_files(key_file, [tmp_path / "a"]) == 1
    assert "chmod 600" in capsys.readouterr().err


@pytest.mark.parametrize("tool", ["trailctl", "trustctl"])
def test_installed_package_imports(tmp_path, tool):
    """As console scripts run them: fleet_cli.<tool>, module_utils as top-level modules."""
    (tmp_path / "fleet_cli").symlink_to(ROOT / "cli")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT / "module_utils")])}
    code = f"import sys; from fleet_cli.{tool} import main; sys.exit(main())"
    done = subprocess.run([sys.executable, "-c", code, "sign", "--key", str(tmp_path / "none"),
                           str(tmp_path / "a")], capture_output=True, text=True, env=env,
                          cwd=tmp_path, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stderr == (f"{tool} sign: error: {tmp_path / 'none'}: cannot read key file: "
                           f"No such file or directory\n")


def test_sign_files_without_coincurve_is_an_error_line_not_a_traceback(
        tmp_path, key_file, capsys, monkeypatch):
    monkeypatch.setattr(fs, "coincurve", None)
    assert _sign_files(key_file, [tmp_path / "a"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("tool sign: error: the coincurve library is required")
    assert "Traceback" not in err
