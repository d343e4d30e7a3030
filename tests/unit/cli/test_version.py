"""Every console script answers --version with "<prog> <package version>".

Parametrized over pyproject.toml's [project.scripts]: a script added there
without cli_common.add_version_argument fails here, by name.
"""

from __future__ import annotations

import argparse
import importlib
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from fleet_cli import cli_common

ROOT = Path(__file__).resolve().parents[3]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
SCRIPTS = sorted(PROJECT["scripts"].items())


@pytest.mark.parametrize(("script", "target"), SCRIPTS, ids=[name for name, _ in SCRIPTS])
def test_console_script_prints_its_version(script, target, capsys):
    module_name, _, function = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        pytest.fail(f"pyproject.toml lists {script} = {target!r}, but {module_name} does not "
                    f"import: {exc}")
    main = getattr(module, function, None)
    assert callable(main), f"{script}: {module_name} has no {function}()"
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    out, err = capsys.readouterr()
    assert exited.value.code == 0, (
        f"{script} --version exited {exited.value.code} ({err.strip()[-200:]}): its parser needs "
        f"fleet_cli.cli_common.add_version_argument(parser)")
    assert out == f"{script} {cli_common.package_version()}\n"


def test_the_version_is_the_installed_distributions():
    assert PROJECT["name"] == cli_common.DISTRIBUTION
    assert cli_common.package_version() == metadata.version(PROJECT["name"])


def test_version_without_an_installed_package_is_unknown(monkeypatch, capsys):
    def not_installed(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(cli_common.metadata, "version", not_installed)
    assert cli_common.package_version() == "unknown"
    parser = argparse.ArgumentParser(prog="100%-tool")
    cli_common.add_version_argument(parser)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--version"])
    assert (exited.value.code, capsys.readouterr().out) == (0, "100%-tool unknown\n")
