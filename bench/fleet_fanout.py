# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: fleet fan-out of the laptop check (`--check --diff` over SSH) from one controller.

    .venv/bin/python bench/fleet_fanout.py [--hosts 1,4,8] [--no-fresh] [--results FILE] [--keep]

Starts N throwaway wizard hosts (N = the largest of --hosts; podman systemd
containers `wizard-fanout-<i>`, sshd published on 127.0.0.1:22600+i), each
bootstrapped as in tests/e2e/test_laptop_check.py (an `ops` sudo login for a
generated operator key, the pull agent's wheelhouse at /srv/wheelhouse), and
times `ansible-playbook -i INVENTORY playbooks/site.yml --check --diff` from a
copy of this checkout against the first k hosts (`--limit`), for each k:

* fresh (unconverged) hosts, one host and all N: what the laptop path does
  first (both modes below; skip with --no-fresh);
* the N hosts converged once (one run, all N at forks N; its time is shown
  as context), then the check again, the common operator case, in two modes:
  - forks: `-f k`, the default linear strategy over ssh, with ansible.cfg's
    pipelining and ssh's ControlPersist (a fresh ControlPath directory per
    run, so each run opens its connections itself);
  - mitogen: the same with ANSIBLE_STRATEGY=mitogen_linear (strategy_plugins/
    shim). Mitogen's ssh ignores the inventory's `-o StrictHostKeyChecking=no`
    (docs/pull_on_webhook.md), so this mode also sets ANSIBLE_HOST_KEY_CHECKING
    =False, which it honours. One probe run without it shows whether that is
    still so. A failed mitogen run is reported and recorded, not hidden.

Per run it also shows where the CPU went, since the hosts share the
controller's cores here: controller (ansible-playbook and the processes it
waited for: forks, ssh clients, Mitogen's), hosts (the run's containers'
cgroups) and others (the machine's remaining busy time: other people's
benches, detached ssh ControlMaster processes, the kernel). A large "others"
means the wall times were measured on a busy machine.

Every check must exit 0 with failed=0 and unreachable=0 for every host in the
play recap and no "FAILED or UNREACHABLE" line in the drift summary, or the
bench fails (mitogen failures are recorded and reported instead). Drift on a
converged host is printed, not failed: about 15 min after a converge
(deadman_switch_healthy_after) the deadman marks the live overlay known-good,
a snapshot with no verdict yet, and checks then show golden_state's "Judge the
snapshots a rollback could restore" as a change until the next converge.
Target (issue 19): N hosts in at most 2x one host's time.
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import add_results_argument, record  # noqa: E402
from tests.e2e.podman_host import PodmanHost, checkout_copy, podman, podman_env  # noqa: E402

BENCH = "fleet_fanout"
NAME = "wizard-fanout-{}"
PORT_BASE = 22600
TARGET_RATIO = 2.0
RUN_TIMEOUT = 1800  # one ansible-playbook run (a converge of 8 hosts on 2 cores included)
SSH_ARGS = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"  # as the laptop test
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)",
                   re.MULTILINE)


class CheckFailed(RuntimeError):
    """A run that did not exit 0 with failed=0 and unreachable=0 on every host."""


class HostsGone(RuntimeError):
    """A run failed because some of its hosts stopped running: never a finding about a mode."""


