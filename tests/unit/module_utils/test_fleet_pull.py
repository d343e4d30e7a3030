"""fleet_pull: recap parsing, triggers, pause, history, lock and coalescing.

Runs use a fake ansible-pull (a Python script printing a recap) or an
in-process fake runner; nothing here touches a real checkout or network.
"""

from __future__ import annotations

import itertools
import json
import os
import stat
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fleet import pull as fleet_pull
from fleet.pull import ConfigError, PullConfig, RunResult
from fleet.pull_output import parse_recap

RECAP_OUTPUT = textwrap.dedent("""\
    Starting Ansible Pull at 2026-01-01 00:00:00
    localhost | CHANGED => {
        "after": "abc",
        "changed": true
    }

    PLAY [Converge wizard hosts to their golden state] *****************************

    TASK [base : Create the harness user] ******************************************
    ok: [ezra]

    PLAY RECAP *********************************************************************
    ezra                       : ok=7    changed=2    unreachable=0    failed=1    TAIL
    """).replace("TAIL", "skipped=3    rescued=0    ignored=1")
RECAP_LINE = "print('ezra : ok=1 changed=0 unreachable=0 failed=0')"


@pytest.fixture
def cfg(make_pull_config) -> PullConfig:
    return make_pull_config(timeout=20)


def fake_runner(output: str = RECAP_OUTPUT, status: int = 0, during=None):
    """A runner that records its calls and can act while 'running'."""
    calls = []

    def run(cfg: PullConfig) -> RunResult:
        calls.append(time.time())
        if during:
            during(len(calls))
        return RunResult(status, output, fetched=time.time())

    run.calls = calls
    return run


def no_head(_checkout: str) -> str | None:
    return None


# -- configuration ---------------------------------------------------------

def test_config_round_trip_ignores_comment_keys(tmp_path):
    path = tmp_path / "pull.json"
    path.write_text(json.dumps({"_comment": "managed", "repo_url": "file:///x",
                                "inventory_name": "ezra", "timeout": 60}))
    cfg = fleet_pull.load_config(str(path))
    assert (cfg.repo_url, cfg.inventory_name, cfg.branch, cfg.timeout) == (
        "file:///x", "ezra", "main", 60)


@pytest.mark.parametrize(("data", "message"), [
    ({"inventory_name": "ezra"}, "repo_url"),
    ({"repo_url": "u", "inventory_name": ""}, "inventory_name"),
    ({"repo_url": "u", "inventory_name": "e", "timeout": 0}, "timeout"),
    ({"repo_url": "u", "inventory_name": "e", "timeout": True}, "timeout"),
    ({"repo_url": "u", "inventory_name": "e", "command": "ls"}, "command"),
    ({"repo_url": "u", "inventory_name": "e", "branch": 3}, "branch"),
    ({"repo_url": "u", "inventory_name": "e", "surprise": 1}, "surprise"),
    ([], "JSON object"),
])
def test_bad_config_is_refused_with_the_field_named(data, message):
    with pytest.raises(ConfigError, match=message):
        PullConfig.from_mapping(data)


def test_unreadable_or_broken_config_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        fleet_pull.load_config(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match=r"broken\.json: invalid JSON at line"):
        fleet_pull.load_config(str(broken))


def test_ansible_pull_command_line(cfg):
    argv = fleet_pull.ansible_pull_argv(cfg)
    assert argv[0] == "/opt/golden-state/venv/bin/ansible-pull"
    assert argv[argv.index("-U") + 1] == "file:///srv/origin.git"
    assert argv[argv.index("-C") + 1] == "main"
    assert argv[argv.index("--limit") + 1] == "ezra"
    assert argv[argv.index("-c") + 1] == "local"
    assert argv[argv.index("-i") + 1] == "inventory/hosts.yml"
    # The host's modules use its system python3 (apt's bindings live there).
    assert not any("ansible_python_interpreter" in arg for arg in argv)
    assert argv[-1] == "playbooks/site.yml"
    cfg.command = ["/bin/true"]
    assert fleet_pull.ansible_pull_argv(cfg) == ["/bin/true"]


# -- recap -----------------------------------------------------------------

