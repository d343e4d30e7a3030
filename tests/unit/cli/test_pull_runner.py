"""pull_runner.py (golden-state-pull) as a command: run, enqueue, pause, status, history.

Runs the script in a subprocess, as the units do, against a config whose
command is a fake ansible-pull that prints a recap.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fleet_cli import pull_runner

SCRIPT = Path(__file__).resolve().parents[3] / "cli" / "pull_runner.py"


@pytest.fixture
def config(tmp_path) -> Path:
    state = tmp_path / "state"
    (state / "spool").mkdir(parents=True)
    fake = tmp_path / "fake-ansible-pull"
    fake.write_text(f"#!{sys.executable}\nimport sys\n"
                    "print('localhost | SUCCESS => {')\n"
                    "print('PLAY RECAP ***')\n"
                    "print('ezra : ok=4 changed=1 unreachable=0 failed=0 skipped=1')\n"
                    "sys.exit(int(open(sys.argv[1]).read()) if len(sys.argv) > 1 else 0)\n")
    fake.chmod(0o755)
    path = tmp_path / "pull.json"
    path.write_text(json.dumps({
        "_comment": "test", "repo_url": "file:///srv/origin.git", "inventory_name": "ezra",
        "state_dir": str(state), "spool_dir": str(state / "spool"),
        "checkout_dir": str(tmp_path / "checkout"), "command": [str(fake)], "timeout": 30,
    }))
    return path


def cli(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--config", str(config), *args],
                          capture_output=True, text=True, timeout=60, check=False)


def history(config: Path) -> list[dict]:
    out = cli(config, "history", "-n", "100", "--json").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_manual_run_records_history_and_exits_zero(config):
    result = cli(config, "run")
    assert result.returncode == 0, result.stderr
    assert "PLAY RECAP" in result.stdout  # ansible-pull's output is streamed (journal)
    (record,) = history(config)
    assert (record["trigger"], record["status"], record["ok"], record["changed"]) == (
        "manual", "ok", 4, 1)


def test_failed_pull_exits_one(config, tmp_path):
    data = json.loads(config.read_text())
    status_file = tmp_path / "status"
    status_file.write_text("3")
    data["command"].append(str(status_file))
    config.write_text(json.dumps(data))
    assert cli(config, "run", "--trigger", "timer").returncode == 1
    (record,) = history(config)
    assert (record["status"], record["exit_status"], record["trigger"]) == ("failed", 3, "timer")


def test_enqueue_takes_the_first_non_empty_delivery_and_run_drains_it(config):
    # The hook passes Gitea's then GitHub's delivery header; one of them is empty.
    result = cli(config, "enqueue", "", "github-delivery-7")
    assert result.returncode == 0, result.stderr
    assert "github-delivery-7" in result.stdout
    assert cli(config, "run", "--trigger", "webhook").returncode == 0
    (record,) = history(config)
    assert record["deliveries"] == ["github-delivery-7"]
    assert record["trigger"] == "webhook"
    # A webhook start with nothing queued runs nothing.
    assert cli(config, "run", "--trigger", "webhook").returncode == 0
    assert len(history(config)) == 1


def test_pause_resume_and_status(config):
    assert cli(config, "pause").returncode == 2  # a reason is required (usage error)
    assert cli(config, "pause", "investigating", "ezra").returncode == 0
    status = json.loads(cli(config, "status", "--json").stdout)
    assert status["paused"]["reason"] == "investigating ezra"
    assert status["running"] is False
    assert cli(config, "run").returncode == 0
    assert history(config)[-1]["status"] == "paused"
    assert cli(config, "resume").stdout.strip() == "resumed"
    assert cli(config, "resume").stdout.strip() == "was not paused"
    assert cli(config, "run").returncode == 0
    status = json.loads(cli(config, "status", "--json").stdout)
    assert status["paused"] is None
    assert status["last_run"]["status"] == "ok"
    assert status["queued"] is False


def test_bad_config_is_reported_without_traceback(tmp_path):
    missing = tmp_path / "nope.json"
    result = cli(missing, "status")
    assert result.returncode == 1
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({"repo_url": "x"}))
    result = cli(broken, "run")
    assert (result.returncode, "Traceback" in result.stderr) == (1, False)
    assert "inventory_name" in result.stderr


def test_unknown_command_is_a_usage_error(config):
    assert cli(config, "explode").returncode == 2


def test_main_in_process_uses_the_environment_config(config, monkeypatch, capsys):
    monkeypatch.setenv("GOLDEN_STATE_PULL_CONFIG", str(config))
    assert pull_runner.main(["enqueue", "--source", "manual", "gitea-1"]) == 0
    spool = json.loads(config.read_text())["spool_dir"]
    (name,) = os.listdir(spool)
    assert name.endswith(".trigger")
    assert "gitea-1" in capsys.readouterr().out