@dataclass
class Run:
    """One ansible-playbook run: wall time, its output, and where the CPU went."""

    seconds: float
    stdout: str
    controller_cpu: float  # ansible-playbook and every process it waited for (forks, ssh, mitogen)
    hosts_cpu: float | None  # the run's hosts' containers (cgroup), None where unreadable
    machine_cpu: float  # the whole machine's busy CPU time during the run

    @property
    def other_cpu(self) -> float | None:
        """Busy CPU not accounted to the run: other people's work, detached ssh masters, kernel."""
        if self.hosts_cpu is None:
            return None
        return max(0.0, self.machine_cpu - self.controller_cpu - self.hosts_cpu)


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine since boot (/proc/stat, all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    busy = sum(fields[:8]) - fields[3] - fields[4]  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def controller_cpu() -> float:
    """CPU seconds (user + system) of this process's finished, waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cgroup_cpu(name: str) -> float | None:
    """CPU seconds a container has used so far (cgroup v1 cpuacct or v2 cpu.stat)."""
    path = podman("inspect", "-f", "{{.State.CgroupPath}}", name, check=False).stdout.strip()
    if not path:
        return None
    v1 = Path("/sys/fs/cgroup/cpuacct") / path.lstrip("/") / "cpuacct.usage"
    v2 = Path("/sys/fs/cgroup") / path.lstrip("/") / "cpu.stat"
    try:
        if v1.exists():
            return int(v1.read_text()) / 1e9
        for line in v2.read_text().splitlines():
            if line.startswith("usage_usec "):
                return int(line.split()[1]) / 1e6
    except (OSError, ValueError):
        return None
    return None


def hosts_cpu(names: list[str]) -> float | None:
    values = [cgroup_cpu(name) for name in names]
    return None if None in values else sum(values)


def parse_counts(text: str) -> list[int]:
    counts = sorted({int(part) for part in text.split(",") if part.strip()})
    if not counts or counts[0] < 1:
        raise argparse.ArgumentTypeError("--hosts takes positive host counts, e.g. 1,4,8")
    return counts


def start_hosts(n: int, key: Path) -> list[PodmanHost]:
    """N hosts started concurrently, each with an operator login and sshd active (bounded)."""
    public_key = Path(f"{key}.pub").read_text().strip()

    def start(i: int) -> PodmanHost:
        host = PodmanHost(NAME.format(i), published={22: PORT_BASE + i}).start()
        host.authorize_operator(public_key)
        sshd_up = lambda: host.run("systemctl", "is-active", "ssh", check=False).returncode == 0  # noqa: E731
        host.wait_until(sshd_up, what=f"sshd on {host.name}", seconds=60)
        return host

    with ThreadPoolExecutor(max_workers=n) as pool:
        futures = [pool.submit(start, i) for i in range(n)]
        errors = [future.exception(timeout=300) for future in futures]
    failed = [error for error in errors if error is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} of {n} hosts did not start: {failed[0]!r}")
    return [future.result() for future in futures]


def write_fleet_inventory(repo: Path, n: int, key: Path) -> Path:
    """As tests/e2e/podman_host.write_inventory with the laptop test's host vars, for N hosts."""
    inventory = repo / "inventory" / "fanout-bench.yml"
    lines = ["wizards:", "  hosts:"]
    for i in range(n):
        hostvars = {
            "vault_webhook_receiver_secret": secrets.token_hex(20),
            "ansible_host": "127.0.0.1",
            "ansible_port": PORT_BASE + i,
            "ansible_user": "ops",
            "ansible_ssh_private_key_file": key,
            "ansible_ssh_common_args": SSH_ARGS,
            "base_pull_agent_wheelhouse": "/srv/wheelhouse",
        }
        lines.append(f"    {NAME.format(i)}:")
        lines += [f"      {name}: {value}" for name, value in hostvars.items()]
    inventory.write_text("\n".join(lines) + "\n")
    return inventory


def playbook(repo: Path, inventory: Path, hosts: list[str], *, mitogen: bool, check: bool,
             workdir: Path, label: str, host_key_switch: bool = True) -> Run:
    """One timed ansible-playbook run of the site on `hosts` at forks len(hosts); its output."""
    control = Path(tempfile.mkdtemp(prefix="cp-", dir=workdir))  # short: ssh's socket path limit
    env = dict(podman_env(), ANSIBLE_CONFIG=str(repo / "ansible.cfg"),
               ANSIBLE_SSH_CONTROL_PATH_DIR=str(control))
    if mitogen:
        env["ANSIBLE_STRATEGY"] = "mitogen_linear"
        if host_key_switch:
            env["ANSIBLE_HOST_KEY_CHECKING"] = "False"
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory),
               "-f", str(len(hosts)), "--limit", ",".join(hosts)]
    command += ["--check", "--diff"] if check else []
    command.append("playbooks/site.yml")
    hosts_before, cpu_before, machine_before = hosts_cpu(hosts), controller_cpu(), machine_cpu()
    start = time.monotonic()
    try:
        done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                              timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired as error:
        raise CheckFailed(f"{label}: no answer after {RUN_TIMEOUT} s") from error
    elapsed = time.monotonic() - start
    cpu_used, hosts_after = controller_cpu() - cpu_before, hosts_cpu(hosts)
    machine_used = machine_cpu() - machine_before
    (workdir / f"{label.replace(' ', '_').replace(',', '')}.log").write_text(
        done.stdout + "\n--- stderr ---\n" + done.stderr)
    try:
        verify(done, hosts, label)
    except CheckFailed:
        gone = [name for name in hosts if podman(
            "inspect", "-f", "{{.State.Running}}", name, check=False).stdout.strip() != "true"]
        if gone:
            raise HostsGone(f"{label}: failed because host(s) stopped running during the run "
                            f"(removed by something else on this machine?): {', '.join(gone)}"
                            ) from None
        raise
    hosts_used = None if hosts_before is None or hosts_after is None else hosts_after - hosts_before
    return Run(elapsed, done.stdout, cpu_used, hosts_used, machine_used)


