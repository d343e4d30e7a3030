"""Each role's meta/argument_specs.yml says what its defaults/main.yml does.

For every role in roles/: every default variable carries the role's prefix and
is declared by an entry point; every declared option (entry point ``main``,
and every other entry point that declares options) that is not required has a
role default; the declared ``default:`` equals the role default (a literal, or
for a Jinja-templated default the template string itself: the spec documents
the expression, it cannot render it); the declared ``type`` (and ``elements``,
``choices`` and suboption types) fits a literal default; and a required option
has no role default (a default always satisfies ``required``, so Ansible's
argument validation could never enforce it).

Fleet-wide inputs (``fleet_*``, set in inventory/group_vars/all.yml) are
declared by the roles that read them and deliberately have no role default; a
``default:`` they declare is the value inventory/group_vars/all.yml gives them.

Ansible renders a role's argument spec before validating (2.19: a Jinja
expression anywhere in it is evaluated, and an undefined variable fails the
role), so descriptions carry no Jinja, and a templated default is the role's
own expression (variables the role defines or declares, or guarded with
``default()``), which renders wherever defaults/main.yml renders.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES_DIR = ROOT / "roles"
ROLES = sorted(path.name for path in ROLES_DIR.iterdir() if (path / "tasks").is_dir())
FLEET_VARS = ROOT / "inventory" / "group_vars" / "all.yml"

# Options that come from inventory for the whole fleet: no role default on purpose.
FLEET_PREFIX = "fleet_"
# (role, option) -> why a declared, not required option legitimately has no role default.
NO_ROLE_DEFAULT: dict[tuple[str, str], str] = {}

# Known problems in defaults/main.yml (not in the specs): (role, variable) -> what is wrong.
DEFAULTS_FIX_PENDING = "defaults fix pending (defaults/main.yml)"
KNOWN_DEFAULTS_PROBLEMS: dict[tuple[str, str], str] = {}

TYPES: dict[str, tuple[type, ...]] = {
    "str": (str,), "path": (str,), "int": (int,), "bool": (bool,),
    "list": (list,), "dict": (dict,), "float": (float, int),
}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def role_defaults(role: str) -> dict[str, Any]:
    return load_yaml(ROLES_DIR / role / "defaults" / "main.yml") or {}


def role_specs(role: str) -> dict[str, dict[str, Any]]:
    """Entry point -> its options (``main`` always; others only where they declare options)."""
    document = load_yaml(ROLES_DIR / role / "meta" / "argument_specs.yml") or {}
    specs = document.get("argument_specs") or {}
    return {entry: spec.get("options") or {} for entry, spec in specs.items()
            if entry == "main" or (spec or {}).get("options")}


def is_template(value: Any) -> bool:
    """Whether a default is (or holds) a Jinja expression, rendered only at run time."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(is_template(k) or is_template(v) for k, v in value.items())
    if isinstance(value, list):
        return any(is_template(item) for item in value)
    return False


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types: YAML's ``true`` is not ``1``, ``"5"`` is not ``5``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def type_errors(spec: dict[str, Any], value: Any, where: str) -> list[str]:
    """Ways a literal value does not fit an option's declared type, elements, choices, options."""
    if is_template(value) and not isinstance(value, (list, dict)):
        return []  # renders into whatever the expression gives: only the string is compared
    declared = spec.get("type", "str")
    errors = []
    allowed = TYPES.get(declared)
    if declared != "raw":
        if allowed is None:
            return [f"{where}: unknown type {declared!r}"]
        if not isinstance(value, allowed) or (declared != "bool" and isinstance(value, bool)):
            return [f"{where}: declared type {declared} but the default {value!r} is "
                    f"{type(value).__name__}"]
    if "choices" in spec and not isinstance(value, (list, dict)) and value not in spec["choices"]:
        errors.append(f"{where}: default {value!r} is not one of the choices {spec['choices']}")
    suboptions = spec.get("options") or {}
    if isinstance(value, list):
        element = {"type": spec.get("elements", "raw"), "options": suboptions}
        if "choices" in spec:
            element["choices"] = spec["choices"]
        for index, item in enumerate(value):
            errors += type_errors(element, item, f"{where}[{index}]")
    elif isinstance(value, dict) and suboptions:
        for key, item in value.items():
            if key not in suboptions:
                errors.append(f"{where}: default key {key!r} is not a declared suboption "
                              f"(declared: {sorted(suboptions)})")
            elif item is not None:
                errors += type_errors(suboptions[key], item, f"{where}.{key}")
    return errors


