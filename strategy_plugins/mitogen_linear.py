# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mitogen's linear strategy, found through this repository's strategy_plugins path.

Mitogen (PyPI `mitogen`) ships the plugin inside its package; this shim lets
ansible.cfg name one stable path instead of a site-packages directory that
differs by virtualenv and Python version. Selecting the strategy without
mitogen installed fails with the ImportError below, naming the package.
"""

from __future__ import annotations

try:
    from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("strategy mitogen_linear needs the 'mitogen' package in the Python that "
                      f"runs ansible-playbook ({error})") from error
