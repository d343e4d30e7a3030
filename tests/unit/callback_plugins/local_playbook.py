"""Run a playbook on local "hosts" with the project's ansible.cfg: the callback tests' runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_local_playbook(playbook: Path, hosts: str, *extra: str,
                       env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """ansible-playbook over the local connection (HOSTS like "alpha,beta,"); must exit 0.

    ENV is added to this process's environment; a value of None removes the variable."""
    environment = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
    for name, value in (env or {}).items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", hosts, "-c", "local",
         "-e", f"ansible_python_interpreter={sys.executable}", "-e", "ansible_become=false",
         str(playbook), *extra],
        capture_output=True, text=True, env=environment, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done