def declared_options() -> list[tuple[str, str, str]]:
    return [(role, entry, name) for role in ROLES
            for entry, options in role_specs(role).items() for name in options]


def default_variables() -> list[Any]:
    cases = []
    for role in ROLES:
        for name in role_defaults(role):
            marks = ()
            if (role, name) in KNOWN_DEFAULTS_PROBLEMS:
                marks = pytest.mark.xfail(strict=True, reason=DEFAULTS_FIX_PENDING)
            cases.append(pytest.param(role, name, marks=marks, id=f"{role}:{name}"))
    return cases


OPTIONS = declared_options()


def test_roles_are_found():
    assert len(ROLES) >= 2 and "base" in ROLES, ROLES


@pytest.mark.parametrize("role", ROLES)
def test_role_has_defaults_and_a_main_entry_point(role):
    assert (ROLES_DIR / role / "defaults" / "main.yml").is_file(), f"{role}: no defaults/main.yml"
    assert (ROLES_DIR / role / "meta" / "argument_specs.yml").is_file(), (
        f"{role}: no meta/argument_specs.yml")
    assert role_specs(role).get("main"), f"{role}: argument_specs declares no main options"


@pytest.mark.parametrize("role, name", default_variables())
def test_default_variable_is_prefixed_and_declared(role, name):
    assert name.startswith(f"{role}_"), (
        f"{role}: defaults/main.yml variable {name} lacks the role prefix {role}_")
    specs = role_specs(role)
    assert any(name in options for options in specs.values()), (
        f"{role}: defaults/main.yml variable {name} (= {role_defaults(role)[name]!r}) "
        f"is declared by no entry point of meta/argument_specs.yml ({sorted(specs)})")
    required = [entry for entry, options in specs.items()
                if (options.get(name) or {}).get("required")]
    assert not required, (
        f"{role}: {name} is required in entry point(s) {required} but defaults/main.yml "
        f"gives it {role_defaults(role)[name]!r}, which always satisfies `required`")


@pytest.mark.parametrize("role, entry, name", OPTIONS,
                         ids=[f"{r}:{e}:{n}" for r, e, n in OPTIONS])
def test_declared_option_matches_role_default(role, entry, name):
    spec = role_specs(role)[entry][name] or {}
    defaults = role_defaults(role)
    where = f"{role}: argument_specs {entry}.{name}"
    if name not in defaults:
        if name.startswith(FLEET_PREFIX) and "default" in spec:
            fleet = load_yaml(FLEET_VARS) or {}
            assert name in fleet, (
                f"{where} declares default {spec['default']!r} but neither defaults/main.yml "
                f"nor inventory/group_vars/all.yml sets it")
            assert same(spec["default"], fleet[name]), (
                f"{where}: declared default {spec['default']!r} != "
                f"inventory/group_vars/all.yml {fleet[name]!r}")
            return
        if spec.get("required") or name.startswith(FLEET_PREFIX):
            assert "default" not in spec, (
                f"{where} is required but declares default {spec['default']!r} "
                f"(defaults/main.yml has none)")
            return
        assert (role, name) in NO_ROLE_DEFAULT, (
            f"{where} is not required and has no default in defaults/main.yml "
            f"(declared default: {spec.get('default', '<none>')!r}); add one, or mark it "
            f"required, or give the reason in NO_ROLE_DEFAULT")
        return
    value = defaults[name]
    if spec.get("required"):
        # required and defaulted: the defaults/main.yml side is the problem, reported by
        # test_default_variable_is_prefixed_and_declared; the spec itself must not add one
        assert "default" not in spec, (
            f"{where} is required but declares default {spec['default']!r}")
        return
    assert "default" in spec, (
        f"{where} declares no default; defaults/main.yml: {value!r}")
    assert same(spec["default"], value), (
        f"{where}: declared default {spec['default']!r} != defaults/main.yml {value!r}")
    errors = type_errors(spec, value, where)
    assert not errors, "\n".join(errors)


