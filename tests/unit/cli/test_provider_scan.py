"""provider-scan: exit codes, human and JSON output, --banned, --config."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_cli import provider_scan

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "providers"


@pytest.fixture
def clean(tmp_path):
    shutil.copy(DATA / "config-clean.yaml", tmp_path / "config.yaml")
    shutil.copy(DATA / "channels-clean.json", tmp_path / "channels.json")
    return tmp_path


def test_clean_tree_exits_0(clean, capsys):
    assert provider_scan.main([str(clean)]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "0 finding(s)" in err and "2 file(s) scanned" in err


def test_findings_exit_1_with_file_line_col_lines(clean, capsys):
    (clean / "bad.yaml").write_text("model:\n  default: claude-3-opus\n")
    assert provider_scan.main([str(clean)]) == 1
    out, _ = capsys.readouterr()
    assert out.splitlines() == [f"{clean}/bad.yaml:2:12: 'claude' (anthropic) in model.default"]


def test_json_report(clean, capsys):
    (clean / "notes.txt").write_text("see https://api.anthropic.com/v1\n")
    assert provider_scan.main(["--json", str(clean)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"findings", "allowed", "scanned", "errors"}
    (finding,) = report["findings"]
    assert (finding["line"], finding["column"], finding["term"]) == (1, 13, "api.anthropic.com")
    assert len(report["scanned"]["files"]) == 3


def test_banned_option_replaces_default(clean, capsys):
    (clean / "a.txt").write_text("claude and openai\n")
    assert provider_scan.main(["--banned", "openai", str(clean / "a.txt")]) == 1
    out, _ = capsys.readouterr()
    assert "(openai)" in out and "(anthropic)" not in out
    assert provider_scan.main(["--banned", "mistral", str(clean / "a.txt")]) == 0


def test_config_banned_and_allowlist(clean, capsys):
    shutil.copy(DATA / "SOUL.md", clean / "SOUL.md")
    config = clean / "scan.yaml"
    config.write_text(
        "banned:\n  - anthropic\n  - {name: acme, terms: [acme-llm]}\n"
        "allowlist:\n  - {path: SOUL.md, term: anthropic, reason: prose}\n"
        "  - {path: '*SOUL.md', term: claude, reason: prose}\n")
    soul = str(clean / "SOUL.md")
    assert provider_scan.main(["--config", str(config), "-v", soul]) == 0
    out, _ = capsys.readouterr()
    assert out.count("allowed: prose") == 2
    (clean / "x.md").write_text("ACME_LLM\n")
    assert provider_scan.main(["--config", str(config), str(clean / "x.md")]) == 1


@pytest.mark.parametrize("content", ["- not a mapping\n", "bogus: 1\n", "banned: x\n",
                                     "banned: [{terms: [x]}]\n", "allowlist: [{path: x}]\n",
                                     "banned: [\n"])
def test_bad_config_is_usage_error(clean, capsys, content):
    config = clean / "scan.cfg"
    config.write_text(content)
    assert provider_scan.main(["--config", str(config), str(clean)]) == 2
    err = capsys.readouterr().err
    assert "provider-scan: error:" in err and "Traceback" not in err


def test_missing_config_and_paths_are_exit_2(clean, capsys):
    assert provider_scan.main(["--config", str(clean / "nope.yaml"), str(clean)]) == 2
    (clean / "bad.txt").write_text("claude\n")
    assert provider_scan.main([str(clean / "bad.txt"), str(clean / "missing")]) == 2
    out, err = capsys.readouterr()
    assert "bad.txt:1:1" in out  # findings are still reported
    assert "missing: no such file or directory" in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        provider_scan.main([])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        provider_scan.main(["--bogus", "x"])
    assert exc.value.code == 2


def test_runs_from_a_checkout(clean):
    (clean / "bad.json").write_text('{"provider": "Anthropic"}\n')
    proc = subprocess.run([sys.executable, "-m", "fleet_cli.provider_scan", str(clean)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.strip().endswith("bad.json:1:15: 'anthropic' (anthropic) in provider")


def test_escaped_name_in_yaml_is_judged_decoded(clean, capsys):
    # the source text shows no banned name; the value the host reads is "anthropic"
    (clean / "escaped.yaml").write_text('chain:\n  - provider: "\\x61nthropic"\n')
    assert provider_scan.main([str(clean)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [
        f"{clean}/escaped.yaml:2:15: 'anthropic' (anthropic) in chain[0].provider (decoded value)"]
    assert "1 finding(s)" in err
