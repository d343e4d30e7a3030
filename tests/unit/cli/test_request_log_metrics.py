"""request-log-metrics: the textfile it writes, its budget, its exit statuses."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import subprocess
import sys

import pytest
from fleet_cli import request_log_metrics as cli

DAY = 86400
NOON = 1_800_000_000 - 1_800_000_000 % DAY + DAY // 2  # a fixed UTC noon


def write(path, *records, mtime=NOON, compress=False):
    data = b"".join((r if isinstance(r, bytes) else json.dumps(r).encode()) + b"\n"
                    for r in records)
    path.write_bytes(gzip.compress(data) if compress else data)
    os.utime(path, (mtime, mtime))


def samples(path):
    """{name or name{labels}: value} of a textfile."""
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            found[name] = float(value)
    return found


@pytest.fixture
def logs(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    write(logs / "usage.jsonl", {"ts": NOON, "tokens": 100}, b"oops",
          {"ts": NOON - DAY, "tokens": 5000})
    write(logs / "usage.jsonl.1", {"ts": NOON - 60, "usage": {"total_tokens": 20}})
    write(logs / "usage.jsonl.2.gz", {"ts": NOON - DAY, "tokens": 7}, compress=True,
          mtime=NOON - DAY)
    write(logs / "requests.jsonl", {"ts": NOON, "id": "r1"})
    (tmp_path / "metrics").mkdir()
    return tmp_path


def run(tmp_path, *extra, clock=lambda: NOON + 0.5):
    argv = ["--usage-log", str(tmp_path / "logs" / "usage.jsonl"),
            "--log", str(tmp_path / "logs" / "requests.jsonl"),
            "--metrics-dir", str(tmp_path / "metrics"), *extra]
    return cli.main(argv, clock=clock)


def test_writes_todays_tokens_and_the_budget(logs, capsys):
    assert run(logs, "--budget", "1000") == 0
    prom = logs / "metrics" / "golden_state_request_log.prom"
    assert stat.S_IMODE(prom.stat().st_mode) == 0o644  # node_exporter reads it as its own user
    found = samples(prom)
    assert found["golden_state_request_log_tokens_today"] == 120
    assert found["golden_state_request_log_token_budget"] == 1000
    assert found["golden_state_request_log_usage_lines_today"] == 2
    assert found["golden_state_request_log_malformed_lines"] == 1
    assert found["golden_state_request_log_read_errors"] == 0
    assert found['golden_state_request_log_files{log="usage.jsonl"}'] == 3
    assert found['golden_state_request_log_files{log="requests.jsonl"}'] == 1
    usage_bytes = sum(p.stat().st_size for p in (logs / "logs").glob("usage.jsonl*"))
    assert found['golden_state_request_log_bytes{log="usage.jsonl"}'] == usage_bytes
    assert found["golden_state_request_log_last_run_timestamp_seconds"] == NOON + 0.5
    out = capsys.readouterr().out
    assert "120 tokens of 1000 on 2027-01-15 (UTC) in 2 lines from 2 file(s), 1 malformed" in out


def test_the_alert_rule_names_are_exported_unlabelled(logs):
    """monitoring/ compares these two by name; labels on either would break the match."""
    assert run(logs, "--budget", "5") == 0
    text = (logs / "metrics" / "golden_state_request_log.prom").read_text()
    assert "\ngolden_state_request_log_tokens_today 120\n" in text
    assert "\ngolden_state_request_log_token_budget 5\n" in text
    assert "# TYPE golden_state_request_log_tokens_today gauge" in text
    assert "# TYPE golden_state_request_log_token_budget gauge" in text


def test_no_budget_leaves_the_budget_metric_out(logs):
    assert run(logs) == 0
    found = samples(logs / "metrics" / "golden_state_request_log.prom")
    assert "golden_state_request_log_token_budget" not in found
    assert found["golden_state_request_log_tokens_today"] == 120


def test_a_new_day_starts_from_zero(logs):
    assert run(logs, "--budget", "10", clock=lambda: NOON + DAY) == 0
    found = samples(logs / "metrics" / "golden_state_request_log.prom")
    assert found["golden_state_request_log_tokens_today"] == 0
    assert found["golden_state_request_log_usage_lines_today"] == 0


def test_missing_logs_give_zeros(tmp_path):
    (tmp_path / "metrics").mkdir()
    assert run(tmp_path, "--budget", "10") == 0
    found = samples(tmp_path / "metrics" / "golden_state_request_log.prom")
    assert found["golden_state_request_log_tokens_today"] == 0
    assert found['golden_state_request_log_files{log="usage.jsonl"}'] == 0


def test_unreadable_files_are_warned_about_and_counted(logs, capsys):
    (logs / "logs" / "usage.jsonl.1").unlink()
    os.mkfifo(logs / "logs" / "usage.jsonl.1")
    assert run(logs) == 0
    found = samples(logs / "metrics" / "golden_state_request_log.prom")
    assert found["golden_state_request_log_read_errors"] == 1
    assert found["golden_state_request_log_tokens_today"] == 100
    assert "warning:" in capsys.readouterr().err


def test_an_unwritable_metrics_directory_fails_with_status_1(logs, capsys):
    assert run(logs, "--metrics-dir", str(logs / "nowhere")) == 1
    assert "cannot write the metrics into" in capsys.readouterr().err


@pytest.mark.parametrize("extra", [
    ["--budget", "-1"],
    ["--budget", "lots"],
    ["--textfile", "bad name"],
    ["--textfile", "x.prom"],
    ["--log", "/elsewhere/usage.jsonl"],  # two logs named alike: their labels would clash
    ["--max-line-bytes", "0"],
])
def test_usage_errors_exit_2(logs, extra):
    with pytest.raises(SystemExit) as exit_info:
        run(logs, *extra)
    assert exit_info.value.code == 2


def test_usage_log_is_required():
    with pytest.raises(SystemExit) as exit_info:
        cli.main([])
    assert exit_info.value.code == 2


def test_runs_as_a_module(logs):
    result = subprocess.run(
        [sys.executable, "-m", "fleet_cli.request_log_metrics",
         "--usage-log", str(logs / "logs" / "usage.jsonl"), "--budget", "3",
         "--metrics-dir", str(logs / "metrics"), "--textfile", "other"],
        capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert (logs / "metrics" / "other.prom").is_file()


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool (Debian prometheus)")
def test_promtool_accepts_the_textfile(logs):
    assert run(logs, "--budget", "1000") == 0
    text = (logs / "metrics" / "golden_state_request_log.prom").read_text()
    result = subprocess.run(["promtool", "check", "metrics"], input=text, text=True,
                            capture_output=True, check=False, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