def test_recap_counts_are_parsed():
    recap = parse_recap(RECAP_OUTPUT)
    assert recap["hosts"]["ezra"] == {"ok": 7, "changed": 2, "unreachable": 0, "failed": 1,
                                      "skipped": 3, "rescued": 0, "ignored": 1}
    assert (recap["ok"], recap["changed"], recap["failed"]) == (7, 2, 1)


def test_recap_uses_the_last_block_and_sums_hosts():
    text = ("PLAY RECAP ***\nold : ok=1 changed=1 unreachable=0 failed=0\n\n"
            "PLAY RECAP ***\na : ok=2 changed=0 unreachable=0 failed=0\n"
            "b : ok=3 changed=1 unreachable=1 failed=0 skipped=2\n\nlater output\n")
    recap = parse_recap(text)
    assert set(recap["hosts"]) == {"a", "b"}
    assert (recap["ok"], recap["changed"], recap["unreachable"], recap["skipped"]) == (5, 1, 1, 2)


def test_output_without_recap_gives_none():
    assert parse_recap("ERROR! the playbook could not be found\n") is None


# -- triggers --------------------------------------------------------------

def test_enqueue_and_drain_oldest_first(cfg):
    clock = iter([100.0, 200.0, 300.0])
    for delivery in ("d-1", "d-2", "d-3"):
        fleet_pull.enqueue(cfg.spool_dir, "webhook", delivery, now=lambda: next(clock))
    triggers = fleet_pull.drain(cfg.spool_dir)
    assert [t.delivery for t in triggers] == ["d-1", "d-2", "d-3"]
    assert [t.received for t in triggers] == [100.0, 200.0, 300.0]
    assert os.listdir(cfg.spool_dir) == []
    assert fleet_pull.drain(cfg.spool_dir) == []


def test_enqueue_refuses_unknown_sources(cfg):
    with pytest.raises(ValueError, match="source"):
        fleet_pull.enqueue(cfg.spool_dir, "payload", "x")


@pytest.mark.parametrize("delivery", ["", "a b", "x" * 200, "../../etc/passwd", "id;rm -rf /"])
def test_odd_delivery_ids_are_dropped(cfg, delivery):
    fleet_pull.enqueue(cfg.spool_dir, "webhook", delivery)
    (trigger,) = fleet_pull.drain(cfg.spool_dir)
    assert trigger.delivery is None


def test_hostile_spool_entries_never_break_the_runner(cfg, tmp_path):
    spool = cfg.spool_dir
    secret = tmp_path / "secret"
    secret.write_text('{"delivery": "from-a-symlink"}')
    os.symlink(secret, os.path.join(spool, "1-link.trigger"))
    with open(os.path.join(spool, "2-junk.trigger"), "wb") as handle:
        handle.write(b"\x00" * 10000)
    with open(os.path.join(spool, "3-list.trigger"), "w") as handle:
        handle.write("[1, 2]")
    with open(os.path.join(spool, "4-odd.trigger"), "w") as handle:
        json.dump({"source": "root-please", "delivery": "ok-id", "received": "soon"}, handle)
    os.makedirs(os.path.join(spool, "5-dir.trigger", "sub"))
    with open(os.path.join(spool, ".tmp-partial"), "w") as handle:
        handle.write("{")
    os.mkdir(os.path.join(spool, "6-dir.trigger"))
    os.symlink("/", os.path.join(spool, "6-dir.trigger", "root"))
    triggers = fleet_pull.drain(spool, now=lambda: time.time())
    assert [t.delivery for t in triggers] == [None, None, None, "ok-id"]
    assert all(t.source == "webhook" for t in triggers)
    assert triggers[3].received > 1e9
    assert secret.exists(), "a symlink is removed, never followed"
    assert os.path.isdir("/etc"), "rmtree did not follow the link to /"
    assert sorted(os.listdir(spool)) == [".tmp-partial"], "a fresh temporary file is left"
    fleet_pull.drain(spool, now=lambda: time.time() + 60)
    assert os.listdir(spool) == [], "a stale temporary file is removed"


# -- pause -----------------------------------------------------------------