def verify(done: subprocess.CompletedProcess, hosts: list[str], label: str) -> None:
    """Exit 0, and per host failed=0 and unreachable=0 in the recap, none failed in the summary."""
    tail = f"\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-2000:]}"
    recap = {m[0]: [int(n) for n in m[1:]] for m in RECAP.findall(done.stdout)}
    problems = [f"exit {done.returncode}"] if done.returncode != 0 else []
    for host in hosts:
        if host not in recap:
            problems.append(f"{host} missing from the play recap")
        elif recap[host][2] or recap[host][3]:
            problems.append(f"{host}: unreachable={recap[host][2]} failed={recap[host][3]}")
    if "FAILED or UNREACHABLE" in done.stdout:
        problems.append("the drift summary names a failed or unreachable host")
    if problems:
        raise CheckFailed(f"{label}: {'; '.join(problems)}{tail}")


def drift(stdout: str) -> list[str]:
    """The drift summary's per-host lines (`host: in golden state` / `host: would change: ...`)."""
    if "DRIFT SUMMARY" not in stdout:
        return []
    section = stdout[stdout.rindex("DRIFT SUMMARY"):].splitlines()[1:]
    return [line for line in section if line and not line.startswith(" ")]


def first_error(stdout: str, stderr: str) -> str:
    """The first line that says why a run failed, for the report (the reason before the host)."""
    lines = (stdout + "\n" + stderr).splitlines()
    for pattern in (r"^\[ERROR\]|ERROR!", r"^\s*msg:", r"fatal:|UNREACHABLE|[Ee]rror"):
        for line in lines:
            if re.search(pattern, line):
                return line.strip()[:300]
    return (stderr.strip().splitlines() or ["(no error line)"])[-1][:300]


def probe_mitogen_as_is(repo: Path, inventory: Path, name: str, workdir: Path,
                        results: Path | None) -> None:
    """Mitogen with only the inventory's ssh args, as an operator would first try it."""
    label = "check mitogen inventory ssh args only"
    try:
        run = playbook(repo, inventory, [name], mitogen=True, check=True, workdir=workdir,
                       label=label, host_key_switch=False)
    except CheckFailed as error:
        print(f"  {label}: FAILED ({first_error(str(error), '')}); the runs below set "
              "ANSIBLE_HOST_KEY_CHECKING=False", flush=True)
        record(results, BENCH, "laptop check, mitogen, inventory's ssh args only, failed runs",
               1, "runs")
        return
    print(f"  {label}: passed in {run.seconds:.1f} s (ANSIBLE_HOST_KEY_CHECKING=False not needed)",
          flush=True)
    record(results, BENCH, "laptop check, mitogen, inventory's ssh args only, failed runs", 0,
           "runs")


