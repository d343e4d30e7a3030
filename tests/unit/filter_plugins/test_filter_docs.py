"""Each filter's doc file (filter_plugins/<filter>.yml) names a real filter and
documents exactly its parameters, in order, and ansible-doc renders every one."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DOCS = sorted(path.stem for path in (ROOT / "filter_plugins").glob("*.yml"))


def filters() -> dict:
    found = {}
    for path in sorted((ROOT / "filter_plugins").glob("*.py")):
        found.update(importlib.import_module(path.stem).FilterModule().filters())
    return found


def test_the_new_filters_are_documented():
    assert {"content_length_regex", "bad_trail_names", "trail_pin", "overlay_file_plan",
            "overlay_file_sets"} <= set(DOCS)


@pytest.mark.parametrize("name", DOCS)
def test_doc_names_the_filter_and_its_parameters(name):
    doc = yaml.safe_load((ROOT / "filter_plugins" / f"{name}.yml").read_text())
    assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    documentation = doc["DOCUMENTATION"]
    assert documentation["name"] == name and documentation["short_description"]
    function = filters().get(name)
    assert function is not None, f"filter_plugins/{name}.yml documents no filter of that name"
    parameters = ["_input", *list(inspect.signature(function).parameters)[1:]]
    assert list(documentation.get("options") or {}) == parameters
    positional = [p.strip() for p in documentation.get("positional", "").split(",") if p.strip()]
    assert positional == parameters[:len(positional)]
    assert "_value" in doc["RETURN"]


def test_ansible_doc_renders_every_documented_filter():
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    done = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "-t", "filter",
                           "--json", *DOCS], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    rendered = json.loads(done.stdout)
    assert sorted(rendered) == DOCS, done.stderr
    for name in DOCS:
        assert rendered[name]["doc"]["short_description"], name