def test_pause_needs_a_reason_and_resume_clears_it(cfg):
    with pytest.raises(ValueError, match="reason"):
        fleet_pull.pause(cfg, "   ")
    assert fleet_pull.read_pause(cfg) is None
    flag = fleet_pull.pause(cfg, "debugging ezra - alice", now=lambda: 0.0)
    assert flag == {"reason": "debugging ezra - alice", "since": "1970-01-01T00:00:00.000000Z"}
    assert fleet_pull.read_pause(cfg) == flag
    assert fleet_pull.resume(cfg) is True
    assert fleet_pull.resume(cfg) is False


def test_paused_host_records_the_trigger_and_runs_nothing(cfg):
    fleet_pull.pause(cfg, "maintenance")
    fleet_pull.enqueue(cfg.spool_dir, "webhook", "d-9")
    runner = fake_runner()
    (record,) = fleet_pull.run_pending(cfg, "webhook", runner, head=no_head)
    assert runner.calls == []
    assert record["status"] == "paused"
    assert record["paused"]["reason"] == "maintenance"
    assert record["deliveries"] == ["d-9"]
    assert fleet_pull.read_history(cfg) == [record]


def test_an_unreadable_pause_flag_still_pauses(cfg):
    with open(cfg.pause_path, "w") as handle:
        handle.write("not json")
    (record,) = fleet_pull.run_pending(cfg, "timer", fake_runner(), head=no_head)
    assert record["status"] == "paused"


# -- history ---------------------------------------------------------------

def test_history_record_of_a_run(cfg):
    fleet_pull.enqueue(cfg.spool_dir, "webhook", "gitea-1", now=lambda: 1000.0)
    heads = iter(["a" * 40, "b" * 40])
    (record,) = fleet_pull.run_pending(cfg, "webhook", fake_runner(),
                                       head=lambda _c: next(heads))
    assert record["trigger"] == "webhook"
    assert record["delivery"] == "gitea-1"
    assert record["received"] == "1970-01-01T00:16:40.000000Z"
    assert (record["commit_before"], record["commit_after"]) == ("a" * 40, "b" * 40)
    assert (record["exit_status"], record["status"]) == (0, "ok")
    assert (record["ok"], record["changed"], record["failed"]) == (7, 2, 1)
    assert fleet_pull.parse_iso(record["start"]) <= fleet_pull.parse_iso(record["end"])
    assert record["fetched"] is not None
    lines = Path(cfg.history_path).read_text().splitlines()
    assert [json.loads(line) for line in lines] == [record]
    assert json.loads(Path(cfg.last_run_path).read_text()) == record
    assert stat.S_IMODE(os.stat(cfg.log_path).st_mode) == 0o600


def test_failed_run_is_recorded_as_failed(cfg):
    (record,) = fleet_pull.run_pending(cfg, "manual", fake_runner("boom\n", status=2),
                                       head=no_head)
    assert (record["status"], record["exit_status"], record["ok"]) == ("failed", 2, None)
    assert record["trigger"] == "manual"


def test_read_history_skips_broken_lines_and_limits(cfg):
    with open(cfg.history_path, "w") as handle:
        handle.write('{"n": 1}\nnot json\n{"n": 2}\n{"n": 3}\n')
    assert fleet_pull.read_history(cfg) == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert fleet_pull.read_history(cfg, 2) == [{"n": 2}, {"n": 3}]


# -- lock and coalescing ---------------------------------------------------

def test_a_busy_lock_hands_the_request_to_its_holder(cfg):
    holder = fleet_pull.RunLock(cfg.lock_path)
    assert holder.acquire()
    try:
        runner = fake_runner()
        assert fleet_pull.run_pending(cfg, "webhook", runner, head=no_head) is None
        assert not os.path.exists(cfg.pending_path), "webhook triggers wait in the spool"
        assert fleet_pull.run_pending(cfg, "timer", runner, head=no_head) is None
        assert Path(cfg.pending_path).read_text() == "timer"
        assert runner.calls == []
    finally:
        holder.release()
    # The holder (next run) picks the pending request up: one run for both.
    fleet_pull.enqueue(cfg.spool_dir, "webhook", "d-1")
    (record,) = fleet_pull.run_pending(cfg, "webhook", fake_runner(), head=no_head)
    assert record["trigger"] == "timer+webhook"
    assert record["deliveries"] == ["d-1"]
    assert not os.path.exists(cfg.pending_path)


