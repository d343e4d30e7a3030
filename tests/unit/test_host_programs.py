"""The host programs the base role links onto PATH are the package's console scripts."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_every_linked_program_is_a_console_script_of_the_package():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    linked = yaml.safe_load((ROOT / "roles/base/vars/main.yml").read_text())["__base_host_programs"]
    assert linked, "base links no host program"
    missing = sorted(set(linked) - set(scripts))
    assert not missing, f"roles/base/vars/main.yml links {missing}: not in [project.scripts]"
    for program in linked:
        module, _, function = scripts[program].partition(":")
        assert module.startswith("fleet_cli.") and function == "main", scripts[program]
        assert (ROOT / "cli" / f"{module.removeprefix('fleet_cli.')}.py").is_file()
