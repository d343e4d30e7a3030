"""Tests for the role_variables module (run in-process with the run_module fixture)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import role_variables
import yaml

SECRET = "s3cr3t-VALUE-never-shown-4b2e"


def write_spec(path: Path, options: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"argument_specs": {"main": {
        "short_description": "x",
        "options": {name: {"type": "str", "description": name} for name in options}}}}))
    return path


@pytest.fixture
def repo(tmp_path):
    """A repository: two roles, a site spec and an inventory setting a misspelt name."""
    write_spec(tmp_path / "roles" / "harness_service" / "meta" / "argument_specs.yml",
               ["harness_service_command", "harness_service_user"])
    write_spec(tmp_path / "roles" / "golden_state" / "meta" / "argument_specs.yml",
               ["golden_state_providers"])
    write_spec(tmp_path / "playbooks" / "vars" / "site.argument_specs.yml",
               ["golden_state_branch"])
    group_vars = tmp_path / "inventory" / "group_vars"
    group_vars.mkdir(parents=True)
    (group_vars / "wizards.yml").write_text(
        f"---\nharness_service_comand: {SECRET}\ngolden_state_branch: main\n")
    (tmp_path / "inventory" / "hosts").write_text(
        f"[wizards]\nezra golden_state_brnch={SECRET}\n")
    return tmp_path


def args(repo: Path, names: list[str], **extra) -> dict:
    return dict({
        "names": names,
        "roles_dir": str(repo / "playbooks" / ".." / "roles"),
        "spec_files": [str(repo / "playbooks" / "vars" / "site.argument_specs.yml")],
        "sources": [str(repo / "inventory")],
    }, **extra)


GOOD = ["harness_service_command", "golden_state_branch", "golden_state_providers",
        "__golden_state_files", "wizard_user"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_all_declared_passes(run_module, repo, check_mode):
    status, result = run_module(role_variables, args(repo, GOOD), check_mode=check_mode)
    assert status == "exit", result["msg"]
    assert result["changed"] is False
    assert result["undeclared"] == []
    assert result["checked"] == 3
    assert result["msg"] == "3 role variable(s) checked, all declared"


@pytest.mark.parametrize("check_mode", [False, True])
def test_fails_listing_every_undeclared_name(run_module, repo, check_mode):
    names = [*GOOD, "harness_service_comand", "golden_state_brnch"]
    status, result = run_module(role_variables, args(repo, names), check_mode=check_mode)
    assert status == "fail"
    assert result["changed"] is False
    assert result["checked"] == 5
    assert result["msg"] == (
        "2 undeclared role variable(s): "
        "golden_state_brnch: not declared by role golden_state (set in inventory/hosts); "
        "did you mean golden_state_branch? | "
        "harness_service_comand: not declared by role harness_service "
        "(set in inventory/group_vars/wizards.yml); did you mean harness_service_command?")
    assert result["undeclared"] == [
        {"name": "golden_state_brnch", "role": "golden_state",
         "suggestions": ["golden_state_branch"], "sources": ["inventory/hosts"]},
        {"name": "harness_service_comand", "role": "harness_service",
         "suggestions": ["harness_service_command"],
         "sources": ["inventory/group_vars/wizards.yml"]},
    ]
    assert SECRET not in json.dumps(result)


def test_without_sources_the_line_names_no_file(run_module, repo):
    status, result = run_module(role_variables, args(
        repo, ["harness_service_comand"], sources=[]))
    assert status == "fail"
    assert result["msg"] == ("1 undeclared role variable(s): harness_service_comand: not "
                             "declared by role harness_service; did you mean "
                             "harness_service_command?")
    assert result["undeclared"][0]["sources"] == []


def test_allowlist_allows_with_a_reason(run_module, repo):
    status, result = run_module(role_variables, args(
        repo, [*GOOD, "harness_service_comand"],
        allowlist=[{"name": "harness_service_com*", "reason": "kept for a migration"}]))
    assert status == "exit", result["msg"]
    assert result["checked"] == 4


@pytest.mark.parametrize(("extra", "message"), [
    ({"allowlist": [{"name": "harness_service_comand"}]},
     "role_variables: allowlist[0]: 'reason' must be a non-empty string"),
    ({"spec_files": ["/nonexistent/site.argument_specs.yml"]},
     "role_variables: /nonexistent/site.argument_specs.yml: cannot read"),
    ({"roles_dir": "/nonexistent/roles"}, "role_variables: /nonexistent/roles: roles directory"),
])
def test_bad_input_fails_cleanly(run_module, repo, extra, message):
    status, result = run_module(role_variables, args(repo, GOOD, **extra))
    assert status == "fail"
    assert result["msg"].startswith(message), result["msg"]
    assert result["undeclared"] == [] and result["checked"] == 0


def test_malformed_role_spec_fails_naming_it(run_module, repo):
    spec = repo / "roles" / "golden_state" / "meta" / "argument_specs.yml"
    spec.write_text("argument_specs: [unclosed\n")
    status, result = run_module(role_variables, args(repo, GOOD))
    assert status == "fail"
    assert str(spec) in result["msg"] and "not valid YAML" in result["msg"]