def test_triggers_during_a_run_lead_to_exactly_one_more_run(cfg):
    for i in range(3):
        fleet_pull.enqueue(cfg.spool_dir, "webhook", f"first-{i}")

    def during(call: int) -> None:
        if call == 1:  # twenty pushes arrive while the first run is busy
            for i in range(20):
                fleet_pull.enqueue(cfg.spool_dir, "webhook", f"later-{i}")

    runner = fake_runner(during=during)
    records = fleet_pull.run_pending(cfg, "webhook", runner, head=no_head)
    assert len(runner.calls) == 2
    assert [r["deliveries"] for r in records] == [
        [f"first-{i}" for i in range(3)], [f"later-{i}" for i in range(20)]]
    assert [r["triggers"] for r in records] == [3, 20]


def test_a_webhook_start_with_nothing_queued_runs_nothing(cfg):
    runner = fake_runner()
    assert fleet_pull.run_pending(cfg, "webhook", runner, head=no_head) == []
    assert runner.calls == []


def test_a_run_with_nothing_queued_runs_once(cfg):
    runner = fake_runner()
    (record,) = fleet_pull.run_pending(cfg, "timer", runner, head=no_head)
    assert len(runner.calls) == 1
    assert (record["trigger"], record["triggers"], record["delivery"]) == ("timer", 0, None)


def test_a_trigger_after_the_last_drain_is_not_lost(cfg, monkeypatch):
    """Simulates a push landing between the final drain and the lock release."""
    real_drain = fleet_pull.drain
    state = {"drains": 0}

    def drain(spool, now=time.time):
        got = real_drain(spool, now)
        state["drains"] += 1
        if state["drains"] == 2:  # the 'nothing more' drain of round one
            fleet_pull.enqueue(spool, "webhook", "late")
        return got

    monkeypatch.setattr(fleet_pull, "drain", drain)
    fleet_pull.enqueue(cfg.spool_dir, "webhook", "early")
    runner = fake_runner()
    records = fleet_pull.run_pending(cfg, "webhook", runner, head=no_head)
    assert [r["deliveries"] for r in records] == [["early"], ["late"]]


def test_concurrent_runners_never_overlap(cfg, tmp_path):
    """Real ansible-pull stand-in started from many threads.

    The stand-in holds its run until the test opens the gate, once the nine
    runners that lost the lock have returned: every trigger and runner arrives
    while the first run is in progress, however loaded the machine. Exactly the
    case that must give at most one more run.
    """
    gate = tmp_path / "gate"
    fake = tmp_path / "fake-ansible-pull"
    fake.write_text(f"#!{sys.executable}\nimport os, time\n"
                    f"deadline = time.monotonic() + 60\n"
                    f"while not os.path.exists({str(gate)!r}) and time.monotonic() < deadline:\n"
                    f"    time.sleep(0.01)\n"
                    f"print('PLAY RECAP ***')\n{RECAP_LINE}\n")
    fake.chmod(0o755)
    cfg.command = [str(fake)]
    threads = []
    for i in range(10):
        fleet_pull.enqueue(cfg.spool_dir, "webhook", f"d-{i}")
        thread = threading.Thread(target=fleet_pull.run_pending, args=(cfg, "webhook"),
                                  kwargs={"head": no_head})
        threads.append(thread)
        thread.start()
    # The nine that lost the lock have left their pending mark and returned.
    deadline = time.monotonic() + 60
    while sum(t.is_alive() for t in threads) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    gate.touch()
    for thread in threads:
        thread.join(timeout=30)
    records = fleet_pull.read_history(cfg)
    assert 1 <= len(records) <= 2
    spans = sorted((fleet_pull.parse_iso(r["start"]), fleet_pull.parse_iso(r["end"]))
                   for r in records)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    delivered = [d for r in records for d in r["deliveries"]]
    assert sorted(delivered) == sorted(f"d-{i}" for i in range(10))
    assert all(r["ok"] == 1 and r["status"] == "ok" for r in records)


# -- executing the command -------------------------------------------------

