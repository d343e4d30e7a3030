"""Tests for the banned_providers module (run in-process with the run_module fixture)."""

from __future__ import annotations

import shutil
from pathlib import Path

import banned_providers
import pytest

DATA = Path(__file__).resolve().parents[2] / "data" / "providers"

CLEAN_CHAIN = [
    {"name": "local", "base_url": "http://127.0.0.1:11434/v1", "model": "qwen2.5"},
    {"name": "groq", "base_url": "https://api.groq.example/openai/v1", "model": "llama-3.1"},
]
BANNED_CHAIN = [*CLEAN_CHAIN,
                {"name": "direct", "base_url": "https://api.anthropic.com/v1", "model": "m"}]


@pytest.fixture
def tree(tmp_path):
    for name in ("config-clean.yaml", "channels-clean.json", "SOUL.md"):
        shutil.copy(DATA / name, tmp_path / name)
    return tmp_path


@pytest.mark.parametrize("check_mode", [False, True])
def test_clean_pass(run_module, tree, check_mode):
    (tree / "SOUL.md").unlink()
    status, result = run_module(banned_providers, {
        "providers": CLEAN_CHAIN, "data": {"hermes_config": {"model": {"default": "qwen"}}},
        "paths": [str(tree)], "banned": ["anthropic"],
    }, check_mode=check_mode)
    assert status == "exit", result
    assert result["changed"] is False
    assert result["findings"] == [] and result["allowed"] == [] and result["errors"] == []
    assert result["scanned"]["variables"] == ["golden_state_providers", "hermes_config"]
    assert len(result["scanned"]["files"]) == 2


@pytest.mark.parametrize("check_mode", [False, True])
def test_fails_listing_every_finding(run_module, tree, check_mode):
    shutil.copy(DATA / "config-banned.yaml", tree / "config.yaml")
    status, result = run_module(banned_providers, {
        "providers": BANNED_CHAIN,
        "data": {"hermes_env": {"ANTHROPIC_API_KEY": "x"}, "banned_providers": ["anthropic"]},
        "paths": [str(tree)],
    }, check_mode=check_mode)
    assert status == "fail"
    assert result["changed"] is False
    paths = {(f["file"] and Path(f["file"]).name, f["path"]) for f in result["findings"]}
    assert (None, "golden_state_providers[2].base_url") in paths
    assert (None, "hermes_env.ANTHROPIC_API_KEY") in paths
    assert ("config.yaml", "model.default") in paths
    assert ("SOUL.md", None) in paths
    # the ban's own declaration is allowed, not a failure
    assert {f["path"] for f in result["allowed"]} == {"banned_providers[0]"}
    assert "config.yaml:3:12: 'claude' (anthropic) in model.default" in result["msg"]
    assert "golden_state_providers[2].base_url: 'api.anthropic.com' (anthropic)" in result["msg"]
    assert result["msg"].startswith(f"{len(result['findings'])} banned-provider finding(s)")


def test_allowlist_turns_findings_into_allowed(run_module, tree):
    status, result = run_module(banned_providers, {
        "paths": [str(tree)],
        "allowlist": [{"path": "*/SOUL.md", "term": "claude", "reason": "identity prose"},
                      {"path": "SOUL.md", "term": "anthropic", "reason": "names what it avoids"}],
    })
    assert status == "exit", result["msg"]
    assert sorted(f["reason"] for f in result["allowed"]) == ["identity prose",
                                                              "names what it avoids"]


def test_custom_banned_provider_dict(run_module):
    status, result = run_module(banned_providers, {
        "banned": [{"name": "acme", "terms": ["api.acme.example"]}],
        "providers": [{"name": "x", "base_url": "https://API.ACME.example/v1"},
                      {"name": "claude-but-not-banned-here"}],
    })
    assert status == "fail"
    assert [(f["provider"], f["path"]) for f in result["findings"]] == [
        ("acme", "golden_state_providers[0].base_url")]


@pytest.mark.parametrize(("args", "message"), [
    ({"banned": []}, "at least one provider"),
    ({"banned": [{"terms": ["x"]}]}, "banned[0]"),
    ({"allowlist": [{"path": "x"}]}, "allowlist[0]"),
])
def test_bad_parameters_fail_cleanly(run_module, args, message):
    status, result = run_module(banned_providers, args)
    assert status == "fail"
    assert message in result["msg"]


def test_missing_path_fails_closed(run_module, tmp_path):
    status, result = run_module(banned_providers, {"paths": [str(tmp_path / "nope")]})
    assert status == "fail"
    assert result["findings"] == []
    assert "no such file" in result["errors"][0]
    assert "cannot scan" in result["msg"]


def test_providers_name_sets_the_root(run_module):
    status, result = run_module(banned_providers, {
        "providers": ["anthropic/claude-3-haiku"], "providers_name": "chain"})
    assert status == "fail"
    assert {f["path"] for f in result["findings"]} == {"chain[0]"}
