"""file_tree action plugin: each entry's src is read on the controller and sent as base64."""

from __future__ import annotations

import base64
import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import VaultLib, VaultSecret
from ansible.plugins.action import ActionBase

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("file_tree_action",
                                               ROOT / "action_plugins" / "file_tree.py")
file_tree_action = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(file_tree_action)
ActionModule = file_tree_action.ActionModule

BINARY = b"\x00\x01\xff\xfe\x00 not text \x00\n"
VAULT_PASSWORD = b"generated-for-this-test"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "blob.bin").write_bytes(BINARY)
    (tmp_path / "empty").write_bytes(b"")
    vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD))])
    (tmp_path / "api.env").write_bytes(vault.encrypt(b"API_KEY=from-the-vault\n"))
    return {"blob.bin": str(tmp_path / "blob.bin"), "empty": str(tmp_path / "empty"),
            "api.env": str(tmp_path / "api.env"),
            "vanished": str(tmp_path / "vanished")}


@pytest.fixture
def action(files):
    """An ActionModule without Ansible's task machinery: _find_needle maps names to files."""
    plugin = ActionModule.__new__(ActionModule)
    plugin.searched = []

    def find_needle(dirname, needle):
        plugin.searched.append((dirname, needle))
        if needle not in files:
            raise AnsibleFileNotFound(f"Could not find or access '{needle}'")
        return files[needle]

    plugin._find_needle = find_needle
    plugin._loader = DataLoader()
    plugin._loader.set_vault_secrets([("default", VaultSecret(VAULT_PASSWORD))])
    return plugin


@pytest.mark.parametrize("entry", [
    {"path": "/etc/x", "content": "text"},
    {"path": "/etc/d", "state": "directory"},
    {"path": "/l", "target": "/t"},
    "not a mapping",
    None,
])
def test_entries_without_src_pass_through_unchanged(action, entry):
    assert action._read_src(0, entry) is entry
    assert action.searched == []


def test_src_becomes_content_base64_of_the_exact_bytes(action):
    entry = {"path": "/usr/local/lib/blob", "src": "blob.bin", "mode": "0755", "diff": False}
    sent = action._read_src(3, entry)
    assert sent == {"path": "/usr/local/lib/blob", "mode": "0755", "diff": False,
                    "content_base64": base64.b64encode(BINARY).decode("ascii")}
    assert base64.b64decode(sent["content_base64"]) == BINARY
    assert entry["src"] == "blob.bin" and "content_base64" not in entry  # caller's dict kept
    assert action.searched == [("files", "blob.bin")]


def test_an_empty_src_file_sends_empty_content(action):
    assert action._read_src(0, {"path": "/e", "src": "empty"}) == {"path": "/e",
                                                                   "content_base64": ""}


@pytest.mark.parametrize("other", ["content", "content_base64"])
def test_src_with_content_is_refused_naming_the_entry(action, other):
    with pytest.raises(AnsibleError) as caught:
        action._read_src(2, {"path": "/etc/x", "src": "blob.bin", other: "YQ=="})
    assert str(caught.value) == "entries[2] (/etc/x): give one of src, content and content_base64"
    assert action.searched == []


@pytest.mark.parametrize("src", [5, None, "", ["a"]])
def test_src_that_is_not_a_path_is_refused_naming_the_entry(action, src):
    with pytest.raises(AnsibleError) as caught:
        action._read_src(3, {"path": "/etc/w", "src": src})
    assert str(caught.value) == "entries[3] (/etc/w): src must be a path (a non-empty string)"
    assert action.searched == []


def test_src_that_cannot_be_found_names_the_entry(action):
    with pytest.raises(AnsibleError) as caught:
        action._read_src(4, {"path": "/etc/y", "src": "nowhere.conf"})
    message = str(caught.value)
    assert message.startswith("entries[4] (/etc/y): cannot read src nowhere.conf: ")
    assert "Could not find or access 'nowhere.conf'" in message


def test_src_that_cannot_be_read_names_the_entry(action):
    with pytest.raises(AnsibleError) as caught:
        action._read_src(1, {"path": "/etc/z", "src": "vanished"})
    message = str(caught.value)
    assert message.startswith("entries[1] (/etc/z): cannot read src vanished: ")
    assert "Could not find or access" in message and "vanished" in message


def test_run_sends_every_entry_and_stops_on_a_bad_src(action, monkeypatch):
    sent = []
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    action._execute_module = lambda module_name, module_args, task_vars: (
        sent.append((module_name, module_args)) or {"changed": True})
    action._task = SimpleNamespace(args={
        "entries": [{"path": "/a", "src": "blob.bin"}, {"path": "/b", "content": "x"}],
        "purge": ["/p/*.x"]})
    assert action.run(task_vars={}) == {"changed": True}
    assert sent == [("file_tree", {
        "entries": [{"path": "/a", "content_base64": base64.b64encode(BINARY).decode()},
                    {"path": "/b", "content": "x"}],
        "purge": ["/p/*.x"]})]
    assert action._task.args["entries"][0]["src"] == "blob.bin"  # task args untouched
    action._task = SimpleNamespace(args={"entries": [{"path": "/c", "src": "nowhere"}]})
    result = action.run(task_vars={})
    assert result["failed"] is True
    assert result["msg"].startswith("entries[0] (/c): cannot read src nowhere: ")
    assert len(sent) == 1  # the module was not called


def test_run_shows_content_sizes_not_content_in_the_invocation(action, monkeypatch):
    monkeypatch.setattr(ActionBase, "run", lambda self, tmp=None, task_vars=None: {})
    entries = [{"path": "/a", "content_base64": "AAAA", "mode": "0600"},
               {"path": "/b", "content": "long text"}, "odd"]
    action._execute_module = lambda module_name, module_args, task_vars: {
        "changed": False, "invocation": {"module_args": {"entries": entries, "purge": []}}}
    action._task = SimpleNamespace(args={"entries": []})
    shown = action.run(task_vars={})["invocation"]["module_args"]
    assert shown == {"entries": [{"path": "/a", "content_base64": "(4 characters)", "mode": "0600"},
                                 {"path": "/b", "content": "(9 characters)"}, "odd"],
                     "purge": []}


def test_a_vault_encrypted_src_is_sent_decrypted_and_without_diff(action, files):
    assert Path(files["api.env"]).read_bytes().startswith(b"$ANSIBLE_VAULT;")
    entry = action._read_src(0, {"path": "/home/wizard/.hermes/.env", "src": "api.env"})
    assert base64.b64decode(entry["content_base64"]) == b"API_KEY=from-the-vault\n"
    assert entry["diff"] is False


def test_a_plain_src_keeps_its_diff_setting(action):
    entry = action._read_src(0, {"path": "/x", "src": "blob.bin"})
    assert "diff" not in entry
