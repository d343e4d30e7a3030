"""overlay-check: exit codes, error lines with file and JSON path, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import overlay_check
import pytest

ROOT = Path(__file__).resolve().parents[3]
OVERLAY = ROOT / "roles" / "golden_state" / "files" / "overlay"
PROVIDERS = ROOT / "inventory" / "group_vars" / "wizards.yml"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_default_overlay_is_valid_with_the_inventory_chain(capsys):
    rc = overlay_check.main(["--providers", str(PROVIDERS), str(OVERLAY / "config.yaml")])
    assert rc == 0, capsys.readouterr()


def test_json_file_syntax(tmp_path, capsys):
    good = write(tmp_path, "channel_directory.json", '{"a": 1}')
    bad = write(tmp_path, "other.json", '{"a": }')
    assert overlay_check.main([good]) == 0
    assert overlay_check.main([good, bad]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{bad}: invalid JSON at line 1 column 7")


def test_schema_errors_name_file_and_path(tmp_path, capsys):
    text = (OVERLAY / "config.yaml").read_text().replace("max_turns: 60", "max_turns: -1")
    path = write(tmp_path, "config.yaml", text)
    rc = overlay_check.main(["--providers", str(PROVIDERS), path])
    out = capsys.readouterr().out.splitlines()
    assert rc == 1
    assert out == [f"{path}: $.agent.max_turns: -1 is less than the minimum of 1"]


def test_config_without_chain_needs_model(capsys):
    assert overlay_check.main([str(OVERLAY / "config.yaml")]) == 1
    assert "$.model: 'default' is a required property" in capsys.readouterr().out


def test_config_option_forces_schema(tmp_path, capsys):
    path = write(tmp_path, "harness.yml", "toolsets: web\n")
    assert overlay_check.main(["--config", path]) == 1
    assert f"{path}: $.toolsets: 'web' is not of type 'array'" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [[], ["--providers", "/nonexistent.yml", "x.json"],
                                  ["--schema", "/nonexistent.json", "config.yaml"],
                                  ["--bogus"]])
def test_usage_errors_exit_2(argv, capsys):
    try:
        rc = overlay_check.main(argv)
    except SystemExit as exc:  # argparse
        rc = exc.code
    assert rc == 2
    assert "Traceback" not in capsys.readouterr().err


def test_unreadable_and_non_utf8_files_exit_1(tmp_path, capsys):
    binary = tmp_path / "x.json"
    binary.write_bytes(b"\xff\xfe")
    assert overlay_check.main([str(binary), str(tmp_path / "missing.json")]) == 1
    out = capsys.readouterr().out
    assert "not UTF-8" in out and "cannot read" in out


def test_runs_from_a_checkout():
    proc = subprocess.run([sys.executable, str(ROOT / "cli" / "overlay_check.py"), "-q",
                           str(OVERLAY / "channel_directory.json")],
                          capture_output=True, text=True, check=False)
    # the source is a template ({{ wizard_name }} as a key is still valid JSON)
    assert proc.returncode == 0, proc.stdout + proc.stderr
