"""The harness's logs stay private and bounded, rotation loses no line, the token metric is right.

converge.yml: 4 rotated files kept, max size 1 MiB checked every 5 s, a budget
of 5000 tokens. The stand-in harness (installed by converge.yml) is the writer:
started as a transient unit as the harness's account, it appends numbered
request and usage lines, opening the file per write (O_APPEND). Each test that
writes asks for ``clean`` logs first (no writer, no rotated files, empty live
files as the role leaves them); none counts on another having run before it.
"""

import base64
import datetime
import gzip
import json
import re
import shlex

import pytest

from tests.testinfra_helpers import exposure, show, wait_for

LOGS = "/home/wizard/.hermes/logs"
REQUESTS = f"{LOGS}/requests.jsonl"
USAGE = f"{LOGS}/usage.jsonl"
CONFIG = "/etc/logrotate.d/request-log"
PROM = "/var/lib/prometheus/node-exporter/golden_state_request_log.prom"
WRITER = "request-log-writer"
STANDIN = "/usr/local/lib/harness_standin.py"
ROTATE = f"logrotate --wait-for-state-lock --force {CONFIG}"
KEEP = 4            # request_log_rotate_count in converge.yml
BUDGET = 5000       # request_log_token_budget
TOKENS = 100        # what each of the stand-in's requests uses (REQUEST_TOKENS)


def as_harness(host, command):
    """Run a shell command as the harness's account (as the harness itself would)."""
    return host.run_expect([0], f"runuser -u wizard -- sh -c {shlex.quote(command)}")


def write_as_harness(host, path, data: bytes, mtime=None):
    encoded = base64.b64encode(data).decode()
    as_harness(host, f"umask 077; echo {encoded} | base64 -d > {path}")
    if mtime is not None:
        host.run_expect([0], f"touch -d @{mtime} {path}")


def names(host):
    """File names in the log directory."""
    return sorted(host.check_output(f"ls -1A {LOGS}").split())


def rotated(host, log):
    return [name for name in names(host) if name.startswith(f"{log}.")]


def records(host, path):
    """The JSON lines of a log file (gzipped or not), in file order."""
    reader = "zcat" if path.endswith(".gz") else "cat"
    return [json.loads(line) for line in host.check_output(f"{reader} {path}").splitlines()
            if line.strip()]


def line_count(host, path):
    result = host.run(f"wc -l < {path}")
    return int(result.stdout) if result.rc == 0 and result.stdout.strip() else 0


def rotate(host):
    result = host.run(ROTATE)
    assert result.rc == 0, result.stderr
    assert "error" not in result.stderr, result.stderr


def metrics(host):
    """The textfile's samples: {name or name{labels}: value}."""
    samples = {}
    for line in host.file(PROM).content_string.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def stop_writer(host):
    host.run(f"systemctl stop {WRITER}.service")
    host.run(f"systemctl reset-failed {WRITER}.service")
    assert wait_for(lambda: show(host, "ActiveState", f"{WRITER}.service") != "active")


@pytest.fixture
def clean(host):
    """No writer, no rotated file, empty owner-only live logs (as the role leaves them)."""
    stop_writer(host)
    host.run_expect([0], f"rm -f {REQUESTS}* {USAGE}*")
    for path in (REQUESTS, USAGE):
        host.run_expect([0], f"install -m 0600 -o wizard -g wizard /dev/null {path}")
    yield
    stop_writer(host)


def test_directory_and_logs_are_owner_only(host):
    directory = host.file(LOGS)
    assert directory.is_directory
    assert (directory.user, directory.group, directory.mode) == ("wizard", "wizard", 0o700)
    for path in (REQUESTS, USAGE):
        log = host.file(path)
        assert log.is_file
        assert (log.user, log.group, log.mode) == ("wizard", "wizard", 0o600)


def test_metrics_directory_exists_root_owned(host):
    directory = host.file("/var/lib/prometheus/node-exporter")
    assert (directory.user, directory.group, directory.mode) == ("root", "root", 0o755)


def test_logrotate_config_is_root_owned_and_checks_clean(host):
    config = host.file(CONFIG)
    assert (config.user, config.mode) == ("root", 0o644)
    text = config.content_string
    for directive in ("su wizard wizard", "daily", "maxsize 1M", "rotate 4", "compress",
                      "delaycompress", "nocopytruncate", "create 0600 wizard wizard"):
        assert re.search(rf"^\s+{directive}$", text, re.MULTILINE), directive
    assert not re.search(r"^\s+copytruncate$", text, re.MULTILINE)
    debug = host.run(f"logrotate --debug {CONFIG}")
    assert debug.rc == 0
    assert "error:" not in debug.stdout + debug.stderr