def test_execute_streams_output_and_notes_when_the_fetch_ended(cfg, tmp_path):
    fake = tmp_path / "fake"
    fake.write_text(f"#!{sys.executable}\nimport sys, time\n"
                    f"print('localhost | CHANGED => {{'); sys.stdout.flush(); time.sleep(0.2)\n"
                    f"print('PLAY RECAP ***')\n{RECAP_LINE.replace('ok=1', 'ok=3')}\n")
    fake.chmod(0o755)
    cfg.command = [str(fake)]
    seen = []
    before = time.time()
    result = fleet_pull.execute(cfg, echo=seen.append)
    assert result.exit_status == 0
    assert "".join(seen) == result.output
    assert before <= result.fetched <= time.time() - 0.15
    assert parse_recap(result.output)["ok"] == 3


def test_execute_kills_a_run_that_overstays(cfg, tmp_path):
    cfg.command = [sys.executable, "-c",
                   "import time; print('started', flush=True); time.sleep(30)"]
    cfg.timeout = 1
    started = time.monotonic()
    result = fleet_pull.execute(cfg)
    assert time.monotonic() - started < 10
    assert result.timed_out and result.exit_status is None
    assert "started" in result.output


def test_strategy_is_plain_unless_mitogen_is_asked_for_and_installed(cfg, tmp_path):
    assert fleet_pull.strategy_env(cfg, find=lambda venv: "/p") == ({}, None)
    cfg.mitogen = True
    assert fleet_pull.strategy_env(cfg, find=lambda venv: "/p") == (
        {"ANSIBLE_STRATEGY": "mitogen_linear", "ANSIBLE_STRATEGY_PLUGINS": "/p"}, None)
    env, note = fleet_pull.strategy_env(cfg, find=lambda venv: None)
    assert env == {}
    assert "mitogen is not installed in /opt/golden-state/venv" in note


def test_mitogen_is_found_in_a_venv_of_any_python_version(tmp_path):
    assert fleet_pull.mitogen_strategy_dir(str(tmp_path)) is None
    plugins = tmp_path / "lib/python3.13/site-packages/ansible_mitogen/plugins/strategy"
    plugins.mkdir(parents=True)
    assert fleet_pull.mitogen_strategy_dir(str(tmp_path)) == str(plugins)


def test_execute_selects_mitogen_and_notes_when_it_is_missing(cfg, tmp_path):
    cfg.mitogen = True
    cfg.venv_dir = str(tmp_path / "venv")
    cfg.command = [sys.executable, "-c",
                   "import os; print('strategy=' + os.environ.get('ANSIBLE_STRATEGY', 'linear'),"
                   " os.environ.get('ANSIBLE_STRATEGY_PLUGINS'))"]
    result = fleet_pull.execute(cfg)
    assert "mitogen is not installed" in result.output
    assert "strategy=linear" in result.output
    plugins = tmp_path / "venv/lib/python3.11/site-packages/ansible_mitogen/plugins/strategy"
    plugins.mkdir(parents=True)
    result = fleet_pull.execute(cfg)
    assert f"strategy=mitogen_linear {plugins}" in result.output
    assert "not installed" not in result.output


def test_config_mitogen_must_be_a_boolean():
    base = {"repo_url": "file:///srv/origin.git", "inventory_name": "ezra"}
    assert fleet_pull.PullConfig.from_mapping({**base, "mitogen": True}).mitogen is True
    with pytest.raises(ConfigError, match="'mitogen' must be true or false"):
        fleet_pull.PullConfig.from_mapping({**base, "mitogen": "yes"})


def test_execute_reports_a_missing_command(cfg):
    cfg.command = ["/nonexistent/ansible-pull"]
    result = fleet_pull.execute(cfg)
    assert result.exit_status is None
    assert "cannot start /nonexistent/ansible-pull" in result.output


def test_git_head_of_a_checkout(tmp_path):
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    assert fleet_pull.git_head(str(repo)) is None  # no commit yet
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = fleet_pull.git_head(str(repo))
    assert head and len(head) == 40
    assert fleet_pull.git_head(str(tmp_path / "nothing")) is None


def test_execute_puts_the_checkouts_fleet_package_first(cfg, tmp_path):
    """Filters in the pulled commit import its own fleet package, not the venv's older copy."""
    cfg.command = [sys.executable, "-c", "import os; print(os.environ['PYTHONPATH'])"]
    cfg.checkout_dir = str(tmp_path / "checkout")
    result = fleet_pull.execute(cfg)
    assert result.exit_status == 0
    assert result.output.splitlines()[-1] == str(tmp_path / "checkout" / "module_utils")
