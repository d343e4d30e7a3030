# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: full-site converge of one host in pull mode, and what it costs.

    .venv/bin/python bench/site_converge.py [--keep]

Starts a throwaway wizard host (podman, systemd), bootstraps its pull agent
from the local wheelhouse, and runs `ansible-playbook -c local` inside it from
a read-only copy of this checkout, exactly as ansible-pull would after its
git step:

* first converge and no-op converge (wall time, tasks run, time per task);
* a synthetic playbook of the same number of no-op `ansible.builtin.stat`
  tasks against the same host: the ratio of the no-op site run to it shows
  what the roles add beyond Ansible's own per-task cost;
* the same three runs with Mitogen's `mitogen_linear` strategy (the pull
  agent's default), on a second fresh host.

Prints one table. Targets: with Mitogen (the pull agent's strategy) the
no-op converge within 1.5x the synthetic floor, or under 5 s (issue 19); with
plain Ansible under 20 s and a ratio of at most 1.3 (issue 10).

--profile writes each task's wall time (callback_plugins/task_timings.py) for
the no-op Mitogen converge and prints the slowest tasks: where the time beyond
the floor goes.
"""

from __future__ import annotations

import argparse
import configparser
import json
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import add_results_argument, record  # noqa: E402
from tests.e2e.podman_host import PodmanHost  # noqa: E402

HOST = "wizard-bench"
VENV = "/opt/golden-state/venv"
RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)")
# ansible.cfg's strategy_plugins/ holds the shim that loads Mitogen's strategy.
MITOGEN_ENV = "ANSIBLE_STRATEGY=mitogen_linear"
TARGET_MITOGEN_RATIO, TARGET_MITOGEN_SECONDS = 1.5, 5.0
TARGET_PLAIN_RATIO, TARGET_PLAIN_SECONDS = 1.3, 20.0


def profile_env() -> str:
    """task_timings added to the callbacks ansible.cfg enables (the variable replaces them)."""
    # Read as Ansible reads it: no interpolation, ';' starts an inline comment.
    config = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=(";",))
    config.read(ROOT / "ansible.cfg")
    enabled = [name.strip() for name in config["defaults"]["callbacks_enabled"].split(",")]
    return (f"ANSIBLE_CALLBACKS_ENABLED={','.join([*enabled, 'task_timings'])} "
            "TASK_TIMINGS_FILE=/root/task-timings.json")


def pins() -> list[str]:
    import yaml

    defaults = yaml.safe_load((ROOT / "roles/base/defaults/main.yml").read_text())
    return defaults["base_pull_agent_packages"]


def noop_playbook(workdir: Path, tasks: int) -> None:
    """A playbook of `tasks` no-op module calls (stat of /), the cost floor of any play."""
    body = "".join(f"    - name: No-op task {i}\n      ansible.builtin.stat:\n        path: /\n"
                   for i in range(tasks))
    (workdir / "noop.yml").write_text("- name: No-op tasks\n  hosts: wizards\n  tasks:\n" + body)


def bench_inventory(workdir: Path) -> None:
    """Inventory for the host itself (local connection), beside the repository's group_vars.

    As in pull mode: the host's modules run on its system python3, tasks delegated
    to localhost on the pull agent's venv (ansible-playbook's own python)."""
    shutil.copytree(ROOT / "inventory/group_vars", workdir / "group_vars")
    (workdir / "hosts.yml").write_text(
        "wizards:\n  hosts:\n"
        f"    {HOST}:\n"
        "      ansible_connection: local\n"
        "      ansible_python_interpreter: /usr/bin/python3\n"
        "      base_pull_agent_wheelhouse: /srv/wheelhouse\n"
        f"      vault_webhook_receiver_secret: {secrets.token_hex(20)}\n"
    )


def run(host: PodmanHost, playbook: str, *, mitogen: bool, profile: bool = False
        ) -> tuple[float, list[int]]:
    # As the pull runner does: the checkout's fleet package first for the controller plugins.
    env = (f"ANSIBLE_CONFIG=/srv/repo/ansible.cfg PYTHONPATH=/srv/repo/module_utils "
           f"{MITOGEN_ENV if mitogen else ''} {profile_env() if profile else ''}")
    command = (f"cd /srv/repo && {env} {VENV}/bin/ansible-playbook -i /srv/bench/hosts.yml "
               f"{playbook}")
    start = time.monotonic()
    done = host.run("sh", "-c", command, check=False, timeout=900)
    elapsed = time.monotonic() - start
    found = RECAP.findall(done.stdout)
    if done.returncode != 0 or not found:
        raise SystemExit(f"{playbook} failed (rc {done.returncode}):\n"
                         f"{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return elapsed, [int(n) for n in found[-1]]


def tasks_run(counts: list[int]) -> int:
    ok, _changed, _unreachable, failed, skipped = counts
    return ok + failed + skipped


def measure(host: PodmanHost, workdir: Path, *, mitogen: bool, profile: bool = False) -> list:
    """First and no-op site converge, then as many synthetic no-op tasks, on one fresh host."""
    host.sh(f"python3 -m venv {VENV} && PIP_NO_INDEX=1 PIP_FIND_LINKS=/srv/wheelhouse "
            f"{VENV}/bin/pip install -q {' '.join(pins())}")
    first = run(host, "playbooks/site.yml", mitogen=mitogen)
    noop = run(host, "playbooks/site.yml", mitogen=mitogen, profile=profile)
    n = tasks_run(noop[1])
    noop_playbook(workdir, n)
    synthetic = run(host, "/srv/bench/noop.yml", mitogen=mitogen)
    return [("site, first converge", *first), ("site, no-op converge", *noop),
            (f"synthetic, {n} stat tasks", *synthetic)]


def show_profile(host: PodmanHost, top: int = 15) -> None:
    """The slowest tasks of the profiled run, and what all of them add up to."""
    tasks = json.loads(host.run("cat", "/root/task-timings.json").stdout)
    total = sum(task["seconds"] for task in tasks)
    print(f"\nslowest tasks of the no-op Mitogen converge ({len(tasks)} tasks, {total:.2f} s "
          f"in tasks; the rest is start-up):")
    for task in tasks[:top]:
        print(f"  {task['seconds']:6.2f} s  {task['action'][:30]:30}  {task['task'][:70]}")


def report(rows: dict[str, list]) -> dict:
    print(f"{'run':34} {'strategy':9} {'wall s':>8} {'tasks':>6} {'changed':>8} {'s/task':>7}")
    for strategy, runs in rows.items():
        for name, seconds, counts in runs:
            t = tasks_run(counts)
            print(f"{name:34} {strategy:9} {seconds:8.2f} {t:6d} {counts[1]:8d} {seconds / t:7.3f}")
    plain_noop, plain_synthetic = rows["plain"][1][1], rows["plain"][2][1]
    mitogen_noop, mitogen_synthetic = rows["mitogen"][1][1], rows["mitogen"][2][1]
    plain_ratio, mitogen_ratio = plain_noop / plain_synthetic, mitogen_noop / mitogen_synthetic
    mitogen_met = mitogen_ratio <= TARGET_MITOGEN_RATIO or mitogen_noop < TARGET_MITOGEN_SECONDS
    print(f"\nno-op converge, mitogen: {mitogen_noop:.2f} s, {mitogen_ratio:.2f}x the synthetic "
          f"floor (target <= {TARGET_MITOGEN_RATIO}x or < {TARGET_MITOGEN_SECONDS:.0f} s): "
          f"{'met' if mitogen_met else 'MISSED'}")
    print(f"no-op converge, plain: {plain_noop:.2f} s, {plain_ratio:.2f}x the synthetic floor "
          f"(targets < {TARGET_PLAIN_SECONDS:.0f} s, <= {TARGET_PLAIN_RATIO}x)")
    return {"mitogen_noop": mitogen_noop, "mitogen_ratio": mitogen_ratio,
            "mitogen_met": mitogen_met, "plain_noop": plain_noop, "plain_ratio": plain_ratio,
            "tasks": tasks_run(rows["mitogen"][1][2]),
            "mitogen_first": rows["mitogen"][0][1], "plain_first": rows["plain"][0][1]}


def record_all(path: Path | None, figures: dict) -> None:
    name = "converge"
    record(path, name, f"no-op site converge, Mitogen ({figures['tasks']} tasks)",
           figures["mitogen_noop"], "s")
    record(path, name, "no-op converge / synthetic floor, Mitogen", figures["mitogen_ratio"], "x",
           f"<= {TARGET_MITOGEN_RATIO}x or < {TARGET_MITOGEN_SECONDS:.0f} s",
           figures["mitogen_met"])
    record(path, name, "no-op site converge, plain", figures["plain_noop"], "s",
           f"< {TARGET_PLAIN_SECONDS:.0f} s", figures["plain_noop"] < TARGET_PLAIN_SECONDS)
    record(path, name, "no-op converge / synthetic floor, plain", figures["plain_ratio"], "x",
           f"<= {TARGET_PLAIN_RATIO}x", figures["plain_ratio"] <= TARGET_PLAIN_RATIO)
    record(path, name, "first converge, Mitogen", figures["mitogen_first"], "s")
    record(path, name, "first converge, plain", figures["plain_first"], "s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true",
                        help="leave the host and its inventory for profiling")
    parser.add_argument("--profile", action="store_true",
                        help="time each task of the no-op Mitogen converge; print the slowest")
    add_results_argument(parser)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="site-bench-"))
    bench_inventory(workdir)
    rows: dict[str, list] = {}
    try:
        # One fresh host per strategy, one after the other, so both first converges count.
        for strategy in ("plain", "mitogen"):
            name = HOST if strategy == "plain" else f"{HOST}-mitogen"
            host = PodmanHost(name, volumes=[f"{ROOT}:/srv/repo:ro",
                                             f"{workdir}:/srv/bench:ro"]).start()
            try:
                mitogen = strategy == "mitogen"
                rows[strategy] = measure(host, workdir, mitogen=mitogen,
                                         profile=args.profile and mitogen)
                if args.profile and mitogen:
                    show_profile(host)
            finally:
                if args.keep:
                    print(f"kept: podman exec -it {name} bash  (inventory {workdir}/hosts.yml)")
                else:
                    host.remove()
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    record_all(args.results, report(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
