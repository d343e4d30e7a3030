"""overlay-check: exit codes, error lines with file and JSON path, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from fleet_cli import overlay_check

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
    proc = subprocess.run([sys.executable, "-m", "fleet_cli.overlay_check", "-q",
                           str(OVERLAY / "channel_directory.json")],
                          capture_output=True, text=True, check=False)
    # the source is a template ({{ wizard_name }} as a key is still valid JSON)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ---------------------------------------------------------------- config policy

POLICY = ROOT / "roles" / "golden_state" / "files" / "policy" / "config.yml"


def chain_file(tmp_path, base_url, **extra):
    chain = {"golden_state_providers": [{"name": "p", "base_url": base_url, "model": "m"}],
             **extra}
    return write(tmp_path, "chain.yml", yaml.safe_dump(chain))


def test_remote_base_url_is_refused_naming_the_rule(tmp_path, capsys):
    providers = chain_file(tmp_path, "https://api.example.com/v1")
    config = str(OVERLAY / "config.yaml")
    assert overlay_check.main(["--providers", providers, config]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{config}: model.providers[0].base_url: endpoint host 'api.example.com' is "
                   f"not local and not allowlisted (rule endpoints.local_or_allowed; to permit: "
                   f"add {{host: api.example.com, reason: ...}} to endpoints.allow in {POLICY})"]


def test_allowlisted_hosts_pass(tmp_path, capsys):
    config = str(OVERLAY / "config.yaml")
    assert overlay_check.main(["--providers", chain_file(tmp_path, "https://openrouter.ai/v1"),
                               config]) == 0
    # the inventory's golden_state_endpoint_allowlist extends the policy, as in the role
    allow = [{"host": "api.example.com", "reason": "test gateway"}]
    providers = chain_file(tmp_path, "https://api.example.com/v1",
                           golden_state_endpoint_allowlist=allow)
    assert overlay_check.main(["--providers", providers, config]) == 0, capsys.readouterr()
    # and a policy file of one's own
    policy = yaml.safe_load(POLICY.read_text())
    policy["endpoints"]["allow"] = allow
    mine = write(tmp_path, "policy.yml", yaml.safe_dump(policy))
    assert overlay_check.main(["--policy", mine, "--providers",
                               chain_file(tmp_path, "https://api.example.com/v1"), config]) == 0


def test_inline_api_key_is_refused_without_printing_the_value(tmp_path, capsys):
    secret = "sk-or-v1-" + "a1b2c3d4" * 4  # generated here, not a real key
    text = (OVERLAY / "config.yaml").read_text() + f"  web_extract:\n    api_key: {secret}\n"
    config = write(tmp_path, "config.yaml", text)
    assert overlay_check.main(["--providers", str(PROVIDERS), config]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        f"{config}: auxiliary.web_extract.api_key: key 'api_key' carries an inline value (not "
        f"shown) (rule credentials.no_inline; to permit: put the secret in a secret overlay "
        f"file (mode 0600) and refer to it by environment variable (${{NAME}}, or "
        f"api_key_env: NAME); if 'api_key' is not a credential, narrow credentials.keys in "
        f"{POLICY})"]
    assert secret not in captured.out + captured.err
    assert "a1b2c3d4" not in captured.out + captured.err


def test_no_policy_skips_it_and_a_broken_policy_is_a_usage_error(tmp_path, capsys):
    providers = chain_file(tmp_path, "https://api.example.com/v1")
    config = str(OVERLAY / "config.yaml")
    assert overlay_check.main(["--no-policy", "--providers", providers, config]) == 0
    bad = write(tmp_path, "policy.yml", "version: 1\nendpoints: {keys: [base_url]}\n")
    assert overlay_check.main(["--policy", bad, "--providers", providers, config]) == 2
    assert f"{bad}: credentials: missing" in capsys.readouterr().err
    no_reason = chain_file(tmp_path, "https://api.example.com/v1",
                           golden_state_endpoint_allowlist=[{"host": "api.example.com"}])
    assert overlay_check.main(["--providers", no_reason, config]) == 2
    assert "golden_state_endpoint_allowlist[0].reason" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        overlay_check.main(["--policy", bad, "--no-policy", config])
    assert exc.value.code == 2


def test_policy_is_not_needed_for_json_files(tmp_path):
    good = write(tmp_path, "x.json", "{}")
    assert overlay_check.main(["--policy", str(tmp_path / "missing.yml"), good]) == 0
