"""Tests for module_utils/fleet_role_vars.py (the role-variable typo guard)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fleet import role_vars as frv

ROOT = Path(__file__).resolve().parents[3]
SITE_SPEC = ROOT / "playbooks" / "vars" / "site.argument_specs.yml"
SECRET = "s3cr3t-VALUE-never-shown-7f1c"


def write_spec(path: Path, entries: dict[str, list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"argument_specs": {
        entry: {"short_description": entry, "options": {
            name: {"type": "str", "description": name} for name in names}}
        for entry, names in entries.items()}}
    path.write_text("---\n" + yaml.safe_dump(document))
    return path


@pytest.fixture
def roles(tmp_path):
    roles = tmp_path / "roles"
    write_spec(roles / "harness_service" / "meta" / "argument_specs.yml", {
        "main": ["harness_service_command", "harness_service_user", "harness_service_state"],
        "report": ["harness_service_report_path"],
    })
    write_spec(roles / "golden_state" / "meta" / "argument_specs.yml",
               {"main": ["golden_state_providers", "golden_state_user"]})
    write_spec(roles / "golden" / "meta" / "argument_specs.yaml", {"main": ["golden_url"]})
    (roles / "nospec" / "tasks").mkdir(parents=True)
    return roles


@pytest.fixture
def site_spec(tmp_path):
    return write_spec(tmp_path / "site.argument_specs.yml", {
        "site": ["golden_state_branch", "golden_state_repo_url", "wizard_user",
                 "harness_service_fleet_wide"]})


@pytest.fixture
def declared(roles, site_spec):
    return frv.load_declared(str(roles), [str(site_spec)])


# ------------------------------------------------------------------ loading

def test_load_declared_unions_entry_points_per_role(roles):
    declared = frv.load_declared(str(roles))
    assert declared == {
        "golden_": {"golden_url"},
        "golden_state_": {"golden_state_providers", "golden_state_user"},
        "harness_service_": {"harness_service_command", "harness_service_user",
                             "harness_service_state", "harness_service_report_path"},
    }


def test_extra_spec_names_join_their_longest_prefix(declared):
    assert "golden_state_branch" in declared["golden_state_"]
    assert "golden_state_branch" not in declared["golden_"]
    assert "harness_service_fleet_wide" in declared["harness_service_"]
    # a name without a role prefix is never checked, so it is not kept anywhere
    assert not any("wizard_user" in names for names in declared.values())


def test_internal_names_in_a_spec_are_dropped(tmp_path):
    write_spec(tmp_path / "roles" / "trails" / "meta" / "argument_specs.yml",
               {"main": ["trails_files", "__trails_internal"]})
    assert frv.load_declared(str(tmp_path / "roles")) == {"trails_": {"trails_files"}}


@pytest.mark.parametrize(("text", "message"), [
    ("argument_specs: [unclosed\n", "not valid YAML (line "),
    ("options: {}\n", "'argument_specs' mapping"),
    ("argument_specs: {main: [a]}\n", "argument_specs.main: expected a mapping"),
    ("argument_specs: {main: {options: [a]}}\n", "argument_specs.main.options"),
])
def test_malformed_spec_is_refused_naming_the_file(roles, text, message):
    spec = roles / "golden" / "meta" / "argument_specs.yaml"
    spec.write_text(text)
    with pytest.raises(ValueError, match=r"argument_specs\.yaml") as refused:
        frv.load_declared(str(roles))
    assert message in str(refused.value)


def test_missing_extra_spec_or_roles_dir_is_refused(roles, tmp_path):
    with pytest.raises(ValueError, match=r"nope\.yml: cannot read"):
        frv.load_declared(str(roles), [str(tmp_path / "nope.yml")])
    with pytest.raises(ValueError, match="roles directory not found"):
        frv.load_declared(str(tmp_path / "no-roles"))


# ------------------------------------------------------------------ checking

def test_longest_prefix_wins(declared):
    assert frv.role_prefix("golden_state_typo", declared) == "golden_state_"
    assert frv.role_prefix("golden_typo", declared) == "golden_"
    assert frv.role_prefix("goldenstate", declared) is None
    found = frv.undeclared(["golden_state_typo", "golden_typo"], declared)
    assert [(record.name, record.role) for record in found] == [
        ("golden_state_typo", "golden_state"), ("golden_typo", "golden")]


def test_declared_fleet_wide_and_unprefixed_names_pass(declared):
    names = ["harness_service_command", "golden_state_branch", "golden_url", "wizard_user",
             "ansible_host", "harness_service_report_path"]
    assert frv.undeclared(names, declared) == []
    assert frv.prefixed(names, declared) == sorted(names[:3] + names[-1:])


def test_a_name_declared_by_any_loaded_spec_counts(roles, tmp_path):
    # golden_state_x carries golden_state_'s prefix but another role declares it
    write_spec(roles / "trails" / "meta" / "argument_specs.yml",
               {"main": ["trails_files", "golden_state_x"]})
    declared = frv.load_declared(str(roles))
    assert frv.undeclared(["golden_state_x"], declared) == []


def test_internal_names_are_never_checked(declared):
    assert frv.undeclared(["__golden_state_files", "__harness_service_unit"], declared) == []
    assert frv.prefixed(["__golden_state_files"], declared) == []


def test_suggestions_come_from_the_role_own_names(declared):
    [record] = frv.undeclared(["harness_service_comand"], declared)
    assert record.to_dict() == {"name": "harness_service_comand", "role": "harness_service",
                                "suggestions": ["harness_service_command"]}
    [far] = frv.undeclared(["harness_service_something_else"], declared)
    assert far.suggestions == []
    # the shared prefix alone does not make names close
    [branch] = frv.undeclared(["golden_state_brunch"], declared)
    assert branch.suggestions == ["golden_state_branch"]
    [other] = frv.undeclared(["golden_state_schema"], declared)
    assert other.suggestions == []


def test_findings_are_sorted_and_unique(declared):
    found = frv.undeclared(["harness_service_zz", "golden_state_aa", "harness_service_zz"],
                           declared)
    assert [record.name for record in found] == ["golden_state_aa", "harness_service_zz"]


# ------------------------------------------------------------------ allowlist

def test_allowlist_exact_and_glob(declared):
    names = ["golden_state_legacy_url", "golden_state_legacy_dir", "golden_state_other",
             "harness_service_kept"]
    allowlist = [{"name": "golden_state_legacy_*", "reason": "migration script"},
                 {"name": "harness_service_kept", "reason": "read by an external tool"}]
    assert [r.name for r in frv.undeclared(names, declared, allowlist)] == ["golden_state_other"]
    # a glob matches the whole name
    assert [r.name for r in frv.undeclared(["golden_state_legacy", "harness_service_kept_x"],
                                           declared, allowlist)] == [
        "golden_state_legacy", "harness_service_kept_x"]


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "golden_state_x"}, "allowlist[0]: 'reason' must be a non-empty string"),
    ({"name": "golden_state_x", "reason": "  "}, "'reason' must be a non-empty string"),
    ({"name": "golden_state_x", "reason": None}, "say why this variable is allowed"),
    ({"reason": "why"}, "allowlist[0]: 'name' must be a non-empty string"),
    ({"name": "golden_state_x", "reason": "why", "term": "x"}, "unknown keys ['term']"),
    ("golden_state_x", "expected a dict with 'name' and 'reason'"),
])
def test_allowlist_entry_without_reason_is_refused(declared, entry, message):
    with pytest.raises(ValueError) as refused:
        frv.undeclared(["golden_state_x"], declared, [entry])
    assert message in str(refused.value)


# ------------------------------------------------------------------ sources

@pytest.fixture
def inventory(tmp_path):
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "host_vars").mkdir()
    (inv / "group_vars" / "wizards.yml").write_text(
        f"---\n# harness_service_comand: commented out, not a source\n"
        f"harness_service_comand: {SECRET}\n"
        f"harness_service_user: wizard\n")
    (inv / "group_vars" / "all" / "main.yml").write_text(
        f"---\ngolden_state_typo: {SECRET}\n")
    (inv / "group_vars" / "all" / "vault.yml").write_text(
        "$ANSIBLE_VAULT;1.1;AES256\n"
        "harness_service_comand: this line must never be searched\n")
    (inv / "host_vars" / "ezra.yml").write_text(
        f"---\n\"golden_state_typo\": {SECRET}\nother: {{harness_service_comand_x: 1}}\n")
    (inv / "host_vars" / "allegro").write_text(f"harness_service_comand: {SECRET}\n")
    (inv / "hosts.yml").write_text(
        f"---\nwizards:\n  hosts:\n    ezra:\n      harness_service_comand: {SECRET}\n"
        f"  vars:\n    golden_state_typo: {SECRET}\n")
    (inv / "hosts").write_text(
        f"[wizards]\nezra ansible_host=ezra.example harness_service_comand={SECRET}\n"
        f"; golden_state_typo=commented\n[wizards:vars]\ngolden_state_typo = {SECRET}\n")
    (inv / "hosts.ini").write_text(f"[wizards]\nallegro golden_state_typo={SECRET}\n")
    (inv / "notes.txt").write_text(f"harness_service_comand: {SECRET}\n")
    return inv


def test_find_sources_in_group_vars_host_vars_and_inventories(inventory, tmp_path):
    sources = frv.find_sources(["harness_service_comand", "golden_state_typo", "golden_url"],
                               [str(inventory)], root=str(tmp_path))
    vault = "possibly set in vault-encrypted inventory/group_vars/all/vault.yml"
    assert sources["harness_service_comand"] == [
        "inventory/group_vars/wizards.yml",
        "inventory/host_vars/allegro",
        "inventory/hosts",
        "inventory/hosts.yml",
        vault,
    ]
    assert sources["golden_state_typo"] == [
        "inventory/group_vars/all/main.yml",
        "inventory/host_vars/ezra.yml",
        "inventory/hosts",
        "inventory/hosts.ini",
        "inventory/hosts.yml",
        vault,
    ]
    assert sources["golden_url"] == [vault]


def test_find_sources_takes_files_and_skips_missing_paths(inventory, tmp_path):
    sources = frv.find_sources(
        ["golden_state_typo"],
        [str(inventory / "hosts.ini"), str(tmp_path / "missing"), str(inventory / "hosts.ini")])
    assert sources == {"golden_state_typo": [str(inventory / "hosts.ini")]}
    assert frv.find_sources([], [str(inventory)]) == {}


def test_vault_file_is_reported_without_being_read(inventory, monkeypatch):
    vault = inventory / "group_vars" / "all" / "vault.yml"
    opened = []
    real_open = open

    def spy(path, mode="r", *args, **kwargs):
        opened.append((str(path), mode))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", spy)
    sources = frv.find_sources(["golden_url"], [str(vault)])
    assert sources == {"golden_url": [f"possibly set in vault-encrypted {vault}"]}
    assert opened == [(str(vault), "rb")]  # the header check only


def test_unreadable_file_is_noted(inventory, monkeypatch):
    hosts = inventory / "hosts.ini"

    def refuse(path):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(frv, "_is_vault", refuse)
    assert frv.find_sources(["golden_url"], [str(hosts)]) == {
        "golden_url": [f"possibly set in unreadable {hosts}"]}


def test_no_value_in_sources_or_formatted_line(inventory, declared, tmp_path):
    names = ["harness_service_comand", "golden_state_typo"]
    found = frv.undeclared(names, declared)
    sources = frv.find_sources(names, [str(inventory)], root=str(tmp_path))
    lines = [frv.format_undeclared(record, sources[record.name]) for record in found]
    assert len(lines) == 2
    assert SECRET not in repr(sources) and SECRET not in " ".join(lines)
    assert all("possibly set in vault-encrypted" in line for line in lines)


# ------------------------------------------------------------------ format

def test_format_example_line(declared, tmp_path):
    group_vars = tmp_path / "inventory" / "group_vars"
    group_vars.mkdir(parents=True)
    (group_vars / "wizards.yml").write_text(f"---\nharness_service_comand: {SECRET}\n")
    [record] = frv.undeclared(["harness_service_comand"], declared)
    sources = frv.find_sources([record.name], [str(tmp_path / "inventory")], root=str(tmp_path))
    line = frv.format_undeclared(record, sources[record.name])
    assert line == ("harness_service_comand: not declared by role harness_service "
                    "(set in inventory/group_vars/wizards.yml); "
                    "did you mean harness_service_command?")


def test_format_variants():
    record = frv.Undeclared("golden_state_x", "golden_state", ["golden_state_a",
                                                               "golden_state_b",
                                                               "golden_state_c"])
    assert frv.format_undeclared(record) == (
        "golden_state_x: not declared by role golden_state; "
        "did you mean golden_state_a, golden_state_b or golden_state_c?")
    bare = frv.Undeclared("golden_state_x", "golden_state")
    assert frv.format_undeclared(bare, []) == (
        "golden_state_x: not declared by role golden_state "
        "(not found in the searched inventory: extra vars or a task?)")
    assert frv.format_undeclared(bare, ["a.yml", "b.yml", "possibly set in vault-encrypted v"]) \
        == ("golden_state_x: not declared by role golden_state "
            "(set in a.yml, b.yml; possibly set in vault-encrypted v)")


# ------------------------------------------------------- the repository itself

def repository_declared() -> dict[str, set[str]]:
    return frv.load_declared(str(ROOT / "roles"), [str(SITE_SPEC)])


def inventory_names() -> set[str]:
    names: set[str] = set()
    for path in sorted((ROOT / "inventory" / "group_vars").glob("*.yml")):
        names.update(yaml.safe_load(path.read_text()) or {})
    return names


def test_repository_group_vars_are_all_declared():
    declared = repository_declared()
    names = inventory_names()
    assert frv.prefixed(names, declared), "the guard checked nothing"
    found = frv.undeclared(names, declared)
    sources = frv.find_sources([r.name for r in found], [str(ROOT / "inventory")], root=str(ROOT))
    assert [frv.format_undeclared(r, sources[r.name]) for r in found] == []


def test_repository_role_defaults_and_vars_are_all_declared():
    # role defaults and vars are visible to the play too (varnames sees them)
    declared = repository_declared()
    names: set[str] = set()
    for path in sorted(ROOT.glob("roles/*/*/main.yml")):
        if path.parent.name in ("defaults", "vars"):
            names.update(yaml.safe_load(path.read_text()) or {})
    assert [frv.format_undeclared(r) for r in frv.undeclared(names, declared)] == []


def test_site_spec_declares_only_fleet_wide_prefixed_names():
    by_roles = frv.load_declared(str(ROOT / "roles"))
    site = frv.spec_options(str(SITE_SPEC))
    assert site, "the site spec declares nothing"
    everything = set().union(*by_roles.values())
    unprefixed = sorted(name for name in site
                        if not name.startswith("fleet_") and not frv.role_prefix(name, by_roles))
    assert unprefixed == [], "neither fleet_ nor a role's prefix"
    assert sorted(site & everything) == [], "already declared by a role"


def test_a_misspelt_fleet_layout_name_is_found_with_its_suggestion(roles, tmp_path):
    write_spec(roles / "base" / "meta" / "argument_specs.yml",
               {"main": ["base_user", "fleet_sbin_dir"]})
    site = write_spec(tmp_path / "fleet.argument_specs.yml", {"site": ["fleet_branch"]})
    declared = frv.load_declared(str(roles), [str(site)])
    assert declared["fleet_"] == {"fleet_sbin_dir", "fleet_branch"}
    found = frv.undeclared(["fleet_sbin_dri", "fleet_sbin_dir", "fleet_branch", "wizard_user"],
                           declared)
    assert [(f.name, f.role, f.suggestions) for f in found] == [
        ("fleet_sbin_dri", "fleet", ["fleet_sbin_dir"])]
    assert frv.format_undeclared(found[0]) == (
        "fleet_sbin_dri: not declared by any role's or the site's argument specs; "
        "did you mean fleet_sbin_dir?")