def jinja_in_descriptions(options: dict[str, Any], where: str) -> list[str]:
    found = []
    for name, spec in options.items():
        spec = spec or {}
        text = spec.get("description", "")
        for line in text if isinstance(text, list) else [text]:
            if is_template(str(line)):
                found.append(f"{where}.{name}: description {line!r}")
        found += jinja_in_descriptions(spec.get("options") or {}, f"{where}.{name}")
    return found


@pytest.mark.parametrize("role", ROLES)
def test_option_descriptions_carry_no_jinja(role):
    """Ansible renders the spec: ``C({{ x }})`` in a description fails the role, x undefined."""
    found = [line for entry, options in role_specs(role).items()
             for line in jinja_in_descriptions(options, f"{role}: argument_specs {entry}")]
    assert not found, "Jinja in option descriptions (write C(<x>) instead):\n" + "\n".join(found)


def test_reasons_for_missing_defaults_are_current():
    stale = [key for key in NO_ROLE_DEFAULT
             if key[0] not in ROLES or key[1] in role_defaults(key[0])
             or not any(key[1] in options for options in role_specs(key[0]).values())]
    assert not stale, f"NO_ROLE_DEFAULT entries no longer needed: {stale}"
    assert all(reason.strip() for reason in NO_ROLE_DEFAULT.values())


# ------------------------------------------------------- the checks themselves

@pytest.mark.parametrize("spec, value, expected", [
    ({"type": "int"}, "5", "declared type int but the default '5' is str"),
    ({"type": "int"}, True, "declared type int but the default True is bool"),
    ({"type": "bool"}, "yes", "declared type bool"),
    ({"type": "path"}, 1, "declared type path"),
    ({"type": "list", "elements": "str"}, ["a", 1], "x[1]: declared type str"),
    ({"type": "str", "choices": ["a"]}, "b", "not one of the choices"),
    ({"type": "dict", "options": {"a": {"type": "int"}}}, {"b": 1}, "'b' is not a declared"),
    ({"type": "dict", "options": {"a": {"type": "int"}}}, {"a": "1"}, "x.a: declared type int"),
])
def test_type_errors_catch_mismatches(spec, value, expected):
    errors = type_errors(spec, value, "x")
    assert len(errors) == 1 and expected in errors[0], errors


@pytest.mark.parametrize("spec, value", [
    ({"type": "raw"}, {"any": ["thing"]}),
    ({"type": "path"}, "/srv"),
    ({"type": "list"}, "{{ banned_providers | default(['anthropic']) }}"),
    ({"type": "list", "elements": "path"}, ["{{ hermes_home }}/x", "/y"]),
    ({"type": "int"}, 0),
    ({"type": "float"}, 1),
])
def test_type_errors_accept_fitting_defaults(spec, value):
    assert type_errors(spec, value, "x") == []


def test_same_compares_types():
    assert same({"a": [1, "b"]}, {"a": [1, "b"]})
    assert not same(True, 1)
    assert not same("5", 5)
    assert not same([1, 2], [1, 2, 3])
    assert is_template(["/x", "{{ y }}"]) and not is_template({"a": "b"})
