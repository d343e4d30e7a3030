"""Helpers for running Ansible modules in-process, as ansible/ansible's unit tests do."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class AnsibleExitJson(Exception):
    """Raised in place of exit_json; .result holds the module's result."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


class AnsibleFailJson(Exception):
    """Raised in place of fail_json; .result holds the module's result."""

    def __init__(self, result):
        super().__init__(result)
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault("changed", False)
    raise AnsibleExitJson(kwargs)


def _fail_json(self, **kwargs):
    kwargs["failed"] = True
    raise AnsibleFailJson(kwargs)


@pytest.fixture
def run_module(monkeypatch):
    """Return run(module, args, check_mode=False, diff=False) -> (status, result).

    status is "exit" or "fail"; the result dict is what the module returned.
    """
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", _fail_json)

    def run(module, args, check_mode=False, diff=False):
        payload = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff,
                       _ansible_remote_tmp="/tmp", _ansible_keep_remote_files=False)
        serialized = json.dumps({"ANSIBLE_MODULE_ARGS": payload})
        monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(serialized))
        monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
        try:
            module.main()
        except AnsibleExitJson as done:
            return "exit", done.result
        except AnsibleFailJson as failed:
            return "fail", failed.result
        raise AssertionError("module returned without exit_json or fail_json")

    return run
