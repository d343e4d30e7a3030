"""golden_state_overlay_check judges what the host receives: rendered, decoded values.

Each case hides a banned provider where the source text scan cannot see it
(an escape, a name a template assembled, a JSON escape, a secret file) or
breaks the config policy; the module must refuse it, naming the destination.
"""

from __future__ import annotations

from pathlib import Path

import golden_state_overlay_check as check_module
import pytest

ROOT = Path(__file__).resolve().parents[3]
ROLE = ROOT / "roles" / "golden_state"
BASE = (ROLE / "files" / "overlay" / "config.yaml").read_text()
CHAIN = [{"name": "ollama", "base_url": "http://127.0.0.1:11434/v1", "model": "qwen"}]
DEST = "/home/wizard/.hermes/config.yaml"


def check_args(base=BASE, files=(), secret_files=(), **extra):
    return {"config": {"src": str(ROLE / "files" / "overlay" / "config.yaml"), "dest": DEST,
                       "content": base},
            "providers": CHAIN, "header": "# managed\n",
            "files": list(files), "secret_files": list(secret_files),
            "schema": str(ROLE / "files" / "schema" / "config.v1.schema.json"),
            "policy": str(ROLE / "files" / "policy" / "config.yml"),
            "banned": ["anthropic"], **extra}


def test_the_repository_overlay_passes(run_module):
    status, result = run_module(check_module, check_args())
    assert status == "exit", result.get("msg")


@pytest.mark.parametrize("spelling", [
    '"\\x61nthropic"', '"\\u0061nthropic"', '"ant\\\n  hropic"', '"\\U00000061nthropic"'])
def test_an_escaped_name_in_config_yaml_is_refused_naming_the_destination(run_module, spelling):
    base = BASE.replace("vision:\n    provider: auto", f"vision:\n    provider: {spelling}")
    assert base != BASE
    status, result = run_module(check_module, check_args(base), check_mode=True)
    assert status == "fail"
    hits = [e for e in result["errors"] if "(anthropic)" in e]
    assert hits and all(e.startswith(DEST) for e in hits)
    assert any("auxiliary.vision.provider" in e for e in hits)


def test_a_name_a_template_assembled_is_judged_as_rendered(run_module):
    # What lookup('template') hands over for "{{ 'anthro' ~ 'pic' }}": the joined name.
    base = BASE.replace("compression:\n    provider: auto", "compression:\n    provider: anthropic")
    status, result = run_module(check_module, check_args(base))
    assert status == "fail" and "auxiliary.compression.provider" in result["msg"]


def test_an_escaped_name_in_a_json_file_is_refused(run_module):
    files = [{"src": "/repo/overlay/channel_directory.json",
              "dest": "/home/wizard/.hermes/channel_directory.json",
              "content": '{"channels": {"ops": {"model": "\\u0063laude-3"}}}'}]
    status, result = run_module(check_module, check_args(files=files))
    assert status == "fail"
    assert any(e.startswith("/home/wizard/.hermes/channel_directory.json (from /repo/overlay/"
                            "channel_directory.json)") and "channels.ops.model" in e
               for e in result["errors"])


def test_a_name_in_a_secret_file_is_refused_without_showing_its_content(run_module):
    secret = "token=hunter2-very-secret"
    files = [{"src": "/repo/overlay/api.env", "dest": "/home/wizard/.hermes/api.env",
              "content": f"{secret}\nbackend=cl\u200daude\n"}]
    status, result = run_module(check_module, check_args(secret_files=files))
    assert status == "fail" and "/home/wizard/.hermes/api.env" in result["msg"]
    assert "hunter2" not in repr(result)


def test_a_remote_endpoint_is_refused_with_the_rule_and_allowlisting_it_passes(run_module):
    chain = [{"name": "gw", "base_url": "https://models.example.net/v1", "model": "m"}]
    status, result = run_module(check_module, {**check_args(), "providers": chain})
    assert status == "fail"
    assert "model.providers[0].base_url" in result["msg"]
    assert "endpoints.local_or_allowed" in result["msg"]
    allow = [{"host": "models.example.net", "reason": "the fleet's gateway"}]
    status, result = run_module(check_module, {**check_args(), "providers": chain,
                                               "endpoint_allowlist": allow})
    assert status == "exit", result.get("msg")


def test_an_inline_credential_is_refused_without_its_value(run_module):
    base = BASE.replace("privacy:\n", "privacy:\n  api_key: sk-live-0123456789abcdef0123\n")
    status, result = run_module(check_module, check_args(base))
    assert status == "fail" and "credentials.no_inline" in result["msg"]
    assert "0123456789abcdef" not in repr(result)


def test_an_allowlisted_mention_passes(run_module):
    files = [{"src": "/repo/overlay/SOUL.md", "dest": "/home/wizard/.timmy/SOUL.md",
              "content": "You are not Claude.\n"}]
    status, result = run_module(check_module, check_args(files=files))
    assert status == "fail"
    allow = [{"path": "*/SOUL.md", "term": "claude", "reason": "identity text"}]
    status, result = run_module(check_module, check_args(files=files, allowlist=allow))
    assert status == "exit", result.get("msg")


def test_an_endpoint_allowlist_entry_without_a_reason_is_a_clear_error(run_module):
    status, result = run_module(check_module, check_args(
        endpoint_allowlist=[{"host": "models.example.net"}]))
    assert status == "fail" and "golden_state_endpoint_allowlist[0]" in result["msg"]
    assert "reason" in result["msg"]
