"""A throwaway wizard host that pulls on webhook, for the end-to-end test and the benchmark.

What it sets up (everything local; traffic only to 127.0.0.1 and the container):
- ``origin.git``: a bare clone of this repository's HEAD, the host's git
  server. It is mounted read-only into the container as /srv/origin.git and the
  host pulls ``file:///srv/origin.git``. A working clone next to it adds this
  host to the origin's inventory and commits "marker" changes the host must show.
- the container: the systemd test image with the receiver's port published on
  127.0.0.1 only, and the wheelhouse mounted for the pull agent.
- provisioning from the machine (ansible-playbook over podman): base with the
  pull agent, pull_agent and webhook_receiver.

Every wait is a bounded loop. Container names follow wizard-<role>-<purpose>.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from fleet_cli.webhook_push import send

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "localhost/wizard-host:bookworm"
HOOK = "golden-state-pull"
STATE = "/var/lib/golden-state/pull"
MARKER_DIR = "/home/wizard/.e2e-marker"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        conf = subprocess.run([str(ROOT / "tests/hosts/containers-conf")], capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()
        env["CONTAINERS_CONF"] = conf
    env["PATH"] = f"{ROOT / '.venv/bin'}:{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["ANSIBLE_ROLES_PATH"] = str(ROOT / "roles")
    env["ANSIBLE_NOCOLOR"] = "1"
    return env


def run(argv: list[str], timeout: float = 120, check: bool = True, **kw) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                            env=_env(), check=False, **kw)
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:4])}... exited {result.returncode}:\n"
                           f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.25,
               what: str = "condition") -> object:
    """Poll ``predicate`` until it returns something truthy; at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what}: not reached within {timeout:.0f} s")
        time.sleep(interval)


