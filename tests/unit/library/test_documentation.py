"""Every module's DOCUMENTATION, EXAMPLES and RETURN parse, and its documented
options are exactly its argument_spec: what `ansible-doc` shows is what it takes."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
MODULES = sorted(path.stem for path in (ROOT / "library").glob("*.py"))


def doc_strings(name: str) -> dict[str, str]:
    tree = ast.parse((ROOT / "library" / f"{name}.py").read_text())
    return {node.targets[0].id: node.value.value for node in tree.body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id in ("DOCUMENTATION", "EXAMPLES", "RETURN")}


class SpecSeen(Exception):
    pass


def argument_spec(name: str, monkeypatch) -> dict:
    """The module's argument_spec, taken from its AnsibleModule call."""
    module = importlib.import_module(name)

    def capture(*args, **kwargs):
        raise SpecSeen(kwargs.get("argument_spec", args[0] if args else {}))

    monkeypatch.setattr(module, "AnsibleModule", capture)
    with pytest.raises(SpecSeen) as seen:
        module.main()
    return seen.value.args[0]


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


def test_ansible_doc_reads_every_module():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", *MODULES],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)) == MODULES