def measure(repo: Path, inventory: Path, names: list[str], counts: list[int], *, mode: str,
            state: str, workdir: Path, rows: list, failures: list) -> None:
    """Time the check on the first k hosts for each k; a row (mode, state, k, Run | None)."""
    mitogen = mode == "mitogen"
    for k in counts:
        label = f"check {state} {mode} {k}"
        try:
            run = playbook(repo, inventory, names[:k], mitogen=mitogen, check=True,
                           workdir=workdir, label=label)
        except CheckFailed as error:
            if not mitogen:
                raise
            message = str(error)
            why = first_error(message, "")
            failures.append((label, why))
            print(f"  {label}: FAILED ({why})", flush=True)
            rows.append((mode, state, k, None))
            continue
        rows.append((mode, state, k, run))
        lines = drift(run.stdout)
        in_state = sum(1 for line in lines if line.endswith(": in golden state"))
        print(f"  {label}: {run.seconds:.1f} s, failed=0 on {k} hosts, "
              f"{in_state}/{k} in golden state; CPU s: controller {run.controller_cpu:.1f}, "
              f"hosts {cpu_text(run.hosts_cpu)}, others {cpu_text(run.other_cpu)}", flush=True)
        if state == "converged" and in_state != k:
            print("    drift after converge: " + "; ".join(
                line for line in lines if not line.endswith(": in golden state")), flush=True)


