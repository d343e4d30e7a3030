"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse, and its documented
options are exactly its argument_spec: what `ansible-doc` shows is what it takes.

Option by option (suboptions included) the documentation says the same as the
argument_spec about type (``str`` when omitted, in both), elements, required,
default, choices and aliases; ``no_log`` where the documentation states it. The
spec is captured by replacing the module's AnsibleModule with a stand-in that
records its ``argument_spec`` and raises, so ``main()`` runs no further.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MODULES = sorted(path.stem for path in (ROOT / "library").glob("*.py"))
DOC_FIX_PENDING = "documentation disagrees with the argument_spec"
# (module, top-level option) whose DOCUMENTATION may disagree with the argument_spec,
# each with an issue to fix it. Strict: a fixed one fails until removed here.
KNOWN_DOC_MISMATCHES: set[tuple[str, str]] = set()


def doc_strings(name: str) -> dict[str, str]:
    tree = ast.parse((ROOT / "library" / f"{name}.py").read_text())
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")}


def documented_options(name: str) -> dict[str, Any]:
    return yaml.safe_load(doc_strings(name)["DOCUMENTATION"]).get("options") or {}


class SpecSeen(Exception):
    pass


def _capture(*args, **kwargs):
    raise SpecSeen(kwargs.get("argument_spec", args[0] if args else {}))


def argument_spec(name: str, monkeypatch) -> dict:
    """The module's argument_spec, taken from its AnsibleModule call."""
    module = importlib.import_module(name)
    monkeypatch.setattr(module, "AnsibleModule", _capture)
    with pytest.raises(SpecSeen) as seen:
        module.main()
    return seen.value.args[0]


def collected_spec(name: str) -> dict:
    """The same, at collection time (no fixture there)."""
    module = importlib.import_module(name)
    with mock.patch.object(module, "AnsibleModule", _capture):
        try:
            module.main()
        except SpecSeen as seen:
            return seen.args[0]
    raise AssertionError(f"{name}: main() never called AnsibleModule")


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types (``True`` is not ``1``, ``"1"`` is not ``1``)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def option_mismatches(doc: dict[str, Any], spec: dict[str, Any], where: str) -> list[str]:
    """How one documented option differs from its argument_spec entry, suboptions included."""
    doc, spec = doc or {}, spec or {}
    found = []

    def differ(field: str, documented: Any, actual: Any) -> None:
        found.append(f"{where}: {field}: documented {documented!r}, argument_spec {actual!r}")

    if doc.get("type", "str") != spec.get("type", "str"):
        differ("type", doc.get("type", "str"), spec.get("type", "str"))
    if doc.get("elements") != spec.get("elements"):
        differ("elements", doc.get("elements"), spec.get("elements"))
    if bool(doc.get("required", False)) != bool(spec.get("required", False)):
        differ("required", doc.get("required", False), spec.get("required", False))
    if not same(doc.get("default"), spec.get("default")):
        differ("default", doc.get("default"), spec.get("default"))
    if not same(list(doc.get("choices") or []), list(spec.get("choices") or [])):
        differ("choices", doc.get("choices"), spec.get("choices"))
    if sorted(doc.get("aliases") or []) != sorted(spec.get("aliases") or []):
        differ("aliases", doc.get("aliases"), spec.get("aliases"))
    if "no_log" in doc and bool(doc["no_log"]) != bool(spec.get("no_log", False)):
        differ("no_log", doc["no_log"], spec.get("no_log", False))
    found += options_mismatches(doc.get("suboptions") or {}, spec.get("options") or {}, where)
    return found


def options_mismatches(docs: dict[str, Any], specs: dict[str, Any], where: str) -> list[str]:
    found = []
    for name in sorted(set(docs) | set(specs)):
        if name not in docs:
            found.append(f"{where}.{name}: in the argument_spec, not documented")
        elif name not in specs:
            found.append(f"{where}.{name}: documented, not in the argument_spec")
        else:
            found += option_mismatches(docs[name], specs[name], f"{where}.{name}")
    return found


def option_cases() -> list[Any]:
    cases = []
    for name in MODULES:
        for option in sorted(set(documented_options(name)) | set(collected_spec(name))):
            marks = ()
            if (name, option) in KNOWN_DOC_MISMATCHES:
                marks = pytest.mark.xfail(strict=True, reason=DOC_FIX_PENDING)
            cases.append(pytest.param(name, option, marks=marks, id=f"{name}:{option}"))
    return cases


def test_modules_are_found():
    assert len(MODULES) >= 2 and "file_tree" in MODULES, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_documentation_parses_and_names_every_option(name, monkeypatch):
    docs = doc_strings(name)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = yaml.safe_load(docs["DOCUMENTATION"])
    assert documentation["module"] == name
    assert documentation["short_description"]
    assert isinstance(yaml.safe_load(docs["EXAMPLES"]), list)
    assert isinstance(yaml.safe_load(docs["RETURN"]), dict)
    assert set(documentation.get("options") or {}) == set(argument_spec(name, monkeypatch))


@pytest.mark.parametrize("name, option", option_cases())
def test_documented_option_matches_argument_spec(name, option, monkeypatch):
    spec = argument_spec(name, monkeypatch)
    docs = documented_options(name)
    found = options_mismatches({option: docs[option]} if option in docs else {},
                               {option: spec[option]} if option in spec else {}, name)
    assert not found, "\n".join(found)


def test_known_mismatches_name_real_options():
    cases = {(param.values[0], param.values[1]) for param in option_cases()}
    assert cases >= KNOWN_DOC_MISMATCHES, KNOWN_DOC_MISMATCHES - cases


def test_ansible_doc_reads_every_module():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", *MODULES],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)) == MODULES


# ------------------------------------------------------- the comparison itself

@pytest.mark.parametrize("doc, spec, expected", [
    ({"type": "int"}, {"type": "str"}, "x: type: documented 'int', argument_spec 'str'"),
    ({}, {"type": "list"}, "x: type: documented 'str', argument_spec 'list'"),
    ({"type": "list", "elements": "str"}, {"type": "list"}, "x: elements"),
    ({"required": True}, {}, "x: required"),
    ({"default": "1"}, {"default": 1}, "x: default: documented '1', argument_spec 1"),
    ({"choices": ["a", "b"]}, {"choices": ["a"]}, "x: choices"),
    ({"no_log": True}, {}, "x: no_log"),
    ({"aliases": ["y"]}, {}, "x: aliases"),
    ({"type": "dict", "suboptions": {"a": {"type": "int"}}},
     {"type": "dict", "options": {"a": {"type": "bool"}}}, "x.a: type"),
    ({"type": "dict", "suboptions": {"a": {}}}, {"type": "dict", "options": {}},
     "x.a: documented, not in the argument_spec"),
    ({"type": "dict"}, {"type": "dict", "options": {"b": {}}},
     "x.b: in the argument_spec, not documented"),
])
def test_option_mismatches_finds_each_difference(doc, spec, expected):
    found = option_mismatches(doc, spec, "x")
    assert len(found) == 1 and found[0].startswith(expected), found


def test_option_mismatches_accepts_an_exact_match():
    option = {"type": "list", "elements": "dict", "required": True, "default": None,
              "choices": None, "no_log": False}
    doc = dict(option, suboptions={"a": {"type": "str", "default": "x"}})
    spec = dict(option, options={"a": {"default": "x"}})
    assert option_mismatches(doc, spec, "x") == []
