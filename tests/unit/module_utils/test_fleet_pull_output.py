"""fleet_pull.failure_reason: why a pull run failed, read from ansible-pull's own output.

The samples are ansible-core 2.19 output as the pull runner captures it
(ansible-pull's git step as ad-hoc JSON, the play with the checkout's
ansible.cfg: YAML results, the drift summary after the recap).
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from pathlib import Path

import pytest
import yaml
from fleet import pull as fleet_pull
from fleet.pull import PullConfig, RunResult
from fleet.pull_output import REASON_MAX, failure_reason
from fleet.text import printable
from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[3]


def sample(text: str) -> str:
    """Dedented, without the newline after the opening quotes; "=>" ends a line with a
    space, as the default callback prints it before a YAML result."""
    return re.sub(r"=>$", "=> ", textwrap.dedent(text).removeprefix("\n"), flags=re.M)


START = sample("""
    Starting Ansible Pull at 2026-03-02 10:14:07
    /opt/golden-state/venv/bin/ansible-pull -U https://git.example.org/fleet/golden-state.git -C main -d /opt/golden-state/checkout -i inventory/hosts.yml --limit ezra -c local --clean playbooks/site.yml
    """)  # noqa: E501 (ansible-pull echoes its whole command line)
FETCHED = START + sample("""
    localhost | CHANGED => {
        "after": "3f2a9c1d0b8e4f6a7c5d3e1f2a4b6c8d0e2f4a6b",
        "before": "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e",
        "changed": true,
        "remote_url_changed": false
    }

    PLAY [Converge wizard hosts to their golden state] *****************************

    TASK [Verify the signed key list against the pinned trust root] ****************
    skipping: [ezra]

    TASK [Refuse role variables that no role declares] *****************************
    ok: [ezra -> localhost]
    """)
PREFLIGHT_OK = sample("""

    TASK [Refuse any banned provider before anything changes] **********************
    ok: [ezra -> localhost]

    TASK [Judge the rendered overlay] **********************************************
    included: golden_state for ezra

    TASK [golden_state : Validate the overlay and check its signatures] ************
    ok: [ezra -> localhost]

    TASK [Judge the cron job files] ************************************************
    included: cron_manager for ezra

    TASK [cron_manager : Validate the cron job declarations] ***********************
    ok: [ezra -> localhost]
    """)


def recap(ok: int, failed: int, unreachable: int = 0) -> str:
    return sample(f"""

        PLAY RECAP *********************************************************************
        ezra                       : ok={ok}    changed=0    unreachable={unreachable}    failed={failed}    skipped=1    rescued=0    ignored=0

        DRIFT SUMMARY (changed) ****************************************
        ezra: FAILED or UNREACHABLE, drift unknown
        """)  # noqa: E501


GIT_UNREACHABLE = START + sample("""
    [WARNING]: Could not match supplied host pattern, ignoring: ezra.local
    [ERROR]: Task failed: Module failed: fatal: unable to access 'https://git.example.org/fleet/golden-state.git/': Could not resolve host: git.example.org
    Origin: <adhoc 'git' task>

    {'action': 'git', 'args': {'name': 'https://git.example.org/fleet/golden-state.git', 'dest': '/opt/golden-state/checkout', [...]

    localhost | FAILED! => {
        "changed": false,
        "cmd": "/usr/bin/git ls-remote https://git.example.org/fleet/golden-state.git -h refs/heads/main",
        "msg": "fatal: unable to access 'https://git.example.org/fleet/golden-state.git/': Could not resolve host: git.example.org",
        "rc": 128,
        "stderr": "fatal: unable to access 'https://git.example.org/fleet/golden-state.git/': Could not resolve host: git.example.org\\n",
        "stderr_lines": [
            "fatal: unable to access 'https://git.example.org/fleet/golden-state.git/': Could not resolve host: git.example.org"
        ],
        "stdout": "",
        "stdout_lines": []
    }
    """)  # noqa: E501
GIT_NO_REPO = START + sample("""
    [ERROR]: Task failed: Module failed: fatal: '/srv/git/golden-state.git' does not appear to be a git repository
    fatal: Could not read from remote repository.

    Please make sure you have the correct access rights
    and the repository exists.
    Origin: <adhoc 'git' task>

    localhost | FAILED! => {
        "changed": false,
        "msg": "fatal: '/srv/git/golden-state.git' does not appear to be a git repository\\nfatal: Could not read from remote repository.\\n\\nPlease make sure you have the correct access rights\\nand the repository exists.",
        "rc": 128
    }
    """)  # noqa: E501
GIT_CHECKOUT = START + sample("""
    [ERROR]: Task failed: Module failed: Failed to checkout release-7
    Origin: <adhoc 'git' task>

    localhost | FAILED! => {
        "changed": false,
        "cmd": "/usr/bin/git checkout --force release-7",
        "msg": "Failed to checkout release-7",
        "rc": 1,
        "stderr": "error: pathspec 'release-7' did not match any file(s) known to git\\n",
        "stderr_lines": [
            "error: pathspec 'release-7' did not match any file(s) known to git"
        ],
        "stdout": "",
        "stdout_lines": []
    }
    """)
PREFLIGHT_BANNED = FETCHED + sample("""

    TASK [Refuse any banned provider before anything changes] **********************
    [ERROR]: Task failed: Module failed: 1 banned-provider finding(s):
    inventory/host_vars/ezra.yml:14: banned provider 'anthropic' in golden_state_providers[1].provider
    Origin: /opt/golden-state/checkout/playbooks/site.yml:47:7

    45     # A fast first line over the sources and the inventory; the gate is the
    46     # rendered decision each role's controller-side check makes below.
    47     - name: Refuse any banned provider before anything changes
             ^ column 7

    fatal: [ezra -> localhost]: FAILED! =>
        allowed: []
        changed: false
        errors: []
        msg: |-
            1 banned-provider finding(s):
            inventory/host_vars/ezra.yml:14: banned provider 'anthropic' in golden_state_providers[1].provider
    """) + recap(2, 1)  # noqa: E501
PREFLIGHT_OVERLAY = FETCHED + sample("""

    TASK [Refuse any banned provider before anything changes] **********************
    ok: [ezra -> localhost]

    TASK [Judge the rendered overlay] **********************************************
    included: golden_state for ezra

    TASK [golden_state : Validate the overlay and check its signatures] ************
    [ERROR]: Task failed: Module failed: overlay rejected, no host file was changed: 1 error(s): config.yaml: model.provider: 'anthropic' is not one of ['nous', 'local']
    Origin: /opt/golden-state/checkout/roles/golden_state/tasks/validate.yml:8:3

    6 # decided once, by the site pre-flight (trust_decision), and reaches the role
    7 # as golden_state_trust.
    8 - name: Validate the overlay and check its signatures
        ^ column 3

    fatal: [ezra -> localhost]: FAILED! =>
        changed: false
        checked:
        - /opt/golden-state/checkout/roles/golden_state/files/config.yaml
        errors:
        - 'config.yaml: model.provider: ''anthropic'' is not one of [''nous'', ''local'']'
        msg: 'overlay rejected, no host file was changed: 1 error(s): config.yaml: model.provider:
            ''anthropic'' is not one of [''nous'', ''local'']'
        signer_keys: {}
        signers: {}
    """) + recap(3, 1)  # noqa: E501
PLAY_COMMAND = FETCHED + PREFLIGHT_OK + sample("""

    TASK [base : Create the harness user] ******************************************
    ok: [ezra]

    TASK [base : Install the pull agent] *******************************************
    included: /opt/golden-state/checkout/roles/base/tasks/pull_agent.yml for ezra

    TASK [base : Build and install the fleet package from its source] **************
    [ERROR]: Task failed: Module failed: non-zero return code
    Origin: /opt/golden-state/checkout/roles/base/tasks/pull_agent.yml:32:7

    30 - name: Install the fleet package into the pull agent's virtualenv
    31   block:
    32     - name: Build and install the fleet package from its source
             ^ column 7

    fatal: [ezra]: FAILED! =>
        changed: true
        cmd:
        - /opt/golden-state/venv/bin/pip
        - install
        - --no-index
        - /usr/local/lib/golden-state/src
        delta: '0:00:02.118400'
        end: '2026-03-02 10:15:02.907113'
        msg: non-zero return code
        rc: 1
        start: '2026-03-02 10:15:00.788713'
        stderr: |-
            ERROR: Could not find a version that satisfies the requirement setuptools>=68 (from versions: none)
            ERROR: No matching distribution found for setuptools>=68
        stderr_lines: <omitted>
        stdout: 'Processing /usr/local/lib/golden-state/src'
        stdout_lines: <omitted>
    """) + recap(9, 1)  # noqa: E501
PLAY_APT = FETCHED + PREFLIGHT_OK + sample("""

    TASK [base : Install the pull agent's system packages] *************************
    [ERROR]: Task failed: Module failed: No package matching 'python3-venvx' is available
    Origin: /opt/golden-state/checkout/roles/base/tasks/pull_agent.yml:2:3

    1 ---
    2 - name: Install the pull agent's system packages
        ^ column 3

    fatal: [ezra]: FAILED! =>
        cache_update_time: 1772446478
        cache_updated: false
        changed: false
        msg: No package matching 'python3-venvx' is available
    """) + recap(7, 1)
PLAY_LOOP = FETCHED + PREFLIGHT_OK + sample("""

    TASK [base : Link the host programs onto PATH] *********************************
    ok: [ezra] => (item=golden-state-pull)
    [ERROR]: Task failed: Module failed: src file does not exist, use 'force=yes' if you really want to create the link: /opt/golden-state/venv/bin/deadman-check
    Origin: /opt/golden-state/checkout/roles/base/tasks/pull_agent.yml:24:3

    24 - name: Link the host programs onto PATH
         ^ column 3

    failed: [ezra] (item=deadman-check) =>
        ansible_loop_var: item
        changed: false
        item: deadman-check
        msg: 'src file does not exist, use ''force=yes'' if you really want to create the
            link: /opt/golden-state/venv/bin/deadman-check'
        path: /usr/local/sbin/deadman-check
        src: /opt/golden-state/venv/bin/deadman-check
    """) + recap(8, 1)  # noqa: E501
IGNORED_THEN_OK = FETCHED + PREFLIGHT_OK + sample("""

    TASK [harness_service : Check whether the harness answers] *********************
    [ERROR]: Task failed: Module failed: non-zero return code
    Origin: /opt/golden-state/checkout/roles/harness_service/tasks/main.yml:30:3

    fatal: [ezra]: FAILED! =>
        changed: false
        msg: non-zero return code
        rc: 7
    ...ignoring
    """) + recap(12, 0)
IGNORED_THEN_FAILED = IGNORED_THEN_OK.split("\nPLAY RECAP")[0] + sample("""

    TASK [deadman_switch : Install the deadman timer] ******************************
    [ERROR]: Task failed: Module failed: Unit deadman.timer not found.
    Origin: /opt/golden-state/checkout/roles/deadman_switch/tasks/main.yml:12:3

    fatal: [ezra]: FAILED! => {"changed": false, "msg": "Unit deadman.timer not found."}
    """) + recap(13, 1)
UNREACHABLE = FETCHED + PREFLIGHT_OK + sample("""

    TASK [base : Create the harness user] ******************************************
    [ERROR]: Task failed: Failed to connect to the host via ssh: ssh: Could not resolve hostname ezra.fleet.internal: Name or service not known
    Origin: /opt/golden-state/checkout/roles/base/tasks/user.yml:2:3

    fatal: [ezra]: UNREACHABLE! =>
        changed: false
        msg: 'Task failed: Failed to connect to the host via ssh: ssh: Could not resolve hostname
            ezra.fleet.internal: Name or service not known'
        unreachable: true
    """) + recap(5, 0, 1)  # noqa: E501
SYNTAX = START + sample("""
    localhost | CHANGED => {
        "after": "3f2a9c1d0b8e4f6a7c5d3e1f2a4b6c8d0e2f4a6b",
        "before": "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e",
        "changed": true
    }
    [ERROR]: YAML parsing failed: While parsing a block collection did not find expected '-' indicator.
    Origin: /opt/golden-state/checkout/playbooks/site.yml:58:6

    56     - name: Judge the trails
    57       ansible.builtin.include_role:
    58      name: trails
           ^ column 6

    """)  # noqa: E501
MODULE_CRASH = FETCHED + PREFLIGHT_OK + sample("""

    TASK [golden_state : Apply the overlay] ****************************************
    [ERROR]: Task failed: Module failed: MODULE FAILURE: No start of json char found
    See stdout/stderr for the exact error
    Origin: /opt/golden-state/checkout/roles/golden_state/tasks/apply.yml:3:3

    fatal: [ezra]: FAILED! =>
        changed: false
        module_stderr: |-
            Traceback (most recent call last):
              File "<stdin>", line 107, in <module>
            ModuleNotFoundError: No module named 'jsonschema'
        module_stdout: ''
        msg: |-
            MODULE FAILURE: No start of json char found
            See stdout/stderr for the exact error
        rc: 1
    """)
TIMED_OUT = FETCHED + PREFLIGHT_OK + sample("""

    TASK [base : Install the pull agent's virtualenv] ******************************
    """)


@pytest.mark.parametrize(("output", "exit_status", "reason"), [
    (GIT_UNREACHABLE, 2, "git step failed: fatal: unable to access "
     "'https://git.example.org/fleet/golden-state.git/': Could not resolve host: git.example.org"),
    (GIT_NO_REPO, 2, "git step failed: fatal: '/srv/git/golden-state.git' does not appear to be "
     "a git repository"),
    (GIT_CHECKOUT, 2, "git step failed: Failed to checkout release-7 (error: pathspec "
     "'release-7' did not match any file(s) known to git)"),
    (PREFLIGHT_BANNED, 2, "pre-flight refused: 1 banned-provider finding(s): "
     "inventory/host_vars/ezra.yml:14: banned provider 'anthropic' in "
     "golden_state_providers[1].provider"),
    (PREFLIGHT_OVERLAY, 2, "pre-flight refused: overlay rejected, no host file was changed: "
     "1 error(s): config.yaml: model.provider: 'anthropic' is not one of ['nous', 'local']"),
    (PLAY_COMMAND, 2, "[base : Build and install the fleet package from its source] failed: "
     "non-zero return code (ERROR: Could not find a version that satisfies the requirement "
     "setuptools>=68 (from versions: none))"),
    (PLAY_APT, 2, "[base : Install the pull agent's system packages] failed: "
     "No package matching 'python3-venvx' is available"),
    (PLAY_LOOP, 2, "[base : Link the host programs onto PATH] failed: src file does not exist, "
     "use 'force=yes' if you really want to create the link: "
     "/opt/golden-state/venv/bin/deadman-check"),
    (IGNORED_THEN_FAILED, 2, "[deadman_switch : Install the deadman timer] failed: "
     "Unit deadman.timer not found."),
    (UNREACHABLE, 4, "host unreachable at [base : Create the harness user]: Failed to connect "
     "to the host via ssh: ssh: Could not resolve hostname ezra.fleet.internal: "
     "Name or service not known"),
    (SYNTAX, 4, "ansible: YAML parsing failed: While parsing a block collection did not find "
     "expected '-' indicator. (/opt/golden-state/checkout/playbooks/site.yml:58:6)"),
    (MODULE_CRASH, 2, "[golden_state : Apply the overlay] failed: MODULE FAILURE: No start of "
     "json char found; See stdout/stderr for the exact error (ModuleNotFoundError: No module "
     "named 'jsonschema')"),
], ids=["git-unreachable", "git-no-repo", "git-checkout", "preflight-banned",
        "preflight-included-role", "task-command", "task-apt", "task-loop",
        "ignored-then-failed", "unreachable", "syntax", "module-crash"])
def test_reason_of_each_failure_class(output, exit_status, reason):
    assert failure_reason(output, exit_status) == reason


def test_success_and_an_ignored_failure_have_no_reason():
    assert failure_reason(IGNORED_THEN_OK, 0) is None
    assert failure_reason(FETCHED + PREFLIGHT_OK + recap(20, 0), 0) is None


@pytest.mark.parametrize(("exit_status", "timed_out", "reason"), [
    (None, True, "timeout: killed after 1800 s during [base : Install the pull agent's "
     "virtualenv]"),
    (-9, False, "killed by SIGKILL during [base : Install the pull agent's virtualenv]"),
    (137, False, "killed by SIGKILL during [base : Install the pull agent's virtualenv]"),
    (247, False, "killed by SIGKILL during [base : Install the pull agent's virtualenv]"),
    (143, False, "killed by SIGTERM during [base : Install the pull agent's virtualenv]"),
])
def test_timeout_and_kill_name_the_task_that_was_running(exit_status, timed_out, reason):
    assert failure_reason(TIMED_OUT, exit_status, timed_out, timeout=1800) == reason


def test_runs_that_say_little():
    assert failure_reason("cannot start /opt/golden-state/venv/bin/ansible-pull: No such file "
                          "or directory\n", None) == (
        "cannot start /opt/golden-state/venv/bin/ansible-pull: No such file or directory")
    assert failure_reason("", 3) == "exit status 3"
    assert failure_reason("", None) == "ansible-pull did not start"
    assert failure_reason(FETCHED + recap(4, 1), 2) == (
        "exit status 2 (failed=1, unreachable=0; see the log)")
    assert failure_reason(START + "Segmentation fault\n", 250) == (
        "exit status 250: Segmentation fault")


def test_a_task_failure_without_a_readable_result_uses_the_error_summary():
    output = FETCHED + sample("""

        TASK [Refuse role variables that no role declares] *****************************
        [ERROR]: Task failed: Module failed: 1 undeclared role variable(s): golden_state_provders
        Origin: /opt/golden-state/checkout/playbooks/site.yml:36:7

        fatal: [ezra -> localhost]: FAILED! =>
            changed: false
        """)
    assert failure_reason(output, 2) == (
        "pre-flight refused: 1 undeclared role variable(s): golden_state_provders")


def test_handlers_and_roles_end_the_preflight():
    handler = FETCHED + sample("""

        RUNNING HANDLER [Restart harness] **********************************************
        fatal: [ezra]: FAILED! => {"changed": false, "msg": "Unable to restart harness.service"}
        """)
    assert failure_reason(handler, 2) == (
        "[Restart harness] failed: Unable to restart harness.service")
    # A role's task of the same role a pre-flight check included, once the roles ran.
    later = FETCHED + PREFLIGHT_OK + sample("""

        TASK [base : Create the harness user] ******************************************
        ok: [ezra]

        TASK [cron_manager : Validate the cron job declarations] ***********************
        fatal: [ezra -> localhost]: FAILED! => {"changed": false, "msg": "invalid cron job declarations"}
        """)  # noqa: E501
    assert failure_reason(later, 2) == (
        "[cron_manager : Validate the cron job declarations] failed: "
        "invalid cron job declarations")


def test_control_characters_are_escaped_and_the_reason_is_bounded():
    hostile = FETCHED + sample("""

        TASK [Refuse any banned provider before anything changes] **********************
        fatal: [ezra -> localhost]: FAILED! => {"changed": false, "msg": "bad\\u001b[2J\\u001b]0;pwned\\u0007 \\u202eevil\\ttab"}
        """)  # noqa: E501
    reason = failure_reason(hostile, 2)
    assert reason == "pre-flight refused: bad\\x1b[2J\\x1b]0;pwned\\x07 \\u202eevil tab"
    long = FETCHED + sample(f"""

        TASK [base : Create the harness user] ******************************************
        fatal: [ezra]: FAILED! => {{"changed": false, "msg": "{'x' * 5000}"}}
        """)
    reason = failure_reason(long, 2)
    assert len(reason) == REASON_MAX and reason.endswith("x…")


@pytest.mark.parametrize(("text", "limit", "shown"), [
    ("plain", 10, "plain"),
    ("  many\n\nlines\tand  tabs ", 40, "many lines and tabs"),
    ("abcdef", 4, "abc…"),
    ("ab\x1bcd", 8, "ab\\x1bcd"),
    ("ab\x1bcd", 7, "ab\\x1b…"),
    ("ab\x1bcd", 6, "ab…"),  # never half an escape
    ("\u202e\u0000", 20, "\\u202e\\x00"),
    ("\U000e0001x", 20, "\\U000e0001x"),
])
def test_printable(text, limit, shown):
    assert printable(text, limit) == shown


def test_run_once_records_the_reason_and_the_log(tmp_path):
    state = tmp_path / "state"
    (state / "spool").mkdir(parents=True)
    cfg = PullConfig(repo_url="file:///srv/origin.git", inventory_name="ezra",
                     state_dir=str(state), spool_dir=str(state / "spool"),
                     checkout_dir=str(tmp_path / "checkout"))
    before = {"host", "branch", "trigger", "triggers", "delivery", "deliveries", "received",
              "start", "status", "exit_status", "end", "fetched", "duration", "commit_before",
              "commit_after", "paused", "ok", "changed", "failed", "unreachable"}
    failed = fleet_pull.run_once(cfg, [], ["manual"], lambda c: RunResult(2, PREFLIGHT_BANNED),
                                 head=lambda _: None)
    assert before <= set(failed)  # what the metrics collector reads stays
    assert failed["reason"].startswith("pre-flight refused: 1 banned-provider finding(s)")
    assert failed["log"] == cfg.log_path
    assert (state / "last-run.log").read_text() == PREFLIGHT_BANNED
    ok = fleet_pull.run_once(cfg, [], ["timer"], lambda c: RunResult(0, FETCHED + recap(9, 0)),
                             head=lambda _: None)
    assert (ok["status"], ok["reason"], ok["log"]) == ("ok", None, cfg.log_path)
    fleet_pull.pause(cfg, "debugging ezra - alice")
    paused = fleet_pull.run_once(cfg, [], ["timer"], lambda c: RunResult(0, ""),
                                 head=lambda _: None)
    assert (paused["status"], paused["reason"], paused["log"]) == ("paused", None, None)


def test_site_preflight_is_what_the_scan_expects():
    """The scan tells pre-flight tasks by their headers: play-level, or in an include_role.

    An import_role in pre_tasks would print role-prefixed headers with no
    "included:" line, and its failures would read as a role's.
    """
    plays = yaml.safe_load((ROOT / "playbooks" / "site.yml").read_text())
    pre_tasks = plays[0]["pre_tasks"]
    assert pre_tasks, "site.yml's first play has no pre-flight"
    for task in pre_tasks:
        imports = {"import_role", "ansible.builtin.import_role"} & set(task)
        assert not imports, f"pre-flight task {task.get('name')!r} uses import_role"
        assert "preflight" in task.get("tags", []), task.get("name")


# -- properties ------------------------------------------------------------

# Lines of real output, so random documents reach every branch of the scan.
PIECES = [line for text in (GIT_UNREACHABLE, GIT_CHECKOUT, PREFLIGHT_OVERLAY, PLAY_COMMAND,
                            PLAY_LOOP, IGNORED_THEN_FAILED, UNREACHABLE, SYNTAX, MODULE_CRASH)
          for line in text.splitlines()]
DOCUMENTS = st.one_of(
    st.text(),
    st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=40)), max_size=60).map(
        "\n".join))


@given(DOCUMENTS, st.one_of(st.none(), st.integers(-64, 300)), st.booleans())
@settings(max_examples=400, deadline=None)
def test_failure_reason_never_raises_and_stays_bounded(output, exit_status, timed_out):
    reason = failure_reason(output, exit_status, timed_out, timeout=60)
    if exit_status == 0 and not timed_out:
        assert reason is None
        return
    assert isinstance(reason, str) and 0 < len(reason) <= REASON_MAX
    assert not any(unicodedata.category(c)[0] == "C" for c in reason)


@given(st.text(), st.integers(1, 400))
@settings(max_examples=300, deadline=None)
def test_printable_is_one_safe_line_within_the_limit(text, limit):
    shown = printable(text, limit)
    assert len(shown) <= limit
    assert not any(unicodedata.category(c)[0] == "C" for c in shown)
    assert "\n" not in shown