def test_timers_run_and_their_services_succeed(host):
    for timer in ("request-log-rotate.timer", "request-log-metrics.timer"):
        assert host.service(timer).is_enabled
        assert host.service(timer).is_running
    # The size check runs by itself every 5 s.
    service = "request-log-rotate.service"
    first = show(host, "ExecMainStartTimestampMonotonic", service)
    assert wait_for(lambda: show(host, "ExecMainStartTimestampMonotonic", service) != first,
                    timeout=30)
    assert wait_for(lambda: show(host, "ActiveState", service) != "activating", timeout=30)
    assert show(host, "Result", service) == "success"
    host.run_expect([0], "systemctl start request-log-metrics.service")
    assert show(host, "Result", "request-log-metrics.service") == "success"


@pytest.mark.parametrize(("unit", "capabilities", "writable"), [
    ("request-log-rotate.service", "cap_setgid cap_setuid",
     f"{LOGS} /var/lib/logrotate"),
    ("request-log-metrics.service", "cap_dac_override cap_dac_read_search",
     "/var/lib/prometheus/node-exporter"),
])
def test_services_are_sandboxed(host, unit, capabilities, writable):
    assert show(host, "CapabilityBoundingSet", unit) == capabilities
    assert show(host, "ReadWritePaths", unit) == writable
    for prop, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                        ("ProtectHome", "read-only"), ("PrivateNetwork", "yes"),
                        ("PrivateTmp", "yes"), ("PrivateDevices", "yes"),
                        ("RestrictNamespaces", "yes"), ("UMask", "0077")):
        assert show(host, prop, unit) == value, prop
    assert exposure(host, unit) <= 1.5


def test_rotation_under_a_writer_loses_and_duplicates_no_line(host, clean):
    host.run_expect([0], " ".join([
        f"systemd-run --unit={WRITER} --uid=wizard --gid=wizard",
        f"-p StateDirectory={WRITER}",
        f"-E HARNESS_HEARTBEAT=/var/lib/{WRITER}/heartbeat",
        f"-E HARNESS_REQUEST_LOG={REQUESTS} -E HARNESS_USAGE_LOG={USAGE}",
        "-E HARNESS_REQUEST_INTERVAL=0.005",
        f"/usr/bin/python3 {STANDIN}"]))
    assert wait_for(lambda: line_count(host, REQUESTS) >= 20, timeout=30), "the writer is silent"
    pid = show(host, "MainPID", f"{WRITER}.service")
    invocation = show(host, "InvocationID", f"{WRITER}.service")
    for _ in range(KEEP - 1):
        rotate(host)
        # The writer carries on in the new files: any write still on the old ones is done.
        assert wait_for(lambda: line_count(host, REQUESTS) >= 20 and line_count(host, USAGE) >= 20,
                        timeout=30), "the writer did not carry on after the rotation"
        assert show(host, "ActiveState", f"{WRITER}.service") == "active"
    host.run_expect([0], f"systemctl stop {WRITER}.service")

    def made_requests():  # the writer's last words (journald may take a moment)
        journal = host.check_output(
            f"journalctl _SYSTEMD_INVOCATION_ID={invocation} -o cat --no-pager")
        return re.findall(r"harness-standin: made (\d+) requests", journal)

    made = wait_for(made_requests, timeout=20)
    assert made, "the writer did not report how many requests it made"
    made = int(made[0])
    assert not [name for name in names(host) if name.endswith(".backup")]
    for log in ("requests.jsonl", "usage.jsonl"):
        files = [f"{log}.{n}.gz" for n in range(KEEP - 1, 1, -1)] + [f"{log}.1", log]
        assert sorted(rotated(host, log)) == sorted(files[:-1])
        chunks = [records(host, f"{LOGS}/{name}") for name in files]  # oldest first
        assert all(chunks), f"{log}: a file got no line: rotation did not happen mid-stream"
        lines = [line for chunk in chunks for line in chunk]
        assert {str(line["pid"]) for line in lines} == {pid}
        # Every line once, in order, across the rotated and the live files: none lost,
        # none duplicated, the last ones included.
        assert [line["seq"] for line in lines] == list(range(1, made + 1)), log
    # The writer's usage, summed across the live, plain and compressed files.
    host.run_expect([0], "systemctl start request-log-metrics.service")
    samples = metrics(host)
    day = datetime.datetime.fromtimestamp(
        samples["golden_state_request_log_last_run_timestamp_seconds"], datetime.UTC).date()
    today = [line for name in files for line in records(host, f"{LOGS}/{name}")
             if line["ts"].startswith(day.isoformat())]  # all of them, unless midnight passed
    assert samples["golden_state_request_log_tokens_today"] == TOKENS * len(today)
    assert samples["golden_state_request_log_malformed_lines"] == 0


