"""trust_decision filter: the one decision, and a clear error for a malformed policy."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from trust import FilterModule

DECIDE = FilterModule().filters()["trust_decision"]
KEYS = [{"name": "alice", "pubkey": "11" * 32}]


def test_a_skipped_root_task_means_the_inventory_decides():
    decision = DECIDE({"skipped": True}, KEYS, [], 1)
    assert decision["source"] == "inventory" and decision["trusted_keys"] == KEYS


def test_a_verified_root_overrides_the_inventory_and_names_what_it_ignores():
    root = {"trusted_keys": [{"name": "ci", "pubkey": "22" * 32}], "revoked_keys": [],
            "threshold": 1, "version": 3}
    decision = DECIDE(root, KEYS, [], 1)
    assert decision["source"] == "trust_root" and decision["ignored_keys"] == ["alice"]
    assert decision["trusted_keys"] == root["trusted_keys"]


def test_a_malformed_policy_is_a_filter_error_naming_the_variable():
    with pytest.raises(AnsibleFilterError, match="trust_decision: fleet_trusted_keys"):
        DECIDE(None, "alice")
