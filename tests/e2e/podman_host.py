"""Real systemd test hosts for end-to-end tests: podman containers from the
project's image (tests/hosts/build-image), driven with `podman exec`.

Ports are published on 127.0.0.1 only; every wait is bounded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGE = os.environ.get("FLEET_TEST_IMAGE", "localhost/wizard-host:bookworm")

# Paths whose every file goes into a manifest; the rest of the host is either
# read-only system content or volatile: logs, runtime state, the operator's
# own Ansible temp files and SSH bookkeeping, and what the host's services
# write while they run (the harness's heartbeat, the deadman's history, the
# bytecode Python caches when deadman-check first runs from its timer, the
# metrics collectors' textfiles under /var/lib/prometheus).
MANIFEST_ROOTS = ("/etc", "/home", "/opt", "/root", "/srv", "/usr/local", "/var/lib", "/var/spool")
MANIFEST_PRUNE = ("/home/ops/.ansible", "/var/lib/systemd", "/var/lib/apt", "/var/lib/dpkg",
                  "/var/lib/private", "/var/lib/sudo", "/etc/ssh", "/root/.ansible",
                  "/srv/wheelhouse", "/var/lib/harness", "/var/lib/golden-state/deadman",
                  "/var/lib/prometheus",
                  "'*/__pycache__'")


def podman_env() -> dict[str, str]:
    """The environment podman needs here (runc, rlimits): see tests/hosts/containers-conf."""
    env = dict(os.environ)
    if "CONTAINERS_CONF" not in env:
        conf = subprocess.run([str(ROOT / "tests/hosts/containers-conf")], capture_output=True,
                              text=True, check=True).stdout.strip()
        env["CONTAINERS_CONF"] = conf
    return env


def podman(*args: str, check: bool = True, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check,
                          timeout=timeout, env=podman_env())


@dataclass
class PodmanHost:
    """One running systemd host."""

    name: str
    published: dict[int, int] = field(default_factory=dict)  # container port -> 127.0.0.1 port
    volumes: list[str] = field(default_factory=list)

    def start(self) -> PodmanHost:
        podman("rm", "-f", self.name, check=False)
        args = ["run", "-d", "--name", self.name, "--hostname", self.name, "--systemd=always"]
        if not self.published:
            args += ["--network", "none"]
        for inside, outside in self.published.items():
            args += ["-p", f"127.0.0.1:{outside}:{inside}"]
        for volume in [f"{ROOT}/.cache/wheelhouse:/srv/wheelhouse:ro", *self.volumes]:
            args += ["-v", volume]
        podman(*args, IMAGE, "/sbin/init")
        self.wait_until(self.booted, what="systemd to boot", seconds=60)
        return self

    def remove(self) -> None:
        podman("rm", "-f", self.name, check=False)

    def booted(self) -> bool:
        state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
        return state in ("running", "degraded")

    def run(self, *command: str, check: bool = True,
            timeout: int = 120) -> subprocess.CompletedProcess:
        return podman("exec", self.name, *command, check=check, timeout=timeout)

    def file_exists(self, path: str) -> bool:
        return self.run("test", "-f", path, check=False).returncode == 0

    def sh(self, script: str, check: bool = True) -> str:
        return self.run("sh", "-c", script, check=check).stdout

    @staticmethod
    def wait_until(predicate, what: str, seconds: float, interval: float = 0.5) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(interval)
        raise TimeoutError(f"gave up after {seconds} s waiting for {what}")

    def manifest(self) -> dict[str, str]:
        """Path -> "type mode owner group size sha256" for every file under MANIFEST_ROOTS."""
        prune = " -o ".join(f"-path {path}" for path in MANIFEST_PRUNE)
        script = (
            f"find {' '.join(MANIFEST_ROOTS)} -xdev \\( {prune} \\) -prune -o "
            "-printf '%p\\t%y %m %U %G %s\\n' | sort"
        )
        entries = {}
        for line in self.sh(script).splitlines():
            path, meta = line.split("\t", 1)
            entries[path] = meta
        files = [path for path, meta in entries.items() if meta.startswith("f ")]
        digests = self.run("sha256sum", "--", *files).stdout if files else ""
        for line in digests.splitlines():
            digest, path = line.split(maxsplit=1)
            entries[path] += " " + digest
        return entries

    def authorize_operator(self, public_key: str) -> None:
        """The one-time bootstrap an operator does on a new host: a sudo-capable SSH login."""
        self.sh(
            "id ops >/dev/null 2>&1 || useradd -m -s /bin/bash ops; "
            "install -d -m 0700 -o ops -g ops /home/ops/.ssh; "
            f"echo '{public_key}' > /home/ops/.ssh/authorized_keys; "
            "chown ops:ops /home/ops/.ssh/authorized_keys; "
            "chmod 0600 /home/ops/.ssh/authorized_keys; "
            "echo 'ops ALL=(ALL) NOPASSWD: ALL' > /etc/sudoers.d/ops; "
            "chmod 0440 /etc/sudoers.d/ops"
        )


def checkout_copy(dest: Path) -> Path:
    """The repository as an operator's clone (tracked and new files, no caches), under dest/repo."""
    copy = dest / "repo"
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    for name in listed:
        if (ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    return copy


def write_inventory(repo: Path, name: str, host: str, hostvars: dict[str, object]) -> Path:
    """An inventory file for one wizard host inside repo/inventory (so group_vars apply)."""
    inventory = repo / "inventory" / f"{name}.yml"
    hostvars = {"vault_webhook_receiver_secret": secrets.token_hex(20), **hostvars}
    lines = ["wizards:", "  hosts:", f"    {host}:"]
    lines += [f"      {key}: {value}" for key, value in hostvars.items()]
    inventory.write_text("\n".join(lines) + "\n")
    return inventory


def ansible_playbook(repo: Path, inventory: Path, *args: str, timeout: int = 900,
                     ) -> subprocess.CompletedProcess:
    """Run playbooks/site.yml (or what args name) from a checkout, as an operator would."""
    env = dict(podman_env(), ANSIBLE_CONFIG=str(repo / "ansible.cfg"))
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), *args]
    if not any(arg.endswith(".yml") for arg in args):
        command.append("playbooks/site.yml")
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)
