"""golden-state-metrics' command line: writes the textfile, reports sources, exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
from functools import partial

import pytest
from fleet import host_metrics
from fleet import pull as fp
from fleet_cli import metrics_collect

NOW = 1_800_000_000.0


def down(argv, timeout):
    return subprocess.CompletedProcess(argv, 3, "inactive\n", "")


@pytest.fixture
def setup(tmp_path):
    """A collector config over a pull runner with one failed run; the textfile dir."""
    state = tmp_path / "pull"
    state.mkdir()
    pull_config = tmp_path / "pull.json"
    pull_config.write_text(json.dumps({"repo_url": "file:///srv/origin.git",
                                       "inventory_name": "h1", "state_dir": str(state),
                                       "reconcile_interval": "30min"}))
    fp.append_history(fp.load_config(str(pull_config)),
                      {"status": "failed", "start": fp.iso(NOW - 60), "end": fp.iso(NOW - 1)})
    textfile = tmp_path / "textfile"
    textfile.mkdir()
    config = tmp_path / "metrics.json"
    config.write_text(json.dumps({
        "_comment": "managed", "pull_config": str(pull_config),
        "deadman_config": str(tmp_path / "none.json"),
        "overlay_state_dir": str(tmp_path / "overlay"), "textfile_dir": str(textfile)}))
    collect = partial(host_metrics.collect, now=lambda: NOW, run=down, head=lambda c: None)

    def cli(*args, collect=collect):
        return metrics_collect.main(["--config", str(config), *args], collect=collect)

    return cli, config, textfile


def test_writes_the_textfile(setup, capsys):
    cli, _, textfile = setup
    assert cli() == 0
    assert os.listdir(textfile) == ["golden_state.prom"]
    text = (textfile / "golden_state.prom").read_text()
    assert "golden_state_pull_last_run_success 0\n" in text
    assert "golden_state_pull_reconcile_interval_seconds 1800.0\n" in text
    assert "golden_state_harness_up 0\n" in text
    assert capsys.readouterr() == ("", "")


def test_stdout_prints_instead_of_writing(setup, capsys):
    cli, _, textfile = setup
    assert cli("--stdout") == 0
    assert "# TYPE golden_state_pull_last_run_success gauge" in capsys.readouterr().out
    assert os.listdir(textfile) == []


def test_source_errors_go_to_stderr_and_into_the_metrics(setup, capsys):
    cli, _, textfile = setup

    def broken(argv, timeout):
        raise FileNotFoundError("systemctl")

    assert cli(collect=partial(host_metrics.collect, now=lambda: NOW, run=broken)) == 0
    assert "golden-state-metrics: harness: systemctl is-active" in capsys.readouterr().err
    text = (textfile / "golden_state.prom").read_text()
    assert 'golden_state_metrics_collector_errors{source="harness"} 1\n' in text
    assert "golden_state_pull_last_run_success 0\n" in text


def test_a_bad_config_exits_1_and_writes_nothing(setup, capsys):
    cli, config, textfile = setup
    config.write_text('{"textfile_dir": "relative"}')
    assert cli() == 1
    assert "textfile_dir must be an absolute path" in capsys.readouterr().err
    assert os.listdir(textfile) == []


def test_a_missing_config_exits_1(tmp_path, capsys):
    assert metrics_collect.main(["--config", str(tmp_path / "absent.json")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_an_unwritable_textfile_dir_exits_1(setup, capsys):
    cli, _, textfile = setup
    textfile.rmdir()
    assert cli() == 1
    assert "cannot write" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        metrics_collect.main(["--no-such-option"])
    assert exit_info.value.code == 2


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        metrics_collect.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("golden-state-metrics ")
