"""Tests for the banned-provider Jinja filters."""

from __future__ import annotations

import providers
import pytest
from ansible.errors import AnsibleFilterError

CHAIN = [
    {"name": "local", "base_url": "http://127.0.0.1:11434/v1", "model": "qwen2.5"},
    {"name": "router", "base_url": "https://openrouter.example/v1",
     "model": "openrouter/anthropic/claude-3.5-sonnet"},
    {"name": "poet", "model": "haiku-writer-llama", "notes": "Claudette's"},
    {"name": "direct", "base_url": "https://api.anthropic.com/v1"},
]


def test_filters_are_registered():
    assert set(providers.FilterModule().filters()) == {
        "banned_entries", "is_banned_provider", "banned_findings"}


def test_banned_entries_default_ban():
    assert providers.banned_entries(CHAIN) == [CHAIN[1], CHAIN[3]]
    assert providers.banned_entries(CHAIN[:1]) == []
    assert providers.banned_entries([]) == [] and providers.banned_entries(None) == []


def test_banned_entries_custom_ban():
    assert providers.banned_entries(CHAIN, ["openai"]) == []
    assert providers.banned_entries(CHAIN, [{"name": "openrouter"}]) == [CHAIN[1]]


@pytest.mark.parametrize(("entry", "banned"), [
    ("claude-3-opus", True), ("Claude", True), ({"model": "anthropic/x"}, True),
    ("qwen", False), ({"name": "local"}, False), ("a haiku", False),
])
def test_is_banned_provider(entry, banned):
    assert providers.is_banned_provider(entry) is banned


def test_banned_findings_are_dicts_with_paths():
    findings = providers.banned_findings(CHAIN, root="golden_state_providers")
    assert [f["path"] for f in findings] == [
        "golden_state_providers[1].model", "golden_state_providers[1].model",
        "golden_state_providers[3].base_url"]
    assert providers.banned_findings(["anthropic"], root="banned_providers") == []


def test_bad_input_raises_filter_errors():
    with pytest.raises(AnsibleFilterError, match="banned_entries"):
        providers.banned_entries(42)
    with pytest.raises(AnsibleFilterError, match="is_banned_provider: banned"):
        providers.is_banned_provider("x", [])