def cpu_text(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"


def cell(runs: dict, k: int, what: str) -> str:
    if k not in runs:
        return f"{'-':>10}"
    if runs[k] is None:
        return f"{'FAILED':>10}"
    value = getattr(runs[k], what)
    return f"{cpu_text(value):>10}"


def report(rows: list, counts: list[int], results: Path | None, *, cpus: int,
           converge: Run | None, n: int, failures: list) -> None:
    """Print the table and the ratios; record the figures."""
    print(f"\n{'check of':20} {'mode':8} {'figure':16} "
          + " ".join(f"{f'{k} host(s)':>10}" for k in counts)
          + f" {'N/1':>6}  target <= {TARGET_RATIO:g}x")
    seen = sorted({(state, mode) for mode, state, _k, _run in rows},
                  key=lambda sm: (sm[0] != "fresh", sm[1] != "forks"))
    for state, mode in seen:
        runs = {k: run for m, st, k, run in rows if m == mode and st == state}
        times = {k: run.seconds for k, run in runs.items() if run is not None}
        one, full = times.get(counts[0]), times.get(counts[-1])
        ratio = full / one if one and full is not None and counts[0] == 1 else None
        met = ratio is not None and ratio <= TARGET_RATIO
        verdict = "-" if ratio is None else ("met" if met else "MISSED")
        print(f"{state + ' hosts':20} {mode:8} {'wall s':16} "
              + " ".join(cell(runs, k, "seconds") for k in counts)
              + f" {(f'{ratio:.2f}' if ratio is not None else '-'):>6}  {verdict}")
        print(f"{'':20} {'':8} {'controller CPU s':16} "
              + " ".join(cell(runs, k, "controller_cpu") for k in counts))
        print(f"{'':20} {'':8} {'hosts CPU s':16} "
              + " ".join(cell(runs, k, "hosts_cpu") for k in counts))
        print(f"{'':20} {'':8} {'others CPU s':16} "
              + " ".join(cell(runs, k, "other_cpu") for k in counts))
        suffix = "" if state == "converged" else f", {state} hosts"
        for k in counts:
            if k in times:
                record(results, BENCH, f"laptop check, {k} host{'s' if k > 1 else ''}, "
                       f"{mode}{suffix}", times[k], "s")
                record(results, BENCH, f"laptop check, {k} host{'s' if k > 1 else ''}, "
                       f"{mode}{suffix}: controller CPU", runs[k].controller_cpu, "s")
        if ratio is not None:
            record(results, BENCH, f"laptop check, {counts[-1]} hosts / 1 host, {mode}{suffix}",
                   ratio, "x", f"<= {TARGET_RATIO:g}x", met)
    if failures:
        record(results, BENCH, "laptop check, mitogen over ssh, failed runs", len(failures),
               "runs", "0", False)
        print("\nmitogen failures:")
        for label, why in failures:
            print(f"  {label}: {why}")
    if converge is not None:
        print(f"\nconverge of {n} hosts in one run (forks {n}, linear, context): "
              f"{converge.seconds:.1f} s; CPU s: controller {converge.controller_cpu:.1f}, "
              f"hosts {cpu_text(converge.hosts_cpu)}, others {cpu_text(converge.other_cpu)}")
        record(results, BENCH, f"laptop converge, {n} hosts in one run, forks (context)",
               converge.seconds, "s")
    measured = [run for _m, _s, _k, run in rows if run is not None and run.other_cpu is not None]
    if measured:
        busy = sum(run.other_cpu for run in measured) / sum(run.seconds for run in measured)
        print(f"others' CPU during the checks: {busy:.2f} of {cpus} cores on average")
        record(results, BENCH, "others' CPU during the checks (context)", busy, "cores")
    print(f"controller CPUs: {cpus}; target: {counts[-1]} hosts in <= {TARGET_RATIO:g}x "
          "one host's check time")
    record(results, BENCH, "controller CPU count (context)", cpus, "cores")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=parse_counts, default=[1, 4, 8], metavar="K,K,...",
                        help="host counts to check (default 1,4,8; N is the largest)")
    parser.add_argument("--no-fresh", action="store_true",
                        help="skip the checks of fresh (unconverged) hosts")
    parser.add_argument("--keep", action="store_true",
                        help="leave the hosts and the work directory (logs of every run)")
    add_results_argument(parser)
    args = parser.parse_args()
    # A plain SIGTERM or SIGHUP would end Python without its finally blocks: exit through
    # them, so the hosts are removed whoever stops the bench.
    def stop(number: int, _frame) -> None:
        print(f"stopped by signal {signal.Signals(number).name}; removing the hosts", flush=True)
        sys.exit(128 + number)

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, stop)
    counts: list[int] = args.hosts
    n = counts[-1]
    names = [NAME.format(i) for i in range(n)]
    os.environ.setdefault("CONTAINERS_CONF", podman_env()["CONTAINERS_CONF"])

    cfg = configparser.ConfigParser(strict=False)
    cfg.read(ROOT / "ansible.cfg")
    cpus = os.cpu_count() or 1
    others = podman("ps", "--format", "{{.Names}}", check=False).stdout.split()
    versions = ", ".join(f"{dist} {metadata.version(dist)}" for dist in ("ansible-core", "mitogen"))
    print(f"controller: {cpus} CPUs, load average {os.getloadavg()[0]:.2f}; {versions}; "
          f"ansible.cfg forks={cfg.get('defaults', 'forks', fallback='5 (default)')} "
          f"pipelining={cfg.get('ssh_connection', 'pipelining', fallback='false')}; "
          f"other containers running: {', '.join(others) or 'none'}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="fanout-"))
    key = workdir / "operator_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    repo = checkout_copy(workdir)
    inventory = write_fleet_inventory(repo, n, key)
    rows: list = []
    failures: list = []
    converge = None
    bench_start = time.monotonic()
    try:
        start = time.monotonic()
        start_hosts(n, key)
        print(f"{n} hosts up with sshd active in {time.monotonic() - start:.1f} s", flush=True)
        if not args.no_fresh:
            print("fresh hosts:", flush=True)
            for mode in ("forks", "mitogen"):
                measure(repo, inventory, names, sorted({counts[0], n}), mode=mode,
                        state="fresh", workdir=workdir, rows=rows, failures=failures)
        probe_mitogen_as_is(repo, inventory, names[0], workdir, args.results)
        converge = playbook(repo, inventory, names, mitogen=False, check=False,
                            workdir=workdir, label=f"converge {n}")
        print(f"converged {n} hosts in one run: {converge.seconds:.1f} s", flush=True)
        for mode in ("forks", "mitogen"):
            print(f"converged hosts, {mode}:", flush=True)
            measure(repo, inventory, names, counts, mode=mode, state="converged",
                    workdir=workdir, rows=rows, failures=failures)
    finally:
        if args.keep:
            print(f"kept: hosts {', '.join(names)}; logs and inventory in {workdir}")
        else:
            for name in names:
                podman("rm", "-f", name, check=False)
            shutil.rmtree(workdir, ignore_errors=True)
    report(rows, counts, args.results, cpus=cpus, converge=converge, n=n, failures=failures)
    print(f"bench wall time: {time.monotonic() - bench_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