def test_retention_keeps_the_count_compressed_and_private(host, clean):
    total = KEEP + 2
    for number in range(1, total + 1):
        as_harness(host, f"echo '{{\"n\": {number}}}' >> {REQUESTS}")
        rotate(host)
    expected = ["requests.jsonl.1"] + [f"requests.jsonl.{n}.gz" for n in range(2, KEEP + 1)]
    assert rotated(host, "requests.jsonl") == sorted(expected)
    # Newest first: .1 holds the last line written, .KEEP.gz the oldest kept.
    for index, name in enumerate(expected):
        assert records(host, f"{LOGS}/{name}") == [{"n": total - index}]
    for name in expected[1:]:
        host.run_expect([0], f"gzip --test {LOGS}/{name}")
    for name in ["requests.jsonl", *expected]:
        log = host.file(f"{LOGS}/{name}")
        assert (log.user, log.group, log.mode) == ("wizard", "wizard", 0o600), name
    assert host.file(REQUESTS).size == 0  # created afresh by logrotate
    assert rotated(host, "usage.jsonl") == []  # empty: never rotated (notifempty)


def test_a_log_past_max_size_is_rotated_by_the_timer(host, clean):
    as_harness(host, f"head -c 1100000 /dev/zero | tr '\\0' x > {REQUESTS}")
    # No forcing: the timer's check (every 5 s) sees the size.
    assert wait_for(lambda: host.file(f"{REQUESTS}.1").exists, timeout=60), \
        "request-log-rotate.timer did not rotate a log past its max size"
    assert host.file(f"{REQUESTS}.1").size == 1100000
    assert host.file(REQUESTS).size == 0
    assert host.file(f"{REQUESTS}.1").mode == 0o600


def test_metrics_report_todays_tokens_and_the_budget(host, clean):
    for _attempt in range(2):  # a UTC midnight between writing and reading: once more
        now = int(host.check_output("date +%s"))
        midnight = now - now % 86400
        when = datetime.datetime.fromtimestamp(now, datetime.UTC).isoformat()
        yesterday = datetime.datetime.fromtimestamp(midnight - 1, datetime.UTC).isoformat()

        def lines(*records):
            return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n"
                           for r in records).encode()

        write_as_harness(host, USAGE, lines(
            {"ts": when, "tokens": 100},
            {"ts": now, "usage": {"prompt_tokens": 20, "completion_tokens": 3}},
            "not json",
            {"ts": yesterday, "tokens": 1000},            # yesterday: not today's
            '{"ts": "' + when + '", "tokens": "lots"}',   # malformed: not a count
        ))
        write_as_harness(host, f"{USAGE}.1", lines(
            {"ts": when, "usage": {"total_tokens": 400}}))
        # Last written yesterday: never read (its lines could not be today's).
        write_as_harness(host, f"{USAGE}.2.gz", gzip.compress(lines(
            {"ts": when, "tokens": 99999}, "junk")), mtime=midnight - 10)
        host.run_expect([0], "systemctl start request-log-metrics.service")
        samples = metrics(host)
        if samples["golden_state_request_log_last_run_timestamp_seconds"] < midnight + 86400:
            break
    prom = host.file(PROM)
    assert (prom.user, prom.mode) == ("root", 0o644)
    assert samples["golden_state_request_log_tokens_today"] == 100 + 23 + 400
    assert samples["golden_state_request_log_token_budget"] == BUDGET
    assert samples["golden_state_request_log_usage_lines_today"] == 3
    assert samples["golden_state_request_log_malformed_lines"] == 2
    assert samples["golden_state_request_log_read_errors"] == 0
    assert samples['golden_state_request_log_files{log="usage.jsonl"}'] == 3
    assert samples['golden_state_request_log_files{log="requests.jsonl"}'] == 1
    assert samples['golden_state_request_log_bytes{log="requests.jsonl"}'] == 0
    journal = host.check_output("journalctl -u request-log-metrics.service -o cat --no-pager")
    assert "523 tokens of 5000" in journal