class FleetHost:
    """One wizard host in a container, its origin repository and its webhook secret."""

    def __init__(self, name: str, port: int, workdir: Path | None = None,
                 published: dict[int, int] | None = None):
        self.name = name
        self.port = port
        # More published ports besides the receiver's: container port -> 127.0.0.1 port.
        self.published = dict(published or {})
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=f"{name}-"))
        self.origin = self.workdir / "origin.git"
        self.work = self.workdir / "work"
        self.secret = secrets.token_hex(20)
        self.marker = 0

    # -- origin ------------------------------------------------------------

    def git(self, *args: str) -> str:
        return run(["git", "-C", str(self.work), "-c", "user.name=e2e",
                    "-c", "user.email=e2e@localhost", *args]).strip()

    def make_origin(self) -> str:
        """Bare clone of HEAD, with this host added to its inventory; returns the commit."""
        run(["git", "clone", "--quiet", "--bare", str(ROOT), str(self.origin)])
        run(["git", "clone", "--quiet", str(self.origin), str(self.work)])
        return self.commit_marker("add the e2e host")

    def _host_vars(self) -> dict:
        return {
            "ansible_connection": "local",
            "wizard_role": "e2e",
            "base_pull_agent_wheelhouse": "/srv/wheelhouse",
            # The change the host must show: one marker directory per commit.
            "base_directories": ["/home/wizard/.hermes", "/home/wizard/.timmy",
                                 f"{MARKER_DIR}/{self.marker}"],
            # Used if site.yml runs the pull roles too: the same settings as provisioning.
            **self.role_vars(),
        }

    def commit_marker(self, message: str | None = None, push: bool = True) -> str:
        """Commit a one-file change (this host's inventory entry); returns the new commit."""
        self.marker += 1
        path = self.work / "inventory" / "hosts.yml"
        inventory = yaml.safe_load(path.read_text())
        inventory["wizards"]["hosts"][self.name] = self._host_vars()
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        self.git("commit", "--quiet", "-am", message or f"e2e marker {self.marker}")
        if push:
            self.git("push", "--quiet", "origin", "HEAD:main")
        return self.git("rev-parse", "HEAD")

    def push(self) -> None:
        self.git("push", "--quiet", "origin", "HEAD:main")

    # -- container ---------------------------------------------------------

    def podman(self, *args: str, timeout: float = 120, check: bool = True) -> str:
        return run(["podman", *args], timeout=timeout, check=check)

    def start(self) -> None:
        self.podman("rm", "-f", self.name, check=False)
        self.podman(
            "run", "-d", "--name", self.name, "--hostname", self.name, "--systemd=always",
            "-p", f"127.0.0.1:{self.port}:{self.port}",
            *[arg for inside, outside in self.published.items()
              for arg in ("-p", f"127.0.0.1:{outside}:{inside}")],
            "-v", f"{self.origin}:/srv/origin.git:ro",
            "-v", f"{ROOT / '.cache/wheelhouse'}:/srv/wheelhouse:ro",
            IMAGE, "/sbin/init")

        def booted() -> bool:
            state = self.exec("systemctl is-system-running", check=False).strip()
            return state in ("running", "degraded")

        wait_until(booted, 60, 0.5, f"{self.name} boots")

    def exec(self, command: str, check: bool = True, timeout: float = 60) -> str:
        return self.podman("exec", self.name, "sh", "-c", command, timeout=timeout, check=check)

    def destroy(self) -> None:
        self.podman("rm", "-f", self.name, check=False)
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- provisioning ------------------------------------------------------

    def role_vars(self) -> dict:
        return {
            "pull_agent_repo_url": "file:///srv/origin.git",
            "pull_agent_timer_enabled": False,  # runs here come from webhooks only
            "webhook_receiver_port": self.port,
            "webhook_receiver_secret": self.secret,
        }

    def provision(self, extra_roles: tuple[str, ...] = (), extra_vars: dict | None = None,
                  ) -> None:
        """Base (with the pull agent from the wheelhouse), pull_agent and webhook_receiver,
        then ``extra_roles``; ``extra_vars`` are more (or overriding) host variables."""
        inventory = self.workdir / "provision.yml"
        inventory.write_text(yaml.safe_dump({"wizards": {"hosts": {self.name: {
            "ansible_connection": "containers.podman.podman",
            "base_pull_agent_wheelhouse": "/srv/wheelhouse",
            "fleet_source_dir": str(ROOT),  # this play is not under playbooks/
            **self.role_vars(),
            **(extra_vars or {}),
        }}}}))
        (self.workdir / "group_vars").mkdir(exist_ok=True)
        for name in ("all.yml", "wizards.yml"):
            shutil.copy(ROOT / "inventory/group_vars" / name, self.workdir / "group_vars" / name)
        playbook = self.workdir / "provision-play.yml"
        roles = ["base", "pull_agent", "webhook_receiver", *extra_roles]
        playbook.write_text(textwrap.dedent("""\
            - name: Provision a pull-on-webhook host
              hosts: wizards
              roles:
            """) + "".join(f"    - {role}\n" for role in roles))
        run(["ansible-playbook", "-i", str(inventory), str(playbook)], timeout=600)

    # -- webhooks ----------------------------------------------------------

    def send_push(self, delivery: str | None = None, forge: str = "gitea") -> tuple[int, str]:
        """POST a correctly signed push to the host's receiver; returns (status, delivery)."""
        return send(f"http://127.0.0.1:{self.port}/hooks/{HOOK}", self.secret.encode(),
                    "refs/heads/main", forge, delivery)

    # -- observing ---------------------------------------------------------

    def history(self) -> list[dict]:
        out = self.exec(f"cat {STATE}/history.jsonl 2>/dev/null || true")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def idle(self) -> bool:
        """No run in progress and nothing queued."""
        status = json.loads(self.exec("golden-state-pull status --json"))
        return not status["running"] and not status["queued"]

    def wait_for_delivery(self, delivery: str, timeout: float = 180) -> dict:
        def find() -> dict | None:
            return next((r for r in self.history() if delivery in r.get("deliveries", [])),
                        None)

        wait_until(find, timeout, 0.5, f"a run for delivery {delivery}")

        def finished() -> dict | None:
            record = find()
            return record if record and record.get("end") else None

        return wait_until(finished, timeout, 0.5, f"delivery {delivery} finished")

    def has_marker(self, marker: int) -> bool:
        return self.exec(f"test -d {MARKER_DIR}/{marker} && echo yes", check=False).strip() == "yes"
