"""Make the repository's module_utils importable as Ansible sees them.

Modules import ``ansible.module_utils.fleet_<x>``; on a controller Ansible
serves those from module_utils/ (ansible.cfg). Tests get the same view by
adding the directory to the ``ansible.module_utils`` package path.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

try:
    import ansible.module_utils
except ImportError:  # unit tests of pure module_utils code run without Ansible too
    pass
else:
    ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
